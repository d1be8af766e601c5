// The OpenAI-compatible routes (reference §5, OA1–OA10) against a scripted runner, over raw HTTP:
// the exact SSE framing, the wire shapes, what a request becomes for the engine (the same service
// as /api/chat and /api/generate), the OpenAI error shape, and the optional bearer key.
import { promises as fs } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import type { RunnerFactory } from '../../src/engine/runner.js';
import type { GenerateParams } from '../../src/engine/types.js';
import { startDaemon, type Daemon } from '../../src/server/daemon.js';
import type { ModelStore } from '../../src/store/store.js';
import { fakeFactory, fakeVector, type Script } from '../helpers/fake-runner.js';
import { storeWithModel, tempDir } from '../helpers/store.js';

const R1: Script = { thinkingOpen: true, pieces: ['Let me', ' think.', '</think>\n\n', 'Hello', ' world'] };

let daemon: Daemon;
const requests: GenerateParams[] = [];
let nextScript: Script | undefined;
let slowLoads = 0;
let slowFile = '';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function addModel(store: ModelStore, file: string, name: string, capabilities: string[], extra: object = {}) {
  const stat = await fs.stat(file);
  await store.create(name, {
    modelFiles: [{ path: file, size: stat.size, mtimeMs: stat.mtimeMs }],
    config: { model_format: 'gguf', model_family: 'llama', model_families: ['llama'], model_type: '1B', file_type: 'Q4_K_M', capabilities },
    ...extra,
  });
}

beforeAll(async () => {
  const { root, store, file } = await storeWithModel('r1-test', ['completion', 'tools', 'thinking']);
  await addModel(store, file, 'plain', ['completion']);
  await addModel(store, file, 'user/model:tag', ['completion']);
  await addModel(store, file, 'slow', ['completion'], { system: 'a model of its own (digest)' });
  slowFile = file;
  const f = fakeFactory(() => {
    const s = nextScript ?? R1;
    nextScript = undefined;
    return s;
  });
  const factory: RunnerFactory = async (p, o) => {
    if (slowLoads > 0 && p.modelPath === slowFile) {
      slowLoads--;
      await sleep(300);
    }
    const runner = await f.factory(p, o);
    const generate = runner.generate.bind(runner);
    runner.generate = (params, signal) => {
      requests.push(params);
      return generate(params, signal);
    };
    return runner;
  };
  const config = readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: `${root}/models`, HOME: root, OLLAMA_MAX_QUEUE: '1' });
  daemon = await startDaemon(config, factory);
});

afterAll(async () => {
  await daemon?.close();
});

const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${daemon.url}${route}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
const lastRequest = () => requests.at(-1)!;
const hi = [{ role: 'user', content: 'hi' }];

/** The SSE body as its events' data, checking the framing exactly: `data: <payload>\n\n` only. */
async function sse(res: Response): Promise<{ events: any[]; raw: string }> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const raw = await res.text();
  expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
  const blocks = raw.split('\n\n');
  expect(blocks.pop()).toBe('');
  for (const b of blocks) expect(b).toMatch(/^data: [^\n]+$/);
  expect(blocks.pop()).toBe('data: [DONE]');
  return { events: blocks.map((b) => JSON.parse(b.slice('data: '.length))), raw };
}

async function openaiError(res: Response): Promise<{ status: number; error: any }> {
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body = await res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error)).toEqual(['message', 'type', 'param', 'code']);
  return { status: res.status, error: body.error };
}

const invalid = (message: string) => ({ status: 400, error: { message, type: 'invalid_request_error', param: null, code: null } });

describe('POST /v1/chat/completions, stream:false (OA5)', () => {
  it('answers one chat.completion with content, reasoning apart, finish_reason and usage', async () => {
    const res = await post('/v1/chat/completions', { model: 'R1-test', messages: hi });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    expect(body.id).toMatch(/^chatcmpl-\d+$/);
    expect(Number.isInteger(body.created)).toBe(true);
    expect(Math.abs(body.created - Date.now() / 1000)).toBeLessThan(5);
    expect(body).toEqual({
      id: body.id,
      object: 'chat.completion',
      created: body.created,
      model: 'R1-test',
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello world', reasoning: 'Let me think.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it('finish_reason length; prompt_tokens count the cached prompt tokens, reported in prompt_tokens_details', async () => {
    nextScript = { thinkingOpen: false, pieces: ['a', 'b'], reason: 'length', promptTokens: 40, cachedTokens: 32 };
    const body = await (await post('/v1/chat/completions', { model: 'plain', messages: hi })).json();
    expect(body.choices[0]).toEqual({ index: 0, message: { role: 'assistant', content: 'ab' }, finish_reason: 'length' });
    expect(body.usage).toEqual({ prompt_tokens: 40, completion_tokens: 2, total_tokens: 42, prompt_tokens_details: { cached_tokens: 32 } });
    // The Ollama route's wire output is unchanged: prompt_eval_count leaves the cached tokens out.
    nextScript = { thinkingOpen: false, pieces: ['a'], promptTokens: 40, cachedTokens: 32 };
    const native = await (await post('/api/chat', { model: 'plain', messages: hi, stream: false })).json();
    expect(native.prompt_eval_count).toBe(8);
    expect(Object.keys(native)).not.toContain('cached_tokens');
  });
});

describe('POST /v1/chat/completions, stream:true (OA6)', () => {
  it('frames SSE exactly: role only first, reasoning and content in their own chunks, an empty-delta finish chunk, [DONE]', async () => {
    const { events } = await sse(await post('/v1/chat/completions', { model: 'r1-test', messages: hi, stream: true }));
    const id = events[0].id;
    expect(id).toMatch(/^chatcmpl-\d+$/);
    for (const e of events) {
      expect(Object.keys(e)).toEqual(['id', 'object', 'created', 'model', 'system_fingerprint', 'choices']);
      expect(e).toMatchObject({ id, object: 'chat.completion.chunk', created: events[0].created, model: 'r1-test', system_fingerprint: 'fp_ollama' });
      expect(e.choices).toHaveLength(1);
      expect(e.choices[0].index).toBe(0);
    }
    const deltas = events.map((e) => e.choices[0].delta);
    expect(deltas[0].role).toBe('assistant');
    expect(deltas.slice(1).every((d) => !('role' in d))).toBe(true);
    const body = deltas.slice(0, -1);
    for (const d of body) {
      // content is always there, "" in reasoning chunks; a chunk never holds both texts.
      expect(typeof d.content).toBe('string');
      expect(d.content !== '' && d.reasoning).toBeFalsy();
    }
    expect(body.map((d) => d.reasoning ?? '').join('')).toBe('Let me think.');
    expect(body.map((d) => d.content).join('')).toBe('Hello world');
    expect(events.slice(0, -1).every((e) => e.choices[0].finish_reason === null)).toBe(true);
    expect(events.at(-1).choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'stop' });
    expect(events.some((e) => 'usage' in e)).toBe(false);
  });

  it('stream_options.include_usage: a last chunk with choices [] and usage, before [DONE]', async () => {
    nextScript = { thinkingOpen: false, pieces: ['x', 'y', 'z'], promptTokens: 12, cachedTokens: 4 };
    const { events } = await sse(
      await post('/v1/chat/completions', { model: 'plain', messages: hi, stream: true, stream_options: { include_usage: true } }),
    );
    const last = events.at(-1);
    expect(last).toEqual({
      id: events[0].id,
      object: 'chat.completion.chunk',
      created: events[0].created,
      model: 'plain',
      system_fingerprint: 'fp_ollama',
      choices: [],
      usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
    });
    expect(events.at(-2).choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'stop' });
    expect(events[0].choices[0].delta).toEqual({ role: 'assistant', content: 'x' });
  });

  it('an empty answer still sends the role first', async () => {
    nextScript = { thinkingOpen: false, pieces: [] };
    const { events } = await sse(await post('/v1/chat/completions', { model: 'plain', messages: hi, stream: true }));
    expect(events.map((e) => e.choices[0])).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null },
      { index: 0, delta: {}, finish_reason: 'stop' },
    ]);
  });

  it('an error after the first chunk: one data: {"error":{...}} event, then [DONE]; the status stays 200', async () => {
    nextScript = { thinkingOpen: false, pieces: ['a', 'b', 'c'], crashAfter: 2 };
    const { events } = await sse(await post('/v1/chat/completions', { model: 'plain', messages: hi, stream: true }));
    expect(events.at(-1)).toEqual({
      error: { message: 'model runner stopped unexpectedly (signal SIGKILL)', type: 'api_error', param: null, code: null },
    });
    expect(events.slice(0, -1).map((e) => e.choices[0].delta.content).join('')).toBe('ab');
  });

  it('an error before the first chunk keeps its status and OpenAI shape (no SSE)', async () => {
    const res = await post('/v1/chat/completions', { model: 'missing', messages: hi, stream: true });
    expect(await openaiError(res)).toEqual({
      status: 404,
      error: { message: "model 'missing' not found", type: 'not_found_error', param: null, code: null },
    });
  });
});

describe('chat requests as the engine sees them (OA2, OA4)', () => {
  it('OpenAI defaults: temperature and top_p 1.0; max_tokens, seed, stop and penalties as options', async () => {
    await post('/v1/chat/completions', { model: 'plain', messages: hi });
    expect(lastRequest().sampling).toMatchObject({ temperature: 1, topP: 1 });
    expect(lastRequest().numPredict).toBe(-1);
    await post('/v1/chat/completions', {
      model: 'plain',
      messages: hi,
      max_tokens: 7,
      temperature: 0.2,
      top_p: 0.5,
      seed: 42,
      stop: 'END',
      frequency_penalty: 0.3,
      presence_penalty: 0.4,
      user: 'ignored',
      n: 1,
      logit_bias: {},
    });
    const r = lastRequest();
    expect(r.numPredict).toBe(7);
    expect(r.stop).toEqual(['END']);
    expect(r.sampling).toMatchObject({ temperature: 0.2, topP: 0.5, seed: 42, frequencyPenalty: 0.3, presencePenalty: 0.4 });
    await post('/v1/chat/completions', { model: 'plain', messages: hi, max_tokens: 7, max_completion_tokens: 9, stop: ['a', 'b'] });
    expect(lastRequest().numPredict).toBe(9);
    expect(lastRequest().stop).toEqual(['a', 'b']);
  });

  it('content as an array of text parts; developer is system; the assistant reasoning of earlier turns', async () => {
    await post('/v1/chat/completions', {
      model: 'plain',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'first' }, { type: 'text', text: 'second' }] },
        { role: 'assistant', content: 'ok', reasoning: 'hmm' },
        { role: 'user', content: 'again' },
      ],
    });
    expect(lastRequest().prompt).toMatchObject({
      kind: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first\nsecond' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'again' },
      ],
    });
  });

  it('response_format: json_object is format json, json_schema its schema, text nothing; others 400', async () => {
    await post('/v1/chat/completions', { model: 'plain', messages: hi, response_format: { type: 'json_object' } });
    expect(lastRequest().format).toEqual({ type: 'json' });
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    await post('/v1/chat/completions', { model: 'plain', messages: hi, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } });
    expect(lastRequest().format).toEqual({ type: 'schema', schema });
    await post('/v1/chat/completions', { model: 'plain', messages: hi, response_format: { type: 'text' } });
    expect(lastRequest().format).toBeUndefined();
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: hi, response_format: { type: 'yaml' } }))).toEqual(
      invalid('invalid response_format type: "yaml" (must be "text", "json_object" or "json_schema")'),
    );
  });

  it('reasoning_effort and reasoning.effort map to think (OA4); an unknown value is 400', async () => {
    const cases: [object, boolean, string | undefined][] = [
      [{}, true, undefined],
      [{ reasoning_effort: 'none' }, false, undefined],
      [{ reasoning_effort: 'minimal' }, true, 'low'],
      [{ reasoning_effort: 'high' }, true, 'high'],
      [{ reasoning_effort: 'xhigh' }, true, 'max'],
      [{ reasoning: { effort: 'medium' }, reasoning_effort: 'none' }, true, 'medium'],
    ];
    for (const [extra, thinking, level] of cases) {
      await post('/v1/chat/completions', { model: 'r1-test', messages: hi, ...extra });
      expect(lastRequest().thinking, JSON.stringify(extra)).toBe(thinking);
      expect((lastRequest().prompt as { thinkLevel?: string }).thinkLevel, JSON.stringify(extra)).toBe(level);
    }
    expect(await openaiError(await post('/v1/chat/completions', { model: 'r1-test', messages: hi, reasoning_effort: 'turbo' }))).toEqual(
      invalid('invalid reasoning value: "turbo" (must be "none", "minimal", "low", "medium", "high", "xhigh" or "max")'),
    );
    // A model without thinking: an effort is Ollama's 400, "none" is fine.
    expect((await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: hi, reasoning_effort: 'low' }))).error.message).toBe(
      '"plain" does not support thinking',
    );
    expect((await post('/v1/chat/completions', { model: 'plain', messages: hi, reasoning_effort: 'none' })).status).toBe(200);
  });
});

describe('tools (OA2, OA5, OA6)', () => {
  const tools = [
    { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  ];
  const calling: Script = { thinkingOpen: false, pieces: [], toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] };

  it('a tool call answer: arguments as a JSON string, id, index, type, finish_reason tool_calls', async () => {
    nextScript = calling;
    const body = await (await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools })).json();
    const msg = body.choices[0].message;
    expect(msg.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    expect(msg.content).toBe('');
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(lastRequest().prompt).toMatchObject({ tools });
  });

  it('streamed: tool_calls deltas with index, then the finish chunk with tool_calls', async () => {
    nextScript = { ...calling, toolCalls: [...calling.toolCalls!, { name: 'get_time', arguments: '{}' }] };
    const { events } = await sse(await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, stream: true }));
    const calls = events.flatMap((e) => e.choices[0].delta.tool_calls ?? []);
    expect(calls.map((c: any) => [c.index, c.type, c.function.name, c.function.arguments])).toEqual([
      [0, 'function', 'get_weather', '{"city":"Paris"}'],
      [1, 'function', 'get_time', '{}'],
    ]);
    expect(events[0].choices[0].delta.role).toBe('assistant');
    expect(events.at(-1).choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'tool_calls' });
  });

  it('incoming assistant tool_calls (string arguments) and tool results by tool_call_id reach the template', async () => {
    await post('/v1/chat/completions', {
      model: 'r1-test',
      tools,
      messages: [
        ...hi,
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 degrees' },
      ],
    });
    expect((lastRequest().prompt as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', id: 'call_1', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', content: '18 degrees', name: 'get_weather', tool_call_id: 'call_1' },
    ]);
    const bad = await post('/v1/chat/completions', {
      model: 'r1-test',
      messages: [...hi, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }],
    });
    expect(await openaiError(bad)).toEqual(invalid('messages[1].tool_calls[0]: "function.arguments" is not valid JSON'));
  });

  it('tool_choice: "none" sends no tools, a named function only that one, "auto"/"required" all; others 400', async () => {
    await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, tool_choice: 'none' });
    expect((lastRequest().prompt as { tools?: unknown }).tools).toBeUndefined();
    await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, tool_choice: { type: 'function', function: { name: 'get_time' } } });
    expect((lastRequest().prompt as { tools?: unknown }).tools).toEqual([tools[1]]);
    for (const choice of ['auto', 'required']) {
      await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, tool_choice: choice });
      expect((lastRequest().prompt as { tools?: unknown }).tools).toEqual(tools);
    }
    expect((await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, tool_choice: 'sometimes' })).status).toBe(400);
    expect(
      await openaiError(await post('/v1/chat/completions', { model: 'r1-test', messages: hi, tools, tool_choice: { type: 'function', function: { name: 'nope' } } })),
    ).toEqual(invalid('tool_choice names the function "nope", which is not in tools'));
  });

  it('tools on a model without the capability: 400 with the full name', async () => {
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: hi, tools }))).toEqual(
      invalid('registry.ollama.ai/library/plain:latest does not support tools'),
    );
  });
});

describe('errors in OpenAI shape (OA1, OA3)', () => {
  it('messages [] or absent: 400 [] is too short', async () => {
    for (const body of [{ model: 'plain', messages: [] }, { model: 'plain' }]) {
      expect(await openaiError(await post('/v1/chat/completions', body))).toEqual(invalid("[] is too short - 'messages'"));
    }
  });

  it('images: http(s) URLs 400 with Ollama text; base64 data on a text model 400; malformed parts 400', async () => {
    const withImage = (url: unknown) => [{ role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: url }] }];
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: withImage({ url: 'https://x.test/cat.png' }) }))).toEqual(
      invalid('image URLs are not currently supported, please use base64 encoded data instead'),
    );
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const vision = await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: withImage(png) }));
    expect(vision.status).toBe(400);
    expect(vision.error.message).toMatch(/^registry\.ollama\.ai\/library\/plain:latest does not support vision/);
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: withImage('data:text/plain;base64,aGk=') }))).toEqual(
      invalid('invalid image input'),
    );
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: [{ role: 'user', content: [{ type: 'video' }] }] }))).toEqual(
      invalid('invalid message format'),
    );
  });

  it('wrong JSON types: 400 with Go json text; empty body and bad JSON: 400', async () => {
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: hi, temperature: 'hot' }))).toEqual(
      invalid('json: cannot unmarshal string into Go struct field ChatCompletionRequest.temperature of type float64'),
    );
    expect(await openaiError(await post('/v1/chat/completions', { model: 'plain', messages: hi, stream: 'yes' }))).toEqual(
      invalid('json: cannot unmarshal string into Go struct field ChatCompletionRequest.stream of type bool'),
    );
    expect(await openaiError(await post('/v1/chat/completions', ''))).toEqual(invalid('missing request body'));
    expect((await openaiError(await post('/v1/chat/completions', '{"model":'))).status).toBe(400);
  });

  it('unknown model 404 not_found_error; missing model 400; unknown /v1 route 404 and wrong method 405 as JSON', async () => {
    expect(await openaiError(await post('/v1/completions', { model: 'ghost', prompt: 'x' }))).toEqual({
      status: 404,
      error: { message: "model 'ghost' not found", type: 'not_found_error', param: null, code: null },
    });
    expect(await openaiError(await post('/v1/chat/completions', { messages: hi }))).toEqual(invalid('model is required'));
    expect(await openaiError(await fetch(`${daemon.url}/v1/nothing`))).toEqual({
      status: 404,
      error: { message: '404 page not found', type: 'not_found_error', param: null, code: null },
    });
    expect(await openaiError(await fetch(`${daemon.url}/v1/chat/completions`))).toEqual({
      status: 405,
      error: { message: '405 method not allowed', type: 'api_error', param: null, code: null },
    });
    // The native API keeps its shapes.
    expect(await (await fetch(`${daemon.url}/api/nothing`)).text()).toBe('404 page not found');
  });

  it('queue full: 503 api_error', async () => {
    slowLoads = 1;
    const [a, b] = await Promise.all([
      post('/v1/chat/completions', { model: 'slow', messages: hi }),
      (async () => {
        await sleep(50);
        return post('/v1/chat/completions', { model: 'slow', messages: hi });
      })(),
    ]);
    expect(a.status).toBe(200);
    expect(await openaiError(b)).toEqual({
      status: 503,
      error: { message: 'server busy, please try again.  maximum pending requests exceeded', type: 'api_error', param: null, code: null },
    });
  });
});

describe('POST /v1/completions (OA7)', () => {
  it('stream:false: a text_completion with the answer (no reasoning), finish_reason and usage', async () => {
    const body = await (await post('/v1/completions', { model: 'r1-test', prompt: 'Say hi', max_tokens: 5, top_p: 0 })).json();
    expect(body).toEqual({
      id: expect.stringMatching(/^cmpl-\d+$/),
      object: 'text_completion',
      created: expect.any(Number),
      model: 'r1-test',
      system_fingerprint: 'fp_ollama',
      choices: [{ text: 'Hello world', index: 0, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 } },
    });
    const r = lastRequest();
    expect(r.prompt).toMatchObject({ kind: 'chat', messages: [{ role: 'user', content: 'Say hi' }] });
    expect(r.numPredict).toBe(5);
    expect(r.sampling).toMatchObject({ temperature: 1, topP: 1 });
  });

  it('stream:true: text chunks, a finish chunk, with include_usage a zero usage on each and the real one last', async () => {
    nextScript = { thinkingOpen: false, pieces: ['one', ' two'] };
    const plain = await sse(await post('/v1/completions', { model: 'plain', prompt: 'x', stream: true }));
    expect(plain.events.map((e) => e.choices[0])).toEqual([
      { text: 'one', index: 0, finish_reason: null },
      { text: ' two', index: 0, finish_reason: null },
      { text: '', index: 0, finish_reason: 'stop' },
    ]);
    for (const e of plain.events) {
      expect(Object.keys(e)).toEqual(['id', 'object', 'created', 'model', 'system_fingerprint', 'choices']);
      expect(e).toMatchObject({ id: plain.events[0].id, object: 'text_completion', created: plain.events[0].created });
    }
    nextScript = { thinkingOpen: false, pieces: ['one', ' two'], reason: 'length' };
    const { events } = await sse(await post('/v1/completions', { model: 'plain', prompt: 'x', stream: true, stream_options: { include_usage: true } }));
    const zero = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    expect(events.slice(0, -1).every((e) => JSON.stringify(e.usage) === JSON.stringify(zero))).toBe(true);
    expect(events.at(-2).choices[0].finish_reason).toBe('length');
    expect(events.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } });
  });

  it('prompt must be one string; suffix needs the insert capability', async () => {
    expect(await openaiError(await post('/v1/completions', { model: 'plain', prompt: ['a', 'b'] }))).toEqual(
      invalid('invalid prompt: moed takes one prompt string per request'),
    );
    expect(await openaiError(await post('/v1/completions', { model: 'plain', prompt: 3 }))).toEqual(
      invalid('json: cannot unmarshal number into Go struct field CompletionRequest.prompt of type string'),
    );
    expect((await post('/v1/completions', { model: 'plain', prompt: ['only'] })).status).toBe(200);
    expect(await openaiError(await post('/v1/completions', { model: 'plain', prompt: 'x', suffix: 'y' }))).toEqual(
      invalid('registry.ollama.ai/library/plain:latest does not support insert'),
    );
  });
});

describe('GET /v1/models and /v1/models/:model (OA8, OA9)', () => {
  it('lists every model with created from modified_at and owned_by from the namespace', async () => {
    const res = await fetch(`${daemon.url}/v1/models`);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await res.json();
    const tags = (await (await fetch(`${daemon.url}/api/tags`)).json()).models as { name: string; modified_at: string }[];
    expect(body).toEqual({
      object: 'list',
      data: tags.map((t) => ({ id: t.name, object: 'model', created: Math.floor(Date.parse(t.modified_at) / 1000), owned_by: t.name.startsWith('user/') ? 'user' : 'library' })),
    });
    expect(body.data.map((m: { id: string }) => m.id)).toContain('user/model:tag');
  });

  it('retrieves one model by any spelling of its name (":" and "/" included); unknown is 404 in OpenAI shape', async () => {
    const one = await (await fetch(`${daemon.url}/v1/models/user/model:tag`)).json();
    expect(one).toEqual({ id: 'user/model:tag', object: 'model', created: expect.any(Number), owned_by: 'user' });
    expect(await (await fetch(`${daemon.url}/v1/models/plain`)).json()).toMatchObject({ id: 'plain', owned_by: 'library' });
    expect((await fetch(`${daemon.url}/v1/models/${encodeURIComponent('user/model:tag')}`)).status).toBe(200);
    expect(await openaiError(await fetch(`${daemon.url}/v1/models/nope:7b`))).toEqual({
      status: 404,
      error: { message: "model 'nope:7b' not found", type: 'not_found_error', param: null, code: null },
    });
  });

  it('an empty store lists data: [] (not null)', async () => {
    const root = await tempDir();
    const empty = await startDaemon(readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: `${root}/models`, HOME: root }), fakeFactory(() => R1).factory);
    try {
      expect(await (await fetch(`${empty.url}/v1/models`)).json()).toEqual({ object: 'list', data: [] });
    } finally {
      await empty.close();
    }
  });
});

describe('POST /v1/embeddings (OA10)', () => {
  const normalized = (text: string) => {
    const v = Array.from(fakeVector(text));
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / n);
  };

  it('floats by default, base64 of little-endian float32 on request; usage; dimensions cut', async () => {
    const res = await post('/v1/embeddings', { model: 'plain', input: ['ab', 'abcd'] });
    const body = await res.json();
    expect(body).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', embedding: normalized('ab'), index: 0 },
        { object: 'embedding', embedding: normalized('abcd'), index: 1 },
      ],
      model: 'plain',
      usage: { prompt_tokens: 6, total_tokens: 6 },
    });
    const b64 = await (await post('/v1/embeddings', { model: 'plain', input: 'ab', encoding_format: 'base64' })).json();
    const bytes = Buffer.from(b64.data[0].embedding, 'base64');
    expect(bytes.length).toBe(8 * 4);
    const decoded = Array.from({ length: 8 }, (_, i) => bytes.readFloatLE(i * 4));
    expect(decoded).toEqual(normalized('ab').map(Math.fround));
    const cut = await (await post('/v1/embeddings', { model: 'plain', input: 'ab', dimensions: 3 })).json();
    expect(cut.data[0].embedding).toHaveLength(3);
  });

  it('input "" is one empty input; [] or null is 400 invalid input; an unknown encoding is 400', async () => {
    const empty = await (await post('/v1/embeddings', { model: 'plain', input: '' })).json();
    expect(empty.data).toHaveLength(1);
    for (const input of [[], null]) {
      expect(await openaiError(await post('/v1/embeddings', { model: 'plain', input }))).toEqual(invalid('invalid input'));
    }
    expect(await openaiError(await post('/v1/embeddings', { model: 'plain', input: 'x', encoding_format: 'hex' }))).toEqual(
      invalid("Invalid value for 'encoding_format' = hex. Supported values: ['float', 'base64']."),
    );
    expect((await openaiError(await post('/v1/embeddings', { model: 'ghost', input: 'x' }))).status).toBe(404);
  });
});

describe('MOED_API_KEY (bearer key)', () => {
  it('when set: 401 without or with a wrong key, in each family\'s error shape; 200 with it; / stays open', async () => {
    const root = await tempDir();
    const config = readDaemonConfig({ OLLAMA_HOST: '127.0.0.1:0', OLLAMA_MODELS: `${root}/models`, HOME: root, MOED_API_KEY: 'sesame' });
    expect(config.apiKey).toBe('sesame');
    const locked = await startDaemon(config, fakeFactory(() => R1).factory);
    try {
      const get = (route: string, auth?: string) => fetch(`${locked.url}${route}`, { headers: auth ? { Authorization: auth } : {} });
      const none = await get('/v1/models');
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(await openaiError(none)).toEqual({
        status: 401,
        error: { message: 'missing API key: send "Authorization: Bearer <key>" (the server has MOED_API_KEY set)', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
      expect(await openaiError(await get('/v1/models', 'Bearer open'))).toEqual({
        status: 401,
        error: { message: 'invalid API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
      const native = await get('/api/tags', 'Bearer sesam');
      expect(native.status).toBe(401);
      expect(await native.json()).toEqual({ error: 'invalid API key' });
      expect((await get('/v1/models', 'Bearer sesame')).status).toBe(200);
      expect((await get('/api/tags', 'bearer sesame')).status).toBe(200);
      expect((await get('/api/version', 'Basic c2VzYW1l')).status).toBe(401);
      const root = await get('/');
      expect(root.status).toBe(200);
      expect(await root.text()).toBe('Ollama is running');
      expect((await fetch(`${locked.url}/`, { method: 'HEAD' })).status).toBe(200);
      // A CORS preflight carries no credentials and is answered before the key is checked.
      const preflight = await fetch(`${locked.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.status).toBe(204);
    } finally {
      await locked.close();
    }
  });

  it('when unset: any Authorization header is accepted (G17)', async () => {
    for (const auth of ['Bearer ', 'Bearer sk-anything', 'Basic Zm9vOmJhcg==']) {
      expect((await fetch(`${daemon.url}/v1/models`, { headers: { Authorization: auth } })).status).toBe(200);
      expect((await post('/v1/chat/completions', { model: 'plain', messages: hi }, { Authorization: auth })).status).toBe(200);
    }
  });
});
