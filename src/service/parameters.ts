// The `parameters` of /api/create (a Modelfile's PARAMETERs), checked against the option types
// before anything is stored, so a model never carries a value that fails every later request.
import { coerceOption, DEPRECATED_PARAMETERS, OPTION_KINDS, parseParameterValue, type Kind } from '../config/options.js';
import { MoedError } from '../errors/index.js';

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
      if (DEPRECATED_PARAMETERS.includes(key)) continue;
      throw new MoedError('INVALID_REQUEST', `unknown parameter '${rawKey}'`);
    }
    out[key] = coerce(key, kind, value);
  }
  return out;
}

/** A Modelfile line holds text: "8192", "true" and "0.6" become the option's type first. */
function coerce(key: string, kind: Kind, value: unknown): unknown {
  if (typeof value === 'string' && (kind === 'int' || kind === 'float' || kind === 'bool')) {
    try {
      return parseParameterValue(key, value);
    } catch {
      // not a number or bool: coerceOption reports the type error in Ollama's words
    }
  }
  return coerceOption(key, kind, value);
}
