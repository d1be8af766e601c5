// What the scheduler holds for a loaded model: something that generates and embeds. The real one
// is a child process (runner-process.ts); server tests use a scripted fake with the same interface.
import type { EmbedParams, EmbedResult, GenerateEvent, GenerateParams, LoadParams, LoadedInfo } from './types.js';

export interface EngineRunner {
  readonly info: LoadedInfo;
  /** False once the runner died or was closed: the scheduler then starts a fresh one. */
  readonly alive: boolean;
  /**
   * Streams events: `start` (the prompt was accepted), text/thinking/tool_call, then `done`.
   * Aborting the signal cancels the sequence and ends the stream.
   */
  generate(params: GenerateParams, signal: AbortSignal): AsyncIterable<GenerateEvent>;
  /** Pooled embeddings of each input (raw, not normalized). */
  embed(params: EmbedParams, signal: AbortSignal): Promise<EmbedResult>;
  close(): Promise<void>;
}

export interface StartOptions {
  onProgress?: (progress: number) => void;
  /** Kill a runner that shows no sign of life for this long while loading. */
  loadTimeoutMs: number;
}

export type RunnerFactory = (params: LoadParams, options: StartOptions) => Promise<EngineRunner>;
