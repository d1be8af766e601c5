// The native addon (build/Release/moed.node) against real forged DeepSeek-R1-shaped models:
// devices, loading, tokenizer, decode + sampling, abort, grammars, chat templates, quantization
// and error codes.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBinding, type Binding, type Context, type Model, type Sampler, type SamplerParams } from '../../src/binding/index.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';

let binding: Binding;
let dir: string;
let modelPath: string;
let model: Model;
let ctx: Context;
const logLines: string[] = [];

const N_CTX = 1024;
const N_SEQ = 2;

function sampling(over: Partial<SamplerParams> = {}): SamplerParams {
  return {
    temperature: 0,
    topK: 40,
    topP: 0.95,
    minP: 0.05,
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
  };
}

/** A batch of one sequence's tokens at positions from `pos`, with logits on the last one. */
function batch(tokens: Int32Array, pos: number, seq = 0) {
  return {
    tokens,
    positions: Int32Array.from(tokens, (_, i) => pos + i),
    seqIds: new Int32Array(tokens.length).fill(seq),
    logits: Uint8Array.from(tokens, (_, i) => (i === tokens.length - 1 ? 1 : 0)),
  };
}

/**
 * Decodes the prompt on sequence 0 from an empty cache, then generates up to n tokens with the
 * sampler (fewer when it picks an end-of-generation token, which is not returned).
 */
async function generate(prompt: string, sampler: Sampler, n: number): Promise<number[]> {
  ctx.memoryClear();
  const tokens = model.tokenize(prompt, true, false);
  for (const t of tokens) sampler.accept(t);
  let [next] = await ctx.decode(batch(tokens, 0), [{ sampler, batchIndex: tokens.length - 1 }]);
  const out: number[] = [];
  let pos = tokens.length;
  for (let i = 0; i < n && !model.isEog(next!); i++) {
    out.push(next!);
    [next] = await ctx.decode(batch(Int32Array.of(next!), pos++), [{ sampler, batchIndex: 0 }]);
  }
  return out;
}

async function withSampler<T>(params: SamplerParams, fn: (s: Sampler) => Promise<T>): Promise<T> {
  const s = model.createSampler(params);
  try {
    return await fn(s);
  } finally {
    s.dispose();
  }
}

beforeAll(async () => {
  binding = loadBinding();
  binding.setLogger((_level, text) => logLines.push(text));
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-binding-'));
  modelPath = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: modelPath, preset: 'tiny', seed: 7 });
  model = await binding.loadModel({ path: modelPath, devices: [] });
  ctx = await model.createContext({ nCtx: N_CTX, nBatch: 512, nUbatch: 512, nSeqMax: N_SEQ, nThreads: 2 });
});

afterAll(async () => {
  ctx?.dispose();
  model?.dispose();
  binding?.setLogger(null);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('native binding', () => {
  it('lists a CPU device with memory', () => {
    const cpu = binding.devices().find((d) => d.type === 'cpu');
    expect(cpu).toBeDefined();
    expect(cpu!.name).toBe('CPU');
    expect(cpu!.memoryTotal).toBeGreaterThan(0);
    expect(binding.version().commit).toMatch(/^de3ff81/);
  });

  it('reports load progress up to 1 and exposes the model shape', async () => {
    const seen: number[] = [];
    const m = await binding.loadModel({ path: modelPath, devices: [], onProgress: (p) => seen.push(p) });
    try {
      expect(seen.length).toBeGreaterThan(1);
      expect(seen.at(-1)).toBe(1);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(m.nLayer).toBe(3);
      expect(m.metadata()['general.architecture']).toBe('deepseek2');
      expect(m.chatTemplate()).toContain('<｜Assistant｜>');
    } finally {
      m.dispose();
    }
  });

  it('round-trips ASCII text through the tokenizer', () => {
    const text = 'Hello, world! The quick brown fox jumps over 13 lazy dogs.';
    const tokens = model.tokenize(text, false, false);
    expect(tokens.length).toBeGreaterThan(3);
    expect(tokens.length).toBeLessThan(text.length);
    expect(model.detokenize(tokens, false, false)).toBe(text);
    const pieces = Buffer.concat([...tokens].map((t) => model.tokenPiece(t, false))).toString('utf8');
    expect(pieces).toBe(text);
    const withBos = model.tokenize(text, true, false);
    expect(model.addBos()).toBe(true);
    expect(withBos[0]).toBe(model.bos());
    expect(model.isEog(model.eos())).toBe(true);
  });

  it('decodes greedily to the same tokens twice', async () => {
    const run = () => withSampler(sampling(), (s) => generate('Tell me about the sea.', s, 16));
    const a = await run();
    const b = await run();
    expect(a).toHaveLength(16);
    expect(a.every((t) => t >= 0 && t < model.nVocab)).toBe(true);
    expect(b).toEqual(a);
    // The greedy pick is the arg-max of the logits row.
    ctx.memoryClear();
    const tokens = model.tokenize('Tell me about the sea.', true, false);
    await ctx.decode(batch(tokens, 0));
    const logits = ctx.getLogits(tokens.length - 1);
    expect(logits).toHaveLength(model.nVocab);
    expect(logits.indexOf(Math.max(...logits))).toBe(a[0]);
  });

  it('samples the same tokens for the same seed at temperature 0.8', async () => {
    const run = (seed: number) => withSampler(sampling({ temperature: 0.8, topK: 0, topP: 1, minP: 0, seed }), (s) => generate('Once upon a time', s, 16));
    const a = await run(1234);
    const b = await run(1234);
    const c = await run(99);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('aborts a running decode with ABORTED and stays usable', async () => {
    ctx.memoryClear();
    const n = 512;
    const big = new Int32Array(n).map((_, i) => 300 + (i % 200));
    const running = ctx.decode(batch(big, 0));
    ctx.abort();
    await expect(running).rejects.toMatchObject({ code: 'ABORTED' });
    // The flag is cleared by the next decode.
    ctx.memoryClear();
    await expect(ctx.decode(batch(big.subarray(0, 8), 0))).resolves.toBeInstanceOf(Int32Array);
    expect(ctx.seqPosMax(0)).toBe(7);
  });

  it('rejects a second decode on a busy context with INVALID_ARGUMENT', async () => {
    ctx.memoryClear();
    const first = ctx.decode(batch(new Int32Array(64).fill(400), 0));
    await expect(ctx.decode(batch(Int32Array.of(401), 64))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await first;
  });

  it('restricts output to a grammar', async () => {
    // Greedy and hot sampling: the unconstrained pick is almost never "a", so the grammar's
    // rejection path runs on most steps.
    for (const temperature of [0, 1.5]) {
      const tokens = await withSampler(sampling({ temperature, topK: 0, topP: 1, minP: 0, grammar: 'root ::= "a"+' }), (s) =>
        generate('Write something:', s, 12),
      );
      expect(tokens.length).toBeGreaterThan(0);
      const text = tokens.map((t) => model.tokenPiece(t, false).toString('utf8')).join('');
      expect(text).toMatch(/^a+$/);
    }
    // Without the grammar the same prompt does not produce only "a".
    const free = await withSampler(sampling(), (s) => generate('Write something:', s, 12));
    expect(free.map((t) => model.tokenPiece(t, false).toString('utf8')).join('')).not.toMatch(/^a+$/);
  });

  it('rejects an invalid grammar with GRAMMAR_INVALID', () => {
    expect(() => model.createSampler(sampling({ grammar: 'root ::= "a' }))).toThrow(expect.objectContaining({ code: 'GRAMMAR_INVALID' }));
    expect(() => model.createSampler(sampling({ grammar: 'root ::= missing-rule' }))).toThrow(
      expect.objectContaining({ code: 'GRAMMAR_INVALID' }),
    );
  });

  it('saves and restores a sequence state', async () => {
    ctx.memoryClear();
    const tokens = model.tokenize('Remember this sentence.', true, false);
    await ctx.decode(batch(tokens, 0));
    const state = await ctx.stateSeqGet(0);
    expect(state.length).toBeGreaterThan(0);
    expect(ctx.seqRm(0, -1, -1)).toBe(true);
    expect(ctx.seqPosMax(0)).toBe(-1);
    expect(await ctx.stateSeqSet(1, state)).toBe(state.length);
    expect(ctx.seqPosMax(1)).toBe(tokens.length - 1);
  });

  it('renders a chat prompt with the model template', () => {
    const question = 'What is the capital of France?';
    const r = model.chatApply({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }] });
    expect(r.prompt).toContain(question);
    expect(r.prompt).toContain('Be brief.');
    expect(r.generationPrompt).toContain('<｜Assistant｜>');
    expect(r.prompt.endsWith(r.generationPrompt)).toBe(true);
    const noPrompt = model.chatApply({ messages: [{ role: 'user', content: question }], addGenerationPrompt: false });
    expect(noPrompt.prompt.endsWith('<｜Assistant｜>')).toBe(false);
    expect(() => model.chatApply({ messages: [{ role: 'user', content: 'x' }], templateOverride: '{{ broken' })).toThrow(
      expect.objectContaining({ code: 'TEMPLATE_FAILED' }),
    );
  });

  it('builds a tool-call grammar and parses tool calls out of the reply', () => {
    const tools = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      },
    ];
    const r = model.chatApply({ messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
    expect(r.grammar).toContain('get_weather');
    expect(r.grammarLazy).toBe(true);
    expect(r.grammarTriggers.length).toBeGreaterThan(0);
    const parser = model.createChatParser({ format: r.format, parser: r.parser, generationPrompt: r.generationPrompt, parseReasoning: true, parseToolCalls: true });
    const call =
      '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city":"Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>';
    const msg = parser.parse(call, false);
    expect(msg.toolCalls).toHaveLength(1);
    expect(msg.toolCalls[0]!.name).toBe('get_weather');
    expect(JSON.parse(msg.toolCalls[0]!.arguments)).toEqual({ city: 'Paris' });
    expect(parser.parse('Just text.', false)).toMatchObject({ content: 'Just text.', toolCalls: [] });
    // The lazy grammar is a valid sampler grammar.
    const s = model.createSampler(sampling({ grammar: r.grammar, grammarLazy: true, grammarTriggerPatterns: r.grammarTriggers.map((t) => t.value) }));
    s.dispose();
  });

  it('quantizes a model to a file that loads', async () => {
    const f16 = path.join(dir, 'tiny-f16.gguf');
    const q8 = path.join(dir, 'tiny-q8_0.gguf');
    await forgeDeepseek2({ path: f16, preset: 'tiny', type: 'f16', seed: 7 });
    await binding.quantize(f16, q8, { ftype: 7, nThreads: 2 }); // LLAMA_FTYPE_MOSTLY_Q8_0
    expect((await fs.stat(q8)).size).toBeLessThan((await fs.stat(f16)).size);
    const m = await binding.loadModel({ path: q8, devices: [] });
    try {
      expect(m.description).toContain('Q8_0');
      expect(m.nVocab).toBe(model.nVocab);
    } finally {
      m.dispose();
    }
    await expect(binding.quantize(path.join(dir, 'missing.gguf'), q8, { ftype: 7 })).rejects.toMatchObject({ code: 'QUANTIZE_FAILED' });
  });

  it('rejects a missing file with LOAD_FAILED', async () => {
    const missing = path.join(dir, 'does-not-exist.gguf');
    const err = await binding.loadModel({ path: missing, devices: [] }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.code).toBe('LOAD_FAILED');
    expect(err!.message).toContain(missing);
  });

  it('refuses calls on a disposed model with DISPOSED', async () => {
    const m = await binding.loadModel({ path: modelPath, devices: [], vocabOnly: true });
    m.dispose();
    expect(() => m.tokenize('x', false, false)).toThrow(expect.objectContaining({ code: 'DISPOSED' }));
  });

  it('sends libllama log lines to the logger', () => {
    expect(logLines.some((l) => l.includes('deepseek2'))).toBe(true);
  });
});
