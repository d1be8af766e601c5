// The engine's own types (camelCase). Wire types stop at service/; below it the code speaks these.
import type { ChatMessageInput, TensorOverride } from '../binding/types.js';

export type { ChatMessageInput, TensorOverride };

export interface LoadParams {
  /** First GGUF file of the model (split sets are found by llama.cpp). */
  modelPath: string;
  /** Context per sequence (Ollama's num_ctx). */
  numCtx: number;
  /** Sequences decoded together (OLLAMA_NUM_PARALLEL). */
  numParallel: number;
  numBatch: number;
  numUbatch: number;
  /** 0 means "pick for this machine". */
  numThreads: number;
  gpuLayers: number;
  mainGpu?: number;
  devices?: string[];
  tensorOverrides?: TensorOverride[];
  flashAttention?: 'auto' | 'on' | 'off';
  /** llama.cpp load mode ("mmap", "none", ...); unset means the engine's default. */
  loadMode?: string;
  noHost?: boolean;
  /** Allow CPU repack buffers (CPU_REPACK) for CPU-placed weights. */
  useExtraBufts?: boolean;
  opOffload?: boolean;
  /** One KV stream for all sequences (cheap prefix copies between slots). Default true. */
  kvUnified?: boolean;
  /** KV cache types ("f16", "q8_0"). */
  typeK?: string;
  typeV?: string;
  /** Host RAM for KV states of prefixes beyond the live slots; 0 disables. */
  promptCacheBytes?: number;
  /** Extra environment for the runner process (read by ggml when it registers its devices). */
  env?: Record<string, string>;
  /** A Jinja chat template that replaces the model's own. */
  templateOverride?: string;
}

export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  typicalP: number;
  repeatLastN: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** -1 means random. */
  seed: number;
  mirostat: number;
  mirostatTau: number;
  mirostatEta: number;
  grammar?: string;
}

/** A chat message as the template sees it (OpenAI shape; `name` is a tool result's tool name). */
export interface ChatMessage extends ChatMessageInput {
  name?: string;
}

export type ThinkLevel = 'low' | 'medium' | 'high' | 'max';

/** What to evaluate: chat messages rendered by a chat template, or raw text. */
export type Prompt =
  | {
      kind: 'chat';
      messages: ChatMessage[];
      tools?: unknown[];
      /** The template's `enable_thinking`. */
      enableThinking: boolean;
      /** Passed to the template as `reasoning_effort` when set. */
      thinkLevel?: ThinkLevel;
      /** A Jinja template for this request only (before the model's override and its own). */
      templateOverride?: string;
    }
  | { kind: 'text'; text: string };

/** Structured output: any JSON object, or a JSON schema. */
export type OutputFormat = { type: 'json' } | { type: 'schema'; schema: Record<string, unknown> };

export interface GenerateParams {
  prompt: Prompt;
  /** Token ids evaluated before the prompt (the `context` of /api/generate). */
  prefix?: number[];
  sampling: SamplingParams;
  /** -1 means until the end of the context. */
  numPredict: number;
  stop: string[];
  /** Separate the model's reasoning (between its thinking tags) from the content. */
  thinking: boolean;
  /**
   * A prompt that does not fit the context: true drops the oldest non-system messages, then the
   * tokens after the first `numKeep`; false fails with "the input length exceeds the context length".
   */
  truncate?: boolean;
  numKeep?: number;
  /** Constrain the answer (after the thinking, for thinking models) to JSON. */
  format?: OutputFormat;
  /** Return the prompt and generated token ids in `done.context`. */
  returnTokens?: boolean;
}

export interface GenerateStart {
  type: 'start';
  promptTokens: number;
  /** Prompt tokens found in the KV cache and not evaluated again. */
  cachedTokens: number;
  /** The prompt was shortened to fit the context. */
  truncated: boolean;
}

/** Answer text (reasoning removed). */
export interface GenerateText {
  type: 'text';
  text: string;
}

/** Reasoning text, without the thinking tags. */
export interface GenerateThinking {
  type: 'thinking';
  text: string;
}

/** One complete tool call parsed from the answer; `arguments` is JSON text of an object. */
export interface GenerateToolCall {
  type: 'tool_call';
  name: string;
  arguments: string;
}

export interface GenerateDone {
  type: 'done';
  reason: 'stop' | 'length';
  promptEvalCount: number;
  promptEvalNs: number;
  evalCount: number;
  evalNs: number;
  cachedTokens: number;
  /** Prompt plus generated token ids, when asked for with `returnTokens`. */
  context?: number[];
}

export type GenerateEvent = GenerateStart | GenerateText | GenerateThinking | GenerateToolCall | GenerateDone;

export interface EmbedParams {
  inputs: string[];
  /** Cut an input longer than the context (true) or fail (false). */
  truncate: boolean;
}

export interface EmbedResult {
  /** Pooled last hidden states, one per input, not normalized. */
  embeddings: Float32Array[];
  promptTokens: number;
  promptEvalNs: number;
}

export interface LoadedInfo {
  nCtx: number;
  nCtxSeq: number;
  nSeqMax: number;
  /** Bytes on GPUs and in host memory, from the engine's memory breakdown. */
  vramBytes: number;
  ramBytes: number;
}

export interface ErrorInfo {
  code: string;
  message: string;
}
