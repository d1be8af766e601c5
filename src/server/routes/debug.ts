// GET /api/moed/state: the daemon's own counters, for operators and for the reliability tests
// that prove nothing leaks (every lease released, every runner slot free, memory flat). Answered
// only to clients on this machine (a loopback peer address), whatever OLLAMA_HOST says: pids and
// memory figures are nobody else's business. Others get the plain 404 of an unknown route.
import type Router from '@koa/router';
import { isLoopbackIp } from '../middleware/host-check.js';
import { notFound, setJson } from '../error-middleware.js';

/** The answer of GET /api/moed/state (snake_case like the rest of the wire). */
export interface DaemonState {
  pid: number;
  /** Resident memory of the daemon process, in bytes. */
  rss: number;
  heap_used: number;
  uptime_s: number;
  /** Requests whose response has not ended (streams included). */
  requests_in_flight: number;
  stopping: boolean;
  scheduler: { leases: number; pending: number; queued_for_slots: number };
  runners: RunnerState[];
}

export interface RunnerState {
  model: string;
  pid?: number;
  alive: boolean;
  /** Requests holding this model. */
  leases: number;
  busy_slots: number;
  waiting: number;
  embeds: number;
  rss: number;
  heap_used: number;
}

export const STATE_PATH = '/api/moed/state';

export function debugRoutes(router: Router, state: (() => Promise<DaemonState>) | undefined): void {
  if (!state) return;
  router.get(STATE_PATH, async (ctx) => {
    const peer = ctx.req.socket.remoteAddress ?? '';
    if (!isLoopbackIp(peer)) throw notFound();
    setJson(ctx, 200, await state());
  });
}
