// POST /v1/embeddings (reference OA10): an OpenAI embedding request becomes an Ollama EmbedRequest
// (normalized vectors, cut to `dimensions`); the vectors come back as floats or as base64 of their
// little-endian float32 bytes.
import type { EmbedRequest, EmbedResponse } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { Fields } from './decode.js';
import type { EmbeddingList } from './types.js';

export interface EmbeddingPlan {
  request: EmbedRequest;
  encoding: 'float' | 'base64';
}

export function toEmbedRequest(body: unknown): EmbeddingPlan {
  const f = Fields.of(body, 'EmbedRequest');
  const model = f.string('model');
  let input = f.raw('input');
  if (input === '') input = [''];
  if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) {
    throw new MoedError('INVALID_REQUEST', 'invalid input');
  }
  const format = f.string('encoding_format') ?? '';
  if (format !== '' && format !== 'float' && format !== 'base64') {
    throw new MoedError('INVALID_REQUEST', `Invalid value for 'encoding_format' = ${format}. Supported values: ['float', 'base64'].`);
  }
  const request: EmbedRequest = { model, input };
  const dimensions = f.int('dimensions');
  if (dimensions !== undefined) request.dimensions = dimensions;
  return { request, encoding: format === 'base64' ? 'base64' : 'float' };
}

/** Little-endian float32 bytes, base64-encoded (what the SDKs decode). */
export function floatsToBase64(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

export function toEmbeddingList(model: string, r: EmbedResponse, encoding: 'float' | 'base64'): EmbeddingList {
  const tokens = r.prompt_eval_count ?? 0;
  return {
    object: 'list',
    data: r.embeddings.map((e, index) => ({ object: 'embedding', embedding: encoding === 'base64' ? floatsToBase64(e) : e, index })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
