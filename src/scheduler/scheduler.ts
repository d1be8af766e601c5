// Loads and unloads runners: one per model, shared by its concurrent requests, started on first
// use, restarted after a crash, kept for keep_alive after its last request, evicted when idle and
// over OLLAMA_MAX_LOADED_MODELS, and refused with 503 when too many requests wait.
import { MoedError } from '../errors/index.js';
import type { EngineRunner, RunnerFactory } from '../engine/runner.js';
import type { LoadParams } from '../engine/types.js';

export interface SchedulerConfig {
  maxLoadedModels: number;
  maxQueue: number;
  loadTimeoutMs: number;
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

interface Entry {
  key: string;
  name: string;
  params: LoadParams;
  paramsKey: string;
  loading?: Promise<EngineRunner>;
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

  constructor(
    private readonly config: SchedulerConfig,
    private readonly factory: RunnerFactory,
  ) {}

  /**
   * A runner for the model, loading it when needed. `key` identifies the model (its digest);
   * different load parameters (e.g. num_ctx) reload it.
   */
  async acquire(
    key: string,
    name: string,
    params: LoadParams,
    keepAliveMs: number,
    onProgress?: (p: number) => void,
  ): Promise<Lease> {
    if (this.pending >= this.config.maxQueue) {
      throw new MoedError('QUEUE_FULL', 'server busy, please try again.  maximum pending requests exceeded');
    }
    this.pending++;
    const start = process.hrtime.bigint();
    try {
      const paramsKey = JSON.stringify(params);
      let entry = this.entries.get(key);
      if (entry && (entry.paramsKey !== paramsKey || (entry.runner && !entry.runner.alive))) {
        if (entry.active > 0 && entry.paramsKey !== paramsKey) {
          // Others still stream from the old runner; wait for them rather than cut them off.
          await this.waitIdle(entry);
        }
        await this.unload(key);
        entry = undefined;
      }
      if (!entry) {
        entry = { key, name, params, paramsKey, active: 0, keepAliveMs, expiresAt: FOREVER, loadedAt: new Date() };
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
          if (!entry.loading) {
            await this.evictFor(key);
            const e = entry;
            e.loading = this.factory(params, { onProgress, loadTimeoutMs: this.config.loadTimeoutMs }).then(
              (r) => {
                e.runner = r;
                e.loadedAt = new Date();
                return r;
              },
              (err) => {
                if (this.entries.get(key) === e) this.entries.delete(key);
                throw err;
              },
            ).finally(() => (e.loading = undefined));
          }
          runner = await entry.loading!;
          loaded = true;
        }
      } catch (e) {
        entry.active--;
        throw e;
      }
      const lease = this.lease(entry, runner, loaded ? Number(process.hrtime.bigint() - start) : 0);
      return lease;
    } finally {
      this.pending--;
    }
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
        if (entry.active === 0) this.armKeepAlive(entry);
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

  /** Unloads idle models, least recently used first, until one more fits under the limit. */
  private async evictFor(key: string): Promise<void> {
    const others = [...this.entries.values()].filter((e) => e.key !== key && (e.runner || e.loading));
    if (others.length < this.config.maxLoadedModels) return;
    const idle = others.filter((e) => e.active === 0 && e.runner).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
    for (const e of idle.slice(0, others.length - this.config.maxLoadedModels + 1)) await this.unload(e.key);
  }

  /** Stops the runner, freeing all its memory. In-flight requests end with an error. */
  async unload(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    clearTimeout(entry.timer);
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
      .filter((e) => e.runner?.alive)
      .map((e) => ({
        key: e.key,
        name: e.name,
        params: e.params,
        runner: e.runner!,
        active: e.active,
        expiresAt: e.active > 0 ? new Date(Date.now() + Math.max(e.keepAliveMs, 0)) : e.expiresAt,
        loadedAt: e.loadedAt,
      }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((k) => this.unload(k)));
  }
}
