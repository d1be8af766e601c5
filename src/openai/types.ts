// OpenAI's wire types, as the official SDKs send and read them (snake_case), for the routes of
// shared/reference/ollama-api.md §5. Only the fields moed reads or writes are typed; requests are
// decoded leniently (unknown fields ignored), so every request field is optional and unknown.

// --- requests ----------------------------------------------------------------------------------

export interface OpenAIToolCall {
  id?: string;
  index?: number;
  type?: string;
  function?: { name?: string; arguments?: unknown };
}

export interface OpenAIMessage {
  role?: unknown;
  /** A string, an array of content parts, or null/absent (assistant messages with tool calls). */
  content?: unknown;
  name?: unknown;
  tool_calls?: unknown;
  tool_call_id?: unknown;
  /** The assistant's reasoning in an earlier turn (Ollama's extension). */
  reasoning?: unknown;
}

export interface ChatCompletionRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  seed?: unknown;
  stop?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  frequency_penalty?: unknown;
  presence_penalty?: unknown;
  response_format?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  reasoning_effort?: unknown;
  reasoning?: unknown;
  logprobs?: unknown;
  top_logprobs?: unknown;
}

export interface CompletionRequest {
  model?: unknown;
  prompt?: unknown;
  suffix?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  max_tokens?: unknown;
  seed?: unknown;
  stop?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  frequency_penalty?: unknown;
  presence_penalty?: unknown;
  logprobs?: unknown;
}

export interface EmbeddingRequest {
  model?: unknown;
  input?: unknown;
  dimensions?: unknown;
  encoding_format?: unknown;
}

// --- responses ---------------------------------------------------------------------------------

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface ResponseToolCall {
  id: string;
  index: number;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: 'fp_ollama';
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string; reasoning?: string; tool_calls?: ResponseToolCall[] };
    finish_reason: FinishReason | null;
  }[];
  usage: Usage;
}

export interface ChatDelta {
  role?: 'assistant';
  content?: string;
  reasoning?: string;
  tool_calls?: ResponseToolCall[];
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint: 'fp_ollama';
  choices: { index: 0; delta: ChatDelta; finish_reason: FinishReason | null }[];
  usage?: Usage;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  system_fingerprint: 'fp_ollama';
  choices: { text: string; index: 0; finish_reason: FinishReason | null }[];
  usage?: Usage;
}

export interface Model {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: 'list';
  data: Model[];
}

export interface EmbeddingList {
  object: 'list';
  data: { object: 'embedding'; embedding: number[] | string; index: number }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}
