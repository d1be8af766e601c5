// Loads and unloads runners: one per model, shared by its concurrent requests, started on first
// use, restarted after a crash, kept for keep_alive after its last request, evicted when idle and
// over OLLAMA_MAX_LOADED_MODELS, and refused with 503 when too many requests wait (for a load, or
// for one of a loaded model's OLLAMA_NUM_PARALLEL slots). When every
// loaded model is busy and no more may load, a new model waits for one to go idle (as Ollama's
// scheduler does) rather than loading past the limit: two 400 GB models do not fit one machine.
import { abortError, MoedError } from '../errors/index.js';
import type { EngineRunner, RunnerFactory } from '../engine/runner.js';
import type { LoadParams } from '../engine/types.js';

export interface SchedulerConfig {
  maxLoadedModels: number;
  maxQueue: number;
  loadTimeoutMs: number;
  /** MOED_RUNNER_TIMEOUT, handed to each runner it starts (absent: runners are not watched). */
  runnerTimeoutMs?: number;
}

/** Counters for the debug route and the reliability tests: every one returns to 0 when idle. */
export interface SchedulerStats {
  /** Leases held by requests (each is released when its response ends, however it ends). */
  leases: number;
  /** Requests waiting for a load or for room under OLLAMA_MAX_LOADED_MODELS. */
  pending: number;
  /** Requests holding a lease beyond their model's slots: they wait in the runner for a slot. */
  queuedForSlots: number;
}

export interface LoadedModel {
  key: string;
  name: string;
  params: LoadParams;
  runner: EngineRunner;
  /** Requests currently holding this runner. */
  active: number;
  expiresAt: Date;
  loadedAt: Date;
}

/** What a request asks to have loaded. */
export interface LoadRequest {
  /**
   * What shapes the load: the model and the options that change how it loads. A runner loaded
   * for the same key is used as it is; a different key reloads the model.
   */
  key: string;
  /**
   * The engine's parameters, asked for only when a load happens, once room was made: the
   * placement then sees the memory this load will have. (Planned again while the model's own
   * runner holds the GPU, `fill` would find less room, and the plan would differ from the one
   * the runner was loaded with.)
   */
  params: () => Promise<LoadParams>;
}

/** A load request whose parameters are already known. */
export function fixedLoad(params: LoadParams): LoadRequest {
  return { key: JSON.stringify(params), params: async () => params };
}

interface Entry {
  key: string;
  name: string;
  request: LoadRequest;
  /** Set once the load starts. */
  params?: LoadParams;
  loading?: Promise<EngineRunner>;
  /** While loading: waiting for room under the limit, or holding its place and starting. */
  phase?: 'waiting' | 'starting';
  runner?: EngineRunner;
  active: number;
  keepAliveMs: number;
  timer?: NodeJS.Timeout;
  expiresAt: Date;
  loadedAt: Date;
}

export interface Lease {
  runner: EngineRunner;
  /** Nanoseconds spent loading for this request (0 when the model was already loaded). */
  loadNs: number;
  release(): void;
}

const FOREVER = new Date('2318-01-01T00:00:00Z');

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private pending = 0;
  /** Loads waiting for a model to go idle or be unloaded. */
  private waiters: (() => void)[] = [];
  /** Aborted by close(): loads in progress stop instead of being waited for. */
  private closing = new AbortController();

  constructor(
    private readonly config: SchedulerConfig,
    private readonly factory: RunnerFactory,
  ) {}

  /**
   * A runner for the model, loading it when needed. `key` identifies the model (its digest);
   * a different load key (e.g. another num_ctx) reloads it. A request whose `signal` aborts while it
   * waits gives up with 499 `request canceled` (the load itself goes on for the others).
   */
  async acquire(
    key: string,
    name: string,
    request: LoadRequest,
    keepAliveMs: number,
    onProgress?: (p: number) => void,
    signal?: AbortSignal,
  ): Promise<Lease> {
    // Requests that wait count against OLLAMA_MAX_QUEUE wherever they wait: here for a load, or
    // in a runner for a free slot. A full queue answers at once rather than piling up work.
    if (this.pending + this.queuedForSlots() >= this.config.maxQueue) {
      throw new MoedError('QUEUE_FULL', 'server busy, please try again.  maximum pending requests exceeded');
    }
    if (signal?.aborted) throw abortError(signal);
    this.pending++;
    const start = process.hrtime.bigint();
    try {
      let entry = this.entries.get(key);
      const changed = entry !== undefined && entry.request.key !== request.key;
      if (entry && (changed || (entry.runner && !entry.runner.alive))) {
        if (entry.active > 0 && changed) {
          // Others still stream from the old runner; wait for them rather than cut them off.
          await this.waitIdle(entry);
        }
        await this.unload(key);
        entry = this.entries.get(key);
      }
      if (!entry) {
        entry = { key, name, request, active: 0, keepAliveMs, expiresAt: FOREVER, loadedAt: new Date() };
        this.entries.set(key, entry);
      }
      entry.active++;
      entry.keepAliveMs = keepAliveMs;
      clearTimeout(entry.timer);
      let runner: EngineRunner;
      let loaded = false;
      try {
        if (entry.runner) {
          runner = entry.runner;
        } else {
          // One load per entry, shared by every request that arrives while it runs.
          entry.loading ??= this.load(entry, onProgress);
          runner = await abortable(entry.loading, signal);
          loaded = true;
        }
      } catch (e) {
        entry.active--;
        if (entry.active === 0 && entry.runner) this.armKeepAlive(entry);
        this.notify();
        throw e;
      }
      const lease = this.lease(entry, runner, loaded ? Number(process.hrtime.bigint() - start) : 0);
      return lease;
    } finally {
      this.pending--;
    }
  }

  /** Makes room (evicting idle models, or waiting for one to go idle), then starts the runner. */
  private load(entry: Entry, onProgress?: (p: number) => void): Promise<EngineRunner> {
    const run = async (): Promise<EngineRunner> => {
      await this.makeRoom(entry);
      const unloaded = () => new MoedError('MODEL_LOAD_FAILED', `${entry.name} was unloaded before it finished loading`);
      if (this.entries.get(entry.key) !== entry) throw unloaded();
      entry.params = await entry.request.params();
      if (this.entries.get(entry.key) !== entry) throw unloaded();
      const runner = await this.factory(entry.params, {
        onProgress,
        loadTimeoutMs: this.config.loadTimeoutMs,
        runnerTimeoutMs: this.config.runnerTimeoutMs,
        signal: this.closing.signal,
      });
      if (this.entries.get(entry.key) !== entry) {
        await runner.close();
        throw unloaded();
      }
      entry.runner = runner;
      entry.phase = undefined;
      entry.loadedAt = new Date();
      // Every request that waited for it may have given up meanwhile.
      if (entry.active === 0) this.armKeepAlive(entry);
      return runner;
    };
    return run()
      .catch((err) => {
        if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
        this.notify();
        throw err;
      })
      .finally(() => {
        entry.loading = undefined;
      });
  }

  /**
   * Waits until one more model fits under OLLAMA_MAX_LOADED_MODELS: idle models are unloaded,
   * least recently used first; when all the others are busy, this load waits for one to be
   * released. The check and the claim of the place happen together, so two loads never both take
   * the last place.
   */
  private async makeRoom(entry: Entry): Promise<void> {
    entry.phase = 'waiting';
    for (;;) {
      if (this.entries.get(entry.key) !== entry) return;
      const others = [...this.entries.values()].filter((e) => e !== entry && (e.runner || e.phase === 'starting'));
      if (others.length < this.config.maxLoadedModels) {
        entry.phase = 'starting';
        return;
      }
      const idle = others.filter((e) => e.active === 0 && e.runner).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
      if (idle.length > 0) {
        await this.unload(idle[0]!.key);
        continue;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Wakes the loads waiting for room: a model went idle, was unloaded or failed to load. */
  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private lease(entry: Entry, runner: EngineRunner, loadNs: number): Lease {
    let released = false;
    return {
      runner,
      loadNs,
      release: () => {
        if (released) return;
        released = true;
        entry.active--;
        if (entry.active === 0) {
          this.armKeepAlive(entry);
          this.notify();
        }
      },
    };
  }

  private armKeepAlive(entry: Entry): void {
    clearTimeout(entry.timer);
    if (entry.keepAliveMs < 0) {
      entry.expiresAt = FOREVER;
      return;
    }
    entry.expiresAt = new Date(Date.now() + entry.keepAliveMs);
    if (entry.keepAliveMs === 0) {
      void this.unload(entry.key);
      return;
    }
    // setTimeout's limit is about 24.8 days; longer keep-alives are forever in practice.
    const ms = Math.min(entry.keepAliveMs, 2 ** 31 - 1);
    entry.timer = setTimeout(() => {
      if (entry.active === 0) void this.unload(entry.key);
    }, ms);
    entry.timer.unref();
  }

  private waitIdle(entry: Entry): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (entry.active === 0 ? resolve() : setTimeout(check, 20));
      check();
    });
  }

  /** Stops the runner, freeing all its memory. In-flight requests end with an error. */
  async unload(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    clearTimeout(entry.timer);
    this.notify();
    const runner = entry.runner ?? (await entry.loading?.catch(() => undefined));
    await runner?.close();
  }

  /** Sets a model to expire as if its last request had just ended with this keep-alive. */
  expire(key: string, keepAliveMs: number): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.keepAliveMs = keepAliveMs;
    if (entry.active === 0) this.armKeepAlive(entry);
  }

  loaded(): LoadedModel[] {
    return [...this.entries.values()]
      .filter((e) => e.runner?.alive && e.params)
      .map((e) => ({
        key: e.key,
        name: e.name,
        params: e.params!,
        runner: e.runner!,
        active: e.active,
        // In use: it expires keep_alive after the last request ends, so at least that far ahead.
        expiresAt: e.active === 0 ? e.expiresAt : e.keepAliveMs < 0 ? FOREVER : new Date(Date.now() + e.keepAliveMs),
        loadedAt: e.loadedAt,
      }));
  }

  /** Leases beyond each loaded model's parallel slots. */
  private queuedForSlots(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.runner && e.params) n += Math.max(0, e.active - e.params.numParallel);
    return n;
  }

  stats(): SchedulerStats {
    let leases = 0;
    for (const e of this.entries.values()) leases += e.active;
    return { leases, pending: this.pending, queuedForSlots: this.queuedForSlots() };
  }

  /**
   * Unloads every model now; loads in progress are stopped, not waited for. The scheduler stays
   * usable (tests use this to start from nothing loaded).
   */
  async close(): Promise<void> {
    const closing = this.closing;
    this.closing = new AbortController();
    closing.abort(new MoedError('SHUTTING_DOWN', 'moed is shutting down: the model load was stopped'));
    this.notify();
    await Promise.all([...this.entries.keys()].map((k) => this.unload(k)));
  }
}

/** The promise, or the abort's error (499, or 503 on shutdown) as soon as the signal aborts (the work itself goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
