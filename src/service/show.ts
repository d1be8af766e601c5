// POST /api/show (reference S1–S7): a model's Modelfile, parameters, template, details, GGUF
// metadata (model_info), tensors and capabilities, shaped as Ollama's GetModelInfo shapes them.
import type { ShowResponse } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { GgufError, readGgufSplitSet, stringValue, tensorElements, type GgufSplitSet, type GgufValue } from '../gguf/index.js';
import { parseModelNameOrNull, displayName } from '../store/names.js';
import { checkModelFiles, type ModelStore, type StoredModel } from '../store/store.js';
import { goSharpV, goV, modelfileQuote } from './go-format.js';
import { capabilities, modelDetails } from './models.js';

export interface ShowRequest {
  model?: string;
  /** Deprecated alias of `model`. */
  name?: string;
  verbose?: boolean;
  /** Replaces the model's SYSTEM in the answer. */
  system?: string;
  /** Deprecated; ignored as Ollama ignores it. */
  template?: string;
  /** Merged into the PARAMETERs of the generated Modelfile. */
  options?: Record<string, unknown> | null;
}

/**
 * Extension points of /api/show. `plan` is where moed's placement plan (which tensor goes to
 * which device, bytes per device, whether it fits) joins the answer; the daemon wires it in
 * once the planner exists. Returning undefined leaves the field out.
 */
export interface ShowHooks {
  plan?: (model: StoredModel, req: ShowRequest) => Promise<unknown> | unknown;
}

/** Arrays this long or shorter are shown without `verbose` (Ollama's getModelData). */
const SHORT_ARRAY = 5;

export async function showModel(store: ModelStore, req: ShowRequest, hooks: ShowHooks = {}): Promise<ShowResponse> {
  const requested = req.model || req.name || '';
  if (requested === '') throw new MoedError('INVALID_REQUEST', 'model is required');
  const name = parseModelNameOrNull(requested);
  if (!name) throw new MoedError('INVALID_MODEL_NAME', 'invalid model name');
  const model = await store.get(name);
  if (!model) throw new MoedError('MODEL_NOT_FOUND', `model '${displayName(name)}' not found`);

  const verbose = req.verbose === true;
  const gguf = await readModelGguf(model, verbose);
  const system = req.system || model.system || '';
  const template = model.template || stringValue(gguf.metadata.get('tokenizer.chat_template')) || '';

  const resp: ShowResponse = {
    license: model.license.join('\n') || undefined,
    modelfile: modelfileText(model, { system, template, options: req.options ?? undefined }),
    parameters: parametersText(model.parameters) || undefined,
    template: template || undefined,
    system: system || undefined,
    details: modelDetails(model, false),
    messages: model.messages.length > 0 ? model.messages.map((m) => ({ role: m.role, content: m.content })) : undefined,
    model_info: modelInfo(gguf),
    tensors: gguf.tensors.map((t) => ({ name: t.name, type: t.typeName, shape: [...t.dims] })),
    capabilities: capabilities(model),
    modified_at: model.modifiedAt.toISOString(),
  };
  if (hooks.plan) {
    const plan = await hooks.plan(model, req);
    if (plan !== undefined) resp.plan = plan;
  }
  return resp;
}

async function readModelGguf(model: StoredModel, verbose: boolean): Promise<GgufSplitSet> {
  await checkModelFiles(model);
  const file = model.modelFiles[0]?.path;
  if (!file) throw new MoedError('INTERNAL', `${model.display} has no model file`);
  try {
    return await readGgufSplitSet(file, { maxArrayLength: verbose ? undefined : SHORT_ARRAY });
  } catch (e) {
    if (e instanceof GgufError) throw new MoedError('INVALID_GGUF', `${file} is not a usable GGUF file: ${e.message}`, { cause: e });
    throw e;
  }
}

function plain(v: GgufValue): unknown {
  if (v.type === 'array') {
    if (v.value === undefined) return [];
    return (v.value as unknown[]).map((x) => (typeof x === 'bigint' ? Number(x) : x));
  }
  return typeof v.value === 'bigint' ? Number(v.value) : v.value;
}

/**
 * The GGUF key/value map, keys sorted (Go marshals maps sorted), without general.name and
 * tokenizer.chat_template, with general.parameter_count counted from the tensors as Ollama does.
 */
function modelInfo(set: GgufSplitSet): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const [k, v] of set.metadata) {
    if (k === 'general.name' || k === 'tokenizer.chat_template') continue;
    entries.push([k, plain(v)]);
  }
  const params = set.tensors.reduce((s, t) => s + tensorElements(t.dims), 0);
  const idx = entries.findIndex(([k]) => k === 'general.parameter_count');
  if (idx >= 0) entries[idx] = ['general.parameter_count', params];
  else entries.push(['general.parameter_count', params]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

/** `key` padded to 30, a space, the Go-syntax value; one line per element of a list (S6). */
export function parametersText(parameters: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const key of Object.keys(parameters).sort()) {
    const v = parameters[key];
    for (const item of Array.isArray(v) ? v : [v]) lines.push(`${key.padEnd(30)} ${goSharpV(item)}`);
  }
  return lines.join('\n');
}

/** The Modelfile `ollama show --modelfile` prints (S7): FROM the model file, then the rest. */
export function modelfileText(
  model: StoredModel,
  over: { system: string; template: string; options?: Record<string, unknown> },
): string {
  const lines = [
    '# Modelfile generated by "ollama show"',
    '# To build a new Modelfile based on this, replace FROM with:',
    `# FROM ${model.display}`,
    '',
    `FROM ${model.modelFiles[0]?.path ?? ''}`,
  ];
  if (over.template) lines.push(`TEMPLATE ${modelfileQuote(over.template)}`);
  if (over.system) lines.push(`SYSTEM ${modelfileQuote(over.system)}`);
  const params = { ...model.parameters, ...(over.options ?? {}) };
  for (const key of Object.keys(params).sort()) {
    const v = params[key];
    if (v === null || v === undefined) continue;
    for (const item of Array.isArray(v) ? v : [v]) lines.push(`PARAMETER ${key} ${modelfileQuote(goV(item))}`);
  }
  for (const license of model.license) lines.push(`LICENSE ${modelfileQuote(license)}`);
  for (const m of model.messages) lines.push(`MESSAGE ${m.role} ${modelfileQuote(m.content)}`);
  return `${lines.join('\n')}\n`;
}
