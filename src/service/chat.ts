// /api/chat (reference §2.6): validates the request, loads the model through the scheduler and
// streams the runner's parts as Ollama ChatResponse objects: reasoning in message.thinking, tool
// calls whole in message.tool_calls, then a final object with done_reason and metrics.
import { type ChatRequest, type ChatResponse, type Message, type ToolCall } from '../api/types.js';
import type { ChatMessage, GenerateParams } from '../engine/types.js';
import { MoedError } from '../errors/index.js';
import { fullName } from '../store/names.js';
import type { StoredModel } from '../store/store.js';
import { findModel } from './models.js';
import {
  checkCompletion,
  checkField,
  checkImages,
  checkTopLogprobs,
  load,
  now,
  parseFormat,
  resolveOptions,
  samplingFrom,
  startGeneration,
  thinkChoice,
  toolCallId,
  unload,
  type ServiceDeps,
} from './run.js';

function toEngineMessage(m: Message, index: number): ChatMessage {
  if (!m || typeof m !== 'object' || typeof m.role !== 'string') {
    throw new MoedError('INVALID_REQUEST', `messages[${index}]: a message needs a "role" string`);
  }
  if (m.content !== undefined && m.content !== null && typeof m.content !== 'string') {
    throw new MoedError('INVALID_REQUEST', `messages[${index}]: "content" must be a string`);
  }
  const out: ChatMessage = { role: m.role.toLowerCase(), content: m.content ?? '' };
  if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
    out.tool_calls = m.tool_calls.map((c, i) => {
      if (!c?.function || typeof c.function.name !== 'string') {
        throw new MoedError('INVALID_REQUEST', `messages[${index}].tool_calls[${i}]: a tool call needs "function.name"`);
      }
      const args = c.function.arguments as unknown;
      return {
        type: 'function' as const,
        id: c.id,
        function: { name: c.function.name, arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}) },
      };
    });
  }
  // llama-common reads a tool result's tool name from "name".
  if (m.tool_name) out.name = m.tool_name;
  if (m.tool_call_id) out.tool_call_id = m.tool_call_id;
  return out;
}

/** Modelfile SYSTEM (unless the request starts with a system message) and MESSAGEs come first (reference C5). */
function conversation(model: StoredModel, messages: Message[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (model.system && messages[0]?.role?.toLowerCase() !== 'system') out.push({ role: 'system', content: model.system });
  out.push(...model.messages.map((m) => ({ role: m.role, content: m.content })));
  out.push(...messages.map(toEngineMessage));
  return out;
}

const assistant = (content: string): Message => ({ role: 'assistant', content });

/**
 * The response objects of one chat, streamed. Everything that can be refused is checked before the
 * first object, so the server can still answer with a real status. Load and unload (no messages)
 * yield one object only.
 */
export async function* chat(deps: ServiceDeps, req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatResponse> {
  const started = process.hrtime.bigint();
  if (typeof req.model !== 'string' || req.model === '') throw new MoedError('INVALID_REQUEST', 'model is required');
  checkField(req, 'messages', 'array', '[]api.Message', 'ChatRequest');
  checkField(req, 'tools', 'array', 'api.Tools', 'ChatRequest');
  checkField(req, 'truncate', 'boolean', 'bool', 'ChatRequest');
  const model = await findModel(deps.store, req.model);
  const r = resolveOptions(deps, model, req);
  const messages = req.messages ?? [];

  if (messages.length === 0 && r.keepAliveMs === 0) {
    // Unload (reference C4): 200 even when the model was not loaded.
    await unload(deps, model);
    yield { model: req.model, created_at: now(), message: assistant(''), done: true, done_reason: 'unload' };
    return;
  }
  checkCompletion(r.caps, req.model, 'chat');
  const tools = req.tools ?? [];
  if (tools.length > 0 && !r.caps.includes('tools')) {
    throw new MoedError('UNSUPPORTED_CAPABILITY', `${fullName(model.name)} does not support tools`);
  }
  const think = thinkChoice(req.think, req.model, r.caps);
  const format = parseFormat(req.format);
  checkTopLogprobs(req.top_logprobs);
  const engineMessages = conversation(model, messages);
  messages.forEach((m) => checkImages(m.images, model, r.caps));

  if (messages.length === 0) {
    await load(deps, r, signal);
    yield { model: req.model, created_at: now(), message: assistant(''), done: true, done_reason: 'load' };
    return;
  }

  const params: GenerateParams = {
    prompt: {
      kind: 'chat',
      messages: engineMessages,
      tools: tools.length > 0 ? tools : undefined,
      enableThinking: think.thinking,
      thinkLevel: think.level,
    },
    sampling: samplingFrom(r.options),
    numPredict: r.options.num_predict,
    stop: r.options.stop,
    thinking: think.thinking,
    truncate: req.truncate ?? true,
    numKeep: r.options.num_keep,
    format,
  };
  const { parts } = await startGeneration(deps, r, params, signal, started);
  const chunk = (message: Message): ChatResponse => ({ model: req.model!, created_at: now(), message, done: false });
  let index = 0;
  for await (const p of parts) {
    if (p.kind === 'text') {
      yield chunk(assistant(p.text));
    } else if (p.kind === 'thinking') {
      yield chunk({ ...assistant(''), thinking: p.text });
    } else if (p.kind === 'tool') {
      const call: ToolCall = { id: toolCallId(), function: { index: index++, name: p.name, arguments: p.arguments } };
      yield chunk({ ...assistant(''), tool_calls: [call] });
    } else {
      yield {
        model: req.model,
        created_at: now(),
        message: assistant(''),
        done: true,
        done_reason: p.done.reason,
        ...p.metrics,
      };
    }
  }
}

/** `stream:false`: one object with the text joined, tool calls gathered and the final metrics (reference C3). */
export async function collectChat(stream: AsyncIterable<ChatResponse>): Promise<ChatResponse> {
  let content = '';
  let thinking = '';
  const toolCalls: ToolCall[] = [];
  let last: ChatResponse | undefined;
  for await (const r of stream) {
    content += r.message.content;
    thinking += r.message.thinking ?? '';
    if (r.message.tool_calls) toolCalls.push(...r.message.tool_calls);
    last = r;
  }
  if (!last) throw new MoedError('ENGINE_FAILURE', 'no response was produced');
  const message: Message = { role: 'assistant', content };
  if (thinking) message.thinking = thinking;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return { ...last, message };
}
