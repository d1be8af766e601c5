// The calls a real Open WebUI makes to its native Ollama connection, in its order, against a real
// daemon (real runner processes, a forged tiny DeepSeek-R1-shaped model) and a real registry on
// loopback: version, tags, show, streamed chats with and without `think`, a title-generation
// chat with extra options, unload with keep_alive 0, pull, create, delete. Requests carry Open
// WebUI's headers (JSON content type on GETs, `Authorization: Bearer ` with an empty key, its
// X-OpenWebUI-* headers); responses are read as Open WebUI reads them (aiohttp's r.json() refuses
// another mimetype; streams are read line by line to the end of the body).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/store.js';

const HEADERS = {
  'Content-Type': 'application/json',
  Authorization: 'Bearer ',
  'X-OpenWebUI-User-Name': 'Ada',
  'X-OpenWebUI-User-Id': 'u-1',
  'X-OpenWebUI-User-Email': 'ada@example.com',
  'X-OpenWebUI-User-Role': 'admin',
  'X-OpenWebUI-Chat-Id': 'chat-1',
};
const MODEL = 'tiny-r1:latest';

let dir: string;
let daemon: Daemon;
let registry: TestRegistry;
let url: string;

/** aiohttp's `await r.json()`: refuses any mimetype but application/json. */
async function json(res: Response): Promise<any> {
  const type = res.headers.get('content-type') ?? '';
  if (type.split(';')[0]!.trim() !== 'application/json') throw new Error(`Attempt to decode JSON with unexpected mimetype: ${type}`);
  return res.json();
}

/** Open WebUI's stream reading: every line to the end of the body; an "error" key is an error. */
async function lines(res: Response): Promise<Record<string, any>[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  const out: Record<string, any>[] = [];
  for (const line of (await res.text()).split('\n')) {
    if (line.trim() === '') continue;
    const obj = JSON.parse(line);
    if (obj.error) throw new Error(obj.error);
    out.push(obj);
  }
  return out;
}

const get = (p: string) => fetch(`${url}${p}`, { headers: HEADERS });
const send = (p: string, body: unknown, method = 'POST') => fetch(`${url}${p}`, { method, headers: HEADERS, body: JSON.stringify(body) });
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

beforeAll(async () => {
  dir = await tempDir('moed-owui-');
  registry = await startRegistry();
  const gguf = path.join(dir, 'tiny-r1.gguf');
  await forgeDeepseek2({ path: gguf, preset: 'tiny', seed: 11, name: 'tiny-r1' });
  const config = readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: path.join(dir, 'models'), HOME: dir });
  daemon = await startDaemon(config);
  url = daemon.url;
  // Open WebUI's "upload a GGUF" path: HEAD the blob, POST it, create from `files`.
  const bytes = await fs.readFile(gguf);
  expect((await fetch(`${url}/api/blobs/${sha(bytes)}`, { method: 'HEAD' })).status).toBe(404);
  expect((await fetch(`${url}/api/blobs/${sha(bytes)}`, { method: 'POST', body: bytes })).status).toBe(201);
  const created = await lines(await send('/api/create', { model: MODEL, files: { 'tiny-r1.gguf': sha(bytes) }, stream: true }));
  expect(created.at(-1)).toEqual({ status: 'success' });
});

afterAll(async () => {
  await daemon?.close();
  await registry?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('Open WebUI driving moed', () => {
  it('GET /api/version: strip "v" and "-suffix", int() each part', async () => {
    const { version } = await json(await get('/api/version'));
    const parts = version.replace(/^v/, '').split('-')[0].split('.');
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(Number.isInteger(Number.parseInt(p, 10)) && String(Number.parseInt(p, 10)) === p).toBe(true);
  });

  it('GET /api/tags: every model has name and model, plus what the model list shows', async () => {
    const { models } = await json(await get('/api/tags'));
    expect(models).toHaveLength(1);
    const m = models[0];
    expect(m.name).toBe(MODEL);
    expect(m.model).toBe(MODEL);
    expect(m.details.parameter_size).toEqual(expect.any(String));
    expect(m.details.quantization_level).toBe('Q4_K_M');
    expect(m.size).toBeGreaterThan(1_000_000);
    expect(m.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(Number.isNaN(Date.parse(m.modified_at))).toBe(false);
  });

  it('POST /api/show: details, model_info and capabilities for the model editor', async () => {
    const s = await json(await send('/api/show', { model: MODEL }));
    expect(s.details.family).toBe('deepseek2');
    expect(s.model_info['general.architecture']).toBe('deepseek2');
    expect(s.capabilities).toEqual(expect.arrayContaining(['completion', 'thinking']));
    expect(s.modelfile).toMatch(/^# Modelfile generated by "ollama show"/);
  });

  it('POST /api/chat streamed with think: reasoning in message.thinking, ends with done and metrics', async () => {
    const res = await send('/api/chat', {
      model: MODEL,
      messages: [{ role: 'user', content: 'Why is the sky blue?' }],
      stream: true,
      think: true,
      options: { num_predict: 10, seed: 3 },
    });
    const out = await lines(res);
    const last = out.at(-1)!;
    expect(last.done).toBe(true);
    expect(['stop', 'length']).toContain(last.done_reason);
    expect(Number.isInteger(last.eval_count)).toBe(true);
    expect(out.some((l) => (l.message?.thinking ?? '').length > 0)).toBe(true);
    for (const l of out) expect(l.message.role).toBe('assistant');
  });

  it('POST /api/chat streamed without think (thinking model: on by default) and with think:false', async () => {
    const plain = await lines(
      await send('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true, options: { num_predict: 6 } }),
    );
    expect(plain.at(-1)!.done).toBe(true);
    const off = await lines(
      await send('/api/chat', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], stream: true, think: false, options: { num_predict: 6 } }),
    );
    expect(off.at(-1)!.done).toBe(true);
    expect(off.every((l) => !l.message.thinking)).toBe(true);
  });

  it('title generation: stream false, extra option keys and root extras are ignored', async () => {
    const res = await send('/api/chat', {
      model: MODEL,
      messages: [{ role: 'user', content: 'Generate a concise title for: the sky' }],
      stream: false,
      options: { temperature: 0.1, num_predict: 8, mirostat: 0, tfs_z: 1, use_mlock: false, some_unknown_key: 'x', think: null, keep_alive: null },
      num_predict: 8,
      system: 'You write titles.',
      keep_alive: '5m',
      metadata: { task: 'title_generation' },
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.done).toBe(true);
    expect(typeof body.message.content).toBe('string');
    expect(body.model).toBe(MODEL);
  });

  it('unload with keep_alive 0: /api/ps empties', async () => {
    expect((await json(await get('/api/ps'))).models.map((m: any) => m.name)).toEqual([MODEL]);
    const body = await json(await send('/api/chat', { model: MODEL, messages: [], keep_alive: 0 }));
    expect(body.done_reason).toBe('unload');
    expect((await json(await get('/api/ps'))).models).toEqual([]);
  });

  it('POST /api/pull (name, model and insecure, as Open WebUI sends them) from a registry', async () => {
    const remote = `${registry.host}/library/tiny-r1:latest`;
    // Put the model in the registry: copy it under the registry's name and push it.
    expect((await send('/api/copy', { source: MODEL, destination: remote })).status).toBe(200);
    expect((await lines(await send('/api/push', { model: remote, insecure: true, stream: true }))).at(-1)).toEqual({ status: 'success' });
    expect((await send('/api/delete', { name: remote }, 'DELETE')).status).toBe(200);

    const out = await lines(await send('/api/pull', { name: remote, model: remote, insecure: true, stream: true }));
    expect(out[0]).toEqual({ status: 'pulling manifest' });
    expect(out.at(-1)).toEqual({ status: 'success' });
    const { models } = await json(await get('/api/tags'));
    expect(models.map((m: any) => m.name).sort()).toEqual([MODEL, remote].sort());
    const [a, b] = [models.find((m: any) => m.name === MODEL), models.find((m: any) => m.name === remote)];
    expect(b.digest).toBe(a.digest);
  });

  it('POST /api/create from the model editor (from, system, parameters), then chat with it', async () => {
    const out = await lines(
      await send('/api/create', { model: 'tiny-r1-helper:latest', from: MODEL, system: 'Be helpful.', parameters: { temperature: 0.5, num_predict: 4 }, stream: true }),
    );
    expect(out.at(-1)).toEqual({ status: 'success' });
    const s = await json(await send('/api/show', { model: 'tiny-r1-helper:latest' }));
    expect(s.system).toBe('Be helpful.');
    expect(s.parameters).toContain('temperature                    0.5');
    const reply = await json(await send('/api/chat', { model: 'tiny-r1-helper:latest', messages: [{ role: 'user', content: 'hi' }], stream: false }));
    expect(reply.done).toBe(true);
    expect(reply.eval_count).toBeLessThanOrEqual(4);
  });

  it('DELETE /api/delete with a JSON body removes models; the list follows', async () => {
    expect((await send('/api/delete', { model: 'tiny-r1-helper:latest' }, 'DELETE')).status).toBe(200);
    expect((await send('/api/delete', { name: `${registry.host}/library/tiny-r1:latest` }, 'DELETE')).status).toBe(200);
    const { models } = await json(await get('/api/tags'));
    expect(models.map((m: any) => m.name)).toEqual([MODEL]);
    expect((await json(await get('/api/ps'))).models.map((m: any) => m.name)).not.toContain('tiny-r1-helper:latest');
    const gone = await send('/api/delete', { name: 'tiny-r1-helper:latest' }, 'DELETE');
    expect(gone.status).toBe(404);
    expect(await json(gone)).toEqual({ error: "model 'tiny-r1-helper:latest' not found" });
  });
});
