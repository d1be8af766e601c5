// The daemon's side of a runner child process: starts it, loads the model, multiplexes requests
// over the IPC channel, and turns a crash into an error for every request in flight. While requests
// are in flight it pings the runner (heartbeat.ts) and kills one that stops answering.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerEnv } from '../config/env.js';
import { abortError, MoedError, type ErrorCode } from '../errors/index.js';
import { AsyncQueue } from './async-queue.js';
import { Heartbeat } from './heartbeat.js';
import type { FromRunner, RunnerStats, ToRunner } from './protocol.js';
import type { EngineRunner, StartOptions } from './runner.js';
import type { EmbedParams, EmbedResult, ErrorInfo, GenerateEvent, GenerateParams, LoadParams, LoadedInfo } from './types.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled runner entry (tests run from src/, so always point at dist/). */
export const RUNNER_SCRIPT = path.join(projectRoot, 'dist', 'runner', 'main.js');

const KNOWN_CODES = new Set<string>(['INVALID_REQUEST', 'ENGINE_FAILURE', 'MODEL_LOAD_FAILED']);

function toError(info: ErrorInfo, fallback: ErrorCode): MoedError {
  const code = (KNOWN_CODES.has(info.code) ? info.code : fallback) as ErrorCode;
  return new MoedError(code, info.message);
}

/** A fresh `stats()` answer waits at most this long. */
const STATS_TIMEOUT_MS = 5000;

export class RunnerProcess implements EngineRunner {
  private readonly streams = new Map<number, AsyncQueue<GenerateEvent>>();
  private readonly embeds = new Map<number, { resolve: (r: EmbedResult) => void; reject: (e: unknown) => void }>();
  private readonly statsWaiters = new Map<number, (s: RunnerStats) => void>();
  private nextId = 1;
  private nextStatsSeq = -1;
  private exitReason?: string;
  /** Set when the daemon killed the runner for not answering; the error its requests get. */
  private killedFor?: MoedError;
  private heartbeat?: Heartbeat;
  private lastStats?: RunnerStats;
  info!: LoadedInfo;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: FromRunner) => {
      this.heartbeat?.seen();
      this.onMessage(msg);
    });
    // A send on a channel that is closing reports here; the exit handler deals with the rest.
    // Without a listener it would be thrown, and take the daemon down with the runner.
    child.on('error', (err) => {
      if (this.exitReason === undefined) console.error(`moed: runner ${child.pid}: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      this.exitReason = signal ? `signal ${signal}` : `exit code ${code}`;
      this.heartbeat?.stop();
      const err = this.killedFor ?? new MoedError('RUNNER_CRASHED', `model runner stopped unexpectedly (${this.exitReason})`);
      for (const q of this.streams.values()) q.fail(err);
      this.streams.clear();
      for (const p of this.embeds.values()) p.reject(err);
      this.embeds.clear();
    });
  }

  /** Starts watching the runner once it is loaded (see heartbeat.ts). */
  private watch(timeoutMs: number): void {
    this.heartbeat = new Heartbeat({
      timeoutMs,
      ping: (seq) => this.send({ t: 'ping', seq }),
      busy: () => this.streams.size + this.embeds.size > 0,
      onTimeout: (silentMs) => {
        this.killedFor = new MoedError(
          'RUNNER_UNRESPONSIVE',
          `model runner stopped answering for ${Math.round(silentMs / 1000)} s and was killed (MOED_RUNNER_TIMEOUT is ${Math.round(timeoutMs / 1000)} s)`,
        );
        console.error(`moed: ${this.killedFor.message} (pid ${this.child.pid})`);
        this.child.kill('SIGKILL');
      },
    });
    this.heartbeat.start();
  }

  get alive(): boolean {
    return this.exitReason === undefined && this.child.connected;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(params: LoadParams, options: StartOptions, script = RUNNER_SCRIPT): Promise<RunnerProcess> {
    const child = fork(script, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { ...runnerEnv(), ...params.env },
    });
    const runner = new RunnerProcess(child);
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          done();
          child.kill('SIGKILL');
          reject(new MoedError('MODEL_LOAD_FAILED', `model load made no progress for ${options.loadTimeoutMs} ms; runner killed`));
        }, options.loadTimeoutMs);
      };
      const onMessage = (msg: FromRunner) => {
        if (msg.t === 'progress') {
          arm();
          options.onProgress?.(msg.progress);
        } else if (msg.t === 'loaded') {
          done();
          runner.info = msg.info;
          if (options.runnerTimeoutMs) runner.watch(options.runnerTimeoutMs);
          resolve();
        } else if (msg.t === 'load_failed') {
          done();
          reject(toError(msg.error, 'MODEL_LOAD_FAILED'));
        }
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        done();
        reject(
          new MoedError(
            'MODEL_LOAD_FAILED',
            `model runner exited while loading ${path.basename(params.modelPath)} (${signal ? `signal ${signal}` : `exit code ${code}`}); the file may be corrupt or too large for this machine`,
          ),
        );
      };
      // A load of hundreds of GB takes minutes: a shutdown does not wait for it.
      const onAbort = () => {
        done();
        child.kill('SIGKILL');
        reject(options.signal!.reason instanceof MoedError ? options.signal!.reason : new MoedError('MODEL_LOAD_FAILED', 'model load stopped'));
      };
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        options.signal?.removeEventListener('abort', onAbort);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      arm();
      runner.send({ t: 'load', params });
    });
    return runner;
  }

  private send(msg: ToRunner): void {
    if (this.child.connected) this.child.send(msg);
  }

  /** The runner's counters, asked now (a hung runner answers with the last ones it sent). */
  async stats(): Promise<RunnerStats> {
    const fallback = () => this.lastStats ?? { busySlots: 0, waiting: 0, embeds: 0, rss: 0 };
    if (!this.alive) return fallback();
    // Negative sequence numbers: apart from the heartbeat's, which count up from 1.
    const seq = this.nextStatsSeq--;
    return new Promise<RunnerStats>((resolve) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(seq);
        resolve(fallback());
      }, STATS_TIMEOUT_MS);
      timer.unref();
      this.statsWaiters.set(seq, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.send({ t: 'ping', seq });
    });
  }

  private onMessage(msg: FromRunner): void {
    if (msg.t === 'event') {
      const q = this.streams.get(msg.id);
      if (!q) return;
      q.push(msg.event);
      if (msg.event.type === 'done') {
        q.end();
        this.streams.delete(msg.id);
      }
    } else if (msg.t === 'embedded') {
      this.embeds.get(msg.id)?.resolve(msg.result);
      this.embeds.delete(msg.id);
    } else if (msg.t === 'pong') {
      if (msg.stats) this.lastStats = msg.stats;
      const waiter = this.statsWaiters.get(msg.seq);
      this.statsWaiters.delete(msg.seq);
      if (waiter && msg.stats) waiter(msg.stats);
    } else if (msg.t === 'error') {
      const err = toError(msg.error, 'ENGINE_FAILURE');
      this.streams.get(msg.id)?.fail(err);
      this.streams.delete(msg.id);
      this.embeds.get(msg.id)?.reject(err);
      this.embeds.delete(msg.id);
    }
  }

  generate(params: GenerateParams, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    if (!this.alive) throw new MoedError('RUNNER_CRASHED', `model runner is not running (${this.exitReason ?? 'closed'})`);
    const id = this.nextId++;
    const queue = new AsyncQueue<GenerateEvent>();
    this.streams.set(id, queue);
    const cancel = () => {
      if (!this.streams.has(id)) return;
      this.streams.delete(id);
      this.send({ t: 'cancel', id });
      queue.fail(abortError(signal));
    };
    if (signal.aborted) {
      // Never started: nothing is sent, so no slot works for a request nobody reads.
      this.streams.delete(id);
      queue.fail(abortError(signal));
      return queue;
    }
    signal.addEventListener('abort', cancel, { once: true });
    this.send({ t: 'generate', id, params });
    return queue;
  }

  embed(params: EmbedParams, signal: AbortSignal): Promise<EmbedResult> {
    if (!this.alive) throw new MoedError('RUNNER_CRASHED', `model runner is not running (${this.exitReason ?? 'closed'})`);
    const id = this.nextId++;
    return new Promise<EmbedResult>((resolve, reject) => {
      const cancel = () => {
        if (!this.embeds.has(id)) return;
        this.embeds.delete(id);
        this.send({ t: 'cancel', id });
        reject(abortError(signal));
      };
      const settle = <T>(fn: (v: T) => void) => (v: T) => {
        signal.removeEventListener('abort', cancel);
        fn(v);
      };
      this.embeds.set(id, { resolve: settle(resolve), reject: settle(reject) });
      if (signal.aborted) return cancel();
      signal.addEventListener('abort', cancel, { once: true });
      this.send({ t: 'embed', id, params });
    });
  }

  /** Ends the process, which returns every byte of RAM, VRAM and mmap it held. */
  async close(): Promise<void> {
    this.heartbeat?.stop();
    if (this.exitReason !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
