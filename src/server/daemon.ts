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

export interface Daemon {
  server: http.Server;
  scheduler: Scheduler;
  store: ModelStore;
  url: string;
  close(): Promise<void>;
}

export async function startDaemon(config: DaemonConfig, factory?: RunnerFactory): Promise<Daemon> {
  const store = new ModelStore(config.modelsDir);
  const scheduler = new Scheduler(
    { maxLoadedModels: config.maxLoadedModels, maxQueue: config.maxQueue, loadTimeoutMs: config.loadTimeoutMs },
    factory ?? ((params, options) => RunnerProcess.start(params, options)),
  );
  const app = createApp({
    inference: new InferenceService({ store, scheduler, config }),
    models: new ModelService(store, { scheduler }),
    store,
    network: { listenHost: config.listen.host, origins: config.origins },
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
