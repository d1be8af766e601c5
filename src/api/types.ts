// Ollama's wire types, exactly as clients send and read them (snake_case).
// Source: shared/reference/ollama-api.md (api/types.go of ollama). They stop at service/.

export type ThinkValue = boolean | 'low' | 'medium' | 'high' | 'max';

export interface ToolCall {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> };
}

export interface Message {
  role: string;
  content: string;
  thinking?: string;
  images?: string[];
  tool_calls?: ToolCall[];
  tool_name?: string;
  tool_call_id?: string;
}

export interface ChatRequest {
  model?: string;
  messages?: Message[];
  stream?: boolean;
  format?: unknown;
  keep_alive?: number | string | null;
  tools?: unknown[];
  options?: Record<string, unknown> | null;
  think?: ThinkValue | null;
  truncate?: boolean | null;
  shift?: boolean | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

export interface GenerateRequest {
  model?: string;
  prompt?: string;
  suffix?: string;
  system?: string;
  template?: string;
  context?: number[] | null;
  stream?: boolean;
  raw?: boolean;
  format?: unknown;
  keep_alive?: number | string | null;
  images?: string[] | null;
  options?: Record<string, unknown> | null;
  think?: ThinkValue | null;
  truncate?: boolean | null;
  shift?: boolean | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

export interface EmbedRequest {
  model?: string;
  input?: unknown;
  truncate?: boolean | null;
  dimensions?: number | null;
  keep_alive?: number | string | null;
  options?: Record<string, unknown> | null;
}

export interface EmbedResponse {
  model: string;
  embeddings: number[][];
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
}

/** The legacy /api/embeddings request. */
export interface EmbeddingRequest {
  model?: string;
  prompt?: string;
  keep_alive?: number | string | null;
  options?: Record<string, unknown> | null;
}

export interface EmbeddingResponse {
  embedding: number[];
}

export interface Metrics {
  /**
   * moed's own, on final chat and generate responses: prompt tokens found in the KV cache (the
   * history of a conversation) and not evaluated again, which `prompt_eval_count` leaves out.
   * Omitted when zero like every metric; Ollama clients ignore it. The OpenAI routes report it as
   * usage.prompt_tokens_details.cached_tokens.
   */
  prompt_cache_count?: number;
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

export interface ChatResponse extends Metrics {
  model: string;
  created_at: string;
  message: Message;
  done: boolean;
  done_reason?: 'stop' | 'length' | 'load' | 'unload';
}

export interface GenerateResponse extends Metrics {
  model: string;
  created_at: string;
  response: string;
  thinking?: string;
  done: boolean;
  done_reason?: 'stop' | 'length' | 'load' | 'unload';
  context?: number[];
}

export interface ModelDetails {
  parent_model: string;
  format: string;
  family: string;
  families: string[] | null;
  parameter_size: string;
  quantization_level: string;
  context_length?: number;
  embedding_length?: number;
}

export interface ListModelResponse {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details: ModelDetails;
  capabilities?: string[];
}

export interface ErrorResponse {
  error: string;
}

export interface TensorInfo {
  name: string;
  type: string;
  shape: number[];
}

/** POST /api/show's answer (reference S3), keys in Ollama's order; empty strings and lists are left out. */
export interface ShowResponse {
  license?: string;
  modelfile?: string;
  parameters?: string;
  template?: string;
  system?: string;
  details: ModelDetails;
  messages?: { role: string; content: string }[];
  model_info: Record<string, unknown>;
  tensors?: TensorInfo[];
  capabilities?: string[];
  modified_at: string;
  requires?: string;
  /** moed's own: the placement plan for this machine (see service/show-plan.ts). */
  plan?: unknown;
}
