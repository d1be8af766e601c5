// The management routes against the real app, store and scheduler (fake runner): /api/ps,
// /api/show, /api/create, /api/blobs, /api/copy, /api/delete, with forged tiny GGUF models.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EngineRunner, RunnerFactory } from '../../src/engine/runner.js';
import { ModelService } from '../../src/service/model-service.js';
import { parametersText } from '../../src/service/show.js';
import { goFloat, goQuote } from '../../src/service/go-format.js';
import { ModelStore } from '../../src/store/store.js';
import { fakeFactory } from '../helpers/fake-runner.js';
import {
  addModel,
  blobFiles,
  ndjson,
  post,
  startTestDaemon,
  stopTestDaemons,
  storeFiles,
  tinyGguf,
} from '../helpers/mgmt.js';
import { tempDir } from '../helpers/store.js';

afterEach(stopTestDaemons);

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

async function load(url: string, model: string, keep_alive?: unknown) {
  const res = await post(`${url}/api/chat`, { model, messages: [], keep_alive, stream: false });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json();
}

async function upload(url: string, bytes: Buffer, digest = sha(bytes)) {
  return fetch(`${url}/api/blobs/${digest}`, { method: 'POST', body: bytes });
}

describe('GET /api/ps', () => {
  it('lists nothing as [] and a loaded model with Ollama’s fields', async () => {
    const t = await startTestDaemon();
    let res = await fetch(`${t.url}/api/ps`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({ models: [] });

    await load(t.url, 'tiny');
    const { models } = await (await fetch(`${t.url}/api/ps`)).json();
    const tags = (await (await fetch(`${t.url}/api/tags`)).json()).models;
    expect(models).toHaveLength(1);
    const m = models[0];
    expect(Object.keys(m)).toEqual(['name', 'model', 'size', 'digest', 'details', 'expires_at', 'size_vram', 'context_length']);
    expect(m.name).toBe('tiny:latest');
    expect(m.model).toBe('tiny:latest');
    expect(m.digest).toBe(tags[0].digest);
    expect(m.size).toBe(1 << 20); // the fake's vram 0 + ram 1 MiB
    expect(m.size_vram).toBe(0);
    expect(m.context_length).toBe(4096);
    expect(m.details).toEqual({
      parent_model: '',
      format: 'gguf',
      family: 'deepseek2',
      families: ['deepseek2'],
      parameter_size: tags[0].details.parameter_size,
      quantization_level: 'Q4_K_M',
    });
    expect(m.expires_at).toMatch(RFC3339);
    const left = Date.parse(m.expires_at) - Date.now();
    expect(left).toBeGreaterThan(4 * 60_000);
    expect(left).toBeLessThanOrEqual(5 * 60_000);
  });

  it('reports size and size_vram from the runner, a forever keep-alive near 2318, longest-lived first', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: [] })) as never);
    const factory: RunnerFactory = async (params, options) => {
      const r = (await fake.factory(params, options)) as EngineRunner & { info: unknown };
      (r as { info: unknown }).info = { nCtx: 8192, nCtxSeq: 2048, nSeqMax: 4, vramBytes: 3_000_000, ramBytes: 1_000_000 };
      return r;
    };
    const t = await startTestDaemon({ models: ['a', 'b', 'c'], factory });
    // Distinct digests: the three names share one GGUF but differ in a layer.
    await addModel(t.store, 'b', t.gguf, { system: 'b' });
    await addModel(t.store, 'c', t.gguf, { system: 'c' });
    await load(t.url, 'a', '1m');
    await load(t.url, 'b', -1);
    await load(t.url, 'c', '10m');
    const { models } = await (await fetch(`${t.url}/api/ps`)).json();
    expect(models.map((m: any) => m.name)).toEqual(['b:latest', 'c:latest', 'a:latest']);
    expect(new Date(models[0].expires_at).getUTCFullYear()).toBe(2318);
    for (const m of models) {
      expect(m.size).toBe(4_000_000);
      expect(m.size_vram).toBe(3_000_000);
      expect(m.context_length).toBe(2048);
    }
  });
});

describe('POST /api/show', () => {
  it('answers Modelfile, parameters, template, details, model_info, tensors and capabilities', async () => {
    const t = await startTestDaemon({ models: [] });
    await addModel(t.store, 'shown', t.gguf, {
      system: 'You are terse.',
      parameters: { temperature: 0.2, num_ctx: 8192, stop: ['<|end|>', 'User:'] },
      messages: [{ role: 'user', content: 'hi' }],
      license: ['MIT'],
    });
    const res = await post(`${t.url}/api/show`, { model: 'SHOWN' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const s = await res.json();
    expect(Object.keys(s)).toEqual([
      'license',
      'modelfile',
      'parameters',
      'template',
      'system',
      'details',
      'messages',
      'model_info',
      'tensors',
      'capabilities',
      'modified_at',
      'plan',
    ]);
    // moed's own field: the placement plan for this machine, with its printable table.
    expect(s.plan.rule_file).toBe('deepseek-v2'); // the tiny forge has 16 experts
    expect(s.plan.table).toContain('RULE');
    expect(s.license).toBe('MIT');
    expect(s.system).toBe('You are terse.');
    expect(s.messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(s.parameters).toBe(
      [
        `num_ctx${' '.repeat(23)} 8192`,
        `stop${' '.repeat(26)} "<|end|>"`,
        `stop${' '.repeat(26)} "User:"`,
        `temperature${' '.repeat(19)} 0.2`,
      ].join('\n'),
    );
    // The GGUF's own chat template (no TEMPLATE was given).
    expect(s.template).toContain('<｜Assistant｜>');
    const lines = s.modelfile.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '# Modelfile generated by "ollama show"',
      '# To build a new Modelfile based on this, replace FROM with:',
      '# FROM shown:latest',
      '',
      `FROM ${t.gguf}`,
    ]);
    expect(lines).toContain('SYSTEM You are terse.');
    expect(lines).toContain('PARAMETER temperature 0.2');
    expect(lines).toContain('PARAMETER stop <|end|>');
    expect(lines).toContain('LICENSE MIT');
    expect(lines).toContain('MESSAGE user hi');
    expect(s.modelfile).toMatch(/\nTEMPLATE """/);
    expect(s.details).toEqual({
      parent_model: '',
      format: 'gguf',
      family: 'deepseek2',
      families: ['deepseek2'],
      parameter_size: expect.any(String),
      quantization_level: 'Q4_K_M',
    });
    const info = s.model_info;
    expect(info['general.architecture']).toBe('deepseek2');
    expect(info).not.toHaveProperty('general.name');
    expect(info).not.toHaveProperty('tokenizer.chat_template');
    expect(typeof info['general.parameter_count']).toBe('number');
    expect(info['general.parameter_count']).toBeGreaterThan(1000);
    expect(typeof info['deepseek2.context_length']).toBe('number');
    expect(info['tokenizer.ggml.tokens']).toEqual([]); // > 5 elements without verbose
    expect(Object.keys(info)).toEqual(Object.keys(info).sort());
    expect(s.tensors.length).toBeGreaterThan(10);
    expect(s.tensors[0]).toEqual({ name: expect.any(String), type: expect.any(String), shape: expect.any(Array) });
    expect(s.tensors.find((x: any) => x.name === 'token_embd.weight').shape[0]).toBe(256);
    expect(s.capabilities).toContain('completion');
    expect(s.modified_at).toMatch(RFC3339);
  });

  it('verbose keeps long arrays; name is accepted for model; system and options override', async () => {
    const t = await startTestDaemon();
    const s = await (await post(`${t.url}/api/show`, { name: 'tiny', verbose: true, system: 'over', options: { seed: 3 } })).json();
    expect(s.model_info['tokenizer.ggml.tokens'].length).toBeGreaterThan(5);
    expect(s.system).toBe('over');
    expect(s.modelfile).toContain('SYSTEM over\n');
    expect(s.modelfile).toContain('PARAMETER seed 3\n');
    expect(s.parameters).toBeUndefined();
    expect(s.messages).toBeUndefined();
    expect(s.license).toBeUndefined();
  });

  it('refuses with Ollama’s statuses and texts', async () => {
    const t = await startTestDaemon();
    let res = await post(`${t.url}/api/show`, { model: 'nope' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'nope:latest' not found" });
    res = await post(`${t.url}/api/show`, { model: '', name: '' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'model is required' });
    res = await post(`${t.url}/api/show`, { model: 'bad name!' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid model name' });
    res = await post(`${t.url}/api/show`, { model: 'tiny', verbose: 'yes' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('json: cannot unmarshal string into Go struct field ShowRequest.verbose of type bool');
  });

  it('adds the placement plan through its hook', async () => {
    const root = await tempDir();
    const store = new ModelStore(path.join(root, 'models'));
    await addModel(store, 'tiny', await tinyGguf());
    const plain = await new ModelService(store).show({ model: 'tiny' });
    expect(plain).not.toHaveProperty('plan');
    const service = new ModelService(store, { show: { plan: async (m) => ({ model: m.display, fits: true }) } });
    expect((await service.show({ model: 'tiny' })).plan).toEqual({ model: 'tiny:latest', fits: true });
  });

  it('formats parameter values as Go does', () => {
    expect(goFloat(0.2)).toBe('0.2');
    expect(goFloat(4096)).toBe('4096');
    expect(goFloat(1e6)).toBe('1e+06');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goQuote('a"b\n')).toBe('"a\\"b\\n"');
    expect(parametersText({ stop: ['<|eot_id|>'] })).toBe(`stop${' '.repeat(26)} "<|eot_id|>"`);
  });
});

describe('POST /api/create', () => {
  it('creates from a model: layers inherited, system/parameters/messages replaced, license added', async () => {
    const t = await startTestDaemon({ models: [] });
    await addModel(t.store, 'base', t.gguf, { system: 'old', parameters: { temperature: 0.5, top_k: 20 }, license: ['A'] });
    const res = await post(`${t.url}/api/create`, {
      model: 'child',
      from: 'base',
      system: 'new',
      parameters: { temperature: 0.2, stop: ['x'] },
      messages: [{ role: 'User', content: 'hello' }],
      license: 'B',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const statuses = (await ndjson(res)).map((l) => l.status);
    expect(statuses.at(-2)).toBe('writing manifest');
    expect(statuses.at(-1)).toBe('success');
    expect(statuses.filter((s) => /^(using existing|creating new) layer sha256:[0-9a-f]{64}$/.test(s)).length).toBeGreaterThanOrEqual(4);
    expect(statuses.some((s) => s.startsWith('creating new layer'))).toBe(true);

    const s = await (await post(`${t.url}/api/show`, { model: 'child' })).json();
    expect(s.system).toBe('new');
    expect(s.parameters).toContain('top_k                          20');
    expect(s.parameters).toContain('temperature                    0.2');
    expect(s.parameters).toContain('stop                           "x"');
    expect(s.messages).toEqual([{ role: 'user', content: 'hello' }]);
    expect(s.license).toBe('A\nB');
    const base = await (await post(`${t.url}/api/show`, { model: 'base' })).json();
    expect(base.system).toBe('old');
  });

  it('creates from an uploaded blob (files), and from a local GGUF path referenced in place', async () => {
    const t = await startTestDaemon({ models: [] });
    const bytes = await fs.readFile(t.gguf);
    expect((await upload(t.url, bytes)).status).toBe(201);
    let res = await post(`${t.url}/api/create`, { model: 'uploaded', files: { 'tiny.gguf': sha(bytes) }, stream: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'success' });

    res = await post(`${t.url}/api/create`, { name: 'inplace', from: t.gguf, template: '{{ messages }}' });
    const lines = await ndjson(res);
    expect(lines[0]).toEqual({ status: 'parsing GGUF' });
    expect(lines.at(-1)).toEqual({ status: 'success' });

    const tags = (await (await fetch(`${t.url}/api/tags`)).json()).models;
    expect(tags.map((m: any) => m.name).sort()).toEqual(['inplace:latest', 'uploaded:latest']);
    const up = tags.find((m: any) => m.name === 'uploaded:latest');
    expect(up.size).toBeGreaterThanOrEqual(bytes.length);
    const s = await (await post(`${t.url}/api/show`, { model: 'inplace' })).json();
    expect(s.template).toBe('{{ messages }}');
    expect(s.modelfile).toContain(`FROM ${t.gguf}\n`);
    // Referenced, not copied: the only GGUF blob is the uploaded one.
    const big = [];
    for (const f of await blobFiles(t.store)) if ((await fs.stat(path.join(t.store.blobsDir, f))).size > 1e6) big.push(f);
    expect(big).toEqual([`sha256-${sha(bytes).slice(7)}`]);
  });

  it('refuses bad requests before any output, with Ollama’s texts', async () => {
    const t = await startTestDaemon();
    const notGguf = Buffer.from('{"safetensors": true}');
    await upload(t.url, notGguf);
    const cases: [unknown, string][] = [
      [{ model: 'x' }, "neither 'from' or 'files' was specified"],
      [{ model: 'bad name', from: 'tiny' }, 'invalid model name'],
      [{ from: 'tiny' }, 'invalid model name'],
      [{ model: 'x', files: { 'a.gguf': 'sha256:123' } }, 'invalid digest format'],
      [{ model: 'x', files: { 'a.gguf': '' } }, 'invalid digest format'],
      [{ model: 'x', files: { '/etc/a.gguf': sha(notGguf) } }, 'file path must be relative'],
      [{ model: 'x', files: { 'model.safetensors': sha(notGguf) } }, 'supplied file was not in GGUF format'],
      [{ model: 'x', files: { 'a.gguf': `sha256:${'0'.repeat(64)}` } }, `blob "sha256:${'0'.repeat(64)}" not found`],
      [{ model: 'x', from: 'tiny', parameters: { num_ctx: 'big' } }, 'option "num_ctx" must be of type integer'],
      [{ model: 'x', from: 'tiny', parameters: { stop: [1] } }, 'option "stop" must be of an array of strings'],
      [{ model: 'x', from: 'tiny', parameters: { bogus: 1 } }, "unknown parameter 'bogus'"],
      [{ model: 'x', from: 'tiny', messages: [{ role: 'tool', content: 'x' }] }, 'message role must be one of "system", "user", or "assistant"'],
      [{ model: 'x', from: 'tiny', stream: 'yes' }, 'json: cannot unmarshal string into Go struct field CreateRequest.stream of type bool'],
      [{ model: 'x', from: 'tiny', files: ['a'] }, 'json: cannot unmarshal array into Go struct field CreateRequest.files of type map[string]string'],
      [{ model: 'x', from: 'tiny', quantize: 'q9_z' }, 'unsupported quantization type q9_z'],
      [{ model: 'x', from: 'tiny', quantize: 'q8_0' }, 'quantization is only supported for F16, BF16 and F32 models'],
      [{ model: 'x', from: 'tiny', adapters: { 'l.gguf': sha(notGguf) } }, 'adapters are not supported by moed: merge the LoRA into the GGUF first'],
    ];
    const before = await storeFiles(t.store);
    for (const [body, error] of cases) {
      const res = await post(`${t.url}/api/create`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.json(), JSON.stringify(body)).toEqual({ error });
    }
    let res = await post(`${t.url}/api/create`, { model: 'x', from: 'missing' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'missing' not found" });
    res = await post(`${t.url}/api/create`, '');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'missing request body' });
    expect(await storeFiles(t.store)).toEqual(before);
  });

  it('quantize: the type the model has is a no-op; converting an F16 model is refused clearly', async () => {
    const t = await startTestDaemon({ models: [] });
    const f16 = await tinyGguf('f16');
    let res = await post(`${t.url}/api/create`, { model: 'f', from: f16, quantize: 'q4_K_M', stream: false });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/^quantizing to Q4_K_M is not supported by moed yet/);
    res = await post(`${t.url}/api/create`, { model: 'f', from: f16, quantize: 'F16', stream: false });
    expect(await res.json()).toEqual({ status: 'success' });
    res = await post(`${t.url}/api/create`, { model: 'q', from: t.gguf, quantization: 'Q4_K_M', stream: false });
    expect(await res.json()).toEqual({ status: 'success' });
  });

  it('leaves the store unchanged when the manifest cannot be written (stream and stream:false)', async () => {
    const t = await startTestDaemon({ models: ['tiny', 'keep'] });
    const before = await storeFiles(t.store);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const spy = vi
      .spyOn(t.store as unknown as { writeManifestFile: () => Promise<void> }, 'writeManifestFile')
      .mockRejectedValue(new Error('ENOSPC: no space left on device, write'));
    const body = { model: 'keep', from: 'tiny', system: 'a brand new system prompt', parameters: { seed: 42 }, license: 'L' };
    let res = await post(`${t.url}/api/create`, { ...body, stream: false });
    expect(res.status).toBe(500);
    expect((await res.json()).error).toContain('ENOSPC');
    expect(await storeFiles(t.store)).toEqual(before);

    res = await post(`${t.url}/api/create`, body);
    expect(res.status).toBe(200);
    const lines = await ndjson(res);
    expect(lines.at(-2)).toEqual({ status: 'writing manifest' });
    expect(lines.at(-1)!.error).toContain('ENOSPC');
    expect(await storeFiles(t.store)).toEqual(before);
    spy.mockRestore();
    expect(logged).toHaveBeenCalled(); // a failed write is an internal error, and logged as one
    logged.mockRestore();

    // The same request succeeds once the disk is back, and replacing "keep" drops its old layers.
    res = await post(`${t.url}/api/create`, { ...body, stream: false });
    expect(await res.json()).toEqual({ status: 'success' });
    const show = await (await post(`${t.url}/api/show`, { model: 'keep' })).json();
    expect(show.system).toBe('a brand new system prompt');
    const after = await storeFiles(t.store);
    expect(after.filter((f) => f.startsWith('blobs/')).length).toBeGreaterThan(before.filter((f) => f.startsWith('blobs/')).length);
    res = await post(`${t.url}/api/create`, { model: 'keep', from: 'tiny', stream: false });
    expect(await res.json()).toEqual({ status: 'success' });
    expect(await storeFiles(t.store)).toEqual(before);
  });
});

describe('HEAD|POST /api/blobs/:digest', () => {
  it('creates (201), finds (200) and reports missing blobs (404, no body)', async () => {
    const t = await startTestDaemon();
    const bytes = randomBytes(100_000);
    const digest = sha(bytes);
    let head = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(404);
    expect(await head.text()).toBe('');
    expect((await upload(t.url, bytes)).status).toBe(201);
    head = await fetch(`${t.url}/api/blobs/${digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // The dash form names the same blob.
    head = await fetch(`${t.url}/api/blobs/${digest.replace(':', '-')}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const again = await upload(t.url, bytes);
    expect(again.status).toBe(200);
    expect(await again.text()).toBe('');
    expect(await fs.readFile(t.store.blobPath(digest))).toEqual(bytes);
  });

  it('refuses a wrong digest and a bad digest format, leaving nothing behind', async () => {
    const t = await startTestDaemon();
    const before = await blobFiles(t.store);
    const bytes = randomBytes(50_000);
    const wrong = `sha256:${'a'.repeat(64)}`;
    let res = await upload(t.url, bytes, wrong);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: `digest mismatch, expected "${wrong}", got "${sha(bytes)}"` });
    res = await upload(t.url, bytes, 'sha256:abc');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid digest format' });
    res = await fetch(`${t.url}/api/blobs/md5:abc`, { method: 'HEAD' });
    expect(res.status).toBe(400);
    expect(await blobFiles(t.store)).toEqual(before);
    res = await fetch(`${t.url}/api/blobs/${wrong}`);
    expect(res.status).toBe(405);
  });

  it('streams the body to a temporary file in blobs/ while it arrives, and a disconnect leaves nothing', async () => {
    const t = await startTestDaemon();
    const before = await blobFiles(t.store);
    const chunk = randomBytes(1 << 20);
    const full = Buffer.concat([chunk, chunk, chunk]);
    const url = new URL(`${t.url}/api/blobs/${sha(full)}`);

    // A complete upload sent in parts: the temporary file grows before the body has ended.
    const done = new Promise<number>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(chunk);
      void (async () => {
        await expect
          .poll(async () => {
            const tmp = (await blobFiles(t.store)).find((f) => f.endsWith('.tmp'));
            return tmp ? (await fs.stat(path.join(t.store.blobsDir, tmp))).size : 0;
          })
          .toBeGreaterThanOrEqual(chunk.length);
        req.write(chunk);
        req.end(chunk);
      })().catch(reject);
    });
    expect(await done).toBe(201);
    expect((await fs.stat(t.store.blobPath(sha(full)))).size).toBe(full.length);

    // A client that goes away mid-upload.
    const other = Buffer.concat([full, Buffer.from('x')]);
    const req = http.request(new URL(`${t.url}/api/blobs/${sha(other)}`), { method: 'POST', headers: { 'content-length': String(other.length) } });
    req.on('error', () => {});
    req.write(chunk);
    await expect.poll(async () => (await blobFiles(t.store)).some((f) => f.endsWith('.tmp'))).toBe(true);
    req.destroy();
    await expect.poll(async () => blobFiles(t.store)).toEqual([...before, `sha256-${sha(full).slice(7)}`].sort());
  });
});

describe('POST /api/copy and DELETE /api/delete', () => {
  it('copies (200, empty body) and refuses bad names and missing sources', async () => {
    const t = await startTestDaemon();
    let res = await post(`${t.url}/api/copy`, { source: 'tiny', destination: 'me/copy:v1' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(res.headers.get('content-type')).toBeNull();
    const tags = (await (await fetch(`${t.url}/api/tags`)).json()).models;
    expect(tags.map((m: any) => m.name).sort()).toEqual(['me/copy:v1', 'tiny:latest']);
    expect(tags[0].digest).toBe(tags[1].digest);
    const cases: [unknown, number, string][] = [
      [{ source: 'nope', destination: 'x' }, 404, 'model "nope" not found'],
      [{ source: 'bad name', destination: 'x' }, 400, 'source "bad name" is invalid'],
      [{ source: 'tiny', destination: '' }, 400, 'destination "" is invalid'],
    ];
    for (const [body, status, error] of cases) {
      res = await post(`${t.url}/api/copy`, body);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ error });
    }
  });

  it('deletes with the Go CLI’s body, unloads the model, prunes its blobs and keeps the referenced GGUF', async () => {
    const t = await startTestDaemon({ models: ['tiny', 'other'] });
    await addModel(t.store, 'other', t.gguf, { system: 'only mine' });
    await load(t.url, 'other');
    expect(t.runners[0]!.alive).toBe(true);
    const before = await blobFiles(t.store);
    const res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: '', name: 'OTHER' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(t.runners[0]!.alive).toBe(false);
    expect((await (await fetch(`${t.url}/api/ps`)).json()).models).toEqual([]);
    const tags = (await (await fetch(`${t.url}/api/tags`)).json()).models;
    expect(tags.map((m: any) => m.name)).toEqual(['tiny:latest']);
    const after = await blobFiles(t.store);
    // The system layer only "other" used is gone; the model-ref and config it shares stay.
    const system = `sha256-${sha(Buffer.from('only mine')).slice(7)}`;
    expect(before).toContain(system);
    expect(after).toEqual(before.filter((f) => f !== system));
    expect(await fs.stat(t.gguf).then(() => true)).toBe(true);
    expect(await fs.readdir(path.join(t.store.manifestsDir, 'registry.ollama.ai', 'library'))).toEqual(['tiny']);
  });

  it('keeps a model loaded while a copy still names it; refuses unknown and invalid names', async () => {
    const t = await startTestDaemon();
    await post(`${t.url}/api/copy`, { source: 'tiny', destination: 'twin' });
    await load(t.url, 'tiny');
    let res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: 'twin' }) });
    expect(res.status).toBe(200);
    expect(t.runners[0]!.alive).toBe(true);
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'twin' }) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'twin' not found" });
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ model: 'no good' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'name "no good" is invalid' });
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'missing request body' });
    res = await fetch(`${t.url}/api/delete`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
  });
});
