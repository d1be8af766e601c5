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
  devices?: string[];
  tensorOverrides?: TensorOverride[];
  flashAttention?: 'auto' | 'on' | 'off';
  loadMode?: string;
  noHost?: boolean;
  opOffload?: boolean;
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

/** What to evaluate: chat messages rendered by the model's template, or raw text. */
export type Prompt =
  | { kind: 'chat'; messages: ChatMessageInput[]; tools?: unknown[]; enableThinking: boolean }
  | { kind: 'text'; text: string };

export interface GenerateParams {
  prompt: Prompt;
  sampling: SamplingParams;
  /** -1 means until the end of the context. */
  numPredict: number;
  stop: string[];
}

export interface GenerateStart {
  type: 'start';
  promptTokens: number;
  /** Prompt tokens found in the KV cache and not evaluated again. */
  cachedTokens: number;
  /** The rendered prompt leaves the model inside a thinking block (R1's `<think>\n`). */
  thinkingOpen: boolean;
  thinkingStart: string;
  thinkingEnd: string;
}

export interface GenerateText {
  type: 'text';
  text: string;
}

export interface GenerateDone {
  type: 'done';
  reason: 'stop' | 'length';
  promptEvalCount: number;
  promptEvalNs: number;
  evalCount: number;
  evalNs: number;
  cachedTokens: number;
}

export type GenerateEvent = GenerateStart | GenerateText | GenerateDone;

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
