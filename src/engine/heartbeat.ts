// The daemon's watch over a busy runner. A runner whose engine hangs (a deadlocked driver, a GPU
// that stopped answering, a process stopped with SIGSTOP) would otherwise hold its requests, its
// slots and the whole model forever. While requests are in flight the daemon pings the runner;
// any message from it counts as a sign of life. Silence longer than the timeout ends the runner
// (the caller kills it; its requests then end with an error and the next request reloads).
//
// The pong is answered by the runner's JS event loop. Decoding and sampling run on libuv's worker
// threads (native PromiseWorker), so a decode step of many seconds does not delay pongs; only an
// engine that is truly stuck, or a process that is not scheduled at all, stays silent.

export interface HeartbeatOptions {
  /** Silence (while busy) after which the runner is declared hung. */
  timeoutMs: number;
  /** Sends one ping. */
  ping: (seq: number) => void;
  /** True while requests are in flight: an idle runner is not judged. */
  busy: () => boolean;
  /** Called once, with how long the runner was silent. */
  onTimeout: (silentMs: number) => void;
  now?: () => number;
}

export class Heartbeat {
  private lastSeen: number;
  private lastTick: number;
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private fired = false;
  private readonly now: () => number;
  /** Pings are sent a few times per timeout, so one lost to a busy moment does not matter. */
  readonly intervalMs: number;

  constructor(private readonly options: HeartbeatOptions) {
    this.now = options.now ?? Date.now;
    this.lastSeen = this.now();
    this.lastTick = this.lastSeen;
    this.intervalMs = Math.max(20, Math.min(5000, Math.floor(options.timeoutMs / 4)));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    // The heartbeat never keeps the daemon alive by itself.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Any message from the runner. */
  seen(): void {
    this.lastSeen = this.now();
  }

  /** One check: exported for tests that drive time themselves. */
  tick(): void {
    if (this.fired) return;
    const now = this.now();
    const stalled = now - this.lastTick > 2 * this.intervalMs + 1000;
    this.lastTick = now;
    if (!this.options.busy() || stalled) {
      // Silence while idle is not a fault: the clock starts when work does. And when this
      // process itself was stalled (a long GC, a blocked loop), the runner's pongs may be
      // sitting unread in the channel: do not blame it for our delay.
      this.lastSeen = now;
      return;
    }
    const silent = now - this.lastSeen;
    if (silent > this.options.timeoutMs) {
      this.fired = true;
      this.stop();
      this.options.onTimeout(silent);
      return;
    }
    this.options.ping(++this.seq);
  }
}
