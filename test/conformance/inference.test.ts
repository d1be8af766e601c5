// Conformance with Ollama's inference API: one test per MUST row of shared/reference/ollama-api.md
// §2.5 (GN), §2.6 (C), §2.7 (E), §3.1–3.6 (SR, metrics, O, K, TH, format) and the inference rows
// of §4, named by row id (plus the SHOULD rows C10/C11). Driven through the official `ollama` npm
// client, and raw HTTP where the client hides the wire. The real runner with the tiny forged
// DeepSeek-R1-shaped model serves `r1`; a scripted runner serves what random weights cannot show
// (tool calls, crashes, models without capabilities).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import type { RunnerFactory } from '../../src/engine/runner.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { fakeFactory, type Script } from '../helpers/fake-runner.js';
import { storeWithModel, tempDir } from '../helpers/store.js';

let dir: string;
let real: Daemon;
let fake: Daemon;
let ollama: Ollama;
let scripted: Ollama;
let nextScript: Script | undefined;

const R1_SCRIPT: Script = { thinkingOpen: true, pieces: ['Let me', ' think.', '</think>\n\n', 'Hello'] };
const FULL = 'registry.ollama.ai/library';

/** POST with a JSON (or raw string) body. */
const post = (d: Daemon, route: string, body: unknown) =>
  fetch(`${d.url}${route}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });

async function ndjson(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  expect(text.endsWith('\n')).toBe(true);
  return text.split('\n').slice(0, -1).map((l) => JSON.parse(l));
}

async function errorOf(res: Response): Promise<{ status: number; error: string }> {
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return { status: res.status, error: (await res.json()).error };
}

const NANOS = ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'];
const COUNTS = ['prompt_eval_count', 'eval_count'];

function expectMetrics(o: Record<string, any>, required = ['total_duration', 'prompt_eval_count', 'eval_count', 'eval_duration']) {
  for (const k of [...NANOS, ...COUNTS]) {
    if (k in o) {
      expect(Number.isInteger(o[k]), k).toBe(true);
      expect(o[k], k).toBeGreaterThan(0);
    }
  }
  for (const k of required) expect(o, k).toHaveProperty(k);
}

const short = { num_predict: 8, seed: 3 };
const hi = [{ role: 'user', content: 'hi' }];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = await tempDir('moed-conformance-');
  const gguf = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: gguf, preset: 'tiny', seed: 3 });
  const env = (models: string, extra: Record<string, string> = {}) =>
    readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: models, HOME: dir, OLLAMA_CONTEXT_LENGTH: '1024', OLLAMA_NUM_PARALLEL: '2', ...extra });
  real = await startDaemon(env(path.join(dir, 'models')));
  const created = await post(real, '/api/create', { model: 'r1', from: gguf, stream: false });
  expect(await created.json()).toEqual({ status: 'success' });

  const { root, store, file } = await storeWithModel('scripted', ['completion', 'tools', 'thinking']);
  const stat = await fs.stat(file);
  const add = (name: string, capabilities: string[], extra: object = {}) =>
    store.create(name, {
      modelFiles: [{ path: file, size: stat.size, mtimeMs: stat.mtimeMs }],
      config: { model_format: 'gguf', model_family: 'llama', model_families: ['llama'], model_type: '1B', file_type: 'Q4_K_M', capabilities },
      ...extra,
    });
  await add('plain', ['completion']);
  await add('slow', ['completion'], { system: 'a model of its own (digest)' });
  await add('embedder', ['embedding']);
  await add('sys', ['completion'], { system: 'SYSTEM TEXT', messages: [{ role: 'user', content: 'M1' }, { role: 'assistant', content: 'M2' }] });
  const f = fakeFactory(() => {
    const s = nextScript ?? R1_SCRIPT;
    nextScript = undefined;
    return s;
  });
  // Loading "slow" takes a while, so that a second request waits in the queue.
  const factory: RunnerFactory = async (p, o) => {
    if (p.modelPath === file && slowLoads > 0) {
      slowLoads--;
      await sleep(300);
    }
    return f.factory(p, o);
  };
  fake = await startDaemon(env(path.join(root, 'models'), { OLLAMA_MAX_QUEUE: '1' }), factory);
  fakeRunners = f.runners;
  ollama = new Ollama({ host: real.url });
  scripted = new Ollama({ host: fake.url });
});

let slowLoads = 0;
let fakeRunners: ReturnType<typeof fakeFactory>['runners'];

afterAll(async () => {
  await real?.close();
  await fake?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('§2.5 POST /api/generate', () => {
  it('GN1 streamed chunks: model as requested, created_at, response always present, thinking only when non-empty', async () => {
    const res = await post(real, '/api/generate', { model: 'R1', prompt: 'Tell me a story', options: { num_predict: 12, seed: 1 } });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = await ndjson(res);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines.slice(0, -1)) {
      expect(l.model).toBe('R1');
      expect(l.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
      expect(typeof l.response).toBe('string');
      expect(l.done).toBe(false);
      if ('thinking' in l) expect(l.thinking.length).toBeGreaterThan(0);
      expect(l).not.toHaveProperty('done_reason');
    }
    // R1's prompt opens <think>: the random text is reasoning unless a </think> was sampled.
    expect(lines.some((l) => l.thinking)).toBe(true);
  });

  it('GN2 final chunk: done, done_reason, context (prompt + generated tokens), integer metrics; no context with raw', async () => {
    const parts = [];
    for await (const p of await ollama.generate({ model: 'r1', prompt: 'hi', stream: true, options: short })) parts.push(p);
    const last = parts.at(-1)!;
    expect(last.done).toBe(true);
    expect(['stop', 'length']).toContain(last.done_reason);
    expect(last.response).toBe('');
    expectMetrics(last as never, ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']);
    // prompt_eval_count leaves out the prompt tokens found in the cache.
    expect(last.context.length).toBeGreaterThanOrEqual(last.prompt_eval_count + last.eval_count);
    const next = await ollama.generate({ model: 'r1', prompt: 'more', context: last.context, stream: false, options: short });
    expect(next.context.slice(0, last.context.length)).toEqual(last.context);
    const raw = await (await post(real, '/api/generate', { model: 'r1', prompt: 'hi', raw: true, stream: false, options: short })).json();
    expect(raw.done).toBe(true);
    expect(raw).not.toHaveProperty('context');
  });

  it('GN3 stream:false: one object with the response and thinking joined, and the final metrics', async () => {
    const streamed = [];
    for await (const p of await ollama.generate({ model: 'r1', prompt: 'Same prompt', stream: true, options: { ...short, temperature: 0 } })) {
      streamed.push(p);
    }
    const one = await ollama.generate({ model: 'r1', prompt: 'Same prompt', stream: false, options: { ...short, temperature: 0 } });
    expect(one.done).toBe(true);
    expect(one.response).toBe(streamed.map((p) => p.response).join(''));
    expect(one.thinking ?? '').toBe(streamed.map((p) => p.thinking ?? '').join(''));
    expect(one.eval_count).toBe(streamed.at(-1)!.eval_count);
    expect(one.context).toEqual(streamed.at(-1)!.context);
  });

  it('GN4 load: empty prompt returns done_reason load, one JSON object regardless of stream', async () => {
    await real.scheduler.close();
    const res = await post(real, '/api/generate', { model: 'r1', stream: true });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(Object.keys(body)).toEqual(['model', 'created_at', 'response', 'done', 'done_reason']);
    expect(body).toMatchObject({ model: 'r1', response: '', done: true, done_reason: 'load' });
    expect(real.scheduler.loaded()).toHaveLength(1);
  });

  it('GN5 unload: empty prompt and keep_alive 0 expires the runner; 200 when not loaded; 404 for an unknown model', async () => {
    await ollama.generate({ model: 'r1', prompt: '', stream: false });
    expect(real.scheduler.loaded()).toHaveLength(1);
    for (const keep_alive of [0, '0', '0s', '0m']) {
      const res = await post(real, '/api/generate', { model: 'r1', prompt: '', keep_alive, suffix: '', system: '', template: '', options: null });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ model: 'r1', response: '', done: true, done_reason: 'unload' });
      expect(real.scheduler.loaded()).toHaveLength(0);
    }
    expect(await errorOf(await post(real, '/api/generate', { model: 'foo', keep_alive: 0 }))).toEqual({ status: 404, error: "model 'foo' not found" });
  });

  it('GN6 errors: unknown model 404, embedding model, suffix without insert, thinking unsupported', async () => {
    await expect(ollama.generate({ model: 'foo', prompt: 'x' })).rejects.toMatchObject({ status_code: 404, error: "model 'foo' not found" });
    await expect(scripted.generate({ model: 'embedder', prompt: 'x' })).rejects.toMatchObject({
      status_code: 400,
      error: '"embedder" does not support generate',
    });
    await expect(ollama.generate({ model: 'r1', prompt: 'x', suffix: 'y' })).rejects.toMatchObject({
      status_code: 400,
      error: `${FULL}/r1:latest does not support insert`,
    });
    await expect(scripted.generate({ model: 'plain', prompt: 'x', think: true })).rejects.toMatchObject({
      status_code: 400,
      error: '"plain" does not support thinking',
    });
  });
});

describe('§2.6 POST /api/chat', () => {
  it('C1 streamed chunks: message role assistant with a content delta; thinking with content ""', async () => {
    const res = await post(real, '/api/chat', { model: 'r1', messages: hi, options: { num_predict: 12, seed: 2 } });
    const lines = await ndjson(res);
    for (const l of lines.slice(0, -1)) {
      expect(Object.keys(l)).toEqual(['model', 'created_at', 'message', 'done']);
      expect(l.message.role).toBe('assistant');
      expect(typeof l.message.content).toBe('string');
      if (l.message.thinking) expect(l.message.content).toBe('');
    }
    expect(lines.some((l) => l.message.thinking)).toBe(true);
  });

  it('C2 final chunk: empty assistant message, done, done_reason and the metrics', async () => {
    const parts = [];
    for await (const p of await ollama.chat({ model: 'r1', messages: hi, stream: true, options: short })) parts.push(p);
    const last = parts.at(-1)!;
    expect(last.message).toEqual({ role: 'assistant', content: '' });
    expect(last.done).toBe(true);
    expect(['stop', 'length']).toContain(last.done_reason);
    expectMetrics(last as never, ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']);
  });

  it('C3 stream:false: content and thinking joined, tool_calls gathered, final metrics and done_reason', async () => {
    const one = await ollama.chat({ model: 'r1', messages: hi, stream: false, options: { ...short, temperature: 0 } });
    const streamed = [];
    for await (const p of await ollama.chat({ model: 'r1', messages: hi, stream: true, options: { ...short, temperature: 0 } })) streamed.push(p);
    expect(one.message.thinking ?? '').toBe(streamed.map((p) => p.message.thinking ?? '').join(''));
    expect(one.message.content).toBe(streamed.map((p) => p.message.content).join(''));
    expect(one.done_reason).toBe(streamed.at(-1)!.done_reason);
    nextScript = { thinkingOpen: false, pieces: ['ok'], toolCalls: [{ name: 'a', arguments: '{}' }, { name: 'b', arguments: '{"x":1}' }] };
    const withTools = await scripted.chat({ model: 'scripted', messages: hi, stream: false, tools: [{ type: 'function', function: { name: 'a' } }] as never });
    expect(withTools.message.content).toBe('ok');
    expect(withTools.message.tool_calls!.map((c) => c.function.name)).toEqual(['a', 'b']);
  });

  it('C4 load and unload with empty messages: one JSON object each', async () => {
    let res = await post(real, '/api/chat', { model: 'r1', messages: [] });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toMatchObject({ model: 'r1', message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
    expect(real.scheduler.loaded()).toHaveLength(1);
    res = await post(real, '/api/chat', { model: 'r1', keep_alive: 0 });
    expect(await res.json()).toMatchObject({ done: true, done_reason: 'unload' });
    expect(real.scheduler.loaded()).toHaveLength(0);
  });

  it('C5 Modelfile SYSTEM and MESSAGEs are prepended', async () => {
    await scripted.chat({ model: 'sys', messages: hi });
    const p = fakeRunners.at(-1)!.requests.at(-1)!.prompt;
    expect(p.kind === 'chat' && p.messages.map((m) => m.content)).toEqual(['SYSTEM TEXT', 'M1', 'M2', 'hi']);
  });

  it('C6 tool calls: whole, call_ ids, distinct indices, arguments as objects in their key order', async () => {
    nextScript = {
      thinkingOpen: true,
      pieces: ['plan</think>'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris","unit":"C","a":1}' },
        { name: 'get_time', arguments: '{"tz":"CET"}' },
      ],
    };
    const res = await post(fake, '/api/chat', { model: 'scripted', messages: hi, tools: [{ type: 'function', function: { name: 'get_weather' } }] });
    const lines = await ndjson(res);
    const calls = lines.filter((l) => l.message.tool_calls);
    expect(calls.map((l) => l.message.content)).toEqual(['', '']);
    const all = calls.flatMap((l) => l.message.tool_calls);
    expect(all.map((c) => c.function.index)).toEqual([0, 1]);
    for (const c of all) expect(c.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(all[0].function.arguments).toEqual({ city: 'Paris', unit: 'C', a: 1 });
    expect(Object.keys(all[0].function.arguments)).toEqual(['city', 'unit', 'a']);
  });

  it('C7 tools with type arrays and extra schema keys are accepted by the real engine', async () => {
    const tools = [
      {
        type: 'function',
        function: {
          name: 'search',
          description: 'Search things',
          parameters: {
            type: 'object',
            $defs: { unit: { type: 'string', enum: ['C', 'F'] } },
            properties: {
              q: { type: ['string', 'null'] },
              tags: { type: 'array', items: { type: 'string' } },
              unit: { $ref: '#/$defs/unit' },
              n: { anyOf: [{ type: 'integer' }, { type: 'null' }] },
            },
            required: ['q'],
          },
        },
      },
    ];
    const reply = await ollama.chat({ model: 'r1', messages: hi, tools: tools as never, stream: false, options: short });
    expect(reply.done).toBe(true);
  });

  it('C8 tools on a model without the tools capability: 400 with the full name', async () => {
    await expect(
      scripted.chat({ model: 'plain', messages: hi, tools: [{ type: 'function', function: { name: 'f' } }] as never }),
    ).rejects.toMatchObject({ status_code: 400, error: `${FULL}/plain:latest does not support tools` });
  });

  it('C9 unknown model 404, empty model 400', async () => {
    await expect(ollama.chat({ model: 'foo', messages: hi })).rejects.toMatchObject({ status_code: 404, error: "model 'foo' not found" });
    expect(await errorOf(await post(real, '/api/chat', { model: '', messages: hi }))).toEqual({ status: 400, error: 'model is required' });
  });

  it('C10 (SHOULD) the reasoning of earlier assistant messages is dropped from the prompt', async () => {
    // The same conversation without and then with a reasoning block in the history: if the block is
    // dropped the prompts are equal, so the second one is all in the KV cache (one token re-evaluated).
    const history = (answer: string) => [
      { role: 'user', content: 'What is two plus two?' },
      { role: 'assistant', content: answer },
      { role: 'user', content: 'And three plus three?' },
    ];
    const opts = { num_predict: 1, temperature: 0 };
    await ollama.chat({ model: 'r1', messages: history('Four.'), stream: false, options: opts });
    const second = await ollama.chat({
      model: 'r1',
      messages: history('<think>\nAdding two and two gives four, a long secret chain of thought.\n</think>\n\nFour.'),
      stream: false,
      options: opts,
    });
    expect(second.prompt_eval_count).toBe(1);
  });

  it('C11 (SHOULD) format with thinking: the reasoning stays free text; without thinking the answer is the JSON', async () => {
    const format = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const thinking = await ollama.chat({ model: 'r1', messages: hi, format, stream: false, options: { num_predict: 24, seed: 4 } });
    expect(thinking.message.thinking!.length).toBeGreaterThan(0);
    expect(thinking.message.thinking!.trimStart().startsWith('{"ok"')).toBe(false);
    if (thinking.message.content) expect(typeof JSON.parse(thinking.message.content).ok).toBe('boolean');
    const direct = await ollama.chat({ model: 'r1', messages: hi, format, think: false, stream: false, options: { num_predict: 64, seed: 4 } });
    expect(direct.message.thinking).toBeUndefined();
    expect(typeof JSON.parse(direct.message.content).ok).toBe('boolean');
  });
});

describe('§2.7 POST /api/embed and /api/embeddings', () => {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it('E1 input as a string or an array of strings; anything else 400 invalid input type', async () => {
    const one = await ollama.embed({ model: 'r1', input: 'hello' });
    expect(one.embeddings).toHaveLength(1);
    const two = await ollama.embed({ model: 'r1', input: ['hello', 'world'], truncate: true, keep_alive: '1m', options: { seed: 1 } });
    expect(two.embeddings).toHaveLength(2);
    expect(await errorOf(await post(real, '/api/embed', { model: 'r1', input: { text: 'x' } }))).toEqual({ status: 400, error: 'invalid input type' });
  });

  it('E2 one L2-normalized vector per input, in order; dimensions truncates and renormalizes; metrics', async () => {
    const res = await post(real, '/api/embed', { model: 'R1', input: ['alpha', 'beta gamma', 'alpha'] });
    const body = await res.json();
    expect(body.model).toBe('R1');
    expect(body.embeddings).toHaveLength(3);
    for (const e of body.embeddings) {
      expect(e).toHaveLength(256); // n_embd of the tiny model
      expect(norm(e)).toBeCloseTo(1, 5);
    }
    expect(body.embeddings[2]).toEqual(body.embeddings[0]);
    expect(body.embeddings[1]).not.toEqual(body.embeddings[0]);
    expectMetrics(body, ['total_duration', 'prompt_eval_count']);
    const cut = await ollama.embed({ model: 'r1', input: 'alpha', dimensions: 16 } as never);
    expect(cut.embeddings[0]).toHaveLength(16);
    expect(norm(cut.embeddings[0]!)).toBeCloseTo(1, 5);
    const scale = norm(body.embeddings[0].slice(0, 16));
    cut.embeddings[0]!.forEach((x, i) => expect(x).toBeCloseTo(body.embeddings[0][i] / scale, 5));
  });

  it('E3 an empty input loads the model and returns no embeddings', async () => {
    await real.scheduler.close();
    for (const input of ['', []]) {
      const body = await (await post(real, '/api/embed', { model: 'r1', input })).json();
      expect(body).toEqual({ model: 'r1', embeddings: [] });
    }
    expect(real.scheduler.loaded()).toHaveLength(1);
  });

  it('E4 truncate:false with an over-long input is 400; unknown model 404 with double quotes', async () => {
    // A small num_ctx keeps the test fast.
    const long = 'word '.repeat(300);
    const options = { num_ctx: 256 };
    expect(await errorOf(await post(real, '/api/embed', { model: 'r1', input: long, truncate: false, options }))).toEqual({
      status: 400,
      error: 'the input length exceeds the context length',
    });
    const cut = await ollama.embed({ model: 'r1', input: long, options });
    expect(cut.embeddings[0]).toHaveLength(256);
    expect(cut.prompt_eval_count).toBe(256);
    await expect(ollama.embed({ model: 'foo', input: 'x' })).rejects.toMatchObject({
      status_code: 404,
      error: 'model "foo" not found, try pulling it first',
    });
  });

  it('E5 /api/embeddings: one raw (not normalized) vector; [] for an empty prompt; model is required', async () => {
    const { embedding } = await ollama.embeddings({ model: 'r1', prompt: 'alpha' });
    expect(embedding).toHaveLength(256);
    expect(Math.abs(norm(embedding) - 1)).toBeGreaterThan(1e-3);
    const normalized = (await ollama.embed({ model: 'r1', input: 'alpha' })).embeddings[0]!;
    const n = norm(embedding);
    embedding.forEach((x, i) => expect(x / n).toBeCloseTo(normalized[i]!, 5));
    expect(await (await post(real, '/api/embeddings', { model: 'r1', prompt: '' })).json()).toEqual({ embedding: [] });
    expect(await errorOf(await post(real, '/api/embeddings', { prompt: 'x' }))).toEqual({ status: 400, error: 'model is required' });
  });
});

describe('§3.1–3.6 shared behaviours', () => {
  it('SR1 done_reason: stop or length on the done object only; length when num_predict is hit', async () => {
    const lines = await ndjson(await post(real, '/api/generate', { model: 'r1', prompt: 'count', options: { num_predict: 5, seed: 1 } }));
    for (const l of lines.slice(0, -1)) expect(l).not.toHaveProperty('done_reason');
    const last = lines.at(-1)!;
    expect(last.done_reason).toBe(last.eval_count === 5 ? 'length' : 'stop');
    const stopped = await ollama.generate({ model: 'r1', prompt: 'x', stream: false, options: { num_predict: 64, seed: 1, stop: ['e'] } });
    expect(stopped.done_reason).toBe('stop');
  });

  it('SR2 the body ends right after the done object', async () => {
    const text = await (await post(real, '/api/chat', { model: 'r1', messages: hi, options: short })).text();
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(JSON.parse(lines.at(-2)!).done).toBe(true);
    expect(lines.slice(0, -2).every((l) => JSON.parse(l).done === false)).toBe(true);
  });

  it('SR3 an error after streaming began is one final {"error"} line; ollama-js surfaces it', async () => {
    nextScript = { ...R1_SCRIPT, crashAfter: 2 };
    const lines = await ndjson(await post(fake, '/api/chat', { model: 'scripted', messages: hi }));
    expect(lines.at(-1)).toEqual({ error: 'model runner stopped unexpectedly (signal SIGKILL)' });
    expect(lines.at(-2)!.done).toBe(false);
    nextScript = { ...R1_SCRIPT, crashAfter: 2 };
    await expect(
      (async () => {
        for await (const _ of await scripted.generate({ model: 'scripted', prompt: 'x', stream: true }));
      })(),
    ).rejects.toThrow('model runner stopped unexpectedly');
  });

  it('M (§3.2) metrics: integer nanoseconds and counts, omitted when zero, never null', async () => {
    await real.scheduler.close();
    const first = await ollama.generate({ model: 'r1', prompt: 'metrics', stream: false, options: short });
    expectMetrics(first as never, ['total_duration', 'load_duration', 'prompt_eval_count', 'eval_count', 'eval_duration']);
    const again = await (await post(real, '/api/generate', { model: 'r1', prompt: 'metrics', stream: false, options: short })).json();
    expect(again).not.toHaveProperty('load_duration'); // loaded already: zero, omitted
    expect(Object.values(again).includes(null)).toBe(false);
    expect(again.total_duration).toBeGreaterThanOrEqual(again.eval_duration);
  });

  it('O1 unknown option keys are ignored', async () => {
    const r = await ollama.chat({
      model: 'r1',
      messages: hi,
      stream: false,
      options: { ...short, mirostat_eta: 0.1, tfs_z: 1, use_mlock: false, penalize_newline: true, numa: false, low_vram: false, f16_kv: true, reasoning_effort: 'x', logit_bias: {} } as never,
    });
    expect(r.done).toBe(true);
  });

  it('O2 a null option value is skipped', async () => {
    const r = await (await post(real, '/api/chat', { model: 'r1', messages: hi, stream: false, options: { num_predict: 3, temperature: null, think: null, keep_alive: null } })).json();
    expect(r.done).toBe(true);
    expect(r.eval_count).toBeLessThanOrEqual(3);
  });

  it('O3 numbers for int options are truncated; a wrong type is an error naming the option', async () => {
    const r = await ollama.generate({ model: 'r1', prompt: 'x', stream: false, options: { num_predict: 3.9, seed: 1 } });
    expect(r.eval_count).toBeLessThanOrEqual(3);
    // Ollama answers 500 here; moed 400 (docs/API-DEVIATIONS.md), with Ollama's text.
    expect(await errorOf(await post(real, '/api/generate', { model: 'r1', prompt: 'x', options: { num_ctx: 'big' } }))).toEqual({
      status: 400,
      error: 'option "num_ctx" must be of type integer',
    });
    expect((await errorOf(await post(real, '/api/generate', { model: 'r1', prompt: 'x', options: { stop: 5 } }))).error).toBe(
      'option "stop" must be of an array of strings',
    );
  });

  it('O4 (SHOULD) request options override Modelfile PARAMETERs, which override defaults', async () => {
    await post(real, '/api/create', { model: 'r1-short', from: 'r1', parameters: { num_predict: 2 }, stream: false });
    const byModel = await ollama.generate({ model: 'r1-short', prompt: 'x', stream: false, options: { seed: 1 } });
    expect(byModel.eval_count).toBeLessThanOrEqual(2);
    const byRequest = await ollama.generate({ model: 'r1-short', prompt: 'x', stream: false, options: { seed: 1, num_predict: 6, temperature: 0.9 } });
    expect(byRequest.eval_count).toBeGreaterThan(2);
  });

  const expiry = () => real.scheduler.loaded().find((m) => m.name === 'r1:latest')!.expiresAt.getTime();

  it('K1 a number is seconds (floats allowed); negative means forever', async () => {
    await ollama.generate({ model: 'r1', prompt: '', keep_alive: 42.5 });
    expect(Math.abs(expiry() - (Date.now() + 42_500))).toBeLessThan(2000);
    await ollama.generate({ model: 'r1', prompt: '', keep_alive: -1 });
    expect(new Date(expiry()).getUTCFullYear()).toBe(2318);
  });

  it('K2 a string is a Go duration; negative forever; a unit-less string other than "0" is 400', async () => {
    await post(real, '/api/chat', { model: 'r1', keep_alive: '1h30m' });
    expect(Math.abs(expiry() - (Date.now() + 5_400_000))).toBeLessThan(2000);
    await post(real, '/api/embed', { model: 'r1', input: 'x', keep_alive: '300ms' });
    expect(Math.abs(expiry() - (Date.now() + 300))).toBeLessThan(2000);
    await post(real, '/api/embed', { model: 'r1', input: 'x', keep_alive: '-1m' });
    expect(new Date(expiry()).getUTCFullYear()).toBe(2318);
    expect(await errorOf(await post(real, '/api/generate', { model: 'r1', prompt: 'x', keep_alive: '300' }))).toEqual({
      status: 400,
      error: 'time: missing unit in duration "300"',
    });
  });

  it('K3 absent or null means the default (5m); another JSON type is 400 Unsupported type', async () => {
    await post(real, '/api/chat', { model: 'r1', keep_alive: null });
    expect(Math.abs(expiry() - (Date.now() + 300_000))).toBeLessThan(2000);
    await ollama.embed({ model: 'r1', input: 'x' });
    expect(Math.abs(expiry() - (Date.now() + 300_000))).toBeLessThan(2000);
    expect(await errorOf(await post(real, '/api/chat', { model: 'r1', messages: hi, keep_alive: { d: 1 } }))).toEqual({
      status: 400,
      error: "Unsupported type: 'object'",
    });
  });

  it('K4 the model stays for keep_alive after a request, then unloads; keep_alive 0 unloads after the request', async () => {
    const r1Loaded = () => real.scheduler.loaded().some((m) => m.name === 'r1:latest');
    await ollama.generate({ model: 'r1', prompt: 'x', keep_alive: '1s', stream: false, options: short });
    expect(r1Loaded()).toBe(true);
    await sleep(500);
    expect(r1Loaded()).toBe(true);
    await expect.poll(r1Loaded, { timeout: 4000, interval: 100 }).toBe(false);
    await ollama.chat({ model: 'r1', messages: hi, keep_alive: 0, stream: false, options: short });
    await expect.poll(r1Loaded, { timeout: 2000, interval: 50 }).toBe(false);
  });

  it('TH1 think accepts true, false and levels; anything else is 400 with Ollama\'s text', async () => {
    for (const think of [true, false, 'low', 'medium', 'high', 'max']) {
      const r = await (await post(real, '/api/chat', { model: 'r1', messages: hi, think, stream: false, options: { num_predict: 2 } })).json();
      expect(r.done, String(think)).toBe(true);
    }
    expect(await errorOf(await post(real, '/api/chat', { model: 'r1', messages: hi, think: 'deep' }))).toEqual({
      status: 400,
      error: 'invalid think value: "deep" (must be "high", "medium", "low", "max", true, or false)',
    });
  });

  it('TH2 a thinking model thinks by default', async () => {
    const r = await ollama.chat({ model: 'r1', messages: hi, stream: false, options: { num_predict: 10, seed: 5 } });
    expect((r.message.thinking ?? '').length).toBeGreaterThan(0);
  });

  it('TH3 think on a model without the capability is 400; think:false is fine', async () => {
    await expect(scripted.chat({ model: 'plain', messages: hi, think: 'high' })).rejects.toMatchObject({
      status_code: 400,
      error: '"plain" does not support thinking',
    });
    const r = await scripted.chat({ model: 'plain', messages: hi, think: false });
    expect(r.done).toBe(true);
  });

  it('TH4 reasoning goes to thinking without tags; with thinking off the raw text is content', async () => {
    const on = await ollama.generate({ model: 'r1', prompt: 'hi', stream: false, options: { num_predict: 16, seed: 6 } });
    expect((on.thinking ?? '').length).toBeGreaterThan(0);
    expect(on.thinking).not.toContain('<think>');
    expect(on.thinking).not.toContain('</think>');
    const off = await ollama.chat({ model: 'r1', messages: hi, think: false, stream: false, options: { num_predict: 16, seed: 6 } });
    expect(off.message.thinking).toBeUndefined();
    expect(off.message.content.length).toBeGreaterThan(0);
  });

  it('F (§3.6) format: "json" and JSON schemas constrain the answer; null and "" are unset; other values are refused', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, n: { type: 'integer' } }, required: ['name', 'n'] };
    const r = await ollama.generate({ model: 'r1', prompt: 'x', format: schema, think: false, stream: false, options: { num_predict: 80, seed: 2 } });
    expect(Object.keys(JSON.parse(r.response))).toEqual(['name', 'n']);
    const j = await ollama.generate({ model: 'r1', prompt: 'x', format: 'json', think: false, stream: false, options: { num_predict: 80, seed: 2 } });
    expect(j.response.trimStart().startsWith('{')).toBe(true);
    for (const format of [null, '']) {
      const res = await post(real, '/api/generate', { model: 'r1', prompt: 'x', format, stream: false, options: { num_predict: 2 } });
      expect(res.status).toBe(200);
    }
    expect(await errorOf(await post(real, '/api/generate', { model: 'r1', prompt: 'x', format: 'yaml' }))).toEqual({
      status: 400,
      error: 'invalid format: "\\"yaml\\""; expected "json" or a valid JSON Schema object',
    });
  });
});

describe('§4 error catalogue (inference rows)', () => {
  it('§4 empty body: 400 missing request body on every inference route', async () => {
    for (const route of ['/api/generate', '/api/chat', '/api/embed', '/api/embeddings']) {
      expect(await errorOf(await post(real, route, ''))).toEqual({ status: 400, error: 'missing request body' });
    }
  });

  it("§4 chat, empty model: 400 model is required; generate/embed, empty model: 404 model '' not found", async () => {
    expect(await errorOf(await post(real, '/api/chat', { messages: hi }))).toEqual({ status: 400, error: 'model is required' });
    expect(await errorOf(await post(real, '/api/generate', { prompt: 'x' }))).toEqual({ status: 404, error: "model '' not found" });
    expect(await errorOf(await post(real, '/api/embed', { input: 'x' }))).toEqual({ status: 404, error: "model '' not found" });
  });

  it("§4 chat/generate, unknown model: 404 model 'foo' not found", async () => {
    expect(await errorOf(await post(real, '/api/chat', { model: 'foo', messages: hi }))).toEqual({ status: 404, error: "model 'foo' not found" });
    expect(await errorOf(await post(real, '/api/generate', { model: 'foo', prompt: 'x' }))).toEqual({ status: 404, error: "model 'foo' not found" });
  });

  it('§4 embed/embeddings, unknown model: 404 model "foo" not found, try pulling it first', async () => {
    for (const [route, body] of [['/api/embed', { model: 'foo', input: 'x' }], ['/api/embeddings', { model: 'foo', prompt: 'x' }]] as const) {
      expect(await errorOf(await post(real, route, body))).toEqual({ status: 404, error: 'model "foo" not found, try pulling it first' });
    }
  });

  it('§4 tools unsupported: 400 <full name> does not support tools', async () => {
    expect(await errorOf(await post(fake, '/api/chat', { model: 'plain', messages: hi, tools: [{ type: 'function', function: { name: 'f' } }] }))).toEqual({
      status: 400,
      error: `${FULL}/plain:latest does not support tools`,
    });
  });

  it('§4 thinking unsupported: 400 "foo" does not support thinking', async () => {
    expect(await errorOf(await post(fake, '/api/generate', { model: 'Plain', prompt: 'x', think: true }))).toEqual({
      status: 400,
      error: '"Plain" does not support thinking',
    });
  });

  it('§4 embedding model on chat / generate: 400 does not support chat / generate', async () => {
    expect(await errorOf(await post(fake, '/api/chat', { model: 'embedder', messages: hi }))).toEqual({ status: 400, error: '"embedder" does not support chat' });
    expect(await errorOf(await post(fake, '/api/generate', { model: 'embedder', prompt: 'x' }))).toEqual({
      status: 400,
      error: '"embedder" does not support generate',
    });
  });

  it('§4 bad think value: 400 invalid think value', async () => {
    expect(await errorOf(await post(real, '/api/generate', { model: 'r1', prompt: 'x', think: 'x' }))).toEqual({
      status: 400,
      error: 'invalid think value: "x" (must be "high", "medium", "low", "max", true, or false)',
    });
  });

  it('§4 top_logprobs range: 400 top_logprobs must be between 0 and 20', async () => {
    for (const [route, body] of [['/api/generate', { model: 'r1', prompt: 'x', top_logprobs: 21 }], ['/api/chat', { model: 'r1', messages: hi, top_logprobs: -1 }]] as const) {
      expect(await errorOf(await post(real, route, body))).toEqual({ status: 400, error: 'top_logprobs must be between 0 and 20' });
    }
  });

  it('§4 queue full: 503 server busy', async () => {
    slowLoads = 1;
    const [a, b] = await Promise.all([
      post(fake, '/api/generate', { model: 'slow', prompt: 'x', stream: false }),
      (async () => {
        await sleep(50);
        return post(fake, '/api/generate', { model: 'slow', prompt: 'y', stream: false });
      })(),
    ]);
    expect(a.status).toBe(200);
    expect(await errorOf(b)).toEqual({ status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' });
  });

  it('§4 embed too long with truncate:false: 400 the input length exceeds the context length', async () => {
    const input = ['short', 'word '.repeat(300)];
    expect(await errorOf(await post(real, '/api/embed', { model: 'r1', input, truncate: false, options: { num_ctx: 256 } }))).toEqual({
      status: 400,
      error: 'the input length exceeds the context length',
    });
  });
});
