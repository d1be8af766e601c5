// Messages between the daemon and a runner child process (Node IPC channel). Small and per token.
import type { DeviceInfo } from '../binding/types.js';
import type { EmbedParams, EmbedResult, ErrorInfo, GenerateEvent, GenerateParams, LoadParams, LoadedInfo } from './types.js';

/**
 * What a runner reports with each pong: the daemon's heartbeat learns it is alive, and the debug
 * route and the soak test learn whether any slot leaked.
 */
export interface RunnerStats {
  /** Slots holding a sequence (prompt or generation). */
  busySlots: number;
  /** Sequences waiting for a slot. */
  waiting: number;
  /** Embedding requests in progress. */
  embeds: number;
  /** Resident memory of the runner process, in bytes. */
  rss: number;
  /** Of it, the JS heap in use (the rest is the engine: weights, KV cache, buffers). */
  heapUsed?: number;
}

export type ToRunner =
  | { t: 'load'; params: LoadParams }
  | { t: 'generate'; id: number; params: GenerateParams }
  | { t: 'embed'; id: number; params: EmbedParams }
  | { t: 'cancel'; id: number }
  | { t: 'ping'; seq: number }
  | { t: 'devices' };

export type FromRunner =
  | { t: 'progress'; progress: number }
  | { t: 'loaded'; info: LoadedInfo }
  | { t: 'load_failed'; error: ErrorInfo }
  | { t: 'event'; id: number; event: GenerateEvent }
  | { t: 'embedded'; id: number; result: EmbedResult }
  | { t: 'error'; id: number; error: ErrorInfo }
  | { t: 'pong'; seq: number; stats?: RunnerStats }
  | { t: 'devices'; devices: DeviceInfo[] }
  | { t: 'devices_failed'; error: ErrorInfo };
