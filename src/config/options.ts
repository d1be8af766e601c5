// Ollama's runtime options (api/types.go Options), their types and defaults, and the one function
// that merges them: defaults, then environment, then Modelfile PARAMETERs, then request options.
import { MoedError } from '../errors/index.js';

export type Kind = 'int' | 'float' | 'bool' | 'string' | 'strings';

/** Every option we know, with its JSON type. Unknown keys are ignored (reference O1). */
export const OPTION_KINDS: Record<string, Kind> = {
  num_keep: 'int',
  seed: 'int',
  num_predict: 'int',
  top_k: 'int',
  top_p: 'float',
  min_p: 'float',
  typical_p: 'float',
  repeat_last_n: 'int',
  temperature: 'float',
  repeat_penalty: 'float',
  presence_penalty: 'float',
  frequency_penalty: 'float',
  mirostat: 'int',
  mirostat_tau: 'float',
  mirostat_eta: 'float',
  stop: 'strings',
  num_ctx: 'int',
  num_batch: 'int',
  num_gpu: 'int',
  main_gpu: 'int',
  use_mmap: 'bool',
  num_thread: 'int',
  // moed's own: the placement rule file to use for this model.
  rules: 'string',
};

export interface Options {
  num_keep: number;
  seed: number;
  num_predict: number;
  top_k: number;
  top_p: number;
  min_p: number;
  typical_p: number;
  repeat_last_n: number;
  temperature: number;
  repeat_penalty: number;
  presence_penalty: number;
  frequency_penalty: number;
  mirostat: number;
  mirostat_tau: number;
  mirostat_eta: number;
  stop: string[];
  num_ctx: number;
  num_batch: number;
  num_gpu: number;
  main_gpu?: number;
  use_mmap?: boolean;
  num_thread: number;
  rules?: string;
}

export function defaultOptions(contextLength: number): Options {
  return {
    num_keep: 4,
    seed: -1,
    num_predict: -1,
    top_k: 40,
    top_p: 0.9,
    min_p: 0,
    typical_p: 1,
    repeat_last_n: 64,
    temperature: 0.8,
    repeat_penalty: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    mirostat: 0,
    mirostat_tau: 5,
    mirostat_eta: 0.1,
    stop: [],
    num_ctx: contextLength,
    num_batch: 512,
    num_gpu: -1,
    num_thread: 0,
  };
}

function typeName(kind: Kind): string {
  return { int: 'integer', float: 'float', bool: 'bool', string: 'string', strings: 'an array of strings' }[kind];
}

/** Names Ollama's Modelfile parser drops with a warning (parser.go deprecatedParameters). */
export const DEPRECATED_PARAMETERS: readonly string[] = [
  'penalize_newline',
  'low_vram',
  'f16_kv',
  'logits_all',
  'vocab_only',
  'use_mlock',
  'mirostat',
  'mirostat_tau',
  'mirostat_eta',
];

/** One value checked against its kind; wrong types fail as Ollama's FromMap does. */
export function coerceOption(key: string, kind: Kind, value: unknown): unknown {
  switch (kind) {
    case 'int':
      if (typeof value === 'number' && Number.isFinite(value)) return Math.trunc(value);
      break;
    case 'float':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      break;
    case 'bool':
      if (typeof value === 'boolean') return value;
      break;
    case 'string':
      if (typeof value === 'string') return value;
      break;
    case 'strings':
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      if (typeof value === 'string') return [value];
      throw new MoedError('INVALID_REQUEST', `option "${key}" must be of an array of strings`);
  }
  throw new MoedError('INVALID_REQUEST', `option "${key}" must be of type ${typeName(kind)}`);
}

/** Applies a layer of options (Modelfile parameters or request options) onto a base. */
function applyLayer(base: Options, layer: Record<string, unknown> | null | undefined): Options {
  if (!layer || typeof layer !== 'object') return base;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const kind = OPTION_KINDS[key];
    if (kind === undefined || value === null || value === undefined) continue;
    out[key] = coerceOption(key, kind, value);
  }
  return out as unknown as Options;
}

/** defaults < environment (num_ctx) < Modelfile PARAMETERs < request options. */
export function mergeOptions(
  contextLength: number,
  modelParameters: Record<string, unknown> | undefined,
  requestOptions: Record<string, unknown> | null | undefined,
): Options {
  return applyLayer(applyLayer(defaultOptions(contextLength), modelParameters), requestOptions);
}

/** Parses a Modelfile PARAMETER value (always text) to the option's type. */
export function parseParameterValue(key: string, raw: string): unknown {
  const kind = OPTION_KINDS[key];
  if (kind === undefined) throw new MoedError('INVALID_MODELFILE', `unknown parameter '${key}'`);
  const text = raw.trim();
  switch (kind) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) throw new MoedError('INVALID_MODELFILE', `invalid int value [${raw}]`);
      return Number.parseInt(text, 10);
    }
    case 'float': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw new MoedError('INVALID_MODELFILE', `invalid float value [${raw}]`);
      return n;
    }
    case 'bool': {
      if (!/^(true|false|1|0)$/i.test(text)) throw new MoedError('INVALID_MODELFILE', `invalid bool value [${raw}]`);
      return /^(true|1)$/i.test(text);
    }
    case 'string':
      return unquote(text);
    case 'strings':
      return [unquote(text)];
  }
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
