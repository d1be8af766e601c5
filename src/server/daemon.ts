// The composition root of `moed serve`: store, scheduler with real runner processes, services,
// and the HTTP server on OLLAMA_HOST.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DaemonConfig } from '../config/env.js';
import { RunnerProcess } from '../engine/runner-process.js';
import type { RunnerFactory } from '../engine/runner.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { InferenceService } from '../service/inference.js';
import { ModelService } from '../service/model-service.js';
import { ModelStore } from '../store/store.js';
import { createApp } from './app.js';
import { hostDevices, probeDevices, type DeviceSource } from '../engine/devices.js';
import { PlacementService } from '../service/placement.js';
import { showPlan } from '../service/show-plan.js';
import { Lifecycle, type DrainResult } from './middleware/lifecycle.js';
import type { DaemonState } from './routes/debug.js';

export interface Daemon {
  server: http.Server;
  scheduler: Scheduler;
  store: ModelStore;
  url: string;
  /** The counters of GET /api/moed/state. */
  state(): Promise<DaemonState>;
  /** Stops at once: connections cut, runners stopped (tests). */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): no new connections or requests, requests in flight get `graceMs` to
   * finish, the rest end with a final error line, then every runner stops.
   */
  shutdown(graceMs: number): Promise<DrainResult>;
  /** During a shutdown: stop waiting, abort what is still running. */
  abortInFlight(): void;
}

/**
 * @param factory starts runners; tests pass a scripted one (and then the devices default to this
 *   machine's RAM, since no real engine is asked).
 * @param devices the engine's devices with their free memory, for placement plans.
 */
export async function startDaemon(config: DaemonConfig, factory?: RunnerFactory, devices?: DeviceSource): Promise<Daemon> {
  const store = new ModelStore(config.modelsDir);
  const scheduler = new Scheduler(
    {
      maxLoadedModels: config.maxLoadedModels,
      maxQueue: config.maxQueue,
      loadTimeoutMs: config.loadTimeoutMs,
      runnerTimeoutMs: config.runnerTimeoutMs,
    },
    factory ?? ((params, options) => RunnerProcess.start(params, options)),
  );
  const placement = new PlacementService(devices ?? (factory ? hostDevices : probeDevices()), config.numParallel);
  const lifecycle = new Lifecycle();
  const state = () => daemonState(scheduler, lifecycle);
  const app = createApp({
    inference: new InferenceService({ store, scheduler, config, placement }),
    models: new ModelService(store, { scheduler, show: { plan: (model, req) => showPlan(placement, config, model, req.options) } }),
    store,
    bodyLimitBytes: config.maxBodyBytes,
    network: { listenHost: config.listen.host, origins: config.origins },
    apiKey: config.apiKey,
    lifecycle,
    state,
  });
  const server = http.createServer(app.callback());
  // Generations stream for minutes and blob uploads for hours: no request timeout. Headers must
  // arrive within a minute, and idle keep-alive sockets are closed, so slow or idle clients
  // cannot pile sockets up.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  // A socket error after listening (EMFILE on accept, a reset) is logged; it must not be thrown.
  server.on('error', (err) => console.error('moed: server error:', err.message));
  // Malformed HTTP and headers over Node's 16 KiB limit get Node's own 400/431 (no clientError
  // listener on purpose): the socket closes, the server goes on.
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const stopServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    server,
    scheduler,
    store,
    url: `http://${host}:${addr.port}`,
    state,
    async close() {
      await stopServer();
      await scheduler.close();
    },
    async shutdown(graceMs: number) {
      // No new connections; idle keep-alive sockets go now, busy ones after their response.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const result = await lifecycle.drain(graceMs);
      server.closeAllConnections();
      await closed;
      await scheduler.close();
      return result;
    },
    abortInFlight() {
      lifecycle.abortNow();
    },
  };
}

async function daemonState(scheduler: Scheduler, lifecycle: Lifecycle): Promise<DaemonState> {
  const s = scheduler.stats();
  const runners = await Promise.all(
    scheduler.loaded().map(async (m) => {
      const stats = (await m.runner.stats?.()) ?? { busySlots: 0, waiting: 0, embeds: 0, rss: 0 };
      return {
        model: m.name,
        pid: m.runner.pid,
        alive: m.runner.alive,
        leases: m.active,
        busy_slots: stats.busySlots,
        waiting: stats.waiting,
        embeds: stats.embeds,
        rss: stats.rss,
        heap_used: stats.heapUsed ?? 0,
      };
    }),
  );
  const mem = process.memoryUsage();
  return {
    pid: process.pid,
    rss: mem.rss,
    heap_used: mem.heapUsed,
    uptime_s: Math.round(process.uptime()),
    requests_in_flight: lifecycle.inFlight,
    stopping: lifecycle.stopping,
    scheduler: { leases: s.leases, pending: s.pending, queued_for_slots: s.queuedForSlots },
    runners,
  };
}
