// POST /v1/completions (reference OA7): a legacy completion request becomes an Ollama
// GenerateRequest (the prompt goes through the model's chat template, as on Ollama); the answer
// (without the reasoning) becomes a text_completion, or a stream of them.
import type { GenerateRequest, GenerateResponse } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { usageOf } from './chat.js';
import { Fields, includeUsage, samplingOptions, typeError } from './decode.js';
import type { Completion, FinishReason, Usage } from './types.js';

const STRUCT = 'CompletionRequest';

export interface CompletionPlan {
  request: GenerateRequest;
  stream: boolean;
  includeUsage: boolean;
}

/** The prompt is one string (an array holding one string is taken too). */
function promptOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') return value[0];
  if (Array.isArray(value)) throw new MoedError('INVALID_REQUEST', 'invalid prompt: moed takes one prompt string per request');
  throw typeError(STRUCT, 'prompt', 'string', value);
}

export function toGenerateRequest(body: unknown): CompletionPlan {
  const f = Fields.of(body, STRUCT);
  const model = f.string('model');
  const prompt = promptOf(f.raw('prompt'));
  const stream = f.bool('stream') ?? false;
  const usage = includeUsage(f);
  const options = samplingOptions(f, f.int('max_tokens'), { zeroTopPMeansDefault: true });
  const request: GenerateRequest = { model, prompt, stream, options };
  const suffix = f.string('suffix');
  if (suffix) request.suffix = suffix;
  f.int('logprobs');
  return { request, stream, includeUsage: usage };
}

function finishReason(reason: string | undefined): FinishReason | null {
  if (reason === 'length') return 'length';
  return reason ? 'stop' : null;
}

/** `stream:false`: the collected Ollama response as one text_completion. */
export function toCompletion(r: GenerateResponse, id: string, created: number): Completion {
  return {
    id,
    object: 'text_completion',
    created,
    model: r.model,
    system_fingerprint: 'fp_ollama',
    choices: [{ text: r.response, index: 0, finish_reason: finishReason(r.done_reason) }],
    usage: usageOf(r),
  };
}

const ZERO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/**
 * `stream:true`: one text_completion chunk per piece of the answer, then one with the finish reason;
 * with include_usage every chunk carries a zero usage, and a last chunk with `choices: []` the real one.
 */
export async function* toCompletionChunks(
  items: AsyncIterable<GenerateResponse>,
  meta: { id: string; created: number; model: string; includeUsage: boolean },
): AsyncGenerator<Completion> {
  const chunk = (text: string, finish: FinishReason | null): Completion => {
    const c: Completion = {
      id: meta.id,
      object: 'text_completion',
      created: meta.created,
      model: meta.model,
      system_fingerprint: 'fp_ollama',
      choices: [{ text, index: 0, finish_reason: finish }],
    };
    if (meta.includeUsage) c.usage = { ...ZERO_USAGE };
    return c;
  };
  for await (const r of items) {
    if (!r.done) {
      if (r.response) yield chunk(r.response, null);
      continue;
    }
    yield chunk(r.response, finishReason(r.done_reason) ?? 'stop');
    if (meta.includeUsage) yield { ...chunk('', null), choices: [], usage: usageOf(r) };
  }
}
