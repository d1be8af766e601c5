// The runner's inference features on the tiny forged model: prompt rendering (thinking on/off,
// history without reasoning, tool results, think levels), truncation, tool-call parsing with
// llama-common's parser on scripted text and on real output, JSON formats (also after thinking),
// returned context, and embeddings. The first part drives the runner's modules in this process;
// the second the runner child process.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBinding, type Binding, type Context, type Model } from '../../src/binding/index.js';
import { RunnerProcess } from '../../src/engine/runner-process.js';
import type { ChatMessage, GenerateEvent, GenerateParams, SamplingParams } from '../../src/engine/types.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { Batcher } from '../../src/runner/batcher.js';
import { formatGrammar } from '../../src/runner/grammar.js';
import { OutputShaper } from '../../src/runner/output.js';
import { CONTEXT_EXCEEDED, preparePrompt } from '../../src/runner/render.js';
import { samplerParams } from '../../src/runner/sampling.js';
import { tempDir } from '../helpers/store.js';

const LIMIT = 1024;
let dir: string;
let modelPath: string;
let binding: Binding;
let model: Model;
let ctx: Context;
let runner: RunnerProcess;

const sampling = (over: Partial<SamplingParams> = {}): SamplingParams => ({
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  minP: 0,
  typicalP: 1,
  repeatLastN: 64,
  repeatPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  seed: 1,
  mirostat: 0,
  mirostatTau: 5,
  mirostatEta: 0.1,
  ...over,
});

function chatParams(messages: ChatMessage[], over: Partial<GenerateParams> = {}): GenerateParams {
  return {
    prompt: { kind: 'chat', messages, enableThinking: over.thinking ?? true },
    sampling: sampling(),
    numPredict: 16,
    stop: [],
    thinking: true,
    ...over,
  };
}

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather of a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

const CALL = (name: string, args: string) =>
  `<｜tool▁call▁begin｜>function<｜tool▁sep｜>${name}\n\`\`\`json\n${args}\n\`\`\`<｜tool▁call▁end｜>`;

/** The rendered prompt as text. */
const promptText = (params: GenerateParams, template?: string) =>
  model.detokenize(preparePrompt(model, params, LIMIT, template).tokens, false, true);

async function collect(events: AsyncIterable<GenerateEvent>) {
  const all: GenerateEvent[] = [];
  for await (const e of events) all.push(e);
  const of = (t: 'text' | 'thinking') => all.map((e) => (e.type === t ? e.text : '')).join('');
  return {
    all,
    text: of('text'),
    thinking: of('thinking'),
    calls: all.filter((e) => e.type === 'tool_call'),
    start: all[0] as Extract<GenerateEvent, { type: 'start' }>,
    done: all.at(-1) as Extract<GenerateEvent, { type: 'done' }>,
  };
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  dir = await tempDir();
  modelPath = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: modelPath, preset: 'tiny', seed: 3 });
  binding = loadBinding();
  binding.setLogger(() => {});
  model = await binding.loadModel({ path: modelPath, devices: [] });
  ctx = await model.createContext({ nCtx: LIMIT, nBatch: 512, nUbatch: 512, nSeqMax: 1, nThreads: 2 });
  runner = await RunnerProcess.start(
    { modelPath, numCtx: LIMIT, numParallel: 2, numBatch: 512, numUbatch: 512, numThreads: 2, gpuLayers: 0 },
    { loadTimeoutMs: 60_000 },
  );
});

afterAll(async () => {
  await runner?.close();
  ctx?.dispose();
  model?.dispose();
  binding?.setLogger(null);
  await fs.rm(dir, { recursive: true, force: true });
});

describe('prompt rendering (forged R1 template through llama-common)', () => {
  it('opens the thinking block with thinking on, and prefills an empty one with thinking off', () => {
    const on = promptText(chatParams([{ role: 'user', content: 'hi' }]));
    expect(on.endsWith('<｜User｜>hi<｜Assistant｜><think>\n')).toBe(true);
    const offParams = chatParams([{ role: 'user', content: 'hi' }], { thinking: false });
    const off = promptText(offParams);
    expect(off.endsWith('<｜User｜>hi<｜Assistant｜><think>\n\n</think>\n\n')).toBe(true);
    expect(preparePrompt(model, offParams, LIMIT).thinkingOpen).toBe(false);
    expect(preparePrompt(model, chatParams([{ role: 'user', content: 'hi' }]), LIMIT).thinkingOpen).toBe(true);
  });

  it('C10: drops the reasoning of earlier assistant messages', () => {
    const text = promptText(
      chatParams([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: '<think>secret plan</think>\n\nvisible answer' },
        { role: 'user', content: 'second' },
      ]),
    );
    expect(text).toContain('visible answer');
    expect(text).not.toContain('secret plan');
  });

  it('renders tool calls and tool results of the history, with the tool name and call id reaching the template', () => {
    const messages = [
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ type: 'function' as const, id: 'call_abc12345', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', content: 'sunny', name: 'get_weather', tool_call_id: 'call_abc12345' },
    ];
    const text = promptText(chatParams(messages));
    expect(text).toContain('function<｜tool▁sep｜>get_weather');
    expect(text).toContain('<｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜>');
    const probe =
      "{%- for m in messages -%}[{{ m['role'] }}|{{ m['name'] if m['name'] is defined else '' }}|{{ m['tool_call_id'] if m['tool_call_id'] is defined else '' }}]{%- endfor -%}" +
      '{{ reasoning_effort if reasoning_effort is defined else "none" }}';
    const params = chatParams(messages);
    if (params.prompt.kind === 'chat') {
      params.prompt.templateOverride = probe;
      params.prompt.thinkLevel = 'high';
    }
    const probed = promptText(params, 'ignored: the request template wins');
    expect(probed).toContain('[tool|get_weather|call_abc12345]');
    expect(probed.endsWith('high')).toBe(true);
  });

  it('drops the oldest non-system messages to fit, keeping the system prompt and the last message', () => {
    const long = (tag: string) => `${tag} ${'lorem ipsum dolor sit amet '.repeat(40)}`;
    const messages = [
      { role: 'system', content: 'SYSTEM-RULES' },
      { role: 'user', content: long('FIRST') },
      { role: 'assistant', content: long('SECOND') },
      { role: 'user', content: long('THIRD') },
      { role: 'assistant', content: long('FOURTH') },
      { role: 'user', content: 'LAST question' },
    ];
    const params = chatParams(messages, { truncate: true });
    expect(model.detokenize(preparePrompt(model, { ...params, truncate: false }, 100_000).tokens, false, true)).toContain('FIRST');
    expect(() => preparePrompt(model, { ...params, truncate: false }, LIMIT)).toThrow(CONTEXT_EXCEEDED);
    const p = preparePrompt(model, params, LIMIT);
    expect(p.truncated).toBe(true);
    expect(p.tokens.length).toBeLessThan(LIMIT);
    const text = model.detokenize(p.tokens, false, true);
    expect(text).toContain('SYSTEM-RULES');
    expect(text).toContain('LAST question');
    expect(text).not.toContain('FIRST');
    expect(text).toContain('FOURTH');
  });

  it('cuts an over-long text prompt after the first num_keep tokens, or refuses it without truncate', () => {
    const text = `HEAD ${'word '.repeat(2000)}TAIL`;
    const full = preparePrompt(model, { ...chatParams([]), prompt: { kind: 'text', text } }, 100_000).tokens;
    expect(() => preparePrompt(model, { ...chatParams([]), prompt: { kind: 'text', text } }, LIMIT)).toThrow(CONTEXT_EXCEEDED);
    const p = preparePrompt(model, { ...chatParams([]), prompt: { kind: 'text', text }, truncate: true, numKeep: 3 }, LIMIT);
    expect(p.truncated).toBe(true);
    expect(p.tokens.length).toBeLessThan(LIMIT);
    expect(Array.from(p.tokens.subarray(0, 3))).toEqual(Array.from(full.subarray(0, 3)));
    expect(Array.from(p.tokens.subarray(-5))).toEqual(Array.from(full.subarray(-5)));
  });
});

describe('output shaping with llama-common parser on scripted text', () => {
  function shape(pieces: string[], tools = true) {
    const params = chatParams([{ role: 'user', content: 'Weather in Paris and Rome?' }]);
    if (params.prompt.kind === 'chat' && tools) params.prompt.tools = TOOLS;
    const chat = preparePrompt(model, params, LIMIT).chat!;
    const parser = tools
      ? model.createChatParser({ format: chat.format, parser: chat.parser, generationPrompt: chat.generationPrompt, parseReasoning: false, parseToolCalls: true })
      : undefined;
    const events: GenerateEvent[] = [];
    const marks: number[] = [];
    const shaper = new OutputShaper({ thinking: true, open: true, startTag: '<think>', endTag: '</think>', parser }, (e) => events.push(e));
    for (const p of pieces) {
      shaper.push(p);
      marks.push(events.length);
    }
    shaper.finish();
    return { events, marks };
  }

  it('separates reasoning, then sends each tool call whole, arguments in their order', () => {
    const first = CALL('get_weather', '{"city": "Paris", "b": 1, "a": 2}');
    const second = CALL('get_weather', '{"city": "Rome"}');
    const text = `I will look it up.</think>\n\nSure.\n<｜tool▁calls▁begin｜>${first}\n${second}<｜tool▁calls▁end｜>`;
    // Token-sized pieces, as the batcher would send them.
    const pieces = text.match(/<｜[^｜]*｜>|[\s\S]{1,3}/g)!;
    const { events, marks } = shape(pieces);
    const thinking = events.filter((e) => e.type === 'thinking').map((e) => (e as { text: string }).text).join('');
    const content = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
    const calls = events.filter((e) => e.type === 'tool_call') as Extract<GenerateEvent, { type: 'tool_call' }>[];
    expect(thinking).toBe('I will look it up.');
    expect(content).toBe('Sure.\n');
    expect(calls.map((c) => c.name)).toEqual(['get_weather', 'get_weather']);
    expect(Object.keys(JSON.parse(calls[0]!.arguments))).toEqual(['city', 'b', 'a']);
    expect(JSON.parse(calls[1]!.arguments)).toEqual({ city: 'Rome' });
    // The first call went out once the second began, before the stream ended.
    const firstCallAt = events.findIndex((e) => e.type === 'tool_call');
    expect(firstCallAt).toBeLessThan(marks.at(-1)!);
  });

  it('leaves text without tool syntax in the content, and malformed tool syntax too', () => {
    const plain = shape(['</think>', 'Just ', 'text.']);
    expect(plain.events).toEqual([{ type: 'text', text: 'Just ' }, { type: 'text', text: 'text.' }]);
    const bad = shape(['</think>', `<｜tool▁calls▁begin｜>${CALL('get_weather', '{"city": ')}`]);
    expect(bad.events.filter((e) => e.type === 'tool_call')).toHaveLength(0);
    expect(bad.events.map((e) => (e as { text: string }).text).join('')).toContain('get_weather');
  });
});

describe('format after thinking (C11): lazy grammar on the end tag', () => {
  it('keeps the reasoning free and forces JSON after </think>', async () => {
    const batcher = new Batcher(model, ctx, LIMIT);
    const endToken = model.tokenize('</think>', false, true)[0]!;
    const schema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
    const params = chatParams([{ role: 'user', content: 'Answer in JSON' }]);
    const prepared = preparePrompt(model, params, LIMIT);
    expect(prepared.thinkingOpen).toBe(true);
    let withReasoning = 0;
    let id = 0;
    // A bias on </think> makes the random model close its reasoning after a few free tokens.
    for (const bias of [2, 3, 4, 5]) {
      const events: GenerateEvent[] = [];
      await new Promise<void>((resolve, reject) => {
        const shaper = new OutputShaper({ thinking: true, open: true, startTag: '<think>', endTag: '</think>' }, (e) => events.push(e));
        batcher.submit({
          id: ++id,
          prompt: prepared.tokens,
          sampler: model.createSampler({
            ...samplerParams(sampling()),
            ...formatGrammar(binding, { type: 'schema', schema }, '</think>'),
            logitBias: [{ token: endToken, bias }],
          }),
          numPredict: 120,
          stop: [],
          emit: (e) => {
            if (e.type === 'done') {
              shaper.finish();
              events.push(e);
              resolve();
            }
          },
          text: (t) => shaper.push(t),
          fail: (e) => reject(new Error(e.message)),
        });
      });
      const thinking = events.map((e) => (e.type === 'thinking' ? e.text : '')).join('');
      const text = events.map((e) => (e.type === 'text' ? e.text : '')).join('');
      if (text === '') continue; // never closed its reasoning
      expect(typeof JSON.parse(text).ok).toBe('boolean');
      if (thinking.length > 0) withReasoning++;
    }
    expect(withReasoning).toBeGreaterThan(0);
  });
});

describe('runner process: tools, formats, context, embeddings', () => {
  it('parses a tool call out of real output (forced by a grammar) and sends it whole', async () => {
    const call = `<｜tool▁calls▁begin｜>${CALL('get_weather', '{"city": "Paris", "b": 1, "a": 2}')}<｜tool▁calls▁end｜>`;
    const params = chatParams([{ role: 'user', content: 'Weather?' }], {
      thinking: false,
      numPredict: 200,
      sampling: sampling({ grammar: `root ::= "Checking.\\n" ${JSON.stringify(call)}` }),
    });
    if (params.prompt.kind === 'chat') params.prompt.tools = TOOLS;
    const r = await collect(runner.generate(params, signal()));
    expect(r.text).toBe('Checking.\n');
    expect(r.thinking).toBe('');
    expect(r.calls).toHaveLength(1);
    const c = r.calls[0] as Extract<GenerateEvent, { type: 'tool_call' }>;
    expect(c.name).toBe('get_weather');
    expect(Object.keys(JSON.parse(c.arguments))).toEqual(['city', 'b', 'a']);
    expect(r.done.reason).toBe('stop');
  });

  it('format: a JSON schema makes the random model answer valid JSON of that shape', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer' }, ok: { type: 'boolean' } },
      required: ['name', 'age', 'ok'],
    };
    for (const seed of [1, 2]) {
      const r = await collect(
        runner.generate(
          chatParams([{ role: 'user', content: 'JSON please' }], {
            thinking: false,
            numPredict: 200,
            sampling: sampling({ seed }),
            format: { type: 'schema', schema },
          }),
          signal(),
        ),
      );
      expect(r.done.reason).toBe('stop');
      const v = JSON.parse(r.text);
      expect(Object.keys(v)).toEqual(['name', 'age', 'ok']);
      expect(typeof v.name).toBe('string');
      expect(Number.isInteger(v.age)).toBe(true);
      expect(typeof v.ok).toBe('boolean');
    }
    // Without the format the same request is not JSON.
    const free = await collect(
      runner.generate(chatParams([{ role: 'user', content: 'JSON please' }], { thinking: false, numPredict: 24 }), signal()),
    );
    expect(() => JSON.parse(free.text)).toThrow();
  });

  it('format "json": every finished answer is a JSON object', async () => {
    let finished = 0;
    for (const seed of [2, 3, 4]) {
      const r = await collect(
        runner.generate(
          chatParams([{ role: 'user', content: 'JSON please' }], { thinking: false, numPredict: 48, sampling: sampling({ seed }), format: { type: 'json' } }),
          signal(),
        ),
      );
      expect(r.text.trimStart().startsWith('{')).toBe(true);
      if (r.done.reason !== 'stop') continue;
      finished++;
      const v = JSON.parse(r.text);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
    expect(finished).toBeGreaterThan(0);
  });

  it('refuses an invalid JSON schema with a request error', async () => {
    await expect(
      collect(runner.generate(chatParams([{ role: 'user', content: 'x' }], { format: { type: 'schema', schema: { type: 'nonsense' } } }), signal())),
    ).rejects.toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('invalid format') });
  });

  it('think off: no reasoning, everything is content', async () => {
    const r = await collect(runner.generate(chatParams([{ role: 'user', content: 'hi' }], { thinking: false, numPredict: 12 }), signal()));
    expect(r.thinking).toBe('');
    expect(r.text.length).toBeGreaterThan(0);
  });

  it('returns prompt and generated tokens as context, and a follow-up with that context reuses the cache', async () => {
    const first = await collect(
      runner.generate(chatParams([{ role: 'user', content: 'Tell me about cats.' }], { returnTokens: true, numPredict: 8 }), signal()),
    );
    const context = first.done.context!;
    expect(context.length).toBe(first.start.promptTokens + first.done.evalCount);
    const second = await collect(
      runner.generate(
        chatParams([{ role: 'user', content: 'And dogs?' }], { returnTokens: true, numPredict: 4, prefix: context }),
        signal(),
      ),
    );
    expect(second.done.context!.slice(0, context.length)).toEqual(context);
    expect(second.done.cachedTokens).toBeGreaterThanOrEqual(context.length - 1);
  });

  it('truncates an over-long chat and reports it; refuses it with truncate off', async () => {
    const long = 'lorem ipsum dolor sit amet '.repeat(60);
    const messages = [
      { role: 'user', content: long },
      { role: 'assistant', content: long },
      { role: 'user', content: 'last' },
    ];
    const r = await collect(runner.generate(chatParams(messages, { truncate: true, numPredict: 4 }), signal()));
    expect(r.start.truncated).toBe(true);
    expect(r.start.promptTokens).toBeLessThan(LIMIT);
    await expect(collect(runner.generate(chatParams(messages, { truncate: false }), signal()))).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: CONTEXT_EXCEEDED,
    });
  });

  it('embeds: one vector of n_embd per input, the same for the same input, refusing over-long input without truncate', async () => {
    const r = await runner.embed({ inputs: ['hello world', 'something else', 'hello world'], truncate: true }, signal());
    expect(r.embeddings).toHaveLength(3);
    for (const e of r.embeddings) {
      expect(e).toHaveLength(model.nEmbd);
      expect(e.every((x) => Number.isFinite(x))).toBe(true);
    }
    expect(Array.from(r.embeddings[2]!)).toEqual(Array.from(r.embeddings[0]!));
    expect(Array.from(r.embeddings[1]!)).not.toEqual(Array.from(r.embeddings[0]!));
    expect(r.promptTokens).toBeGreaterThan(6);
    // Concurrent generation does not disturb embeddings.
    const [again] = await Promise.all([
      runner.embed({ inputs: ['hello world'], truncate: true }, signal()),
      collect(runner.generate(chatParams([{ role: 'user', content: 'hi' }], { numPredict: 8 }), signal())),
    ]);
    expect(Array.from(again.embeddings[0]!)).toEqual(Array.from(r.embeddings[0]!));
    const long = 'word '.repeat(LIMIT + 50);
    await expect(runner.embed({ inputs: [long], truncate: false }, signal())).rejects.toMatchObject({
      code: 'INVALID_REQUEST',
      message: CONTEXT_EXCEEDED,
    });
    const cut = await runner.embed({ inputs: [long], truncate: true }, signal());
    expect(cut.promptTokens).toBe(LIMIT);
  });
});
