// Conformance with shared/reference/ollama-api.md for the management half of the API: one test
// per row (named by its id), driven by the official `ollama` npm client where it can be, and by
// raw HTTP where the client hides what the row is about (status codes, headers, bodies).
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Ollama } from 'ollama';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clientBaseUrl, readDaemonConfig } from '../../src/config/env.js';
import type { EngineRunner, RunnerFactory } from '../../src/engine/runner.js';
import { fakeFactory } from '../helpers/fake-runner.js';
import { addModel, ndjson, post, rawRequest, startTestDaemon, stopTestDaemons, storeFiles } from '../helpers/mgmt.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopTestDaemons();
});

const RFC3339_FRACTION = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)$/;
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const client = (host: string, headers?: Record<string, string>) => new Ollama({ host, headers });

/** What ollama-js throws, or undefined. */
async function failure(p: Promise<unknown>): Promise<{ status_code: number; error: string }> {
  try {
    await p;
  } catch (e) {
    return e as { status_code: number; error: string };
  }
  throw new Error('expected the call to fail');
}

/** Open WebUI's get_ollama_versions: strip "v" and a "-suffix", int() each dot part. */
function openWebuiVersion(v: string): number[] {
  const core = v.replace(/^v/, '').split('-')[0]!;
  return core.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`int() fails on ${p}`);
    return Number(p);
  });
}

describe('§0 global conventions', () => {
  it('G1 the default listen address is 127.0.0.1:11434, plain HTTP', () => {
    const config = readDaemonConfig({ HOME: '/nonexistent' });
    expect(config.listen).toEqual({ scheme: 'http', host: '127.0.0.1', port: 11434 });
    expect(clientBaseUrl({})).toBe('http://127.0.0.1:11434');
  });

  it('G2 unknown top-level fields are ignored', async () => {
    const t = await startTestDaemon();
    const shown = await client(t.url).show({ model: 'tiny', extra_field: 1, num_predict: 5 } as never);
    expect(shown.details.family).toBe('deepseek2');
    const res = await post(`${t.url}/api/create`, { model: 'x', from: 'tiny', stream: false, what: { is: 'this' }, keep_alive: 5 });
    expect(await res.json()).toEqual({ status: 'success' });
  });

  it('G3 an empty body on a JSON POST is 400 missing request body', async () => {
    const t = await startTestDaemon();
    for (const [method, p] of [
      ['POST', '/api/show'],
      ['POST', '/api/create'],
      ['POST', '/api/copy'],
      ['DELETE', '/api/delete'],
    ]) {
      const res = await fetch(`${t.url}${p}`, { method });
      expect(res.status, p).toBe(400);
      expect(await res.json(), p).toEqual({ error: 'missing request body' });
    }
  });

  it('G4 malformed JSON or a wrong type for a typed field is 400 with the decoder text', async () => {
    const t = await startTestDaemon();
    let res = await post(`${t.url}/api/create`, '{"model": "x", ');
    expect(res.status).toBe(400);
    expect(typeof (await res.json()).error).toBe('string');
    res = await post(`${t.url}/api/create`, { model: 'x', from: 'tiny', stream: 'yes' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'json: cannot unmarshal string into Go struct field CreateRequest.stream of type bool' });
  });

  it('G5 errors are {"error": "..."} with application/json; charset=utf-8', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/show`, { model: 'missing' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ error: "model 'missing:latest' not found" });
    const e = await failure(client(t.url).show({ model: 'missing' }));
    expect(e.status_code).toBe(404);
    expect(e.error).toBe("model 'missing:latest' not found");
  });

  it('G6 non-streamed JSON answers use application/json; charset=utf-8', async () => {
    const t = await startTestDaemon();
    const answers = [
      await fetch(`${t.url}/api/tags`),
      await fetch(`${t.url}/api/ps`),
      await fetch(`${t.url}/api/version`),
      await fetch(`${t.url}/api/status`),
      await post(`${t.url}/api/show`, { model: 'tiny' }),
      await post(`${t.url}/api/create`, { model: 'c', from: 'tiny', stream: false }),
    ];
    for (const res of answers) {
      expect(res.status, res.url).toBe(200);
      expect(res.headers.get('content-type'), res.url).toBe('application/json; charset=utf-8');
      await res.json();
    }
  });

  it('G7 streamed answers are NDJSON: one object and a newline per line, nothing else', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/create`, { model: 'c', from: 'tiny', system: 's' });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const text = await res.text();
    expect(text.endsWith('}\n')).toBe(true);
    for (const line of text.slice(0, -1).split('\n')) {
      expect(line).not.toBe('');
      expect(line.startsWith('data:')).toBe(false);
      expect(typeof JSON.parse(line)).toBe('object');
    }
  });

  it('G8 stream defaults to true on /api/create when absent; false gives one object', async () => {
    const t = await startTestDaemon();
    const streamed = await post(`${t.url}/api/create`, { model: 'a', from: 'tiny' });
    expect(streamed.headers.get('content-type')).toBe('application/x-ndjson');
    expect((await ndjson(streamed)).length).toBeGreaterThan(2);
    const one = await post(`${t.url}/api/create`, { model: 'b', from: 'tiny', stream: false });
    expect(await one.json()).toEqual({ status: 'success' });
  });

  it('G9 an error before the first byte keeps its status; after it, one final error line', async () => {
    const t = await startTestDaemon();
    const before = await post(`${t.url}/api/create`, { model: 'x', from: 'missing' });
    expect(before.status).toBe(404);
    expect(await before.json()).toEqual({ error: "model 'missing' not found" });
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(t.store as unknown as { writeManifestFile: () => Promise<void> }, 'writeManifestFile').mockRejectedValue(
      new Error('disk failure'),
    );
    const after = await post(`${t.url}/api/create`, { model: 'x', from: 'tiny', system: 's' });
    expect(after.status).toBe(200);
    const lines = await ndjson(after);
    expect(lines.at(-1)).toEqual({ error: 'disk failure' });
    expect(lines.slice(0, -1).every((l) => typeof l.status === 'string')).toBe(true);
  });

  it('G10 durations are integer nanoseconds and counts are integers, never null', async () => {
    const t = await startTestDaemon({ script: () => ({ thinkingOpen: false, pieces: ['a', 'b'] }) });
    const r = await client(t.url).chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], stream: false });
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration'] as const) {
      if (k in r) expect(Number.isInteger(r[k]), k).toBe(true);
      expect(r[k as keyof typeof r], k).not.toBeNull();
    }
    expect(r.eval_count).toBe(2);
    expect(r.total_duration).toBeGreaterThan(0);
  });

  it('G11 timestamps are RFC 3339 with fractional seconds; created_at is UTC', async () => {
    const t = await startTestDaemon();
    const ollama = client(t.url);
    const chat = await ollama.chat({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], stream: false });
    expect(String(chat.created_at)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
    const raw = await (await fetch(`${t.url}/api/tags`)).json();
    expect(raw.models[0].modified_at).toMatch(RFC3339_FRACTION);
    const ps = await (await fetch(`${t.url}/api/ps`)).json();
    expect(ps.models[0].expires_at).toMatch(RFC3339_FRACTION);
    const show = await (await post(`${t.url}/api/show`, { model: 'tiny' })).json();
    expect(show.modified_at).toMatch(RFC3339_FRACTION);
  });

  it('G12 names: tag defaults to latest, matching is case-insensitive, lists show the shortest form with the tag', async () => {
    const t = await startTestDaemon({ models: ['tiny', 'me/custom:v2', 'registry.example.com/ns/m:q4'] });
    const ollama = client(t.url);
    const { models } = await ollama.list();
    expect(models.map((m) => m.name).sort()).toEqual(['me/custom:v2', 'registry.example.com/ns/m:q4', 'tiny:latest']);
    const a = await ollama.show({ model: 'tiny' });
    const b = await ollama.show({ model: 'TINY:Latest' });
    const c = await ollama.show({ model: 'registry.ollama.ai/library/tiny:latest' });
    expect(b.modelfile).toBe(a.modelfile);
    expect(c.modelfile).toBe(a.modelfile);
    await ollama.copy({ source: 'ME/CUSTOM:v2', destination: 'copied' });
    expect((await ollama.list()).models.map((m) => m.name)).toContain('copied:latest');
  });

  it('G13 an invalid name is 400 invalid model name', async () => {
    const t = await startTestDaemon();
    for (const name of ['bad name', '-lead', 'a/b/c/d', 'x:'.padEnd(90, 't')]) {
      const e = await failure(client(t.url).create({ model: name, from: 'tiny' }));
      expect(e.status_code, name).toBe(400);
      expect(e.error, name).toBe('invalid model name');
    }
  });

  it('G14 unknown route is 404 "404 page not found"; a wrong method is 405 "405 method not allowed"', async () => {
    const t = await startTestDaemon();
    let res = await fetch(`${t.url}/api/unknown`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found');
    res = await fetch(`${t.url}/api/show`);
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('405 method not allowed');
    res = await fetch(`${t.url}/api/delete`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
  });

  it('G15 CORS: local and OLLAMA_ORIGINS origins are allowed, a preflight gets 204', async () => {
    const t = await startTestDaemon({ env: { OLLAMA_ORIGINS: 'https://chat.example.org' } });
    const pre = await fetch(`${t.url}/api/show`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://chat.example.org', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,x-stainless-lang' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://chat.example.org');
    expect(pre.headers.get('access-control-allow-headers')!.toLowerCase()).toContain('x-stainless-lang');
    const local = await fetch(`${t.url}/api/tags`, { headers: { Origin: 'http://127.0.0.1:5173' } });
    expect(local.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173');
    const foreign = await fetch(`${t.url}/api/tags`, { headers: { Origin: 'https://elsewhere.example' } });
    expect(foreign.status).toBe(403);
  });

  it('G16 DNS rebinding: on loopback, a foreign Host is 403 and host.docker.internal passes', async () => {
    const t = await startTestDaemon();
    expect((await rawRequest(`${t.url}/api/tags`, { headers: { host: 'attacker.example' } })).status).toBe(403);
    expect((await rawRequest(`${t.url}/api/tags`, { headers: { host: 'host.docker.internal:11434' } })).status).toBe(200);
    expect((await rawRequest(`${t.url}/api/tags`, { headers: { host: 'localhost:11434' } })).status).toBe(200);
  });

  it('G17 Authorization: Bearer <anything> and X-OpenWebUI-* headers are accepted', async () => {
    const t = await startTestDaemon();
    const ollama = client(t.url, { Authorization: 'Bearer ', 'X-OpenWebUI-User-Id': '1', 'X-OpenWebUI-Chat-Id': 'c' });
    expect((await ollama.list()).models).toHaveLength(1);
    expect((await ollama.show({ model: 'tiny' })).capabilities).toContain('completion');
    const viaKey = new Ollama({ host: t.url, headers: { Authorization: 'Bearer sk-123' } });
    expect((await viaKey.ps()).models).toEqual([]);
  });

  it('G18 a GET with Content-Type: application/json and no body is a normal GET', async () => {
    const t = await startTestDaemon();
    for (const p of ['/api/tags', '/api/ps', '/api/version']) {
      const res = await fetch(`${t.url}${p}`, { headers: { 'Content-Type': 'application/json' } });
      expect(res.status, p).toBe(200);
    }
  });

  it('G19 DELETE /api/delete carries a JSON body', async () => {
    const t = await startTestDaemon({ models: ['tiny', 'gone'] });
    await client(t.url).delete({ model: 'gone' });
    expect((await client(t.url).list()).models.map((m) => m.name)).toEqual(['tiny:latest']);
  });
});

describe('§2.1 / and /api/version', () => {
  it('V1 GET / is 200 text/plain "Ollama is running"; HEAD / is 200', async () => {
    const t = await startTestDaemon();
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('Ollama is running');
    const head = await fetch(`${t.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('V2 /api/version is plain X.Y.Z that Open WebUI can parse', async () => {
    const t = await startTestDaemon();
    const { version } = await client(t.url).version();
    expect(version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/);
    expect(openWebuiVersion(version)).toHaveLength(3);
  });
});

describe('§2.2 /api/tags', () => {
  it('T1 the list is [] when empty and sorted newest first', async () => {
    const t = await startTestDaemon({ models: [] });
    const raw = await (await fetch(`${t.url}/api/tags`)).text();
    expect(JSON.parse(raw)).toEqual({ models: [] });
    await addModel(t.store, 'older', t.gguf);
    await new Promise((r) => setTimeout(r, 20));
    await addModel(t.store, 'newer', t.gguf, { system: 'n' });
    const { models } = await client(t.url).list();
    expect(models.map((m) => m.name)).toEqual(['newer:latest', 'older:latest']);
  });

  it('T2 entries have name, model, modified_at, size, digest and details', async () => {
    const t = await startTestDaemon();
    const [m] = (await client(t.url).list()).models;
    expect(m!.name).toBe('tiny:latest');
    expect(m!.model).toBe(m!.name);
    expect(typeof m!.modified_at).toBe('string');
    expect(Number.isInteger(m!.size)).toBe(true);
    expect(m!.size).toBeGreaterThanOrEqual((await fs.stat(t.gguf)).size);
    expect(m!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof m!.details).toBe('object');
  });

  it('T3 details has the six keys, with context_length and embedding_length when known', async () => {
    const t = await startTestDaemon();
    const raw = (await (await fetch(`${t.url}/api/tags`)).json()).models[0];
    expect(Object.keys(raw.details).slice(0, 6)).toEqual(['parent_model', 'format', 'family', 'families', 'parameter_size', 'quantization_level']);
    expect(raw.details).toMatchObject({ parent_model: '', format: 'gguf', family: 'deepseek2', families: ['deepseek2'], quantization_level: 'Q4_K_M' });
    expect(raw.details.parameter_size).toMatch(/^\d+(\.\d)?[KMB]$/);
    expect(Number.isInteger(raw.details.context_length)).toBe(true);
  });

  it('T4 digest is 64 hex and both name and model are present', async () => {
    const t = await startTestDaemon();
    const raw = (await (await fetch(`${t.url}/api/tags`)).json()).models[0];
    expect(raw.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(raw.digest.slice(0, 12)).toHaveLength(12);
    expect(raw).toHaveProperty('name');
    expect(raw).toHaveProperty('model');
  });
});

describe('§2.3 /api/ps', () => {
  const vramFactory = (): RunnerFactory => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: [] })) as never);
    return async (params, options) => {
      const r = (await fake.factory(params, options)) as EngineRunner;
      (r as { info: unknown }).info = { nCtx: 4096, nCtxSeq: 4096, nSeqMax: 1, vramBytes: 600, ramBytes: 400 };
      return r;
    };
  };

  it('P1 {"models":[]} when nothing is loaded; sorted by expires_at descending', async () => {
    const t = await startTestDaemon({ models: ['a', 'b'] });
    await addModel(t.store, 'b', t.gguf, { system: 'b' });
    expect(await client(t.url).ps()).toEqual({ models: [] });
    await client(t.url).chat({ model: 'a', messages: [], keep_alive: '2m' });
    await client(t.url).chat({ model: 'b', messages: [], keep_alive: '1h' });
    expect((await client(t.url).ps()).models.map((m) => m.name)).toEqual(['b:latest', 'a:latest']);
  });

  it('P2 entries have name, model, size, size_vram, digest, details, expires_at and context_length', async () => {
    const t = await startTestDaemon({ factory: vramFactory() });
    await client(t.url).chat({ model: 'tiny', messages: [] });
    const [m] = (await client(t.url).ps()).models;
    const raw = (await (await fetch(`${t.url}/api/ps`)).json()).models[0];
    expect(m!.name).toBe('tiny:latest');
    expect(m!.model).toBe('tiny:latest');
    expect(m!.size).toBe(1000);
    expect(m!.size_vram).toBe(600);
    expect(m!.digest).toBe((await client(t.url).list()).models[0]!.digest);
    expect(raw.details).not.toHaveProperty('context_length');
    expect(raw.details).not.toHaveProperty('embedding_length');
    expect(raw.details.family).toBe('deepseek2');
    expect(raw.context_length).toBe(4096);
    await client(t.url).chat({ model: 'tiny', messages: [], keep_alive: -1 });
    const forever = (await (await fetch(`${t.url}/api/ps`)).json()).models[0];
    expect(new Date(forever.expires_at).getUTCFullYear()).toBe(2318);
  });

  it('P3 size and size_vram give the CLI its PROCESSOR column (0 VRAM = 100% CPU)', async () => {
    const t = await startTestDaemon();
    await client(t.url).chat({ model: 'tiny', messages: [] });
    const [m] = (await client(t.url).ps()).models;
    expect(m!.size_vram).toBe(0);
    expect(m!.size).toBeGreaterThan(0);
  });

  it('P4 model and expires_at are present; expires_at parses as an ISO date', async () => {
    const t = await startTestDaemon();
    await client(t.url).chat({ model: 'tiny', messages: [], keep_alive: '10m' });
    const raw = (await (await fetch(`${t.url}/api/ps`)).json()).models[0];
    expect(raw.model).toBe('tiny:latest');
    const at = Date.parse(raw.expires_at);
    expect(at - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(at - Date.now()).toBeLessThanOrEqual(10 * 60_000);
  });
});

describe('§2.4 /api/show', () => {
  it('S1 model or the deprecated name; neither is 400 model is required', async () => {
    const t = await startTestDaemon();
    expect((await client(t.url).show({ model: 'tiny' })).details.family).toBe('deepseek2');
    const byName = await (await post(`${t.url}/api/show`, { name: 'tiny', verbose: false })).json();
    expect(byName.details.family).toBe('deepseek2');
    const res = await post(`${t.url}/api/show`, {});
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'model is required' });
  });

  it('S2 an unknown model is 404 with the normalized shortest name', async () => {
    const t = await startTestDaemon();
    const e = await failure(client(t.url).show({ model: 'foo' }));
    expect(e.status_code).toBe(404);
    expect(e.error).toBe("model 'foo:latest' not found");
    const e2 = await failure(client(t.url).show({ model: 'registry.ollama.ai/library/foo:7b' }));
    expect(e2.error).toBe("model 'foo:7b' not found");
  });

  it('S3 the response has the keys clients read; model_info is always an object', async () => {
    const t = await startTestDaemon();
    const s = await client(t.url).show({ model: 'tiny' });
    expect(typeof s.modelfile).toBe('string');
    expect(typeof s.template).toBe('string');
    expect(typeof s.details).toBe('object');
    expect(s.model_info).toBeTypeOf('object');
    expect(s.model_info).not.toBeNull();
    expect(Array.isArray(s.capabilities)).toBe(true);
    expect(String(s.modified_at)).toMatch(RFC3339_FRACTION);
    const raw = await (await post(`${t.url}/api/show`, { model: 'tiny' })).json();
    for (const k of ['license', 'system', 'parameters', 'messages']) expect(raw, k).not.toHaveProperty(k);
    expect(Array.isArray(raw.tensors)).toBe(true);
  });

  it('S4 capabilities: completion for a non-embedding model, thinking for an R1 template', async () => {
    const t = await startTestDaemon();
    const caps = (await client(t.url).show({ model: 'tiny' })).capabilities;
    expect(caps).toContain('completion');
    expect(caps).not.toContain('embedding');
    expect(caps).toContain('thinking');
    for (const c of caps) expect(['completion', 'tools', 'insert', 'vision', 'embedding', 'thinking', 'image', 'audio']).toContain(c);
  });

  it('S5 model_info is the GGUF map without general.name and the chat template; long arrays need verbose', async () => {
    const t = await startTestDaemon();
    const s = await client(t.url).show({ model: 'tiny' });
    const info = s.model_info as unknown as Record<string, unknown>;
    expect(info['general.architecture']).toBe('deepseek2');
    expect(typeof info['general.parameter_count']).toBe('number');
    expect(typeof info['deepseek2.context_length']).toBe('number');
    expect(typeof info['deepseek2.embedding_length']).toBe('number');
    expect(info['general.name']).toBeUndefined();
    expect(info['tokenizer.chat_template']).toBeUndefined();
    expect(info['tokenizer.ggml.tokens']).toEqual([]);
    const v = (await client(t.url).show({ model: 'tiny', verbose: true })).model_info as unknown as Record<string, unknown[]>;
    expect(v['tokenizer.ggml.tokens']!.length).toBeGreaterThan(5);
  });

  it('S6 parameters: key padded to 30, a space, the Go value; one line per list element', async () => {
    const t = await startTestDaemon({ models: [] });
    await addModel(t.store, 'p', t.gguf, { parameters: { stop: ['<|eot_id|>', '<|end|>'], temperature: 0.7, num_ctx: 4096 } });
    const s = await client(t.url).show({ model: 'p' });
    expect(s.parameters.split('\n')).toEqual([
      'num_ctx                        4096',
      'stop                           "<|eot_id|>"',
      'stop                           "<|end|>"',
      'temperature                    0.7',
    ]);
  });

  it('S7 modelfile: generated header, FROM the model file, TEMPLATE, SYSTEM, PARAMETER, LICENSE, MESSAGE', async () => {
    const t = await startTestDaemon({ models: [] });
    await addModel(t.store, 'm', t.gguf, {
      template: '{{ messages }}',
      system: 'Be kind.',
      parameters: { temperature: 0.3 },
      license: ['Apache-2.0'],
      messages: [{ role: 'assistant', content: 'Hi!' }],
    });
    const mf = (await client(t.url).show({ model: 'm' })).modelfile;
    expect(mf).toBe(
      [
        '# Modelfile generated by "ollama show"',
        '# To build a new Modelfile based on this, replace FROM with:',
        '# FROM m:latest',
        '',
        `FROM ${t.gguf}`,
        'TEMPLATE {{ messages }}',
        'SYSTEM Be kind.',
        'PARAMETER temperature 0.3',
        'LICENSE Apache-2.0',
        'MESSAGE assistant Hi!',
        '',
      ].join('\n'),
    );
  });
});

describe('§2.9 /api/create and blobs', () => {
  it('CR1 from, files, template, license (string or list), system, parameters and messages are accepted', async () => {
    const t = await startTestDaemon();
    const ollama = client(t.url);
    await ollama.create({
      model: 'derived',
      from: 'tiny',
      template: '{{ messages }}',
      license: ['L1', 'L2'],
      system: 'sys',
      parameters: { temperature: 0.1, stop: ['<x>'] },
      messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }],
      stream: false,
    });
    const s = await ollama.show({ model: 'derived' });
    expect(s.template).toBe('{{ messages }}');
    expect(s.license).toBe('L1\nL2');
    expect(s.system).toBe('sys');
    expect(s.parameters).toContain('temperature                    0.1');
    expect(s.messages).toEqual([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);

    const bytes = await fs.readFile(t.gguf);
    await fetch(`${t.url}/api/blobs/${sha(bytes)}`, { method: 'POST', body: bytes });
    await ollama.create({ model: 'fromfiles', files: { 'model.gguf': sha(bytes) }, license: 'one', stream: false });
    expect((await ollama.show({ model: 'fromfiles' })).license).toBe('one');
  });

  it('CR2 neither from nor files is 400; an invalid name is 400; a bad digest is 400', async () => {
    const t = await startTestDaemon();
    const ollama = client(t.url);
    let e = await failure(ollama.create({ model: 'x' }));
    expect([e.status_code, e.error]).toEqual([400, "neither 'from' or 'files' was specified"]);
    e = await failure(ollama.create({ model: 'x y', from: 'tiny' }));
    expect([e.status_code, e.error]).toEqual([400, 'invalid model name']);
    e = await failure(ollama.create({ model: 'x', files: { 'a.gguf': 'sha256:nothex' } }));
    expect([e.status_code, e.error]).toEqual([400, 'invalid digest format']);
    // Streamed, the error still comes before the stream with its status.
    const res = await post(`${t.url}/api/create`, { model: 'x', stream: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "neither 'from' or 'files' was specified" });
  });

  it('CR3 progress: parsing GGUF, layer lines, writing manifest, then success', async () => {
    const t = await startTestDaemon();
    const bytes = await fs.readFile(t.gguf);
    await fetch(`${t.url}/api/blobs/${sha(bytes)}`, { method: 'POST', body: bytes });
    const stream = await client(t.url).create({ model: 'streamed', files: { 'm.gguf': sha(bytes) }, system: 'new system', stream: true });
    const statuses: string[] = [];
    for await (const p of stream) statuses.push(p.status);
    expect(statuses[0]).toBe('parsing GGUF');
    expect(statuses).toContain(`creating new layer ${sha(Buffer.from('new system'))}`);
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success']);
    for (const s of statuses.slice(1, -2)) expect(s).toMatch(/^(using existing|creating new) layer sha256:[0-9a-f]{64}$/);
  });

  it('CR4 HEAD/POST /api/blobs/sha256:<hex>: 404 then 201, 200 when present, 400 on a mismatch or a bad format', async () => {
    const t = await startTestDaemon();
    const bytes = Buffer.from('some blob bytes');
    const digest = sha(bytes);
    const before = await storeFiles(t.store);
    let res = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'HEAD' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
    res = await fetch(`${t.url}/api/blobs/${sha(Buffer.from('other'))}`, { method: 'POST', body: bytes });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: `digest mismatch, expected "${sha(Buffer.from('other'))}", got "${digest}"` });
    res = await fetch(`${t.url}/api/blobs/sha256:xyz`, { method: 'POST', body: bytes });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid digest format' });
    expect(await storeFiles(t.store)).toEqual(before);
    res = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'POST', body: bytes });
    expect(res.status).toBe(201);
    res = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    res = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'POST', body: bytes });
    expect(res.status).toBe(200);
  });
});

describe('§2.10 /api/copy and /api/delete', () => {
  it('CP1 copy is 200 with an empty body; a missing source is 404; invalid names are 400', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/copy`, { source: 'tiny', destination: 'tiny2' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(await client(t.url).copy({ source: 'tiny', destination: 'tiny3' })).toEqual({ status: 'success' });
    let e = await failure(client(t.url).copy({ source: 'foo', destination: 'bar' }));
    expect([e.status_code, e.error]).toEqual([404, 'model "foo" not found']);
    e = await failure(client(t.url).copy({ source: 'tiny', destination: 'no way' }));
    expect([e.status_code, e.error]).toEqual([400, 'destination "no way" is invalid']);
    e = await failure(client(t.url).copy({ source: '!x', destination: 'y' }));
    expect([e.status_code, e.error]).toEqual([400, 'source "!x" is invalid']);
  });

  it('D1 delete takes model or name ({"model":"","name":"x"} from the Go CLI); 200 empty; 404 unknown; 400 invalid', async () => {
    const t = await startTestDaemon({ models: ['tiny', 'one', 'two'] });
    let res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: '', name: 'one' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'two' }) });
    expect(res.status).toBe(200);
    expect((await client(t.url).list()).models.map((m) => m.name)).toEqual(['tiny:latest']);
    const e = await failure(client(t.url).delete({ model: 'foo' }));
    expect([e.status_code, e.error]).toEqual([404, "model 'foo' not found"]);
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'a b' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'name "a b" is invalid' });
  });
});

describe('§3.7 and §4 error catalogue (management routes)', () => {
  it('§4 empty body: 400 missing request body', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/show`, '');
    expect([res.status, await res.json()]).toEqual([400, { error: 'missing request body' }]);
  });

  it("§4 show, unknown model: 404 model 'foo:latest' not found", async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/show`, { model: 'foo' });
    expect([res.status, await res.json()]).toEqual([404, { error: "model 'foo:latest' not found" }]);
  });

  it("§4 delete, unknown: 404 model 'foo' not found", async () => {
    const t = await startTestDaemon();
    const res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: '{"name":"foo"}' });
    expect([res.status, await res.json()]).toEqual([404, { error: "model 'foo' not found" }]);
  });

  it('§4 copy, unknown source: 404 model "foo" not found', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/copy`, { source: 'foo', destination: 'bar' });
    expect([res.status, await res.json()]).toEqual([404, { error: 'model "foo" not found' }]);
  });

  it('§4 invalid name: 400 invalid model name', async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/create`, { model: 'in valid', from: 'tiny' });
    expect([res.status, await res.json()]).toEqual([400, { error: 'invalid model name' }]);
  });

  it("§4 create without from/files: 400 neither 'from' or 'files' was specified", async () => {
    const t = await startTestDaemon();
    const res = await post(`${t.url}/api/create`, { model: 'x' });
    expect([res.status, await res.json()]).toEqual([400, { error: "neither 'from' or 'files' was specified" }]);
  });

  it('§4 Q1 queue full: 503 server busy, please try again.  maximum pending requests exceeded', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: [] })) as never);
    const slow: RunnerFactory = async (params, options) => {
      await new Promise((r) => setTimeout(r, 250));
      return fake.factory(params, options);
    };
    const t = await startTestDaemon({ env: { OLLAMA_MAX_QUEUE: '1' }, factory: slow });
    const first = client(t.url).chat({ model: 'tiny', messages: [] });
    await new Promise((r) => setTimeout(r, 50));
    const e = await failure(client(t.url).chat({ model: 'tiny', messages: [] }));
    expect([e.status_code, e.error]).toEqual([503, 'server busy, please try again.  maximum pending requests exceeded']);
    await first;
  });
});
