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

export interface Daemon {
  server: http.Server;
  scheduler: Scheduler;
  store: ModelStore;
  url: string;
  close(): Promise<void>;
}

/**
 * @param factory starts runners; tests pass a scripted one (and then the devices default to this
 *   machine's RAM, since no real engine is asked).
 * @param devices the engine's devices with their free memory, for placement plans.
 */
export async function startDaemon(config: DaemonConfig, factory?: RunnerFactory, devices?: DeviceSource): Promise<Daemon> {
  const store = new ModelStore(config.modelsDir);
  const scheduler = new Scheduler(
    { maxLoadedModels: config.maxLoadedModels, maxQueue: config.maxQueue, loadTimeoutMs: config.loadTimeoutMs },
    factory ?? ((params, options) => RunnerProcess.start(params, options)),
  );
  const placement = new PlacementService(devices ?? (factory ? hostDevices : probeDevices()), config.numParallel);
  const app = createApp({
    inference: new InferenceService({ store, scheduler, config, placement }),
    models: new ModelService(store, { scheduler, show: { plan: (model, req) => showPlan(placement, config, model, req.options) } }),
    store,
    network: { listenHost: config.listen.host, origins: config.origins },
    apiKey: config.apiKey,
  });
  const server = http.createServer(app.callback());
  // Generations stream for minutes: no request timeout, but keep idle sockets from piling up.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    scheduler,
    store,
    url: `http://${host}:${addr.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await scheduler.close();
    },
  };
}
