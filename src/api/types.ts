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
}

export interface Metrics {
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
