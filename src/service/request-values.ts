// Parsing of request fields whose JSON shape is more than one type: keep_alive and think
// (reference K1–K3, TH1). Errors carry Ollama's texts.
import type { ThinkValue } from '../api/types.js';
import { parseDuration } from '../config/duration.js';
import { MoedError } from '../errors/index.js';

/** keep_alive in milliseconds (negative = forever); undefined/null means the server default. */
export function parseKeepAlive(value: unknown, fallbackMs: number): number {
  if (value === undefined || value === null) return fallbackMs;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new MoedError('INVALID_REQUEST', `Unsupported type: 'number'`);
    return value < 0 ? -1 : value * 1000;
  }
  if (typeof value === 'string') {
    if (value === '') return fallbackMs;
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (e) {
      throw new MoedError('INVALID_REQUEST', (e as Error).message);
    }
    return ms < 0 ? -1 : ms;
  }
  throw new MoedError('INVALID_REQUEST', `Unsupported type: '${Array.isArray(value) ? 'array' : typeof value}'`);
}

const LEVELS = ['low', 'medium', 'high', 'max'];

/** think: true/false or a level; anything else is Ollama's 400. */
export function parseThink(value: unknown): ThinkValue | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && LEVELS.includes(value)) return value as ThinkValue;
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  throw new MoedError(
    'INVALID_REQUEST',
    `invalid think value: ${shown} (must be "high", "medium", "low", "max", true, or false)`,
  );
}
