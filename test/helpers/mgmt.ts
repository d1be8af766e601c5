// Daemons over stores of real (forged, tiny) GGUF models, for the management routes: /api/show
// reads the GGUF, so these models have real metadata, tensors and a chat template. The runner is
// the scripted fake unless a test passes its own factory.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { readDaemonConfig } from '../../src/config/env.js';
import type { DeviceSource } from '../../src/engine/devices.js';
import type { RunnerFactory } from '../../src/engine/runner.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { summarizeGguf } from '../../src/service/gguf-summary.js';
import { ModelStore } from '../../src/store/store.js';
import { fakeFactory } from './fake-runner.js';
import { tempDir } from './store.js';

const forged = new Map<string, Promise<string>>();

/** A tiny DeepSeek-R1-shaped GGUF (about 12 MB), forged once per process and kind. */
export function tinyGguf(type: 'q4_k_m' | 'f16' = 'q4_k_m'): Promise<string> {
  let p = forged.get(type);
  if (!p) {
    p = (async () => {
      const dir = await tempDir('moed-gguf-');
      const file = path.join(dir, `tiny-${type}.gguf`);
      await forgeDeepseek2({ path: file, preset: 'tiny', seed: 7, type, name: 'tiny-test' });
      return file;
    })();
    forged.set(type, p);
  }
  return p;
}

/** Adds a model that references the GGUF in place, as `moed create` from a local path does. */
export async function addModel(store: ModelStore, name: string, file: string, extra: Partial<Parameters<ModelStore['create']>[1]> = {}) {
  const summary = await summarizeGguf(file);
  return store.create(name, { modelFiles: summary.files, config: summary.config, ...extra });
}

export interface TestDaemon {
  daemon: Daemon;
  url: string;
  root: string;
  store: ModelStore;
  gguf: string;
  /** Runners the fake factory started (empty with a custom factory). */
  runners: { alive: boolean; info: unknown }[];
}

export interface StartOptions {
  models?: string[];
  env?: Record<string, string>;
  factory?: RunnerFactory;
  /** Script for the fake runner (its shape is the fake's). */
  script?: () => unknown;
  /** The devices placement plans see (default: this machine's RAM). */
  devices?: DeviceSource;
}

const running: Daemon[] = [];

export async function startTestDaemon(opts: StartOptions = {}): Promise<TestDaemon> {
  const root = await tempDir('moed-mgmt-');
  const gguf = await tinyGguf();
  const store = new ModelStore(path.join(root, 'models'));
  for (const name of opts.models ?? ['tiny']) await addModel(store, name, gguf);
  const config = readDaemonConfig({
    OLLAMA_HOST: '127.0.0.1:0',
    OLLAMA_MODELS: store.root,
    HOME: root,
    ...opts.env,
  });
  const fake = fakeFactory((opts.script ?? (() => ({ thinkingOpen: false, pieces: ['Hello', ' world'] }))) as never);
  const daemon = await startDaemon(config, opts.factory ?? fake.factory, opts.devices);
  running.push(daemon);
  return { daemon, url: daemon.url, root, store: daemon.store, gguf, runners: fake.runners as never };
}

/** Closes every daemon started since the last call (use in afterEach). */
export async function stopTestDaemons(): Promise<void> {
  for (const d of running.splice(0)) await d.close();
}

/** All lines of an NDJSON response (which must end in a newline). */
export async function ndjson(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  if (!text.endsWith('\n')) throw new Error(`NDJSON body does not end in a newline: ${JSON.stringify(text.slice(-80))}`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

export function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
}

/** A raw HTTP request (fetch cannot set Host, or send a body with a streaming pause). */
export function rawRequest(
  url: string,
  options: http.RequestOptions & { body?: string | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Files in the store's blobs folder (temporary upload files included). */
export async function blobFiles(store: ModelStore): Promise<string[]> {
  return (await fs.readdir(store.blobsDir).catch(() => [] as string[])).sort();
}

/** Every file under the store (manifests and blobs), for "nothing changed" checks. */
export async function storeFiles(store: ModelStore): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(store.root, p));
    }
  };
  await walk(store.root);
  return out.sort();
}
