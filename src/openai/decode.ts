// Typed reads of a leniently decoded OpenAI request (reference G2, G4): unknown fields are ignored,
// null and absent mean "unset", and a value of the wrong JSON type is a 400 with the text of Go's
// encoding/json, as Ollama's /v1 middleware answers it.
import { MoedError } from '../errors/index.js';

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'object';
}

export function typeError(struct: string, field: string, goType: string, got: unknown): MoedError {
  const what = typeof got === 'number' && goType === 'int' ? `number ${got}` : jsonKind(got);
  return new MoedError('INVALID_REQUEST', `json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${goType}`);
}

const unset = (v: unknown): v is null | undefined => v === undefined || v === null;

/** Reads typed fields of one JSON object, named as Go names its struct in errors. */
export class Fields {
  constructor(
    private readonly body: Record<string, unknown>,
    private readonly struct: string,
  ) {}

  static of(body: unknown, struct: string): Fields {
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new MoedError('INVALID_REQUEST', `json: cannot unmarshal ${jsonKind(body)} into Go value of type ${struct}`);
    }
    return new Fields(body as Record<string, unknown>, struct);
  }

  raw(name: string): unknown {
    return this.body[name];
  }

  string(name: string): string | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (typeof v !== 'string') throw typeError(this.struct, name, 'string', v);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (typeof v !== 'boolean') throw typeError(this.struct, name, 'bool', v);
    return v;
  }

  int(name: string): number | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(this.struct, name, 'int', v);
    return v;
  }

  number(name: string): number | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (typeof v !== 'number') throw typeError(this.struct, name, 'float64', v);
    return v;
  }

  object(name: string, goType: string): Fields | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw typeError(this.struct, name, goType, v);
    return new Fields(v as Record<string, unknown>, `${this.struct}.${name}`);
  }

  array(name: string, goType: string): unknown[] | undefined {
    const v = this.body[name];
    if (unset(v)) return undefined;
    if (!Array.isArray(v)) throw typeError(this.struct, name, goType, v);
    return v;
  }
}

/** `stop`: a string or an array of strings (reference OA2). */
export function stopList(value: unknown): string[] | undefined {
  if (unset(value)) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) {
    for (const s of value) {
      if (typeof s !== 'string') throw new MoedError('INVALID_REQUEST', "invalid type for 'stop' field: must be a string or an array of strings");
    }
    return value as string[];
  }
  throw new MoedError('INVALID_REQUEST', "invalid type for 'stop' field: must be a string or an array of strings");
}

/**
 * The sampling options the chat and completion requests share, with OpenAI's defaults
 * (temperature and top_p 1.0; /v1/completions also takes a top_p of 0 as the default, as Ollama does).
 */
export function samplingOptions(f: Fields, maxTokens: number | undefined, opts: { zeroTopPMeansDefault: boolean }): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (maxTokens !== undefined) options.num_predict = maxTokens;
  options.temperature = f.number('temperature') ?? 1.0;
  const topP = f.number('top_p');
  options.top_p = topP === undefined || (topP === 0 && opts.zeroTopPMeansDefault) ? 1.0 : topP;
  const seed = f.int('seed');
  if (seed !== undefined) options.seed = seed;
  const stop = stopList(f.raw('stop'));
  if (stop !== undefined) options.stop = stop;
  const frequency = f.number('frequency_penalty');
  if (frequency !== undefined) options.frequency_penalty = frequency;
  const presence = f.number('presence_penalty');
  if (presence !== undefined) options.presence_penalty = presence;
  return options;
}

/** stream_options.include_usage. */
export function includeUsage(f: Fields): boolean {
  return f.object('stream_options', 'openai.StreamOptions')?.bool('include_usage') ?? false;
}

/** A monotonic id suffix, so that ids of one process do not repeat (Ollama picks 0..998 at random). */
let counter = Math.floor(Math.random() * 1000);
export function nextId(prefix: 'chatcmpl' | 'cmpl'): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}-${counter}`;
}

export const unixSeconds = (d: Date | string = new Date()): number => Math.floor(new Date(d).getTime() / 1000);
