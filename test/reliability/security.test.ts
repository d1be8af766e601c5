// Security: the warning of `moed serve` when it listens beyond loopback without MOED_API_KEY;
// model names that try to leave the store, through every route that takes one; the request size
// limit on every JSON route, while blob uploads stream whatever their size; and the debug route,
// which answers this machine only. (CORS, the DNS-rebinding host check and the bearer key itself
// are covered in test/server/http.test.ts and test/server/openai.test.ts.)
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposureWarning } from '../../src/cli/serve.js';
import { readDaemonConfig } from '../../src/config/env.js';
import { startTestDaemon, stopTestDaemons, type TestDaemon } from '../helpers/mgmt.js';
import { CLI, freePort, snapshotTree, startDaemonProcess, waitFor } from './helpers.js';

afterAll(stopTestDaemons);

describe('moed serve beyond loopback', () => {
  const warning = (host: string, key?: string) =>
    exposureWarning(readDaemonConfig({ OLLAMA_HOST: host, HOME: '/tmp', ...(key ? { MOED_API_KEY: key } : {}) }));

  it('warns when listening beyond loopback without MOED_API_KEY, and only then', () => {
    expect(warning('127.0.0.1:11434')).toBeNull();
    expect(warning('localhost')).toBeNull();
    expect(warning('[::1]:8080')).toBeNull();
    expect(warning('0.0.0.0:11434')).toMatch(/^moed: WARNING: listening on 0.0.0.0, beyond this machine, without MOED_API_KEY/);
    expect(warning('[::]:11434')).toMatch(/listening on ::/);
    expect(warning('192.168.1.20')).toMatch(/Set MOED_API_KEY/);
    expect(warning('0.0.0.0:11434', 'sesame')).toBeNull();
  });

  it('prints the warning when the daemon starts on 0.0.0.0', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-expose-'));
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve'], {
      env: { ...process.env, HOME: root, OLLAMA_MODELS: path.join(root, 'models'), OLLAMA_HOST: `0.0.0.0:${port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitFor('the daemon to listen', () => out.includes('listening on'), 20_000);
      expect(out).toMatch(/WARNING: listening on 0.0.0.0, beyond this machine, without MOED_API_KEY/);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('model names never reach outside the store', () => {
  let t: TestDaemon;
  /** The temporary folder that holds the store (models/) and everything around it. */
  let around: string;

  beforeAll(async () => {
    t = await startTestDaemon();
    around = t.root;
    // A file a traversal might aim at, right beside the store.
    await fs.writeFile(path.join(around, 'victim.txt'), 'keep me');
  });

  const NAMES = ['../victim.txt', '../../victim', '../../../../../../etc/passwd', '/etc/passwd', 'a/../../b', 'x/y/z/w/../../..', '..\\..\\victim', 'ns/..:tag', 'tiny:..', '%2e%2e%2fvictim'];
  const post = (route: string, body: unknown, method = 'POST') => fetch(`${t.url}${route}`, { method, body: JSON.stringify(body) });

  const routes: [string, (name: string) => Promise<Response>][] = [
    ['show', (n) => post('/api/show', { model: n })],
    ['chat', (n) => post('/api/chat', { model: n, messages: [{ role: 'user', content: 'x' }], stream: false })],
    ['generate', (n) => post('/api/generate', { model: n, prompt: 'x', stream: false })],
    ['embed', (n) => post('/api/embed', { model: n, input: 'x' })],
    ['create (name)', (n) => post('/api/create', { model: n, from: 'tiny', stream: false })],
    ['create (from)', (n) => post('/api/create', { model: 'copy-of', from: n, stream: false })],
    ['copy (source)', (n) => post('/api/copy', { source: n, destination: 'dest' })],
    ['copy (destination)', (n) => post('/api/copy', { source: 'tiny', destination: n })],
    ['delete', (n) => post('/api/delete', { model: n }, 'DELETE')],
    ['pull', (n) => post('/api/pull', { model: n, stream: false })],
    ['push', (n) => post('/api/push', { model: n, stream: false })],
    ['blobs (HEAD digest)', (n) => fetch(`${t.url}/api/blobs/${encodeURIComponent(`sha256:${n}`)}`, { method: 'HEAD' })],
    ['blobs (POST digest)', (n) => fetch(`${t.url}/api/blobs/${encodeURIComponent(`sha256-${n}`)}`, { method: 'POST', body: 'x' })],
    ['v1 models', (n) => fetch(`${t.url}/v1/models/${encodeURIComponent(n)}`)],
  ];

  it.each(routes)('%s: refused, nothing written or removed anywhere around the store', async (_route, send) => {
    const before = await snapshotTree(around);
    for (const name of NAMES) {
      const res = await send(name);
      // Refused as a bad request, or not found; never served from, or written to, outside.
      expect([400, 404], `${name}: ${res.status}`).toContain(res.status);
      await res.arrayBuffer();
    }
    expect(await snapshotTree(around)).toEqual(before);
    expect(await fs.readFile(path.join(around, 'victim.txt'), 'utf8')).toBe('keep me');
  });
});

describe('request size limits', () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({ env: { MOED_MAX_BODY: '256KiB' } });
  });

  const JSON_ROUTES: [string, string][] = [
    ['POST', '/api/chat'],
    ['POST', '/api/generate'],
    ['POST', '/api/embed'],
    ['POST', '/api/embeddings'],
    ['POST', '/api/show'],
    ['POST', '/api/create'],
    ['POST', '/api/copy'],
    ['DELETE', '/api/delete'],
    ['POST', '/api/pull'],
    ['POST', '/api/push'],
    ['POST', '/v1/chat/completions'],
    ['POST', '/v1/completions'],
    ['POST', '/v1/embeddings'],
  ];

  it.each(JSON_ROUTES)('%s %s: a JSON body over the limit is refused with 413', async (method, route) => {
    const body = JSON.stringify({ model: 'tiny', pad: 'x'.repeat(1024 * 1024) });
    const res = await fetch(`${t.url}${route}`, { method, body });
    expect(res.status).toBe(413);
    const err = (await res.json()) as { error: string | { message: string } };
    const message = typeof err.error === 'string' ? err.error : err.error.message;
    expect(message).toBe('request body is larger than the limit of 256 KiB (MOED_MAX_BODY)');
  });

  it('a blob upload is not a JSON body: 128 MiB stream to disk while the daemon\u2019s memory stays put', async () => {
    // The daemon as its own process, so its memory is its own (the client's buffers are not).
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-blob-'));
    const d = await startDaemonProcess(path.join(root, 'models'), { MOED_MAX_BODY: '256KiB' });
    try {
      const MIB = 128;
      const hash = createHash('sha256');
      for (let i = 0; i < MIB; i++) hash.update(Buffer.alloc(1024 * 1024, i));
      const digest = `sha256:${hash.digest('hex')}`;
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < MIB; i++) yield Buffer.alloc(1024 * 1024, i);
        })(),
      );
      const before = (await d.state()).rss;
      let peak = before;
      let uploading = true;
      const sampler = (async () => {
        while (uploading) {
          peak = Math.max(peak, (await d.state()).rss);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const res = await fetch(`${d.url}/api/blobs/${digest}`, { method: 'POST', body: Readable.toWeb(body) as never, duplex: 'half' } as RequestInit);
      uploading = false;
      await sampler;
      expect(res.status).toBe(201);
      expect((await fs.stat(path.join(root, 'models', 'blobs', `sha256-${digest.slice(7)}`))).size).toBe(MIB * 1024 * 1024);
      console.log(`a ${MIB} MiB blob upload raised the daemon's rss by ${((peak - before) / 2 ** 20).toFixed(1)} MB at most`);
      // Streamed: nowhere near the 128 MiB that buffering it would take.
      expect(peak - before).toBeLessThan(80 * 1024 * 1024);
    } finally {
      await d.stop();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('the debug route', () => {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it('answers loopback clients with the counters', async () => {
    const t = await startTestDaemon();
    const res = await fetch(`${t.url}/api/moed/state`);
    expect(res.status).toBe(200);
    const s = await res.json();
    expect(s).toMatchObject({ pid: process.pid, stopping: false, scheduler: { leases: 0, pending: 0, queued_for_slots: 0 }, runners: [] });
    expect(s.rss).toBeGreaterThan(0);
  });

  it('needs the bearer key when MOED_API_KEY is set', async () => {
    const t = await startTestDaemon({ env: { MOED_API_KEY: 'sesame' } });
    expect((await fetch(`${t.url}/api/moed/state`)).status).toBe(401);
    expect((await fetch(`${t.url}/api/moed/state`, { headers: { Authorization: 'Bearer sesame' } })).status).toBe(200);
  });

  it.skipIf(!external)('is an unknown route to clients on other machines (here: this machine\u2019s network address)', async () => {
    const t = await startTestDaemon({ env: { OLLAMA_HOST: '0.0.0.0:0' } });
    const port = new URL(t.url).port;
    const res = await fetch(`http://${external}:${port}/api/moed/state`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found');
    // The rest of the API is there for them.
    expect((await fetch(`http://${external}:${port}/api/version`)).status).toBe(200);
  });
});
