// The inference routes against a scripted runner: wire shapes of /api/generate, /api/chat (tools,
// thinking, formats, images), /api/embed and /api/embeddings, the engine parameters a request
// becomes (options, truncation, templates, context), keep_alive, and Ollama's error texts.
import { promises as fs } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import type { RunnerFactory } from '../../src/engine/runner.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import type { ModelStore } from '../../src/store/store.js';
import { FAKE_CONTEXT_PROMPT, fakeFactory, type Script } from '../helpers/fake-runner.js';
import { storeWithModel } from '../helpers/store.js';

let daemon: Daemon | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

async function addModel(store: ModelStore, file: string, name: string, capabilities: string[], extra: object = {}) {
  const stat = await fs.stat(file);
  await store.create(name, {
    modelFiles: [{ path: file, size: stat.size, mtimeMs: stat.mtimeMs }],
    config: { model_format: 'gguf', model_family: 'llama', model_families: ['llama'], model_type: '1B', file_type: 'Q4_K_M', capabilities },
    ...extra,
  });
}

const R1: Script = { thinkingOpen: true, pieces: ['Let me', ' think.', '</th', 'ink>\n\n', 'Hello', ' world'] };

async function start(script: () => Script = () => R1, env: Record<string, string> = {}, wrap?: (f: RunnerFactory) => RunnerFactory) {
  const { root, store, file } = await storeWithModel('r1-test', ['completion', 'tools', 'thinking']);
  await addModel(store, file, 'plain', ['completion']);
  await addModel(store, file, 'embedder', ['embedding']);
  await addModel(store, file, 'sys', ['completion', 'thinking'], {
    system: 'You are terse.',
    messages: [
      { role: 'user', content: 'earlier question' },
      { role: 'assistant', content: 'earlier answer' },
    ],
  });
  const config = readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: `${root}/models`, HOME: root, ...env });
  const fake = fakeFactory(script);
  daemon = await startDaemon(config, wrap ? wrap(fake.factory) : fake.factory);
  const post = (path: string, body: unknown) =>
    fetch(`${daemon!.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const lastRequest = () => fake.runners.at(-1)!.requests.at(-1)!;
  return { url: daemon.url, fake, post, lastRequest, store };
}

async function lines(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

const user = (content: string) => [{ role: 'user', content }];

describe('POST /api/generate', () => {
  it('streams response chunks (thinking apart) and a final chunk with context and metrics', async () => {
    const { post, lastRequest } = await start();
    const res = await post('/api/generate', { model: 'r1-test', prompt: 'hi' });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const all = await lines(res);
    for (const l of all.slice(0, -1)) {
      expect(l.done).toBe(false);
      expect(typeof l.response).toBe('string');
      expect(Object.keys(l)).toEqual(l.thinking ? ['model', 'created_at', 'response', 'thinking', 'done'] : ['model', 'created_at', 'response', 'done']);
    }
    expect(all.map((l) => l.thinking ?? '').join('')).toBe('Let me think.');
    expect(all.map((l) => l.response).join('')).toBe('Hello world');
    const last = all.at(-1)!;
    expect(last).toMatchObject({ model: 'r1-test', response: '', done: true, done_reason: 'stop' });
    expect(last.context).toEqual([...FAKE_CONTEXT_PROMPT, 100, 101, 102, 103, 104, 105]);
    for (const k of ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']) {
      expect(Number.isInteger(last[k]), k).toBe(true);
    }
    const req = lastRequest();
    expect(req.prompt).toEqual({ kind: 'chat', messages: user('hi'), enableThinking: true, thinkLevel: undefined, templateOverride: undefined });
    expect(req.returnTokens).toBe(true);
    expect(req.truncate).toBe(true);
  });

  it('stream:false joins response and thinking into one object', async () => {
    const { post } = await start();
    const res = await post('/api/generate', { model: 'r1-test', prompt: 'hi', stream: false });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(body).toMatchObject({ response: 'Hello world', thinking: 'Let me think.', done: true, done_reason: 'stop' });
    expect(body.context).toHaveLength(9);
  });

  it('raw sends the prompt as text and returns no context; raw with system, template or context is refused', async () => {
    const { post, lastRequest } = await start(() => ({ thinkingOpen: false, pieces: ['x'] }));
    const body = await (await post('/api/generate', { model: 'r1-test', prompt: '<｜User｜>hi', raw: true, stream: false, think: false })).json();
    expect(body.context).toBeUndefined();
    expect(lastRequest().prompt).toEqual({ kind: 'text', text: '<｜User｜>hi' });
    expect(lastRequest().returnTokens).toBe(false);
    for (const extra of [{ system: 's' }, { template: '{{ messages }}' }, { context: [1, 2] }]) {
      const res = await post('/api/generate', { model: 'r1-test', prompt: 'x', raw: true, ...extra });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'raw mode does not support template, system, or context' });
    }
  });

  it('passes system (request over Modelfile), a Jinja template, and context to the engine', async () => {
    const { post, lastRequest } = await start();
    await post('/api/generate', { model: 'sys', prompt: 'q', stream: false });
    expect(lastRequest().prompt).toMatchObject({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'q' }] });
    await post('/api/generate', { model: 'sys', prompt: 'q', system: 'Be loud.', stream: false, template: '{{ messages[0].content }}' });
    expect(lastRequest().prompt).toMatchObject({
      messages: [{ role: 'system', content: 'Be loud.' }, { role: 'user', content: 'q' }],
      templateOverride: '{{ messages[0].content }}',
    });
    const body = await (await post('/api/generate', { model: 'r1-test', prompt: 'again', context: [7, 8], stream: false })).json();
    expect(lastRequest().prefix).toEqual([7, 8]);
    expect(body.context.slice(0, 2)).toEqual([7, 8]);
  });

  it('refuses a Go template, suffix, images on a text model and bad base64, with clear 400s', async () => {
    const { post } = await start();
    let res = await post('/api/generate', { model: 'r1-test', prompt: 'x', template: '{{ .System }} {{ .Prompt }}' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/^template: Go templates .* are not supported/);
    res = await post('/api/generate', { model: 'r1-test', prompt: 'x', suffix: 'y' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'registry.ollama.ai/library/r1-test:latest does not support insert' });
    res = await post('/api/generate', { model: 'r1-test', prompt: 'x', images: ['aGVsbG8='] });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/^registry.ollama.ai\/library\/r1-test:latest does not support vision/);
    res = await post('/api/generate', { model: 'r1-test', prompt: 'x', images: ['not base64!'] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'illegal base64 data at input byte 3' });
  });

  it('answers Ollama errors: empty and unknown model 404, embedding model, thinking, wrong field type', async () => {
    const { post } = await start();
    let res = await post('/api/generate', { prompt: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model '' not found" });
    res = await post('/api/generate', { model: 'foo', prompt: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'foo' not found" });
    res = await post('/api/generate', { model: 'embedder', prompt: 'x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: '"embedder" does not support generate' });
    res = await post('/api/generate', { model: 'plain', prompt: 'x', think: 'low' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: '"plain" does not support thinking' });
    res = await post('/api/generate', { model: 'plain', prompt: 7 });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type string');
  });

  it('load and unload answer one JSON object whatever stream says', async () => {
    const { post, fake } = await start();
    let res = await post('/api/generate', { model: 'r1-test', prompt: '', stream: true });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const load = await res.json();
    expect(Object.keys(load)).toEqual(['model', 'created_at', 'response', 'done', 'done_reason']);
    expect(load).toMatchObject({ model: 'r1-test', response: '', done: true, done_reason: 'load' });
    expect(fake.runners[0]!.alive).toBe(true);
    res = await post('/api/generate', { model: 'r1-test', prompt: '', keep_alive: '0s', suffix: '', system: '', template: '', options: null });
    expect(await res.json()).toMatchObject({ done: true, done_reason: 'unload' });
    expect(fake.runners[0]!.alive).toBe(false);
    // Unload of a model that is not loaded is fine; of an unknown one, 404.
    expect((await post('/api/generate', { model: 'plain', keep_alive: 0 })).status).toBe(200);
    expect((await post('/api/generate', { model: 'nope', keep_alive: 0 })).status).toBe(404);
  });
});

describe('POST /api/chat', () => {
  it('sends tool calls whole with call ids and distinct indices, arguments as objects in order', async () => {
    const { post, lastRequest } = await start(() => ({
      thinkingOpen: true,
      pieces: ['Need weather.</think>\n\n'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris","b":1,"a":2}' },
        { name: 'get_time', arguments: '{"zone":"CET"}' },
      ],
    }));
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: ['string', 'null'] } } } } }];
    const res = await post('/api/chat', { model: 'r1-test', messages: user('weather?'), tools });
    const text = await res.clone().text();
    expect(text).toContain('"arguments":{"city":"Paris","b":1,"a":2}');
    const all = await lines(res);
    const calls = all.filter((l) => l.message.tool_calls);
    expect(calls).toHaveLength(2);
    for (const [i, l] of calls.entries()) {
      expect(l.message.content).toBe('');
      expect(l.message.tool_calls).toHaveLength(1);
      const c = l.message.tool_calls[0];
      expect(c.id).toMatch(/^call_[a-z0-9]{8}$/);
      expect(c.function.index).toBe(i);
    }
    expect(calls[0]!.message.tool_calls[0].function).toEqual({ index: 0, name: 'get_weather', arguments: { city: 'Paris', b: 1, a: 2 } });
    expect(lastRequest().prompt).toMatchObject({ tools });

    const body = await (await post('/api/chat', { model: 'r1-test', messages: user('weather?'), tools, stream: false })).json();
    expect(body.message.thinking).toBe('Need weather.');
    expect(body.message.tool_calls.map((c: any) => c.function.index)).toEqual([0, 1]);
    expect(new Set(body.message.tool_calls.map((c: any) => c.id)).size).toBe(2);
  });

  it('passes tool calls and tool results of the history to the template', async () => {
    const { post, lastRequest } = await start();
    await post('/api/chat', {
      model: 'r1-test',
      stream: false,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'call_x', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } }] },
        { role: 'tool', content: 'sunny', tool_name: 'get_weather', tool_call_id: 'call_x' },
      ],
    });
    const p = lastRequest().prompt;
    expect(p.kind === 'chat' && p.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', id: 'call_x', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', content: 'sunny', name: 'get_weather', tool_call_id: 'call_x' },
    ]);
  });

  it('refuses tools for a model without the capability, and an embedding model', async () => {
    const { post } = await start();
    let res = await post('/api/chat', { model: 'plain', messages: user('x'), tools: [{ type: 'function', function: { name: 'f' } }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'registry.ollama.ai/library/plain:latest does not support tools' });
    res = await post('/api/chat', { model: 'embedder', messages: user('x') });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: '"embedder" does not support chat' });
  });

  it('think: levels count as on and reach the template; off on a non-thinking model is fine', async () => {
    const { post, lastRequest } = await start();
    await post('/api/chat', { model: 'r1-test', messages: user('x'), think: 'high', stream: false });
    expect(lastRequest().prompt).toMatchObject({ enableThinking: true, thinkLevel: 'high' });
    expect(lastRequest().thinking).toBe(true);
    await post('/api/chat', { model: 'plain', messages: user('x'), think: false, stream: false });
    expect(lastRequest().thinking).toBe(false);
    await post('/api/chat', { model: 'plain', messages: user('x'), stream: false });
    expect(lastRequest().prompt).toMatchObject({ enableThinking: false });
    const res = await post('/api/chat', { model: 'plain', messages: user('x'), think: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: '"plain" does not support thinking' });
  });

  it('format: "json" and schemas reach the engine, null and "" are unset, anything else is refused', async () => {
    const { post, lastRequest } = await start();
    await post('/api/chat', { model: 'r1-test', messages: user('x'), format: 'json', stream: false });
    expect(lastRequest().format).toEqual({ type: 'json' });
    const schema = { type: 'object', properties: { a: { type: 'integer' } } };
    await post('/api/chat', { model: 'r1-test', messages: user('x'), format: schema, stream: false });
    expect(lastRequest().format).toEqual({ type: 'schema', schema });
    for (const unset of [null, '']) {
      await post('/api/chat', { model: 'r1-test', messages: user('x'), format: unset, stream: false });
      expect(lastRequest().format).toBeUndefined();
    }
    const res = await post('/api/chat', { model: 'r1-test', messages: user('x'), format: 'xml' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid format: "\\"xml\\""; expected "json" or a valid JSON Schema object' });
  });

  it('C5: prepends the Modelfile SYSTEM and MESSAGEs, unless the request brings its own system message', async () => {
    const { post, lastRequest } = await start();
    await post('/api/chat', { model: 'sys', messages: user('now'), stream: false });
    const p = lastRequest().prompt;
    expect(p.kind === 'chat' && p.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'earlier question' },
      { role: 'assistant', content: 'earlier answer' },
      { role: 'user', content: 'now' },
    ]);
    await post('/api/chat', { model: 'sys', messages: [{ role: 'system', content: 'mine' }, ...user('now')], stream: false });
    const q = lastRequest().prompt;
    expect(q.kind === 'chat' && q.messages[0]).toEqual({ role: 'user', content: 'earlier question' });
  });

  it('refuses images on a text model, a bad top_logprobs, and keeps a runner refusal status', async () => {
    const { post } = await start(() => ({ ...R1, refuse: undefined }));
    let res = await post('/api/chat', { model: 'r1-test', messages: [{ role: 'user', content: 'x', images: ['aGVsbG8='] }] });
    expect(res.status).toBe(400);
    res = await post('/api/chat', { model: 'r1-test', messages: user('x'), top_logprobs: 21 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'top_logprobs must be between 0 and 20' });
  });

  it('a prompt the runner refuses (too long) is a 400 before the stream', async () => {
    const { MoedError } = await import('../../src/errors/index.js');
    const { post, lastRequest } = await start(() => ({
      ...R1,
      refuse: new MoedError('INVALID_REQUEST', 'the input length exceeds the context length'),
    }));
    const res = await post('/api/chat', { model: 'r1-test', messages: user('x'), truncate: false });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'the input length exceeds the context length' });
    expect(lastRequest().truncate).toBe(false);
  });

  it('load and unload with empty messages answer one JSON object even when streaming', async () => {
    const { post } = await start();
    const res = await post('/api/chat', { model: 'r1-test', messages: [], stream: true });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toMatchObject({ message: { role: 'assistant', content: '' }, done: true, done_reason: 'load' });
  });
});

describe('options and keep_alive', () => {
  it('O1–O4: every option reaches the engine: sampling, prediction, load parameters', async () => {
    const { post, fake, lastRequest } = await start();
    await post('/api/chat', {
      model: 'r1-test',
      messages: user('x'),
      stream: false,
      options: {
        num_keep: 2, seed: 9, num_predict: 33, top_k: 7, top_p: 0.5, min_p: 0.1, typical_p: 0.7, repeat_last_n: 12,
        temperature: 0.3, repeat_penalty: 1.2, presence_penalty: 0.4, frequency_penalty: 0.6, stop: ['END'],
        mirostat: 2, mirostat_tau: 4, mirostat_eta: 0.2, num_ctx: 777, num_batch: 64, num_gpu: 0, main_gpu: 1,
        use_mmap: false, num_thread: 3, tfs_z: 1, low_vram: true, reasoning_effort: 'x', top_k_null: null,
      },
    });
    const req = lastRequest();
    expect(req.sampling).toEqual({
      temperature: 0.3, topK: 7, topP: 0.5, minP: 0.1, typicalP: 0.7, repeatLastN: 12, repeatPenalty: 1.2,
      presencePenalty: 0.4, frequencyPenalty: 0.6, seed: 9, mirostat: 2, mirostatTau: 4, mirostatEta: 0.2,
    });
    expect(req.numPredict).toBe(33);
    expect(req.numKeep).toBe(2);
    expect(req.stop).toEqual(['END']);
    expect(fake.runners[0]!.params).toMatchObject({ numCtx: 777, numUbatch: 64, gpuLayers: 0, mainGpu: 1, loadMode: 'none', numThreads: 3 });
  });

  it('K1–K4: keep_alive in seconds, Go durations, forever, 0 unloads after the request; bad values are 400', async () => {
    const { post, fake } = await start();
    const expires = () => daemon!.scheduler.loaded()[0]!.expiresAt.getTime();
    await post('/api/generate', { model: 'r1-test', prompt: 'x', keep_alive: 90, stream: false });
    expect(Math.abs(expires() - (Date.now() + 90_000))).toBeLessThan(3000);
    await post('/api/generate', { model: 'r1-test', prompt: 'x', keep_alive: '1h30m', stream: false });
    expect(Math.abs(expires() - (Date.now() + 5_400_000))).toBeLessThan(3000);
    await post('/api/embed', { model: 'r1-test', input: 'x', keep_alive: -1 });
    expect(new Date(expires()).getUTCFullYear()).toBe(2318);
    await post('/api/chat', { model: 'r1-test', messages: user('x'), keep_alive: 0, stream: false });
    await expect.poll(() => fake.runners[0]!.alive).toBe(false);
    let res = await post('/api/generate', { model: 'r1-test', prompt: 'x', keep_alive: '300' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'time: missing unit in duration "300"' });
    res = await post('/api/embed', { model: 'r1-test', input: 'x', keep_alive: true });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Unsupported type: 'boolean'" });
  });

  it('a full queue answers 503', async () => {
    const slow = (f: RunnerFactory): RunnerFactory => async (p, o) => {
      await new Promise((r) => setTimeout(r, 300));
      return f(p, o);
    };
    const { post } = await start(() => R1, { OLLAMA_MAX_QUEUE: '1' }, slow);
    const [a, b] = await Promise.all([
      post('/api/generate', { model: 'r1-test', prompt: 'x', stream: false }),
      post('/api/generate', { model: 'r1-test', prompt: 'y', stream: false }),
    ]);
    const statuses = [a.status, b.status].sort();
    expect(statuses).toEqual([200, 503]);
    const busy = a.status === 503 ? a : b;
    expect(await busy.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
  });
});

describe('POST /api/embed and /api/embeddings', () => {
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it('returns L2-normalized vectors in input order, truncated to dimensions and normalized again, with metrics', async () => {
    const { post, fake } = await start();
    const res = await post('/api/embed', { model: 'r1-test', input: ['a', 'bbb'] });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(Object.keys(body)).toEqual(['model', 'embeddings', 'total_duration', 'load_duration', 'prompt_eval_count']);
    expect(body.model).toBe('r1-test');
    expect(body.embeddings).toHaveLength(2);
    for (const e of body.embeddings) expect(norm(e)).toBeCloseTo(1, 6);
    // fake vectors are [len, 1, 2, ..., 7]
    expect(body.embeddings[0][0] * norm([1, 1, 2, 3, 4, 5, 6, 7])).toBeCloseTo(1, 5);
    expect(body.embeddings[1][0] * norm([3, 1, 2, 3, 4, 5, 6, 7])).toBeCloseTo(3, 5);
    expect(body.prompt_eval_count).toBe(4);
    const cut = await (await post('/api/embed', { model: 'r1-test', input: 'bbb', dimensions: 2 })).json();
    expect(cut.embeddings[0]).toHaveLength(2);
    expect(cut.embeddings[0][0]).toBeCloseTo(3 / Math.sqrt(10), 6);
    expect(fake.runners[0]!.embedRequests.at(-1)).toEqual({ inputs: ['bbb'], truncate: true });
  });

  it('an empty input loads the model and returns no vectors; invalid input types and unknown models are refused', async () => {
    const { post, fake } = await start();
    for (const input of ['', []]) {
      const body = await (await post('/api/embed', { model: 'r1-test', input })).json();
      expect(body).toEqual({ model: 'r1-test', embeddings: [] });
    }
    expect(fake.runners).toHaveLength(1);
    let res = await post('/api/embed', { model: 'r1-test', input: 5 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'invalid input type' });
    res = await post('/api/embed', { model: 'foo', input: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "foo" not found, try pulling it first' });
    res = await post('/api/embed', { input: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model '' not found" });
    res = await post('/api/embed', { model: 'r1-test', input: 'x'.repeat(200), truncate: false });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'the input length exceeds the context length' });
  });

  it('/api/embeddings returns the raw vector, [] for an empty prompt, and needs a model', async () => {
    const { post } = await start();
    const body = await (await post('/api/embeddings', { model: 'embedder', prompt: 'abcd' })).json();
    expect(body).toEqual({ embedding: [4, 1, 2, 3, 4, 5, 6, 7] });
    expect(await (await post('/api/embeddings', { model: 'embedder', prompt: '' })).json()).toEqual({ embedding: [] });
    let res = await post('/api/embeddings', { prompt: 'x' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'model is required' });
    res = await post('/api/embeddings', { model: 'foo', prompt: 'x' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "foo" not found, try pulling it first' });
  });
});
