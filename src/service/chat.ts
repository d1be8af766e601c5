// /api/chat: validates the request, loads the model through the scheduler, streams the runner's
// text as Ollama ChatResponse objects with R1's thinking separated into message.thinking.
import type { ChatRequest, ChatResponse, Message } from '../api/types.js';
import type { DaemonConfig } from '../config/env.js';
import { mergeOptions, type Options } from '../config/options.js';
import type { ChatMessageInput, GenerateParams, SamplingParams } from '../engine/types.js';
import { MoedError } from '../errors/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ModelStore, StoredModel } from '../store/store.js';
import { ThinkingSplitter } from '../template/thinking.js';
import { capabilities, findModel, loadParamsFor } from './models.js';
import { parseKeepAlive, parseThink } from './request-values.js';

export interface ServiceDeps {
  store: ModelStore;
  scheduler: Scheduler;
  config: DaemonConfig;
}

const now = () => new Date().toISOString();

/** Ollama's metrics: integer nanoseconds and counts, omitted when zero. */
function metrics(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (v > 0) out[k] = Math.round(v);
  return out;
}

export function samplingFrom(o: Options): SamplingParams {
  return {
    temperature: o.temperature,
    topK: o.top_k,
    topP: o.top_p,
    minP: o.min_p,
    typicalP: o.typical_p,
    repeatLastN: o.repeat_last_n,
    repeatPenalty: o.repeat_penalty,
    presencePenalty: o.presence_penalty,
    frequencyPenalty: o.frequency_penalty,
    seed: o.seed,
    mirostat: o.mirostat,
    mirostatTau: o.mirostat_tau,
    mirostatEta: o.mirostat_eta,
  };
}

function toEngineMessage(m: Message, index: number): ChatMessageInput {
  if (!m || typeof m !== 'object' || typeof m.role !== 'string') {
    throw new MoedError('INVALID_REQUEST', `messages[${index}]: a message needs a "role" string`);
  }
  if (m.content !== undefined && m.content !== null && typeof m.content !== 'string') {
    throw new MoedError('INVALID_REQUEST', `messages[${index}]: "content" must be a string`);
  }
  const out: ChatMessageInput = { role: m.role.toLowerCase(), content: m.content ?? '' };
  if (m.tool_calls?.length) {
    out.tool_calls = m.tool_calls.map((c) => ({
      type: 'function' as const,
      id: c.id,
      function: { name: c.function.name, arguments: JSON.stringify(c.function.arguments ?? {}) },
    }));
  }
  if (m.tool_name) out.tool_name = m.tool_name;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

/** Modelfile SYSTEM and MESSAGEs come first (reference C5). */
function conversation(model: StoredModel, messages: Message[]): ChatMessageInput[] {
  const out: ChatMessageInput[] = [];
  if (model.system && messages[0]?.role?.toLowerCase() !== 'system') out.push({ role: 'system', content: model.system });
  out.push(...model.messages.map((m) => ({ role: m.role, content: m.content })));
  out.push(...messages.map(toEngineMessage));
  return out;
}

export class ChatService {
  constructor(private readonly deps: ServiceDeps) {}

  /**
   * The response objects of one chat, streamed. Everything that can be refused is checked before
   * the first object, so the server can still answer with a real status.
   */
  async *chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatResponse> {
    const started = process.hrtime.bigint();
    if (typeof req.model !== 'string' || req.model === '') throw new MoedError('INVALID_REQUEST', 'model is required');
    if (req.messages !== undefined && req.messages !== null && !Array.isArray(req.messages)) {
      throw new MoedError('INVALID_REQUEST', '"messages" must be an array');
    }
    const { store, scheduler, config } = this.deps;
    const model = await findModel(store, req.model);
    const caps = capabilities(model);
    const think = parseThink(req.think);
    if (think !== undefined && think !== false && !caps.includes('thinking')) {
      throw new MoedError('UNSUPPORTED_CAPABILITY', `"${req.model}" does not support thinking`);
    }
    const keepAliveMs = parseKeepAlive(req.keep_alive, config.keepAliveMs);
    const options = mergeOptions(config.contextLength, model.parameters, req.options ?? undefined);
    const messages = req.messages ?? [];

    if (messages.length === 0) {
      // Load (or unload with keep_alive 0) without generating: reference C4.
      if (keepAliveMs === 0) {
        await scheduler.unload(model.digest);
        yield { model: req.model, created_at: now(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'unload' };
        return;
      }
      const lease = await scheduler.acquire(model.digest, model.display, await loadParamsFor(model, options, config), keepAliveMs);
      lease.release();
      yield { model: req.model, created_at: now(), message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' };
      return;
    }

    const thinking = think === undefined ? caps.includes('thinking') : think !== false;
    const params: GenerateParams = {
      prompt: { kind: 'chat', messages: conversation(model, messages), tools: req.tools, enableThinking: thinking },
      sampling: samplingFrom(options),
      numPredict: options.num_predict,
      stop: options.stop,
    };
    const lease = await scheduler.acquire(model.digest, model.display, await loadParamsFor(model, options, config), keepAliveMs);
    try {
      const events = lease.runner.generate(params, signal)[Symbol.asyncIterator]();
      // The first event proves the prompt was accepted; errors before it keep their status.
      const first = await events.next();
      if (first.done || first.value.type !== 'start') throw new MoedError('ENGINE_FAILURE', 'runner sent no start event');
      const start = first.value;
      const splitter = new ThinkingSplitter(start.thinkingOpen, thinking, start.thinkingStart, start.thinkingEnd);
      const chunk = (content: string, thinkingText: string): ChatResponse => {
        const message: Message = { role: 'assistant', content };
        if (thinkingText) message.thinking = thinkingText;
        return { model: req.model!, created_at: now(), message, done: false };
      };
      for (;;) {
        const { value: ev, done } = await events.next();
        if (done) throw new MoedError('ENGINE_FAILURE', 'the runner ended the stream without finishing');
        if (ev.type === 'text') {
          const s = splitter.push(ev.text);
          if (s.content || s.thinking) yield chunk(s.content, s.thinking);
        } else if (ev.type === 'done') {
          const rest = splitter.flush();
          if (rest.content || rest.thinking) yield chunk(rest.content, rest.thinking);
          yield {
            model: req.model,
            created_at: now(),
            message: { role: 'assistant', content: '' },
            done: true,
            done_reason: ev.reason,
            ...metrics({
              total_duration: Number(process.hrtime.bigint() - started),
              load_duration: lease.loadNs,
              prompt_eval_count: ev.promptEvalCount,
              prompt_eval_duration: ev.promptEvalNs,
              eval_count: ev.evalCount,
              eval_duration: ev.evalNs,
            }),
          };
          return;
        }
      }
    } finally {
      lease.release();
    }
  }
}

/** `stream:false`: one object with the text joined and the final metrics (reference C3). */
export async function collectChat(stream: AsyncIterable<ChatResponse>): Promise<ChatResponse> {
  let content = '';
  let thinking = '';
  let last: ChatResponse | undefined;
  for await (const r of stream) {
    content += r.message.content;
    thinking += r.message.thinking ?? '';
    last = r;
  }
  if (!last) throw new MoedError('ENGINE_FAILURE', 'no response was produced');
  const message: Message = { role: 'assistant', content };
  if (thinking) message.thinking = thinking;
  return { ...last, message };
}
