// The OpenAI-compatible routes driven by the official `openai` npm package, pointed at the daemon
// as any user would (`new OpenAI({ baseURL: `${url}/v1` })`). The real runner with the tiny forged
// DeepSeek-R1-shaped model answers what random weights can show (streaming, usage and cached
// tokens, grammar-constrained JSON, embeddings, completions, tool-call history in the template);
// a scripted runner forces what they cannot (a tool call to answer, a crash mid-stream).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import type { GenerateParams } from '../../src/engine/types.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import { fakeFactory, type Script } from '../helpers/fake-runner.js';
import { storeWithModel, tempDir } from '../helpers/store.js';

let dir: string;
let real: Daemon;
let fake: Daemon;
let locked: Daemon;
let client: OpenAI;
let scripted: OpenAI;
let nextScript: Script | undefined;
const requests: GenerateParams[] = [];

const DEFAULT_SCRIPT: Script = { thinkingOpen: false, pieces: ['It is', ' 18 degrees.'] };
const hi: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

beforeAll(async () => {
  dir = await tempDir('moed-openai-');
  const gguf = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: gguf, preset: 'tiny', seed: 3 });
  const env = (models: string, extra: Record<string, string> = {}) =>
    readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: models, HOME: dir, OLLAMA_CONTEXT_LENGTH: '1024', OLLAMA_NUM_PARALLEL: '2', ...extra });
  real = await startDaemon(env(path.join(dir, 'models')));
  const created = await fetch(`${real.url}/api/create`, { method: 'POST', body: JSON.stringify({ model: 'r1', from: gguf, stream: false }) });
  expect(await created.json()).toEqual({ status: 'success' });

  const { root } = await storeWithModel('scripted', ['completion', 'tools', 'thinking']);
  const f = fakeFactory(() => {
    const s = nextScript ?? DEFAULT_SCRIPT;
    nextScript = undefined;
    return s;
  });
  fake = await startDaemon(env(path.join(root, 'models')), async (p, o) => {
    const runner = await f.factory(p, o);
    const generate = runner.generate.bind(runner);
    runner.generate = (params, signal) => {
      requests.push(params);
      return generate(params, signal);
    };
    return runner;
  });
  locked = await startDaemon(env(path.join(root, 'models'), { MOED_API_KEY: 'sk-moed-test' }), f.factory);
  client = new OpenAI({ baseURL: `${real.url}/v1`, apiKey: 'x', maxRetries: 0 });
  scripted = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await real?.close();
  await fake?.close();
  await locked?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('models', () => {
  it('lists and retrieves models; an unknown one is a NotFoundError', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['r1:latest']);
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'library' });
    const one = await client.models.retrieve('r1');
    expect(one).toEqual({ id: 'r1', object: 'model', created: page.data[0]!.created, owned_by: 'library' });
    const err = await client.models.retrieve('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err).toMatchObject({ status: 404, type: 'not_found_error' });
  });
});

describe('chat completions with the real runner', () => {
  it('stream:false answers a chat.completion with reasoning apart and usage', async () => {
    const res = await client.chat.completions.create({ model: 'r1', messages: hi, max_tokens: 12, seed: 1 });
    expect(res.object).toBe('chat.completion');
    expect(res.id).toMatch(/^chatcmpl-\d+$/);
    const choice = res.choices[0]!;
    expect(choice.message.role).toBe('assistant');
    expect(typeof choice.message.content).toBe('string');
    // R1's prompt opens <think>: the random text is reasoning unless a </think> was sampled.
    expect((choice.message as unknown as { reasoning?: string }).reasoning?.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(choice.finish_reason);
    const usage = res.usage!;
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(12);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('stream:true: role only in the first chunk, a finish chunk, the usage chunk with include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'r1',
      messages: hi,
      max_tokens: 10,
      seed: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(3);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.slice(1).every((c) => c.choices.every((ch) => ch.delta.role === undefined))).toBe(true);
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage!.completion_tokens).toBeGreaterThan(0);
    const finish = chunks.at(-2)!.choices[0]!;
    expect(finish.delta).toEqual({});
    expect(['stop', 'length']).toContain(finish.finish_reason);
    const text = chunks.slice(0, -2).map((c) => {
      const d = c.choices[0]!.delta as { content?: string; reasoning?: string };
      return (d.reasoning ?? '') + (d.content ?? '');
    });
    expect(text.join('').length).toBeGreaterThan(0);
  });

  it('a repeated prompt reports its prompt tokens as cached (prompt_tokens_details.cached_tokens)', async () => {
    const ask = () => client.chat.completions.create({ model: 'r1', messages: [{ role: 'user', content: 'What is two plus two?' }], max_tokens: 1, temperature: 0 });
    const first = await ask();
    const second = await ask();
    expect(second.usage!.prompt_tokens).toBe(first.usage!.prompt_tokens);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeGreaterThan(0);
    expect(second.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(second.usage!.prompt_tokens);
  });

  it('response_format json_schema: the grammar-constrained answer parses and has the required keys', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, n: { type: 'integer' } }, required: ['name', 'n'] };
    const res = await client.chat.completions.create({
      model: 'r1',
      messages: [{ role: 'user', content: 'Give me a name and a number.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } },
      reasoning_effort: 'none',
      max_tokens: 80,
      seed: 2,
    });
    const parsed = JSON.parse(res.choices[0]!.message.content!);
    expect(Object.keys(parsed).sort()).toEqual(['n', 'name']);
    expect(typeof parsed.name).toBe('string');
    expect(Number.isInteger(parsed.n)).toBe(true);
  });

  it('a conversation with an assistant tool call and its result renders and gets an answer', async () => {
    const res = await client.chat.completions.create({
      model: 'r1',
      tools: [weatherTool],
      reasoning_effort: 'none',
      max_tokens: 6,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 degrees' },
      ],
    });
    expect(res.choices[0]!.message.role).toBe('assistant');
    expect(res.usage!.prompt_tokens).toBeGreaterThan(20);
  });

  it('errors: unknown model NotFoundError 404, messages [] BadRequestError 400, invalid effort 400', async () => {
    const missing = await client.chat.completions.create({ model: 'ghost', messages: hi }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
    expect(missing).toMatchObject({ status: 404, type: 'not_found_error', message: "404 model 'ghost' not found" });
    const empty = await client.chat.completions.create({ model: 'r1', messages: [] }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    expect(empty).toMatchObject({ status: 400, type: 'invalid_request_error', message: "400 [] is too short - 'messages'" });
    const effort = await client.chat.completions
      .create({ model: 'r1', messages: hi, reasoning_effort: 'turbo' as never })
      .catch((e: unknown) => e);
    expect(effort).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect((effort as Error).message).toMatch(/^400 invalid reasoning value: "turbo"/);
  });
});

describe('tool calls with a scripted model', () => {
  it('round trip: tool_calls with string arguments, the message sent back with a tool result, then the answer', async () => {
    nextScript = { thinkingOpen: false, pieces: [], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await scripted.chat.completions.create({ model: 'scripted', messages, tools: [weatherTool] });
    expect(first.choices[0]!.finish_reason).toBe('tool_calls');
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_/);
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' });

    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '18 degrees' });
    const second = await scripted.chat.completions.create({ model: 'scripted', messages, tools: [weatherTool] });
    expect(second.choices[0]!.message.content).toBe('It is 18 degrees.');
    expect(second.choices[0]!.finish_reason).toBe('stop');
    expect((requests.at(-1)!.prompt as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', id: call.id, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', content: '18 degrees', name: 'get_weather', tool_call_id: call.id },
    ]);
  });

  it("streamed tool calls accumulate in the SDK's stream helper", async () => {
    nextScript = {
      thinkingOpen: false,
      pieces: ['Checking.'],
      toolCalls: [
        { name: 'get_weather', arguments: '{"city":"Paris"}' },
        { name: 'get_weather', arguments: '{"city":"Rome"}' },
      ],
    };
    const runner = scripted.chat.completions.stream({ model: 'scripted', messages: hi, tools: [weatherTool] });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Checking.');
    expect(choice.message.tool_calls!.map((c) => (c as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments)).toEqual([
      '{"city":"Paris"}',
      '{"city":"Rome"}',
    ]);
  });

  it('an error after streaming began is raised by the SDK as an APIError with the message', async () => {
    nextScript = { thinkingOpen: false, pieces: ['a', 'b', 'c'], crashAfter: 1 };
    const stream = await scripted.chat.completions.create({ model: 'scripted', messages: hi, stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(seen.join('')).toBe('a');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toBe('model runner stopped unexpectedly (signal SIGKILL)');
    expect(err).toMatchObject({ type: 'api_error' });
  });
});

describe('completions with the real runner', () => {
  it('stream:false and stream:true', async () => {
    const one = await client.completions.create({ model: 'r1', prompt: 'Once upon a time', max_tokens: 8, seed: 4 });
    expect(one.object).toBe('text_completion');
    expect(one.id).toMatch(/^cmpl-\d+$/);
    expect(typeof one.choices[0]!.text).toBe('string');
    expect(['stop', 'length']).toContain(one.choices[0]!.finish_reason);
    expect(one.usage!.completion_tokens).toBeGreaterThan(0);

    const stream = await client.completions.create({ model: 'r1', prompt: 'Once upon a time', max_tokens: 8, seed: 4, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Completion[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.every((c) => c.object === 'text_completion' && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBe(one.usage!.completion_tokens);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe(one.choices[0]!.finish_reason);
    // Same seed, same answer.
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe(one.choices[0]!.text);
  });
});

describe('embeddings with the real runner', () => {
  it('floats and base64 (the SDK default, decoded by it) give the same numbers; dimensions cut and normalize', async () => {
    const floats = await client.embeddings.create({ model: 'r1', input: ['hello', 'world'], encoding_format: 'float' });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    const decoded = await client.embeddings.create({ model: 'r1', input: ['hello', 'world'] });
    for (let i = 0; i < 2; i++) {
      const f = floats.data[i]!.embedding;
      expect(f.length).toBeGreaterThan(8);
      expect(Array.from(decoded.data[i]!.embedding)).toEqual(f.map(Math.fround));
    }
    const cut = await client.embeddings.create({ model: 'r1', input: 'hello', dimensions: 4, encoding_format: 'float' });
    const v = cut.data[0]!.embedding;
    expect(v).toHaveLength(4);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
  });
});

describe('MOED_API_KEY with the SDK', () => {
  it('a wrong key is an AuthenticationError; the right one works', async () => {
    const wrong = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const err = await wrong.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(err).toMatchObject({ status: 401, code: 'invalid_api_key' });
    const right = new OpenAI({ baseURL: `${locked.url}/v1`, apiKey: 'sk-moed-test', maxRetries: 0 });
    expect((await right.models.list()).data.map((m) => m.id)).toEqual(['scripted:latest']);
    const answer = await right.chat.completions.create({ model: 'scripted', messages: hi });
    expect(answer.choices[0]!.message.content).toBe('It is 18 degrees.');
  });
});
