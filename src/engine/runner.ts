// What the scheduler holds for a loaded model: something that generates and embeds. The real one
// is a child process (runner-process.ts); server tests use a scripted fake with the same interface.
import type { RunnerStats } from './protocol.js';
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
  /** The runner's process id (real runners only; tests and the debug route use it). */
  readonly pid?: number;
  /** Asks the runner for its counters (real runners only). */
  stats?(): Promise<RunnerStats>;
}

export interface StartOptions {
  onProgress?: (progress: number) => void;
  /** Kill a runner that shows no sign of life for this long while loading. */
  loadTimeoutMs: number;
  /** Kill a loaded runner that answers no ping for this long while requests are in flight. */
  runnerTimeoutMs?: number;
  /** Stops a load in progress (the daemon is shutting down); the promise rejects with its reason. */
  signal?: AbortSignal;
}

export type RunnerFactory = (params: LoadParams, options: StartOptions) => Promise<EngineRunner>;
