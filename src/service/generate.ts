// /api/generate (reference §2.5): a prompt through the model's chat template as one user message
// (after the request's `system`, or the Modelfile SYSTEM), or as it is with `raw`; optionally after
// the token ids of an earlier answer (`context`), which the final object returns extended.
import { type GenerateRequest, type GenerateResponse } from '../api/types.js';
import type { ChatMessage, GenerateParams, Prompt } from '../engine/types.js';
import { MoedError } from '../errors/index.js';
import { fullName } from '../store/names.js';
import { findModel } from './models.js';
import {
  checkCompletion,
  checkField,
  checkImages,
  checkTopLogprobs,
  isGoTemplate,
  load,
  now,
  parseFormat,
  resolveOptions,
  samplingFrom,
  startGeneration,
  thinkChoice,
  unload,
  type ServiceDeps,
} from './run.js';

const FIELDS: [keyof GenerateRequest, 'string' | 'boolean' | 'array', string][] = [
  ['prompt', 'string', 'string'],
  ['suffix', 'string', 'string'],
  ['system', 'string', 'string'],
  ['template', 'string', 'string'],
  ['raw', 'boolean', 'bool'],
  ['context', 'array', '[]int'],
  ['images', 'array', '[]api.ImageData'],
  ['truncate', 'boolean', 'bool'],
];

function contextTokens(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const ok = Array.isArray(value) && value.every((t) => typeof t === 'number' && Number.isInteger(t) && t >= 0);
  if (!ok) throw new MoedError('INVALID_REQUEST', 'json: cannot unmarshal into Go struct field GenerateRequest.context of type []int');
  return value.length > 0 ? (value as number[]) : undefined;
}

/**
 * The response objects of one generation, streamed; load and unload (empty prompt) yield one
 * object only. Refusals happen before the first object.
 */
export async function* generate(deps: ServiceDeps, req: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerateResponse> {
  const started = process.hrtime.bigint();
  for (const [field, type, goType] of FIELDS) checkField(req, field, type, goType, 'GenerateRequest');
  // An empty model is a 404 here, unlike /api/chat (reference §4).
  const requested = typeof req.model === 'string' ? req.model : '';
  const model = await findModel(deps.store, requested);
  const r = resolveOptions(deps, model, req);
  const prompt = req.prompt ?? '';

  if (prompt === '' && r.keepAliveMs === 0) {
    await unload(deps, model);
    yield { model: requested, created_at: now(), response: '', done: true, done_reason: 'unload' };
    return;
  }
  const context = contextTokens(req.context);
  if (req.raw && (req.template || req.system || context)) {
    throw new MoedError('INVALID_REQUEST', 'raw mode does not support template, system, or context');
  }
  checkCompletion(r.caps, requested, 'generate');
  if (req.suffix && !r.caps.includes('insert')) {
    throw new MoedError('UNSUPPORTED_CAPABILITY', `${fullName(model.name)} does not support insert`);
  }
  const think = thinkChoice(req.think, requested, r.caps);
  const format = parseFormat(req.format);
  checkTopLogprobs(req.top_logprobs);
  checkImages(req.images, model, r.caps);
  if (req.template && isGoTemplate(req.template)) {
    throw new MoedError(
      'INVALID_REQUEST',
      'template: Go templates ({{ .Prompt }}) are not supported; give a Jinja chat template (as in a GGUF tokenizer.chat_template)',
    );
  }

  if (prompt === '') {
    await load(deps, r, signal);
    yield { model: requested, created_at: now(), response: '', done: true, done_reason: 'load' };
    return;
  }

  let enginePrompt: Prompt;
  if (req.raw) {
    enginePrompt = { kind: 'text', text: prompt };
  } else {
    const system = req.system || model.system;
    const messages: ChatMessage[] = [];
    if (system) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: prompt });
    enginePrompt = {
      kind: 'chat',
      messages,
      enableThinking: think.thinking,
      thinkLevel: think.level,
      templateOverride: req.template || undefined,
    };
  }
  const params: GenerateParams = {
    prompt: enginePrompt,
    prefix: context,
    sampling: samplingFrom(r.options),
    numPredict: r.options.num_predict,
    stop: r.options.stop,
    thinking: think.thinking,
    truncate: req.truncate ?? true,
    numKeep: r.options.num_keep,
    format,
    returnTokens: !req.raw,
  };
  const { parts } = await startGeneration(deps, r, params, signal, started);
  for await (const p of parts) {
    if (p.kind === 'text') {
      yield { model: requested, created_at: now(), response: p.text, done: false };
    } else if (p.kind === 'thinking') {
      yield { model: requested, created_at: now(), response: '', thinking: p.text, done: false };
    } else if (p.kind === 'done') {
      const last: GenerateResponse = { model: requested, created_at: now(), response: '', done: true, done_reason: p.done.reason };
      if (p.done.context) last.context = p.done.context;
      yield { ...last, ...p.metrics };
    }
  }
}

/** `stream:false`: the response and thinking joined, with the final object's context and metrics (reference GN3). */
export async function collectGenerate(stream: AsyncIterable<GenerateResponse>): Promise<GenerateResponse> {
  let response = '';
  let thinking = '';
  let last: GenerateResponse | undefined;
  for await (const r of stream) {
    response += r.response;
    thinking += r.thinking ?? '';
    last = r;
  }
  if (!last) throw new MoedError('ENGINE_FAILURE', 'no response was produced');
  const { model, created_at, done, done_reason, thinking: _t, response: _r, ...rest } = last;
  return { model, created_at, response, ...(thinking ? { thinking } : {}), done, done_reason, ...rest };
}
