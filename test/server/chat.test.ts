// The Koa app, services and scheduler against a scripted runner: wire format of /api/chat,
// NDJSON framing, thinking separation, errors before and after the stream starts.
import { afterEach, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { fakeFactory, type Script } from '../helpers/fake-runner.js';
import { storeWithModel } from '../helpers/store.js';

let daemon: Daemon | undefined;

afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
});

async function start(script: () => Script, env: Record<string, string> = {}) {
  const { root } = await storeWithModel();
  const config = readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: `${root}/models`, HOME: root, ...env });
  const fake = fakeFactory(script);
  daemon = await startDaemon(config, fake.factory);
  return { url: daemon.url, fake };
}

const R1_SCRIPT: Script = { thinkingOpen: true, pieces: ['Let me', ' think.', '</th', 'ink>\n\n', 'Hello', ' world'] };

async function ndjsonLines(res: Response): Promise<Record<string, any>[]> {
  const text = await res.text();
  expect(text.endsWith('\n')).toBe(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('POST /api/chat', () => {
  it('streams NDJSON with thinking apart from content and a final done line with integer metrics', async () => {
    const { url } = await start(() => R1_SCRIPT);
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'r1-test', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = await ndjsonLines(res);
    const thinking = lines.map((l) => l.message.thinking ?? '').join('');
    const content = lines.map((l) => l.message.content).join('');
    expect(thinking).toBe('Let me think.');
    expect(content).toBe('Hello world');
    for (const l of lines.slice(0, -1)) {
      expect(l.done).toBe(false);
      expect(l.model).toBe('r1-test');
      expect(l.message.role).toBe('assistant');
      expect(typeof l.message.content).toBe('string');
      expect(l.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
    const last = lines.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.done_reason).toBe('stop');
    for (const k of ['total_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_count', 'eval_duration']) {
      expect(Number.isInteger(last[k]), k).toBe(true);
      expect(last[k]).toBeGreaterThan(0);
    }
  });

  it('stream:false joins the text into one JSON object', async () => {
    const { url } = await start(() => R1_SCRIPT);
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'r1-test', stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(body.message).toEqual({ role: 'assistant', content: 'Hello world', thinking: 'Let me think.' });
    expect(body.done).toBe(true);
    expect(body.eval_count).toBe(6);
  });

  it('think:false leaves the raw text in content', async () => {
    const { url, fake } = await start(() => ({ thinkingOpen: false, pieces: ['<think>x</think>', 'y'] }));
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'r1-test', stream: false, think: false, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = await res.json();
    expect(body.message.content).toBe('<think>x</think>y');
    expect(body.message.thinking).toBeUndefined();
    const prompt = fake.runners[0]!.requests[0]!.prompt;
    expect(prompt.kind === 'chat' && prompt.enableThinking).toBe(false);
  });

  it('passes merged options to the engine: request options override defaults, unknown and null ones are ignored', async () => {
    const { url, fake } = await start(() => R1_SCRIPT);
    await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'R1-TEST:latest',
        stream: false,
        messages: [{ role: 'USER', content: 'hi' }],
        options: { temperature: 0.1, seed: 7, num_predict: 5, stop: ['x'], tfs_z: 1, top_k: null },
      }),
    });
    const req = fake.runners[0]!.requests[0]!;
    expect(req.sampling.temperature).toBe(0.1);
    expect(req.sampling.seed).toBe(7);
    expect(req.sampling.topK).toBe(40);
    expect(req.numPredict).toBe(5);
    expect(req.stop).toEqual(['x']);
    expect(req.prompt.kind === 'chat' && req.prompt.messages[0]!.role).toBe('user');
  });

  it('answers errors before the stream with real statuses and Ollama texts', async () => {
    const { url } = await start(() => R1_SCRIPT);
    const post = (body: string) => fetch(`${url}/api/chat`, { method: 'POST', body });
    let res = await post(JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "model 'nope' not found" });
    res = await post(JSON.stringify({ messages: [] }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'model is required' });
    res = await post('');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'missing request body' });
    res = await post('{"model": ');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    res = await post(JSON.stringify({ model: 'r1-test', think: 'maybe', messages: [] }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('invalid think value: "maybe" (must be "high", "medium", "low", "max", true, or false)');
    res = await post(JSON.stringify({ model: 'r1-test', options: { num_ctx: 'big' }, messages: [{ role: 'user', content: 'hi' }] }));
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe('option "num_ctx" must be of type integer');
  });

  it('ends a stream broken by a runner crash with one error line, and the next request starts a fresh runner', async () => {
    let calls = 0;
    const { url, fake } = await start(() => (calls++ === 0 ? { ...R1_SCRIPT, crashAfter: 2 } : R1_SCRIPT));
    const chat = () =>
      fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'r1-test', messages: [{ role: 'user', content: 'hi' }] }) });
    const lines = await ndjsonLines(await chat());
    expect(lines.at(-1)).toEqual({ error: 'model runner stopped unexpectedly (signal SIGKILL)' });
    const second = await ndjsonLines(await chat());
    expect(second.at(-1)!.done).toBe(true);
    expect(fake.runners).toHaveLength(2);
  });

  it('aborts the generation when the client disconnects', async () => {
    const { url, fake } = await start(() => ({ thinkingOpen: false, pieces: Array(200).fill('x'), delayMs: 10 }));
    const controller = new AbortController();
    const res = await fetch(`${url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'r1-test', messages: [{ role: 'user', content: 'hi' }] }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => fake.runners[0]!.cancelled, { timeout: 2000 }).toBe(1);
  });

  it('loads with empty messages and unloads with keep_alive 0', async () => {
    const { url, fake } = await start(() => R1_SCRIPT);
    let res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'r1-test' }) });
    expect(await res.json()).toMatchObject({ done: true, done_reason: 'load', message: { role: 'assistant', content: '' } });
    expect(fake.runners[0]!.alive).toBe(true);
    res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'r1-test', messages: [], keep_alive: 0 }) });
    expect(await res.json()).toMatchObject({ done: true, done_reason: 'unload' });
    expect(fake.runners[0]!.alive).toBe(false);
  });
});

describe('basic routes', () => {
  it('answers /, /api/version, /api/tags, 404 and 405 as Ollama does', async () => {
    const { url } = await start(() => R1_SCRIPT);
    let res = await fetch(`${url}/`);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('Ollama is running');
    res = await fetch(`${url}/`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    res = await fetch(`${url}/api/version`);
    expect((await res.json()).version).toMatch(/^\d+\.\d+\.\d+$/);
    res = await fetch(`${url}/api/tags`, { headers: { 'content-type': 'application/json' } });
    const tags = await res.json();
    expect(tags.models).toHaveLength(1);
    const m = tags.models[0];
    expect(m.name).toBe('r1-test:latest');
    expect(m.model).toBe('r1-test:latest');
    expect(m.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(m.details).toMatchObject({ format: 'gguf', family: 'deepseek2', parameter_size: '671B', quantization_level: 'Q4_K_M' });
    res = await fetch(`${url}/api/nothing`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found');
    res = await fetch(`${url}/api/chat`);
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('405 method not allowed');
  });
});
