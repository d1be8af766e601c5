// POST /v1/chat/completions (reference OA2–OA6): an OpenAI chat request becomes an Ollama
// ChatRequest for the same service that answers /api/chat; its responses become a chat.completion
// or a stream of chat.completion.chunk objects.
import { type ChatRequest, type ChatResponse, type Message, type Metrics, type ThinkValue, type ToolCall } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { Fields, includeUsage, samplingOptions, typeError } from './decode.js';
import type { ChatCompletion, ChatCompletionChunk, ChatDelta, FinishReason, ResponseToolCall, Usage } from './types.js';

const STRUCT = 'ChatCompletionRequest';

export interface ChatPlan {
  request: ChatRequest;
  stream: boolean;
  includeUsage: boolean;
}

// --- request -----------------------------------------------------------------------------------

const IMAGE_PREFIXES = ['data:image/jpeg;base64,', 'data:image/jpg;base64,', 'data:image/png;base64,', 'data:image/webp;base64,', 'data:;base64,'];

/** An image_url part as Ollama's base64 image data (reference OA3); the chat service decides whether the model can see it. */
function imageData(part: Record<string, unknown>): string {
  const value = part.image_url;
  const url = typeof value === 'string' ? value : value && typeof value === 'object' ? (value as { url?: unknown }).url : undefined;
  if (typeof url !== 'string') throw new MoedError('INVALID_REQUEST', 'invalid message format');
  if (/^https?:\/\//i.test(url)) {
    throw new MoedError('INVALID_REQUEST', 'image URLs are not currently supported, please use base64 encoded data instead');
  }
  const prefix = IMAGE_PREFIXES.find((p) => url.startsWith(p));
  const data = prefix ? url.slice(prefix.length) : undefined;
  if (!data || !/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) throw new MoedError('INVALID_REQUEST', 'invalid image input');
  return data;
}

/** Text parts are joined with a newline; image parts become images. */
function contentParts(parts: unknown[]): { content: string; images: string[] } {
  const texts: string[] = [];
  const images: string[] = [];
  for (const p of parts) {
    if (!p || typeof p !== 'object' || Array.isArray(p)) throw new MoedError('INVALID_REQUEST', 'invalid message format');
    const part = p as Record<string, unknown>;
    switch (part.type) {
      case 'text':
        if (typeof part.text !== 'string') throw new MoedError('INVALID_REQUEST', 'invalid message format');
        texts.push(part.text);
        break;
      case 'image_url':
        images.push(imageData(part));
        break;
      case 'input_audio':
        throw new MoedError('INVALID_REQUEST', 'audio input is not supported by moed');
      default:
        throw new MoedError('INVALID_REQUEST', 'invalid message format');
    }
  }
  return { content: texts.join('\n'), images };
}

/** Incoming assistant tool calls: `arguments` is JSON text (an object is taken as it is). */
function toolCallsOf(value: unknown, index: number): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw typeError(`${STRUCT}.messages`, 'tool_calls', '[]openai.ToolCall', value);
  return value.map((c: unknown, i) => {
    const call = (c ?? {}) as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
    const fn = call.function;
    if (!fn || typeof fn.name !== 'string') {
      throw new MoedError('INVALID_REQUEST', `messages[${index}].tool_calls[${i}]: a tool call needs "function.name"`);
    }
    let args: unknown = fn.arguments ?? {};
    if (typeof args === 'string') {
      try {
        args = args.trim() === '' ? {} : JSON.parse(args);
      } catch {
        throw new MoedError('INVALID_REQUEST', `messages[${index}].tool_calls[${i}]: "function.arguments" is not valid JSON`);
      }
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      throw new MoedError('INVALID_REQUEST', `messages[${index}].tool_calls[${i}]: "function.arguments" must be a JSON object`);
    }
    const out: ToolCall = { function: { name: fn.name, arguments: args as Record<string, unknown> } };
    if (typeof call.id === 'string' && call.id !== '') out.id = call.id;
    return out;
  });
}

/** A tool result's tool name: its `name`, else the name of the call its tool_call_id answers. */
function toolNameFor(messages: Message[], id: string): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const call = messages[i]!.tool_calls?.find((c) => c.id === id);
    if (call) return call.function.name;
  }
  return undefined;
}

function toMessages(list: unknown[]): Message[] {
  const out: Message[] = [];
  list.forEach((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw typeError(STRUCT, 'messages', 'openai.Message', raw);
    const m = Fields.of(raw, `${STRUCT}.messages`);
    const role = m.string('role');
    if (!role) throw new MoedError('INVALID_REQUEST', `messages[${i}]: a message needs a "role"`);
    // OpenAI's newer name for the system prompt; chat templates know only "system".
    const message: Message = { role: role.toLowerCase() === 'developer' ? 'system' : role, content: '' };
    const content = m.raw('content');
    if (typeof content === 'string') {
      message.content = content;
    } else if (Array.isArray(content)) {
      const { content: text, images } = contentParts(content);
      message.content = text;
      if (images.length > 0) message.images = images;
    } else if (content !== undefined && content !== null) {
      throw new MoedError('INVALID_REQUEST', `invalid message content type: ${typeof content}`);
    }
    const reasoning = m.string('reasoning');
    if (reasoning) message.thinking = reasoning;
    const calls = toolCallsOf(m.raw('tool_calls'), i);
    if (calls && calls.length > 0) message.tool_calls = calls;
    const callId = m.string('tool_call_id');
    if (callId) message.tool_call_id = callId;
    if (role.toLowerCase() === 'tool') {
      const name = m.string('name') || (callId ? toolNameFor(out, callId) : undefined);
      if (name) message.tool_name = name;
    }
    out.push(message);
  });
  return out;
}

/** reasoning_effort (or reasoning.effort) as Ollama's think value (reference OA4). */
export function thinkFromEffort(effort: string): ThinkValue | undefined {
  switch (effort) {
    case '':
      return undefined;
    case 'none':
      return false;
    case 'minimal':
      return 'low';
    case 'low':
    case 'medium':
    case 'high':
    case 'max':
      return effort;
    case 'xhigh':
    case 'ultra':
      return 'max';
    default:
      throw new MoedError(
        'INVALID_REQUEST',
        `invalid reasoning value: ${JSON.stringify(effort)} (must be "none", "minimal", "low", "medium", "high", "xhigh" or "max")`,
      );
  }
}

function thinkOf(f: Fields): ThinkValue | undefined {
  const reasoning = f.object('reasoning', 'openai.Reasoning');
  const effort = reasoning ? reasoning.string('effort') : f.string('reasoning_effort');
  return effort === undefined ? undefined : thinkFromEffort(effort);
}

/** response_format: json_object is Ollama's "json", json_schema its schema (reference OA2). */
function formatOf(f: Fields): unknown {
  const rf = f.object('response_format', 'openai.ResponseFormat');
  if (!rf) return undefined;
  const type = (rf.string('type') ?? '').trim().toLowerCase();
  switch (type) {
    case '':
    case 'text':
      return undefined;
    case 'json_object':
      return 'json';
    case 'json_schema': {
      const schema = rf.object('json_schema', 'openai.JsonSchema')?.raw('schema');
      if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
        throw new MoedError('INVALID_REQUEST', "response_format of type json_schema needs a 'json_schema.schema' object");
      }
      return schema;
    }
    default:
      throw new MoedError('INVALID_REQUEST', `invalid response_format type: ${JSON.stringify(type)} (must be "text", "json_object" or "json_schema")`);
  }
}

/**
 * tools and tool_choice: "none" sends no tools; a named function sends only that tool; "auto" and
 * "required" send them all ("required" is not enforced: the model may still answer in text).
 */
function toolsOf(f: Fields): unknown[] | undefined {
  const tools = f.array('tools', '[]api.Tool');
  const choice = f.raw('tool_choice');
  if (choice === undefined || choice === null || choice === 'auto' || choice === 'required') return tools;
  if (choice === 'none') return undefined;
  const name =
    typeof choice === 'object' && !Array.isArray(choice) && (choice as { type?: unknown }).type === 'function'
      ? (choice as { function?: { name?: unknown } }).function?.name
      : undefined;
  if (typeof name !== 'string') {
    throw new MoedError('INVALID_REQUEST', `invalid tool_choice: must be "none", "auto", "required" or {"type":"function","function":{"name":...}}`);
  }
  const named = (tools ?? []).filter((t) => (t as { function?: { name?: unknown } } | null)?.function?.name === name);
  if (named.length === 0) throw new MoedError('INVALID_REQUEST', `tool_choice names the function "${name}", which is not in tools`);
  return named;
}

export function toChatRequest(body: unknown): ChatPlan {
  const f = Fields.of(body, STRUCT);
  const model = f.string('model');
  const rawMessages = f.array('messages', '[]openai.Message');
  if (!rawMessages || rawMessages.length === 0) throw new MoedError('INVALID_REQUEST', "[] is too short - 'messages'");
  const stream = f.bool('stream') ?? false;
  const usage = includeUsage(f);
  const maxTokens = f.int('max_completion_tokens') ?? f.int('max_tokens');
  const options = samplingOptions(f, maxTokens, { zeroTopPMeansDefault: false });
  const messages = toMessages(rawMessages);
  const request: ChatRequest = { model, messages, stream, options };
  const format = formatOf(f);
  if (format !== undefined) request.format = format;
  const tools = toolsOf(f);
  if (tools && tools.length > 0) request.tools = tools;
  const think = thinkOf(f);
  if (think !== undefined) request.think = think;
  f.bool('logprobs');
  const topLogprobs = f.int('top_logprobs');
  if (topLogprobs !== undefined) request.top_logprobs = topLogprobs;
  return { request, stream, includeUsage: usage };
}

// --- responses ---------------------------------------------------------------------------------

/** usage from an Ollama final response: prompt_tokens counts the cached prompt tokens too. */
export function usageOf(r: Metrics): Usage {
  const cached = r.prompt_cache_count ?? 0;
  const prompt = (r.prompt_eval_count ?? 0) + cached;
  const completion = r.eval_count ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

function toolCallsOut(calls: ToolCall[] | undefined, start: number): ResponseToolCall[] {
  return (calls ?? []).map((c, i) => ({
    id: c.id ?? '',
    index: c.function.index ?? start + i,
    type: 'function',
    function: { name: c.function.name, arguments: JSON.stringify(c.function.arguments ?? {}) },
  }));
}

function finishReason(reason: string | undefined, sawToolCalls: boolean): FinishReason | null {
  if (reason === 'length') return 'length';
  if (!reason) return null;
  return sawToolCalls ? 'tool_calls' : 'stop';
}

/** `stream:false`: the collected Ollama response as one chat.completion (reference OA5). */
export function toChatCompletion(r: ChatResponse, id: string, created: number): ChatCompletion {
  const toolCalls = toolCallsOut(r.message.tool_calls, 0);
  const message: ChatCompletion['choices'][0]['message'] = { role: 'assistant', content: r.message.content ?? '' };
  if (r.message.thinking) message.reasoning = r.message.thinking;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id,
    object: 'chat.completion',
    created,
    model: r.model,
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, message, finish_reason: finishReason(r.done_reason, toolCalls.length > 0) }],
    usage: usageOf(r),
  };
}

/**
 * `stream:true`: the Ollama responses as chat.completion.chunk objects (reference OA6). The role
 * rides on the first chunk only; reasoning and content never share a chunk; the end is a chunk
 * with an empty delta and the finish reason, then (with include_usage) one with `choices: []`.
 */
export async function* toChatChunks(
  items: AsyncIterable<ChatResponse>,
  meta: { id: string; created: number; model: string; includeUsage: boolean },
): AsyncGenerator<ChatCompletionChunk> {
  let roleSent = false;
  let toolCount = 0;
  const chunk = (delta: ChatDelta, finish: FinishReason | null = null): ChatCompletionChunk => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const withRole = (delta: ChatDelta): ChatDelta => {
    if (roleSent) return delta;
    roleSent = true;
    return { role: 'assistant', ...delta };
  };
  for await (const r of items) {
    if (!r.done) {
      const { content, thinking, tool_calls } = r.message;
      if (thinking) yield chunk(withRole({ content: '', reasoning: thinking }));
      const calls = toolCallsOut(tool_calls, toolCount);
      toolCount += calls.length;
      if (content || calls.length > 0) {
        const delta: ChatDelta = { content: content ?? '' };
        if (calls.length > 0) delta.tool_calls = calls;
        yield chunk(withRole(delta));
      }
      continue;
    }
    if (!roleSent) yield chunk(withRole({ content: '' }));
    yield chunk({}, finishReason(r.done_reason, toolCount > 0) ?? 'stop');
    if (meta.includeUsage) yield { ...chunk({}), choices: [], usage: usageOf(r) };
  }
}
