// /api/push and /api/pull against a real Docker registry (distribution v2) on loopback: NDJSON
// progress, the registry's own view of what was pushed (plain HTTP), pull-back into an empty
// store, the official `ollama` npm client, referenced-in-place GGUFs (split sets included),
// digest verification, pruning, and the errors a user sees.
import Router from '@koa/router';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import Koa from 'koa';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { errorMiddleware, notFound } from '../../src/server/error-middleware.js';
import { transferRoutes } from '../../src/server/routes/transfer.js';
import type { TransferDeps } from '../../src/service/transfer.js';
import { MediaTypes, ModelStore, type Manifest } from '../../src/store/store.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/store.js';

const MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = {
  model_format: 'gguf',
  model_family: 'deepseek2',
  model_families: ['deepseek2'],
  model_type: '671B',
  file_type: 'Q4_K_M',
  capabilities: ['completion'],
};

let registry: TestRegistry;
let work: string;
const servers: http.Server[] = [];

let missing: Error | undefined;

beforeAll(async () => {
  work = await tempDir('moed-transfer-');
  try {
    registry = await startRegistry();
  } catch (e) {
    missing = e as Error;
  }
});

// Without a registry every test fails with the reason (never skipped).
beforeEach(() => {
  if (missing) throw missing;
});

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await registry?.stop();
  if (work) await fs.rm(work, { recursive: true, force: true });
});

/** The Koa app with the transfer routes, as app.ts wires them, over a store of its own. */
async function serve(name: string, extra: Partial<TransferDeps> = {}) {
  const store = new ModelStore(path.join(work, name, 'models'));
  const app = new Koa();
  const router = new Router();
  transferRoutes(router, { store, progressIntervalMs: 10, ...extra });
  app.use(errorMiddleware);
  app.use(router.routes());
  app.use(async () => {
    throw notFound();
  });
  const server = http.createServer(app.callback());
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { store, url };
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A model whose "GGUF" is a blob in the store, with template, system and parameter layers. */
async function blobModel(store: ModelStore, name: string, bytes: Buffer, template = '{{ .Prompt }}') {
  const file = path.join(work, `upload-${randomBytes(4).toString('hex')}.gguf`);
  await fs.writeFile(file, bytes);
  const layer = await store.importBlobFile(file);
  return store.create(name, {
    modelBlob: layer.digest,
    config: CONFIG,
    template,
    system: 'You are brief.',
    parameters: { temperature: 0.5, stop: ['<|end|>'] },
  });
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', body: JSON.stringify(body) });
}

async function ndjson(res: Response): Promise<Record<string, any>[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await res.text();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/**
 * Checks `head`, then per-layer lines `<verb> <12 hex>` (digest, total, rising completed, last
 * one complete) for exactly `layers` in that order, then `tail`.
 */
function expectProgress(lines: Record<string, any>[], head: string[], verb: string, layers: { digest: string; size: number }[], tail: string[]) {
  expect(lines.slice(0, head.length).map((l) => l.status)).toEqual(head);
  expect(lines.slice(lines.length - tail.length).map((l) => l.status)).toEqual(tail);
  const middle = lines.slice(head.length, lines.length - tail.length);
  const seen: string[] = [];
  for (const l of middle) {
    expect(l.status).toMatch(new RegExp(`^${verb} [0-9a-f]{12}$`));
    expect(l.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(l.status.slice(verb.length + 1)).toBe(l.digest.slice(7, 19));
    if (seen.at(-1) !== l.digest) seen.push(l.digest);
  }
  expect(seen).toEqual(layers.map((l) => l.digest));
  for (const layer of layers) {
    const mine = middle.filter((l) => l.digest === layer.digest);
    for (const l of mine) {
      expect(l.total).toBe(layer.size);
      expect(Number.isInteger(l.completed)).toBe(true);
    }
    const completed = mine.map((l) => l.completed as number);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
    expect(completed.at(-1)).toBe(layer.size);
  }
}

async function registryManifest(repo: string, tag: string) {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${tag}`, { headers: { accept: MANIFEST_V2 } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function registryBlob(repo: string, digest: string) {
  const head = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  const get = await fetch(`${registry.url}/v2/${repo}/blobs/${digest}`);
  return { status: head.status, size: Number(head.headers.get('content-length')), bytes: Buffer.from(await get.arrayBuffer()) };
}

const layersOf = (m: Manifest) => [...m.layers, m.config];

async function blobDirEntries(store: ModelStore): Promise<string[]> {
  return (await fs.readdir(store.blobsDir).catch(() => [] as string[])).sort();
}

describe('push and pull through a real registry', () => {
  it('pushes a stored model, and pulls it back into an empty store with the same layers', async () => {
    const a = await serve('push-a');
    const name = `${registry.host}/library/mymodel:latest`;
    const gguf = randomBytes(300_000);
    const model = await blobModel(a.store, name, gguf);
    const localBytes = await a.store.readManifest(model.name);

    const lines = await ndjson(await post(`${a.url}/api/push`, { model: name }));
    expectProgress(lines, ['retrieving manifest'], 'pushing', layersOf(model.manifest), ['pushing manifest', 'success']);

    // The registry now has the manifest, byte for byte, and every blob at its size.
    const remote = await registryManifest('library/mymodel', 'latest');
    expect(remote.status).toBe(200);
    expect(remote.bytes.equals(localBytes)).toBe(true);
    for (const layer of layersOf(model.manifest)) {
      const blob = await registryBlob('library/mymodel', layer.digest);
      expect(blob.status).toBe(200);
      expect(blob.size).toBe(layer.size);
      expect(sha256(blob.bytes)).toBe(layer.digest);
    }
    const ggufLayer = model.manifest.layers.find((l) => l.mediaType === MediaTypes.model)!;
    expect((await registryBlob('library/mymodel', ggufLayer.digest)).bytes.equals(gguf)).toBe(true);

    // Pushing again: every blob is already there.
    const again = await ndjson(await post(`${a.url}/api/push`, { name, stream: true }));
    expectProgress(again, ['retrieving manifest'], 'pushing', layersOf(model.manifest), ['pushing manifest', 'success']);
    for (const l of again.filter((x) => x.digest)) expect(l.completed).toBe(l.total);

    // Deleted locally, then pulled back.
    await a.store.delete(model.name);
    expect(await a.store.get(name)).toBeUndefined();
    expect(await blobDirEntries(a.store)).toEqual([]);
    const pulled = await ndjson(await post(`${a.url}/api/pull`, { model: name }));
    expectProgress(pulled, ['pulling manifest'], 'pulling', layersOf(model.manifest), [
      'verifying sha256 digest',
      'writing manifest',
      'success',
    ]);
    const back = (await a.store.list()).find((m) => m.display === name);
    expect(back).toBeDefined();
    expect(layersOf(back!.manifest)).toEqual(layersOf(model.manifest));
    expect((await a.store.readManifest(back!.name)).equals(localBytes)).toBe(true);
    expect(await fs.readFile(back!.modelFiles[0]!.path)).toEqual(gguf);
    expect(back!.template).toBe('{{ .Prompt }}');
    expect(back!.system).toBe('You are brief.');
    expect(back!.parameters).toEqual({ temperature: 0.5, stop: ['<|end|>'] });
    // Nothing but the blobs themselves: no temporary files left behind.
    expect((await blobDirEntries(a.store)).every((e) => /^sha256-[0-9a-f]{64}$/.test(e))).toBe(true);

    // A pull of what is already here downloads nothing and says so.
    const noop = await ndjson(await post(`${a.url}/api/pull`, { model: name }));
    for (const l of noop.filter((x) => x.digest)) expect(l.completed).toBe(l.total);
    expect(noop.at(-1)).toEqual({ status: 'success' });
  });

  it('pulls with the official ollama npm client (name, insecure, stream) into another store', async () => {
    const a = await serve('client-a');
    const b = await serve('client-b');
    const name = `${registry.host}/team/client-model:v1`;
    const model = await blobModel(a.store, name, randomBytes(50_000));
    const pushed = await new Ollama({ host: a.url }).push({ model: name, insecure: true, stream: false });
    expect(pushed.status).toBe('success');

    const ollama = new Ollama({ host: b.url });
    const statuses: string[] = [];
    const totals = new Map<string, number>();
    for await (const part of await ollama.pull({ model: name, insecure: true, stream: true })) {
      statuses.push(part.status);
      if (part.digest) totals.set(part.digest, part.total);
    }
    expect(statuses[0]).toBe('pulling manifest');
    expect(statuses.at(-1)).toBe('success');
    expect(statuses).toContain('verifying sha256 digest');
    expect(statuses).toContain('writing manifest');
    expect(Object.fromEntries(totals)).toEqual(Object.fromEntries(layersOf(model.manifest).map((l) => [l.digest, l.size])));
    const got = await b.store.get(name);
    expect(got && layersOf(got.manifest)).toEqual(layersOf(model.manifest));

    // stream:false: one JSON object, the last progress message.
    const res = await post(`${b.url}/api/pull`, { name, stream: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ status: 'success' });
  });

  it('pushes a split GGUF referenced in place as real model layers, one per file, and pulls it back', async () => {
    const a = await serve('ref-a', { uploadChunkBytes: 64 * 1024 });
    const dir = path.join(work, 'ggufs');
    await fs.mkdir(dir, { recursive: true });
    const parts = [randomBytes(200_000), randomBytes(70_000)];
    const files = parts.map((_, i) => path.join(dir, `big-0000${i + 1}-of-00002.gguf`));
    for (let i = 0; i < parts.length; i++) await fs.writeFile(files[i]!, parts[i]!);
    const modelFiles = await Promise.all(files.map(async (f) => ({ path: f, size: (await fs.stat(f)).size, mtimeMs: (await fs.stat(f)).mtimeMs })));
    const name = `${registry.host}/library/referenced:q4`;
    const model = await a.store.create(name, { modelFiles, config: CONFIG, template: '{{ .Prompt }}' });
    expect(model.referenced).toBe(true);
    expect(model.manifest.layers[0]!.mediaType).toBe(MediaTypes.modelRef);

    const lines = await ndjson(await post(`${a.url}/api/push`, { model: name, insecure: true }));
    expect(lines[0]).toEqual({ status: 'retrieving manifest' });
    expect(lines.slice(-2)).toEqual([{ status: 'pushing manifest' }, { status: 'success' }]);
    for (let i = 0; i < files.length; i++) {
      const base = path.basename(files[i]!);
      const streaming = lines.filter((l) => l.status === `pushing ${base}`);
      expect(streaming.length).toBeGreaterThan(0);
      expect(streaming.every((l) => l.total === parts[i]!.length && l.digest === undefined)).toBe(true);
      const digest = sha256(parts[i]!);
      const done = lines.find((l) => l.digest === digest)!;
      expect(done).toEqual({ status: `pushing ${digest.slice(7, 19)}`, digest, total: parts[i]!.length, completed: parts[i]!.length });
    }

    // What the registry holds: real model layers with the files' bytes, no model-ref.
    const remote = JSON.parse((await registryManifest('library/referenced', 'q4')).bytes.toString()) as Manifest;
    expect(remote.layers.map((l) => l.mediaType)).toEqual([MediaTypes.model, MediaTypes.model, MediaTypes.template]);
    for (let i = 0; i < parts.length; i++) {
      expect(remote.layers[i]!.digest).toBe(sha256(parts[i]!));
      expect(remote.layers[i]!.size).toBe(parts[i]!.length);
      const blob = await registryBlob('library/referenced', remote.layers[i]!.digest);
      expect(blob.size).toBe((await fs.stat(files[i]!)).size);
      expect(blob.bytes.equals(parts[i]!)).toBe(true);
    }
    expect(remote.layers[2]).toEqual(model.manifest.layers[1]);
    expect(remote.config).toEqual(model.manifest.config);
    // The local model still references the files in place.
    expect((await a.store.get(name))!.referenced).toBe(true);

    // A second push knows the files' digests without reading them, and the registry has them.
    const again = await ndjson(await post(`${a.url}/api/push`, { model: name }));
    expect(again.some((l) => l.status.endsWith('.gguf'))).toBe(false);
    expectProgress(again, ['retrieving manifest'], 'pushing', [...remote.layers, remote.config], ['pushing manifest', 'success']);

    // Pulled into an empty store: two model blobs, in order, with the files' bytes.
    const b = await serve('ref-b');
    const pulled = await ndjson(await post(`${b.url}/api/pull`, { model: name }));
    expectProgress(pulled, ['pulling manifest'], 'pulling', [...remote.layers, remote.config], [
      'verifying sha256 digest',
      'writing manifest',
      'success',
    ]);
    const back = (await b.store.get(name))!;
    expect(back.referenced).toBe(false);
    expect(back.modelFiles.length).toBe(2);
    for (let i = 0; i < parts.length; i++) expect((await fs.readFile(back.modelFiles[i]!.path)).equals(parts[i]!)).toBe(true);
  });

  it('a re-pull that replaces a model removes the layers nothing uses any more', async () => {
    const a = await serve('prune-a');
    const b = await serve('prune-b');
    const name = `${registry.host}/library/changing:latest`;
    const v1 = await blobModel(a.store, name, randomBytes(10_000), 'template one');
    expect((await ndjson(await post(`${a.url}/api/push`, { model: name }))).at(-1)).toEqual({ status: 'success' });
    expect((await ndjson(await post(`${b.url}/api/pull`, { model: name }))).at(-1)).toEqual({ status: 'success' });
    const oldTemplate = v1.manifest.layers.find((l) => l.mediaType === MediaTypes.template)!.digest;
    expect(await b.store.hasBlob(oldTemplate)).toBe(true);

    const v2 = await blobModel(a.store, name, randomBytes(10_000), 'template two');
    expect((await ndjson(await post(`${a.url}/api/push`, { model: name }))).at(-1)).toEqual({ status: 'success' });
    const lines = await ndjson(await post(`${b.url}/api/pull`, { model: name }));
    expect(lines.slice(-4).map((l) => l.status)).toEqual(['verifying sha256 digest', 'writing manifest', 'removing unused layers', 'success']);
    expect(await b.store.hasBlob(oldTemplate)).toBe(false);
    expect(layersOf((await b.store.get(name))!.manifest)).toEqual(layersOf(v2.manifest));
  });

  it('a blob whose bytes do not match its digest is refused and leaves nothing behind', async () => {
    const a = await serve('tamper-a');
    const b = await serve('tamper-b');
    const name = `${registry.host}/library/tampered:latest`;
    const model = await blobModel(a.store, name, randomBytes(20_000));
    expect((await ndjson(await post(`${a.url}/api/push`, { model: name }))).at(-1)).toEqual({ status: 'success' });
    // Corrupt the blob inside the registry's storage (same size, other bytes).
    const digest = model.manifest.layers.find((l) => l.mediaType === MediaTypes.model)!.digest;
    const hex = digest.slice(7);
    const data = path.join(registry.dir, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    await fs.writeFile(data, randomBytes(20_000));

    const lines = await ndjson(await post(`${b.url}/api/pull`, { model: name }));
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    expect(lines.at(-1)!.error).toMatch(new RegExp(`^digest mismatch, file must be downloaded again: want ${digest}, got sha256:[0-9a-f]{64}$`));
    expect(lines.some((l) => l.status === 'success')).toBe(false);
    expect(await b.store.hasBlob(digest)).toBe(false);
    expect((await blobDirEntries(b.store)).filter((e) => e.includes(hex))).toEqual([]);
    expect(await b.store.get(name)).toBeUndefined();
  });
});

describe('errors', () => {
  it('an unknown tag or model is a clear 404, for curl and for the ollama client', async () => {
    const a = await serve('errors-a');
    const res = await post(`${a.url}/api/pull`, { model: `${registry.host}/library/nothing-here:nope` });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(body.error).toBe(
      `pull model manifest: file does not exist: library/nothing-here:nope is not in registry ${registry.host}`,
    );
    const ollama = new Ollama({ host: a.url });
    await expect(ollama.pull({ model: `${registry.host}/library/nothing-here:nope`, insecure: true, stream: true })).rejects.toThrow(
      /file does not exist/,
    );
    expect(await a.store.list()).toEqual([]);
  });

  it('checks the request: model or name, a valid name, typed fields, a model that exists', async () => {
    const a = await serve('errors-b');
    for (const route of ['/api/pull', '/api/push']) {
      let res = await post(`${a.url}${route}`, {});
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'model is required' });
      res = await post(`${a.url}${route}`, { model: '', name: '' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'model is required' });
      res = await post(`${a.url}${route}`, { model: 'bad name!' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'invalid model name' });
      res = await post(`${a.url}${route}`, { model: 'x', stream: 'yes' });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatch(/^json: cannot unmarshal string into Go struct field (PullRequest|PushRequest)\.stream of type bool$/);
      res = await fetch(`${a.url}${route}`, { method: 'POST' });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'missing request body' });
    }
    const res = await post(`${a.url}/api/push`, { name: `${registry.host}/library/absent:latest` });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: `model '${registry.host}/library/absent:latest' not found` });
    const insecure = await post(`${a.url}/api/pull`, { model: `http://${registry.host}/library/x:latest` });
    expect(insecure.status).toBe(400);
    expect(await insecure.json()).toEqual({ error: 'insecure protocol http' });
  });

  it('pushing a referenced GGUF that was moved fails before anything is sent', async () => {
    const a = await serve('errors-c');
    const file = path.join(work, 'moved.gguf');
    await fs.writeFile(file, randomBytes(1000));
    const name = `${registry.host}/library/moved:latest`;
    await a.store.create(name, { modelFiles: [{ path: file, size: 1000, mtimeMs: 0 }], config: CONFIG });
    await fs.rm(file);
    const res = await post(`${a.url}/api/push`, { model: name });
    expect(res.status).toBe(500);
    expect((await res.json()).error).toMatch(/^model file .*moved\.gguf of .* is missing/);
    expect((await registryManifest('library/moved', 'latest')).status).toBe(404);
  });

  it('registry.ollama.ai, which this machine cannot reach, fails fast with a clear error', async () => {
    const a = await serve('errors-d', { connectTimeoutMs: 3000 });
    const started = Date.now();
    const res = await post(`${a.url}/api/pull`, { model: 'moed-test-no-such-model:latest' });
    expect(Date.now() - started).toBeLessThan(8000);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect((await res.json()).error).toMatch(/^pull model manifest: .*registry\.ollama\.ai/);
  });

  it('a registry that accepts the connection but never answers hits the connect timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const a = await serve('errors-e', { connectTimeoutMs: 1000, idleTimeoutMs: 3000 });
      const started = Date.now();
      // https: the TLS handshake never completes.
      const res = await post(`${a.url}/api/pull`, { model: `https://127.0.0.1:${port}/library/x:latest` });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({
        error: `pull model manifest: cannot reach registry 127.0.0.1:${port}: no connection within 1s`,
      });
      // Plain http, no answer at all: the idle timeout.
      const b = await serve('errors-f', { connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
      const res2 = await post(`${b.url}/api/pull`, { model: `127.0.0.1:${port}/library/x:latest` });
      expect(res2.status).toBe(500);
      expect((await res2.json()).error).toMatch(/stopped responding/);
      // Nothing listening.
      const closed = await post(`${b.url}/api/push`, { model: `127.0.0.1:1/library/x:latest` });
      expect(closed.status).toBe(404); // no such local model: checked before the registry
    } finally {
      silent.close();
    }
  });

  it('pushing to a registry that refuses connections is a clear error before streaming', async () => {
    const a = await serve('errors-g');
    const name = `127.0.0.1:1/library/refused:latest`;
    await blobModel(a.store, name, randomBytes(100));
    const res = await post(`${a.url}/api/push`, { model: name });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'push: cannot reach registry 127.0.0.1:1: connection refused' });
  });
});
