// Messages between the daemon and a runner child process (Node IPC channel). Small and per token.
import type { DeviceInfo } from '../binding/types.js';
import type { EmbedParams, EmbedResult, ErrorInfo, GenerateEvent, GenerateParams, LoadParams, LoadedInfo } from './types.js';

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
  | { t: 'pong'; seq: number }
  | { t: 'devices'; devices: DeviceInfo[] }
  | { t: 'devices_failed'; error: ErrorInfo };
