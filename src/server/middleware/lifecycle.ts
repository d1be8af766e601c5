// Graceful shutdown (SIGTERM). The daemon stops accepting connections, refuses new requests on
// connections already open with 503, and lets the requests in flight finish for a grace period
// (MOED_SHUTDOWN_GRACE): a generation that is nearly done should not be thrown away. Streams
// still running after it are aborted with a reason that says why, so each ends with one final
// `{"error": "..."}` line instead of a cut connection. Every request holds a shutdown signal in
// `ctx.state.shutdown`; disconnectSignal (ndjson.ts) joins it to the client's own disconnect.
import type { Context, Next } from 'koa';
import { MoedError } from '../../errors/index.js';

export interface DrainResult {
  /** Requests still running when the grace period ended, and aborted. */
  aborted: number;
}

export class Lifecycle {
  private active = 0;
  private readonly controller = new AbortController();
  private stoppingSince?: number;
  private idle: (() => void)[] = [];

  /** Requests whose response has not ended yet (streams included). */
  get inFlight(): number {
    return this.active;
  }

  get stopping(): boolean {
    return this.stoppingSince !== undefined;
  }

  /** Koa middleware: counts each request until its response closes, refuses new ones when stopping. */
  middleware() {
    return async (ctx: Context, next: Next) => {
      if (this.stopping) {
        ctx.set('Connection', 'close');
        throw new MoedError('SHUTTING_DOWN', 'moed is shutting down; try again when it is back');
      }
      this.active++;
      let counted = true;
      const done = () => {
        if (!counted) return;
        counted = false;
        this.active--;
        if (this.active === 0) this.wakeIdle();
      };
      // 'close' comes once the response is fully sent, or when the client went away: for a stream
      // that is long after this middleware returns.
      ctx.res.once('close', done);
      ctx.state.shutdown = this.controller.signal;
      await next();
    };
  }

  private wakeIdle(): void {
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }

  /** Resolves when no request is in flight, or after `ms`; true when idle. */
  private waitIdle(ms: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.active === 0), ms);
      this.idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Stops taking requests, waits up to `graceMs` for those in flight, then aborts the rest and
   * waits (briefly) for them to write their final error line.
   */
  async drain(graceMs: number, finalWriteMs = 5000): Promise<DrainResult> {
    this.stoppingSince ??= Date.now();
    if (await this.waitIdle(graceMs)) return { aborted: 0 };
    const aborted = this.active;
    this.controller.abort(
      new MoedError('SHUTTING_DOWN', `moed is shutting down: the request was stopped after the ${Math.round(graceMs / 100) / 10} s grace period`),
    );
    await this.waitIdle(finalWriteMs);
    return { aborted };
  }

  /** Aborts whatever is in flight now (a second SIGTERM or SIGINT: no more waiting). */
  abortNow(): void {
    this.stoppingSince ??= Date.now();
    if (!this.controller.signal.aborted) {
      this.controller.abort(new MoedError('SHUTTING_DOWN', 'moed is shutting down now'));
    }
  }
}
