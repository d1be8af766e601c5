// Request fields typed as Ollama's Go structs type them (reference G2, G4): unknown fields are
// ignored, null is "unset", and a value of the wrong JSON type is a 400 with encoding/json's text,
// e.g. `json: cannot unmarshal string into Go struct field CreateRequest.stream of type bool`.
// Used after the JSON body middleware, per route.
import type { Context, Next } from 'koa';
import { MoedError } from '../../errors/index.js';

/** The Go types a field can have, spelled as encoding/json names them in its errors. */
export type GoType =
  | 'string'
  | 'bool'
  | 'int'
  | 'float64'
  | 'map[string]string'
  | 'map[string]interface {}'
  | '[]string'
  | '[]api.Message'
  | '[]int'
  | 'any';

export type GoStruct = Record<string, GoType>;

const MESSAGE: GoStruct = {
  role: 'string',
  content: 'string',
  thinking: 'string',
  images: '[]string',
  tool_name: 'string',
  tool_call_id: 'string',
};

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'object';
}

function fail(got: unknown, struct: string, field: string, type: string): never {
  const what = typeof got === 'number' && type === 'int' ? `number ${got}` : jsonKind(got);
  throw new MoedError('INVALID_REQUEST', `json: cannot unmarshal ${what} into Go struct field ${struct}.${field} of type ${type}`);
}

function checkValue(v: unknown, type: GoType, struct: string, field: string): void {
  if (v === null || v === undefined || type === 'any') return;
  switch (type) {
    case 'string':
      if (typeof v !== 'string') fail(v, struct, field, type);
      return;
    case 'bool':
      if (typeof v !== 'boolean') fail(v, struct, field, type);
      return;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(v, struct, field, type);
      return;
    case 'float64':
      if (typeof v !== 'number') fail(v, struct, field, type);
      return;
    case 'map[string]string':
      if (jsonKind(v) !== 'object') fail(v, struct, field, type);
      for (const item of Object.values(v as object)) checkValue(item, 'string', struct, field);
      return;
    case 'map[string]interface {}':
      if (jsonKind(v) !== 'object') fail(v, struct, field, type);
      return;
    case '[]string':
      if (!Array.isArray(v)) fail(v, struct, field, type);
      for (const item of v) checkValue(item, 'string', struct, field);
      return;
    case '[]int':
      if (!Array.isArray(v)) fail(v, struct, field, type);
      for (const item of v) checkValue(item, 'int', struct, field);
      return;
    case '[]api.Message':
      if (!Array.isArray(v)) fail(v, struct, field, type);
      for (const item of v) {
        if (item === null) continue;
        if (jsonKind(item) !== 'object') fail(item, struct, field, 'api.Message');
        checkStruct(item as Record<string, unknown>, MESSAGE, `${struct}.${field}`);
      }
      return;
  }
}

/** Throws Go's unmarshal error for the first field of a wrong type. */
export function checkStruct(body: Record<string, unknown>, fields: GoStruct, struct: string): void {
  for (const [field, type] of Object.entries(fields)) checkValue(body[field], type, struct, field);
}

/** Koa middleware: the parsed JSON body checked against a Go struct's field types. */
export function goTypes(struct: string, fields: GoStruct) {
  return async (ctx: Context, next: Next) => {
    checkStruct((ctx.request.body ?? {}) as Record<string, unknown>, fields, struct);
    await next();
  };
}

// --- the request structs of api/types.go -----------------------------------------------------

export const ShowRequestFields: GoStruct = {
  model: 'string',
  name: 'string',
  system: 'string',
  template: 'string',
  verbose: 'bool',
  options: 'map[string]interface {}',
};

export const CreateRequestFields: GoStruct = {
  model: 'string',
  name: 'string',
  stream: 'bool',
  quantize: 'string',
  quantization: 'string',
  draft_quantize: 'string',
  from: 'string',
  remote_host: 'string',
  files: 'map[string]string',
  draft_files: 'map[string]string',
  adapters: 'map[string]string',
  template: 'string',
  license: 'any',
  system: 'string',
  parameters: 'map[string]interface {}',
  messages: '[]api.Message',
  renderer: 'string',
  parser: 'string',
  requires: 'string',
  info: 'map[string]interface {}',
};

export const CopyRequestFields: GoStruct = { source: 'string', destination: 'string' };

export const DeleteRequestFields: GoStruct = { model: 'string', name: 'string' };

/**
 * For the inference routes (owned elsewhere): ChatRequest and GenerateRequest fields whose type is
 * plain. `keep_alive`, `think` and `format` take several JSON types and are checked by their own
 * parsers.
 */
export const ChatRequestFields: GoStruct = {
  model: 'string',
  messages: '[]api.Message',
  stream: 'bool',
  tools: 'any',
  options: 'map[string]interface {}',
  truncate: 'bool',
  shift: 'bool',
  logprobs: 'bool',
  top_logprobs: 'int',
};

export const GenerateRequestFields: GoStruct = {
  model: 'string',
  prompt: 'string',
  suffix: 'string',
  system: 'string',
  template: 'string',
  context: '[]int',
  stream: 'bool',
  raw: 'bool',
  images: '[]string',
  options: 'map[string]interface {}',
  truncate: 'bool',
  shift: 'bool',
  logprobs: 'bool',
  top_logprobs: 'int',
};
