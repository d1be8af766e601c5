// The forge against the real engine: libllama loads forged deepseek2 files, tokenizes with their
// vocabulary, runs the MLA/MoE kernels to finite logits, renders their chat template with
// llama.cpp's Jinja engine, and llama-quantize (llama_model_quantize) lays out Q4_K_M exactly as
// the forge does.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBinding, type Binding, type Model } from '../../src/binding/index.js';
import { forgeDeepseek2, SPECIAL, type ForgeOptions } from '../../src/forge/index.js';
import { readGgufHeader } from '../../src/gguf/index.js';

let binding: Binding;
let dir: string;
let model: Model;
const logLines: string[] = [];

beforeAll(async () => {
  binding = loadBinding();
  binding.setLogger((_level, text) => logLines.push(text));
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-forge-native-'));
  const file = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: file, preset: 'tiny', seed: 11 });
  model = await binding.loadModel({ path: file, devices: [] });
});

afterAll(async () => {
  model?.dispose();
  binding?.setLogger(null);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

/** Greedy generation from the arg-max of each logits row; returns the tokens and checks finiteness. */
async function greedy(m: Model, prompt: string, n: number): Promise<number[]> {
  const ctx = await m.createContext({ nCtx: 256, nBatch: 64, nUbatch: 64, nSeqMax: 1, nThreads: 2 });
  try {
    let tokens = m.tokenize(prompt, true, false);
    let pos = 0;
    const out: number[] = [];
    for (let step = 0; step < n; step++) {
      await ctx.decode({
        tokens,
        positions: Int32Array.from(tokens, (_, i) => pos + i),
        seqIds: new Int32Array(tokens.length),
        logits: Uint8Array.from(tokens, (_, i) => (i === tokens.length - 1 ? 1 : 0)),
      });
      pos += tokens.length;
      const logits = ctx.getLogits(tokens.length - 1);
      expect(logits).toHaveLength(m.nVocab);
      let best = 0;
      let min = Infinity;
      for (let i = 0; i < logits.length; i++) {
        if (!Number.isFinite(logits[i]!)) throw new Error(`logit ${i} is ${logits[i]} at step ${step}`);
        if (logits[i]! > logits[best]!) best = i;
        min = Math.min(min, logits[i]!);
      }
      // random weights still give a spread of logits, not a constant row
      expect(logits[best]! - min).toBeGreaterThan(0.1);
      out.push(best);
      tokens = Int32Array.of(best);
    }
    return out;
  } finally {
    ctx.dispose();
  }
}

describe('forged models in the real engine', () => {
  it('loads the tiny forge as deepseek2 with its shape', () => {
    expect(model.nLayer).toBe(3);
    expect(model.nEmbd).toBe(256);
    expect(model.nVocab).toBe(1024);
    const meta = model.metadata();
    expect(meta['general.architecture']).toBe('deepseek2');
    expect(meta['deepseek2.expert_gating_func']).toBe('2');
    expect(model.description).toMatch(/deepseek2/);
    expect(model.description).toMatch(/Q4_K - Medium/);
    expect(logLines.join('')).not.toMatch(/missing newline token|missing pre-tokenizer/);
  });

  it('tokenizes "hello world" into word tokens and back', () => {
    const tokens = model.tokenize('hello world', false, false);
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.length).toBeLessThan(4);
    expect(model.detokenize(tokens, false, false)).toBe('hello world');
    const withBos = model.tokenize('hello world', true, false);
    expect(withBos[0]).toBe(0);
    expect(model.detokenize(withBos, true, false)).toBe('hello world');
    // bytes outside the merges survive as byte tokens
    const text = 'Zürich → 東京, tab\tnewline\n';
    expect(model.detokenize(model.tokenize(text, false, false), false, false)).toBe(text);
  });

  it('knows the special tokens: control tokens, end of generation, <think> as one token', () => {
    const single = (text: string): number => {
      const t = model.tokenize(text, false, true);
      expect(t, text).toHaveLength(1);
      return t[0]!;
    };
    expect(model.bos()).toBe(0);
    expect(model.eos()).toBe(1);
    expect(model.isEog(1)).toBe(true);
    for (const s of [
      SPECIAL.bos,
      SPECIAL.eos,
      SPECIAL.user,
      SPECIAL.assistant,
      SPECIAL.toolCallsBegin,
      SPECIAL.toolCallBegin,
      SPECIAL.toolSep,
      SPECIAL.toolCallEnd,
      SPECIAL.toolCallsEnd,
      SPECIAL.toolOutputsBegin,
      SPECIAL.toolOutputBegin,
      SPECIAL.toolOutputEnd,
      SPECIAL.toolOutputsEnd,
    ]) {
      expect(model.isControl(single(s)), s).toBe(true);
    }
    // as in R1, <think> is an added token that is not special: one token, shown in text
    const think = single('<think>');
    expect(model.isControl(think)).toBe(false);
    expect(model.detokenize(Int32Array.of(think, single('</think>')), true, false)).toBe('<think></think>');
    // control tokens are not parsed from plain text
    expect(model.tokenize(SPECIAL.user, false, false).length).toBeGreaterThan(1);
  });

  it('generates 16 tokens greedily with finite logits', async () => {
    const out = await greedy(model, 'hello world', 16);
    expect(out).toHaveLength(16);
    expect(out.every((t) => t >= 0 && t < model.nVocab)).toBe(true);
  });

  it("renders the forged template with llama.cpp's Jinja engine in R1's shape", () => {
    const r = model.chatApply({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '<think>\nhmm\n</think>\n\nHello!' },
        { role: 'user', content: 'Weather?' },
      ],
      addGenerationPrompt: true,
    });
    // the leading BOS is left to the tokenizer (add_bos_token), so llama.cpp strips it here
    expect(r.prompt).toBe(
      'Be brief.<｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜><｜User｜>Weather?<｜Assistant｜><think>\n',
    );

    const tools = model.chatApply({
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', content: '{"temp":20}', tool_call_id: 'c1' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
      addGenerationPrompt: true,
    });
    expect(tools.prompt).toContain(
      '<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n',
    );
    expect(tools.prompt).toContain('\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>');
    expect(tools.prompt).toContain(
      '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{"temp":20}<｜tool▁output▁end｜><｜tool▁outputs▁end｜><｜Assistant｜><think>\n',
    );
    expect(tools.prompt).toMatch(/"city": ?"Paris"/);

    expect(tools.prompt).toMatch(/^## Tools\n.*### get_weather\nweather\nParameters: \{/s);

    // the generation prompt opens the reasoning; with thinking off it closes an empty block, as
    // Ollama's deepseek-r1 template does for think:false, so the model answers directly
    const noThink = model.chatApply({ messages: [{ role: 'user', content: 'Hi' }], addGenerationPrompt: true, enableThinking: false });
    expect(noThink.prompt).toBe('<｜User｜>Hi<｜Assistant｜><think>\n\n</think>\n\n');
  });

  it("lets llama.cpp's chat parser find R1 tool calls (reasoning separation is left to moed)", () => {
    const r = model.chatApply({
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      addGenerationPrompt: true,
    });
    expect(r.grammarLazy).toBe(true);
    expect(r.grammarTriggers.map((t) => t.value)).toContain(SPECIAL.toolCallsBegin);
    expect(r.supportsThinking).toBe(false);
    const parser = model.createChatParser({
      format: r.format,
      parser: r.parser,
      generationPrompt: r.generationPrompt,
      parseReasoning: true,
      parseToolCalls: true,
    });
    const parsed = parser.parse(
      'Need the weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
      false,
    );
    expect(parsed.content).toBe('Need the weather.\n</think>\n\n');
    expect(parsed.toolCalls).toHaveLength(1);
    expect(parsed.toolCalls[0]!.name).toBe('get_weather');
    expect(JSON.parse(parsed.toolCalls[0]!.arguments)).toEqual({ city: 'Paris' });
  });

  it('matches llama_model_quantize: an F16 forge quantized to Q4_K_M gets the forge’s Q4_K_M types', async () => {
    const shapes: Partial<ForgeOptions>[] = [
      { preset: 'tiny' },
      // rows that are not multiples of 256, 8 experts (attn_output -> Q5_K -> Q5_1), 7 blocks
      { preset: 'tiny', blocks: 7, shape: { hidden: 320, experts: 8, expertGroups: 0, heads: 15 } },
    ];
    for (const [i, opts] of shapes.entries()) {
      const f16 = path.join(dir, `q${i}-f16.gguf`);
      const ours = path.join(dir, `q${i}-ours.gguf`);
      const theirs = path.join(dir, `q${i}-quantized.gguf`);
      await forgeDeepseek2({ ...opts, path: f16, type: 'f16', seed: 3 });
      await forgeDeepseek2({ ...opts, path: ours, type: 'q4_k_m', seed: 3 });
      await binding.quantize(f16, theirs, { ftype: 15, nThreads: 2 });
      const types = async (f: string): Promise<Map<string, string>> =>
        new Map((await readGgufHeader(f)).tensors.map((t) => [t.name, `${t.typeName} ${t.dims.join('x')}`]));
      const expected = await types(theirs);
      const actual = await types(ours);
      expect(actual.size).toBe(expected.size);
      for (const [name, t] of expected) expect(`${name}: ${actual.get(name)}`).toBe(`${name}: ${t}`);
      const q = await readGgufHeader(theirs);
      expect(q.metadata.get('general.file_type')).toEqual({ type: 'u32', value: 15 });

      // and the forged Q4_K_M file runs
      const m = await binding.loadModel({ path: ours, devices: [] });
      try {
        await greedy(m, 'the world', 4);
      } finally {
        m.dispose();
      }
    }
  });

  it('loads a full-vocabulary model with the special tokens at R1 ids', async () => {
    const file = path.join(dir, 'vocab.gguf');
    await forgeDeepseek2({ path: file, preset: 'tiny', shape: { vocab: 129280 } });
    const m = await binding.loadModel({ path: file, devices: [] });
    try {
      expect(m.nVocab).toBe(129280);
      expect([...m.tokenize(SPECIAL.user + SPECIAL.assistant, false, true)]).toEqual([128803, 128804]);
      expect(m.isControl(128803)).toBe(true);
      await greedy(m, 'hello', 2);
    } finally {
      m.dispose();
    }
  });
});
