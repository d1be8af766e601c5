// POST /api/create (reference CR1–CR4): a model from an existing model (its layers inherited,
// template/system/parameters/messages replaced, licenses added), from uploaded blobs (`files`),
// or from a local GGUF path (moed's extension: referenced in place, never copied).
//
// Everything a client can get wrong is checked before the first progress line, so those errors
// keep their HTTP status. Blobs are written first and the manifest last, in one store
// transaction: a failure, or a client that goes away, leaves the store as it was.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { MoedError } from '../errors/index.js';
import { fileTypeFromName, fileTypeName } from '../gguf/index.js';
import { parseModelNameOrNull } from '../store/names.js';
import {
  MediaTypes,
  parseDigest,
  type Layer,
  type ModelConfig,
  type ModelStore,
  type StoredMessage,
  type StoredModel,
  type StoreTransaction,
} from '../store/store.js';
import { summarizeGguf, type GgufSummary } from './gguf-summary.js';
import { loadRules } from './rule-files.js';
import { looksLikeJinja } from './models.js';
import { validateParameters } from './parameters.js';

/** Ollama's CreateRequest (api/types.go). */
export interface CreateRequest {
  model?: string;
  /** Deprecated alias of `model`. */
  name?: string;
  from?: string;
  files?: Record<string, string>;
  adapters?: Record<string, string>;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  messages?: StoredMessage[];
  license?: string | string[];
  stream?: boolean;
  quantize?: string;
  /** Deprecated alias of `quantize`. */
  quantization?: string;
  draft_files?: Record<string, string>;
  draft_quantize?: string;
  remote_host?: string;
  renderer?: string;
  parser?: string;
  requires?: string;
  info?: Record<string, unknown>;
}

export interface Progress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

const MESSAGE_ROLES = ['system', 'user', 'assistant'];

/** A `from` that names a file on this machine rather than a model (moed extension, see docs). */
export function isLocalPath(from: string): boolean {
  return path.isAbsolute(from) || from.startsWith('./') || from.startsWith('../') || /\.gguf$/i.test(from);
}

/** Where the model's weights come from, decided and checked before anything is written. */
type Source =
  | { kind: 'model'; base: StoredModel }
  | { kind: 'blob'; digest: string; summary: GgufSummary }
  | { kind: 'path'; summary: GgufSummary };

interface Plan {
  nameText: string;
  source: Source;
  parameters: Record<string, unknown>;
  messages?: StoredMessage[];
  licenses: string[];
}

export async function* createModel(store: ModelStore, req: CreateRequest): AsyncGenerator<Progress> {
  const plan = await checkRequest(store, req);
  if (plan.source.kind !== 'model') yield { status: 'parsing GGUF' };

  const tx = store.transaction();
  let done = false;
  try {
    const { layers, config, statuses } = await stageLayers(tx, plan, req);
    for (const s of statuses) yield s;
    yield { status: 'writing manifest' };
    await tx.commit(parseModelNameOrNull(plan.nameText)!, config, layers);
    done = true;
  } finally {
    // A failure, or a consumer that stopped reading (client gone), leaves no new blobs behind.
    if (!done) await tx.rollback();
  }
  yield { status: 'success' };
}

// --- checks ------------------------------------------------------------------------------------

async function checkRequest(store: ModelStore, req: CreateRequest): Promise<Plan> {
  const nameText = req.model || req.name || '';
  if (!parseModelNameOrNull(nameText)) throw new MoedError('INVALID_MODEL_NAME', 'invalid model name');

  checkFileMap(req.files);
  if (req.adapters && Object.keys(req.adapters).length > 0) {
    checkFileMap(req.adapters);
    throw new MoedError('INVALID_REQUEST', 'adapters are not supported by moed: merge the LoRA into the GGUF first');
  }
  if (req.draft_files && Object.keys(req.draft_files).length > 0) {
    throw new MoedError('INVALID_REQUEST', 'draft models are not supported by moed');
  }
  if (req.draft_quantize) throw new MoedError('INVALID_REQUEST', '--draft-quantize requires a DRAFT model');
  if (req.remote_host) throw new MoedError('INVALID_REQUEST', 'remote models are not supported by moed');

  const parameters = validateParameters(req.parameters);
  if (typeof parameters.rules === 'string') await checkRuleFile(parameters.rules);
  const messages = checkMessages(req.messages);
  const licenses = checkLicense(req.license);

  let source: Source;
  if (typeof req.from === 'string' && req.from !== '') {
    source = await sourceFromName(store, req.from);
  } else if (req.files && Object.keys(req.files).length > 0) {
    source = await sourceFromFiles(store, req.files);
  } else {
    throw new MoedError('INVALID_REQUEST', "neither 'from' or 'files' was specified");
  }

  const quantize = req.quantize || req.quantization;
  if (quantize) {
    const fileType = source.kind === 'model' ? source.base.config.file_type : source.summary.config.file_type;
    checkQuantize(quantize, fileType);
  }
  return { nameText, source, parameters, messages, licenses };
}

/**
 * A `rules` parameter must name a rule file that exists and is valid now, so the mistake is
 * reported by the create that made it (with the file's line), not by every later load.
 */
async function checkRuleFile(name: string): Promise<void> {
  await loadRules(name);
}

function checkFileMap(files: Record<string, string> | undefined): void {
  for (const [file, digest] of Object.entries(files ?? {})) {
    // Go's fs.ValidPath: relative, slash-separated, no "." or ".." elements.
    const parts = file.split('/');
    if (file === '' || file.startsWith('/') || file.includes('\\') || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw new MoedError('INVALID_REQUEST', 'file path must be relative');
    }
    if (typeof digest !== 'string' || digest === '') throw new MoedError('INVALID_REQUEST', 'invalid digest format');
    parseDigest(digest);
  }
}

function checkMessages(messages: unknown): StoredMessage[] | undefined {
  if (messages === undefined || messages === null) return undefined;
  if (!Array.isArray(messages)) throw new MoedError('INVALID_REQUEST', '"messages" must be an array');
  if (messages.length === 0) return undefined;
  return messages.map((m: unknown, i) => {
    const msg = m as { role?: unknown; content?: unknown } | null;
    if (!msg || typeof msg !== 'object') throw new MoedError('INVALID_REQUEST', `messages[${i}] must be an object`);
    const role = typeof msg.role === 'string' ? msg.role.toLowerCase() : '';
    if (!MESSAGE_ROLES.includes(role)) {
      throw new MoedError('INVALID_REQUEST', 'message role must be one of "system", "user", or "assistant"');
    }
    if (msg.content !== undefined && msg.content !== null && typeof msg.content !== 'string') {
      throw new MoedError('INVALID_REQUEST', `messages[${i}]: "content" must be a string`);
    }
    return { role, content: (msg.content as string | undefined) ?? '' };
  });
}

function checkLicense(license: unknown): string[] {
  if (license === undefined || license === null || license === '') return [];
  if (typeof license === 'string') return [license];
  if (Array.isArray(license) && license.every((l) => typeof l === 'string')) return license.filter((l) => l !== '');
  throw new MoedError('INVALID_REQUEST', '"license" must be a string or an array of strings');
}

/**
 * Ollama quantizes F16/BF16/F32 models at create time. moed does not quantize yet: asking for the
 * type the model already has is fine, anything else is refused before any work starts.
 */
function checkQuantize(quantize: string, fileType: string): void {
  const want = fileTypeFromName(quantize);
  if (want === undefined) throw new MoedError('INVALID_REQUEST', `unsupported quantization type ${quantize}`);
  const have = fileTypeFromName(fileType);
  if (have === want) return;
  if (!['F16', 'BF16', 'F32'].includes(fileType.toUpperCase())) {
    throw new MoedError('INVALID_REQUEST', 'quantization is only supported for F16, BF16 and F32 models');
  }
  throw new MoedError(
    'INVALID_REQUEST',
    `quantizing to ${fileTypeName(want)} is not supported by moed yet: quantize the GGUF with llama.cpp's llama-quantize and create the model from its output`,
  );
}

async function sourceFromName(store: ModelStore, from: string): Promise<Source> {
  if (isLocalPath(from)) {
    const file = path.resolve(from);
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) throw new MoedError('INVALID_REQUEST', `model file ${file} does not exist`);
    return { kind: 'path', summary: await summarizeGguf(file) };
  }
  const name = parseModelNameOrNull(from);
  if (!name) throw new MoedError('INVALID_MODEL_NAME', 'invalid model name');
  const base = await store.get(name);
  if (!base) throw new MoedError('MODEL_NOT_FOUND', `model '${from}' not found`);
  return { kind: 'model', base };
}

async function sourceFromFiles(store: ModelStore, files: Record<string, string>): Promise<Source> {
  const entries = Object.entries(files);
  const ggufs = entries.filter(([file]) => /\.gguf$/i.test(file));
  if (ggufs.length > 1) {
    throw new MoedError(
      'INVALID_REQUEST',
      'a model from uploaded files must be one GGUF file; for a split set, create it from the local path of its first file',
    );
  }
  const [, digest] = ggufs[0] ?? entries[0]!;
  if (!(await store.hasBlob(digest))) throw new MoedError('INVALID_REQUEST', `blob "${digest}" not found`);
  const file = store.blobPath(digest);
  const head = Buffer.alloc(4);
  const fh = await fs.open(file, 'r');
  try {
    await fh.read(head, 0, 4, 0);
  } finally {
    await fh.close();
  }
  // Ollama converts safetensors; moed serves GGUF only.
  if (head.toString('latin1') !== 'GGUF') throw new MoedError('INVALID_REQUEST', 'supplied file was not in GGUF format');
  return { kind: 'blob', digest, summary: await summarizeGguf(file) };
}

// --- layers ------------------------------------------------------------------------------------

/** Capabilities after a Jinja TEMPLATE override: what the weights do, plus what the template offers. */
function capabilitiesWithTemplate(base: string[] | undefined, template: string): string[] {
  const caps = (base ?? ['completion']).filter((c) => c !== 'tools' && c !== 'thinking');
  if (/\btools?\b/.test(template)) caps.push('tools');
  if (/<think>/.test(template)) caps.push('thinking');
  return caps;
}

async function stageLayers(
  tx: StoreTransaction,
  plan: Plan,
  req: CreateRequest,
): Promise<{ layers: Layer[]; config: Layer; statuses: Progress[] }> {
  const statuses: Progress[] = [];
  const layers: Layer[] = [];
  const add = async (mediaType: string, data: string) => {
    const { layer, created } = await tx.add(mediaType, data);
    statuses.push({ status: `${created ? 'creating new' : 'using existing'} layer ${layer.digest}` });
    layers.push(layer);
  };
  const keep = (layer: Layer) => {
    statuses.push({ status: `using existing layer ${layer.digest}` });
    layers.push(layer);
  };

  let config: ModelConfig;
  const { source } = plan;
  if (source.kind === 'model') {
    // Every layer of the base is inherited unless the request replaces it (Ollama's createModel):
    // TEMPLATE, SYSTEM and MESSAGEs replace, PARAMETERs merge over the base's, LICENSEs add up.
    const base = source.base;
    config = { ...base.config };
    const replaced = new Set<string>();
    if (req.template) replaced.add(MediaTypes.template);
    if (req.system) replaced.add(MediaTypes.system);
    if (Object.keys(plan.parameters).length > 0) replaced.add(MediaTypes.params);
    if (plan.messages) replaced.add(MediaTypes.messages);
    for (const layer of base.manifest.layers) if (!replaced.has(layer.mediaType)) keep(layer);
    if (req.template) await add(MediaTypes.template, req.template);
    if (req.system) await add(MediaTypes.system, req.system);
    if (replaced.has(MediaTypes.params)) {
      await add(MediaTypes.params, JSON.stringify({ ...base.parameters, ...plan.parameters }));
    }
    if (plan.messages) await add(MediaTypes.messages, JSON.stringify(plan.messages));
    for (const text of plan.licenses) if (!base.license.includes(text)) await add(MediaTypes.license, text);
  } else {
    config = { ...source.summary.config };
    if (source.kind === 'blob') keep(await tx.store.blobLayer(MediaTypes.model, source.digest));
    else await add(MediaTypes.modelRef, JSON.stringify({ files: source.summary.files }));
    if (req.template) await add(MediaTypes.template, req.template);
    if (req.system) await add(MediaTypes.system, req.system);
    if (Object.keys(plan.parameters).length > 0) await add(MediaTypes.params, JSON.stringify(plan.parameters));
    if (plan.messages) await add(MediaTypes.messages, JSON.stringify(plan.messages));
    for (const text of plan.licenses) await add(MediaTypes.license, text);
  }
  if (req.template && looksLikeJinja(req.template)) config.capabilities = capabilitiesWithTemplate(config.capabilities, req.template);
  const configLayer = (await tx.add(MediaTypes.config, JSON.stringify(config))).layer;
  return { layers, config: configLayer, statuses };
}
