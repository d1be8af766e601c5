// The `parameters` of /api/create (a Modelfile's PARAMETERs), checked against the option types
// before anything is stored, so a model never carries a value that fails every later request.
import { OPTION_KINDS, parseParameterValue } from '../config/options.js';
import { MoedError } from '../errors/index.js';

/** Names Ollama's Modelfile parser drops with a warning (parser.go deprecatedParameters). */
const DEPRECATED = new Set([
  'penalize_newline',
  'low_vram',
  'f16_kv',
  'logits_all',
  'vocab_only',
  'use_mlock',
  'mirostat',
  'mirostat_tau',
  'mirostat_eta',
]);

const TYPE_NAMES: Record<string, string> = {
  int: 'integer',
  float: 'float',
  bool: 'bool',
  string: 'string',
  strings: 'an array of strings',
};

function wrongType(key: string, kind: string): MoedError {
  if (kind === 'strings') return new MoedError('INVALID_REQUEST', `option "${key}" must be of an array of strings`);
  return new MoedError('INVALID_REQUEST', `option "${key}" must be of type ${TYPE_NAMES[kind]}`);
}

/**
 * Each value typed as its option: numbers for int/float (ints truncated, as Ollama's FromMap
 * does), booleans, strings, a string list for `stop`. A string holding a number or a bool (what a
 * Modelfile line holds) is converted. Unknown names are refused; deprecated ones are dropped;
 * null values are skipped.
 */
export function validateParameters(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new MoedError('INVALID_REQUEST', '"parameters" must be an object of option values');
  }
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input as Record<string, unknown>)) {
    const key = rawKey.toLowerCase();
    if (value === null || value === undefined) continue;
    const kind = OPTION_KINDS[key];
    if (kind === undefined) {
      if (DEPRECATED.has(key)) continue;
      throw new MoedError('INVALID_REQUEST', `unknown parameter '${rawKey}'`);
    }
    out[key] = coerce(key, kind, value);
  }
  return out;
}

function coerce(key: string, kind: string, value: unknown): unknown {
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
      throw wrongType(key, kind);
    case 'strings':
      if (typeof value === 'string') return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      throw wrongType(key, kind);
  }
  if (typeof value === 'string') {
    try {
      return parseParameterValue(key, value);
    } catch {
      throw wrongType(key, kind);
    }
  }
  throw wrongType(key, kind);
}
