// Rule files: YAML data validated against rules/schema.json, with every error reported at its line
// ("rules/x.yaml line 7: rules[1].device must be "cpu" or "cuda:N", not "gpu0"").

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { GgufValue } from '../gguf/types.js';
import { numberValue, stringValue } from '../gguf/values.js';
import { captureGroups, compileTensorRegex } from './regex.js';
import { closest, pathText, SchemaValidator, show, type JsonPath, type Schema, type SchemaIssue } from './schema.js';
import { parseSize } from './sizes.js';
import type { EngineSettings, FillSpec, Rule, RuleDevice, RuleFile, RuleMatch } from './types.js';

/** The built-in files, in the order selectRuleFile tries them. */
export const BUILTIN_RULE_FILES = ['deepseek-v3', 'deepseek-v2', 'qwen3-moe', 'moe', 'dense'] as const;

/** rules/ of this package: src/placement/ and dist/placement/ are both two levels below the root. */
export const DEFAULT_RULES_DIR = fileURLToPath(new URL('../../rules/', import.meta.url));

/** Engine settings of a file that has no `engine` section (llama.cpp's own defaults, mmap'd weights). */
export const DEFAULT_ENGINE: Readonly<EngineSettings> = {
  flashAttention: 'auto',
  threads: 'physical-cores',
  numa: 'disabled',
  weights: 'mmap',
  gpuPromptOffload: { enabled: true, minBatch: 32 },
  kvCacheType: 'f16',
  batch: 2048,
  ubatch: 512,
};

export interface RuleFileIssue {
  line: number;
  column: number;
  /** "rules[1].device" */
  path: string;
  message: string;
}

export type RuleFileErrorCode = 'RULES_INVALID' | 'RULES_NOT_FOUND';

export class RuleFileError extends Error {
  readonly code: RuleFileErrorCode;
  readonly file: string;
  readonly issues: RuleFileIssue[];

  constructor(code: RuleFileErrorCode, file: string, message: string, issues: RuleFileIssue[] = []) {
    super(message);
    this.name = 'RuleFileError';
    this.code = code;
    this.file = file;
    this.issues = issues;
  }
}

let schemaCache: Schema | undefined;

/** rules/schema.json of this package. */
export function ruleSchema(rulesDir: string = DEFAULT_RULES_DIR): Schema {
  if (rulesDir === DEFAULT_RULES_DIR && schemaCache) return schemaCache;
  const schema = JSON.parse(readFileSync(path.join(rulesDir, 'schema.json'), 'utf8')) as Schema;
  if (rulesDir === DEFAULT_RULES_DIR) schemaCache = schema;
  return schema;
}

function formatCheck(format: string, value: string): string | undefined {
  if (format !== 'regex') return undefined;
  const re = compileTensorRegex(value);
  return typeof re === 'string' ? re : undefined;
}

/** The YAML node at a path (the key node when `atKey`), for its position. */
function nodeAt(doc: Document, p: JsonPath, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && (isScalar(it.key) ? it.key.value : it.key) === seg);
      if (!pair) return node as Node;
      keyNode = pair.key;
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return node as Node;
      keyNode = undefined;
      node = item;
    } else {
      return (node ?? undefined) as Node | undefined;
    }
  }
  return (atKey && keyNode ? keyNode : node) as Node | undefined;
}

function position(doc: Document, lc: LineCounter, p: JsonPath, atKey = false): { line: number; column: number } {
  const node = nodeAt(doc, p, atKey);
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}

function fail(file: string, issues: RuleFileIssue[]): never {
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  const lines = issues.map((i) => `${file} line ${i.line}: ${i.path ? `${i.path} ` : ''}${i.message}`);
  const message =
    lines.length === 1 ? lines[0]! : `${file} has ${lines.length} errors:\n  ${lines.join('\n  ')}`;
  throw new RuleFileError('RULES_INVALID', file, message, issues);
}

/** Parses "0-29", "0-2, 5", 7, ["0-2", 5] into a set of block numbers; a string error if malformed. */
export function parseLayers(value: unknown): Set<number> | string {
  const out = new Set<number>();
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [value];
  for (const item of items) {
    if (typeof item === 'number') {
      if (!Number.isSafeInteger(item) || item < 0) return `has a bad layer number ${item}`;
      out.add(item);
      continue;
    }
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(String(item));
    if (!m) return `has a bad layer range ${show(item)}`;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return `has the range "${String(item).trim()}", which runs backwards`;
    if (hi - lo > 100_000) return `has the range "${String(item).trim()}", which is too large`;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

const QUANTIZED_KV = new Set(['q8_0', 'q4_0', 'q4_1', 'iq4_nl', 'q5_0', 'q5_1']);

/**
 * Parses and validates a rule file's text. `file` names it in messages (a path relative to the
 * working directory reads best). Throws RuleFileError with every problem and its line.
 */
export function parseRuleFile(text: string, file: string, options: { builtin?: boolean; name?: string; rulesDir?: string } = {}): RuleFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return { line: pos.line, column: pos.col, path: '', message: `is not valid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) {
    fail(file, [{ line: 1, column: 1, path: '', message: 'is empty: a rule file needs "match" and "rules"' }]);
  }

  const issues: RuleFileIssue[] = [];
  const add = (p: JsonPath, message: string, atKey = false): void => {
    issues.push({ ...position(doc, lc, p, atKey), path: pathText(p) === 'the file' ? '' : pathText(p), message });
  };
  const schemaIssues: SchemaIssue[] = new SchemaValidator(ruleSchema(options.rulesDir), formatCheck).validate(value);
  for (const i of schemaIssues) add(i.path, i.path.length === 0 ? `the file ${i.message}` : i.message, i.atKey);
  // Paths the schema already complained about (or under them) get no second message below.
  const flagged = (p: JsonPath): boolean =>
    schemaIssues.some((i) => i.path.length <= p.length && i.path.every((seg, k) => seg === p[k]));

  // The checks a schema cannot express. They run on whatever is well-formed, so that one error
  // lists every problem of the file.
  const raw = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  const m = obj(raw.match);
  if (typeof m.min_experts === 'number' && typeof m.max_experts === 'number' && m.min_experts > m.max_experts) {
    add(['match', 'max_experts'], `(${m.max_experts}) is below min_experts (${m.min_experts})`);
  }

  const rawRules = Array.isArray(raw.rules) ? raw.rules.map(obj) : [];
  const layerSets: (Set<number> | undefined)[] = rawRules.map((r, index) => {
    if (r.layers === undefined || flagged(['rules', index, 'layers'])) return undefined;
    const parsed = parseLayers(r.layers);
    if (typeof parsed === 'string') {
      add(['rules', index, 'layers'], parsed);
      return undefined;
    }
    return parsed;
  });

  const f = raw.fill === undefined ? undefined : obj(raw.fill);
  let reserve: number | undefined;
  if (f) {
    if (typeof f.tensors === 'string' && !flagged(['fill', 'tensors']) && captureGroups(f.tensors) < 1) {
      add(['fill', 'tensors'], 'needs a capturing group for the layer number, e.g. blk\\.(\\d+)\\.');
    }
    reserve = f.reserve === undefined ? 2 ** 30 : parseSize(f.reserve as string | number);
    if (reserve === undefined && !flagged(['fill', 'reserve'])) add(['fill', 'reserve'], `must be a size such as "2GiB", not ${show(f.reserve)}`);
  }

  const e = obj(raw.engine) as {
    flash_attention?: boolean | 'auto';
    threads?: number | 'physical-cores';
    numa?: EngineSettings['numa'];
    weights?: EngineSettings['weights'];
    gpu_prompt_offload?: boolean | { enabled?: boolean; min_batch?: number };
    kv_cache_type?: string;
    batch?: number;
    ubatch?: number;
  };
  if (typeof e.kv_cache_type === 'string' && QUANTIZED_KV.has(e.kv_cache_type.toLowerCase()) && e.flash_attention === false) {
    add(['engine', 'kv_cache_type'], `${e.kv_cache_type} needs flash attention (llama.cpp rejects a quantized V cache without it); set flash_attention to true or auto`);
  }
  if (typeof e.ubatch === 'number' && typeof e.batch === 'number' && e.ubatch > e.batch) {
    add(['engine', 'ubatch'], `(${e.ubatch}) is larger than batch (${e.batch}); llama.cpp would cut it to ${e.batch}`);
  }
  if (issues.length > 0) fail(file, issues);

  // Everything is valid from here on.
  const rules: Rule[] = rawRules.map((r, index) => ({
    index,
    name: typeof r.name === 'string' ? r.name : `rule ${index + 1}`,
    tensors: r.tensors as string,
    regex: compileTensorRegex(r.tensors as string) as RegExp,
    layers: layerSets[index],
    layersText: r.layers === undefined ? undefined : Array.isArray(r.layers) ? r.layers.join(', ') : String(r.layers),
    device: r.device as RuleDevice,
    line: position(doc, lc, ['rules', index]).line,
  }));
  const fill: FillSpec | undefined = f && {
    tensors: f.tensors as string,
    regex: compileTensorRegex(f.tensors as string) as RegExp,
    device: f.device as RuleDevice,
    reserve: reserve!,
    order: (f.order as FillSpec['order'] | undefined) ?? 'ascending',
    pack: (f.pack as boolean | undefined) ?? true,
    line: position(doc, lc, ['fill']).line,
  };
  const offload = e.gpu_prompt_offload;
  const engine: EngineSettings = {
    flashAttention:
      e.flash_attention === undefined ? DEFAULT_ENGINE.flashAttention : e.flash_attention === 'auto' ? 'auto' : e.flash_attention ? 'on' : 'off',
    threads: e.threads ?? DEFAULT_ENGINE.threads,
    numa: e.numa ?? DEFAULT_ENGINE.numa,
    weights: e.weights ?? DEFAULT_ENGINE.weights,
    gpuPromptOffload:
      offload === undefined
        ? { ...DEFAULT_ENGINE.gpuPromptOffload }
        : typeof offload === 'boolean'
          ? { enabled: offload, minBatch: DEFAULT_ENGINE.gpuPromptOffload.minBatch }
          : { enabled: offload.enabled ?? true, minBatch: offload.min_batch ?? DEFAULT_ENGINE.gpuPromptOffload.minBatch },
    kvCacheType: (e.kv_cache_type ?? DEFAULT_ENGINE.kvCacheType).toLowerCase(),
    batch: e.batch ?? DEFAULT_ENGINE.batch,
    ubatch: e.ubatch ?? DEFAULT_ENGINE.ubatch,
  };

  const match: RuleMatch = {
    architecture: m.architecture === undefined ? undefined : [m.architecture as string | string[]].flat(),
    minExperts: m.min_experts as number | undefined,
    maxExperts: m.max_experts as number | undefined,
    name: m.name as string | undefined,
  };
  return {
    name: options.name ?? path.basename(file).replace(/\.ya?ml$/i, ''),
    source: file,
    builtin: options.builtin ?? false,
    description: raw.description as string | undefined,
    match,
    rules,
    fill,
    engine,
  };
}

export interface LoadRuleOptions {
  /** Where built-in files live (default: this package's rules/). */
  rulesDir?: string;
  /** Directory relative paths are resolved against (default: process.cwd()). */
  baseDir?: string;
}

/** For messages: a path relative to the working directory when that is shorter. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && rel.length < p.length ? rel : p;
}

/**
 * Loads a rule file by built-in name ("deepseek-v3") or by path ("./my-rules.yaml",
 * "/etc/moed/r1.yaml"). A bare name that is not built in is also tried as a path.
 */
export async function loadRuleFile(nameOrPath: string, options: LoadRuleOptions = {}): Promise<RuleFile> {
  const rulesDir = options.rulesDir ?? DEFAULT_RULES_DIR;
  const looksLikePath = /[\\/]/.test(nameOrPath) || /\.ya?ml$/i.test(nameOrPath);
  const builtinPath = path.join(rulesDir, `${nameOrPath}.yaml`);
  const candidates = looksLikePath
    ? [path.resolve(options.baseDir ?? process.cwd(), nameOrPath)]
    : [builtinPath, path.resolve(options.baseDir ?? process.cwd(), nameOrPath)];
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR') continue;
      throw err;
    }
    const builtin = file === builtinPath;
    return parseRuleFile(text, displayPath(file), { builtin, name: builtin ? nameOrPath : undefined, rulesDir });
  }
  const hint = looksLikePath ? undefined : closest(nameOrPath, BUILTIN_RULE_FILES);
  throw new RuleFileError(
    'RULES_NOT_FOUND',
    nameOrPath,
    `rule file "${nameOrPath}" not found: give a path to a .yaml file or one of the built-in names ${BUILTIN_RULE_FILES.join(', ')}${hint ? ` (did you mean "${hint}"?)` : ''}`,
  );
}

/** Every built-in rule file, in selection order. */
export async function loadBuiltinRuleFiles(options: { rulesDir?: string } = {}): Promise<RuleFile[]> {
  return Promise.all(BUILTIN_RULE_FILES.map((n) => loadRuleFile(n, options)));
}

/** The facts of a model that `match` looks at. */
export interface MatchFacts {
  architecture: string;
  experts: number;
  name?: string;
}

export function matchFacts(metadata: Map<string, GgufValue>): MatchFacts {
  const architecture = stringValue(metadata.get('general.architecture')) ?? '';
  return {
    architecture,
    experts: numberValue(metadata.get(`${architecture}.expert_count`)) ?? 0,
    name: stringValue(metadata.get('general.name')),
  };
}

/** Whether a rule file's `match` fits a model. */
export function ruleFileMatches(file: RuleFile, facts: MatchFacts): boolean {
  const m = file.match;
  if (m.architecture && !m.architecture.includes('*') && !m.architecture.includes(facts.architecture)) return false;
  if (m.minExperts !== undefined && facts.experts < m.minExperts) return false;
  if (m.maxExperts !== undefined && facts.experts > m.maxExperts) return false;
  if (m.name !== undefined && !(facts.name !== undefined && new RegExp(m.name, 'i').test(facts.name))) return false;
  return true;
}

/**
 * The first built-in rule file whose `match` fits the model (GGUF metadata). Throws RuleFileError
 * RULES_NOT_FOUND when none does.
 */
export async function selectRuleFile(metadata: Map<string, GgufValue>, options: { rulesDir?: string } = {}): Promise<RuleFile> {
  const facts = matchFacts(metadata);
  for (const file of await loadBuiltinRuleFiles(options)) {
    if (ruleFileMatches(file, facts)) return file;
  }
  throw new RuleFileError(
    'RULES_NOT_FOUND',
    '',
    `no built-in rule file matches architecture "${facts.architecture}" with ${facts.experts} experts; name a rule file for this model`,
  );
}
