import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DEEPSEEK_R1_TEMPLATE,
  ForgeConfigError,
  ForgeUsageError,
  PRESETS,
  SPECIAL,
  TOKEN_TYPE,
  buildVocab,
  byteToUnicode,
  forgeDeepseek2,
  parseForgeArgs,
  planTensors,
  q4kmType,
  resolveShape,
  useMoreBits,
  type Deepseek2Shape,
} from '../../src/forge/index.js';
import { fromHalf } from '../../src/forge/half.js';
import { GgmlType, ggmlTypeName, readGgufHeader, tensorBytes, type GgufHeader, type GgufTensorInfo } from '../../src/gguf/index.js';

let dir: string;
let tinyPath: string;
let tiny: GgufHeader;
let tinyBytes: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'moed-forge-'));
  tinyPath = path.join(dir, 'tiny.gguf');
  const started = Date.now();
  const result = await forgeDeepseek2({ path: tinyPath, preset: 'tiny', seed: 7 });
  expect(Date.now() - started).toBeLessThan(2000);
  expect(result.bytes).toBe((await stat(tinyPath)).size);
  tiny = await readGgufHeader(tinyPath);
  tinyBytes = await readFile(tinyPath);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const tensor = (name: string): GgufTensorInfo => {
  const t = tiny.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};
const data = (t: GgufTensorInfo): Buffer => tinyBytes.subarray(t.fileOffset, t.fileOffset + t.bytes);
const meta = (key: string): unknown => tiny.metadata.get(key);

/** Dequantizes Q4_K blocks (ggml-quants.c dequantize_row_q4_K) to check the forged statistics. */
function dequantQ4K(buf: Buffer): Float64Array {
  const nb = buf.length / 144;
  const out = new Float64Array(nb * 256);
  let y = 0;
  for (let i = 0; i < nb; i++) {
    const o = i * 144;
    const d = fromHalf(buf.readUInt16LE(o));
    const dmin = fromHalf(buf.readUInt16LE(o + 2));
    const s = buf.subarray(o + 4, o + 16);
    const scaleMin = (j: number): [number, number] =>
      j < 4 ? [s[j]! & 63, s[j + 4]! & 63] : [(s[j + 4]! & 0xf) | ((s[j - 4]! >> 6) << 4), (s[j + 4]! >> 4) | ((s[j]! >> 6) << 4)];
    for (let j = 0; j < 4; j++) {
      const [sc1, m1] = scaleMin(2 * j);
      const [sc2, m2] = scaleMin(2 * j + 1);
      const q = buf.subarray(o + 16 + j * 32, o + 16 + j * 32 + 32);
      for (let l = 0; l < 32; l++) out[y + l] = d * sc1 * (q[l]! & 0xf) - dmin * m1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d * sc2 * (q[l]! >> 4) - dmin * m2;
      y += 64;
    }
  }
  return out;
}

const stats = (v: ArrayLike<number>): { mean: number; std: number } => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length) };
};

/** The f16 scales of every block of a quantized tensor: [offset in block, count] per type. */
const SCALE_FIELDS: Record<number, { block: number; at: number[] }> = {
  [GgmlType.Q4_K]: { block: 144, at: [0, 2] },
  [GgmlType.Q5_K]: { block: 176, at: [0, 2] },
  [GgmlType.Q6_K]: { block: 210, at: [208] },
  [GgmlType.Q5_0]: { block: 22, at: [0] },
  [GgmlType.Q5_1]: { block: 24, at: [0, 2] },
  [GgmlType.Q8_0]: { block: 34, at: [0] },
};

describe('tiny forge', () => {
  it('passes the GGUF reader with the expected tensor count', () => {
    expect(tiny.version).toBe(3);
    // token_embd, output_norm, output; 10 attention/norm tensors per block; 3 dense, 8 MoE
    expect(tiny.tensors).toHaveLength(3 + 3 * 10 + 1 * 3 + 2 * 8);
    expect(tinyBytes.length).toBeLessThan(16 << 20);
  });

  it('has the deepseek2 tensor names and shapes, with llama-quantize Q4_K_M types', () => {
    const expected: [string, number[], string][] = [
      ['token_embd.weight', [256, 1024], 'Q4_K'],
      ['output_norm.weight', [256], 'F32'],
      ['output.weight', [256, 1024], 'Q6_K'],
      ['blk.0.attn_norm.weight', [256], 'F32'],
      ['blk.0.attn_q_a_norm.weight', [512], 'F32'],
      ['blk.0.attn_kv_a_norm.weight', [512], 'F32'],
      ['blk.0.attn_q_a.weight', [256, 512], 'Q4_K'],
      ['blk.0.attn_q_b.weight', [512, 16 * 192], 'Q4_K'],
      ['blk.0.attn_kv_a_mqa.weight', [256, 576], 'Q4_K'],
      ['blk.0.attn_k_b.weight', [128, 512, 16], 'Q5_0'],
      ['blk.0.attn_v_b.weight', [512, 128, 16], 'Q4_K'],
      ['blk.0.attn_output.weight', [16 * 128, 256], 'Q4_K'],
      ['blk.0.ffn_norm.weight', [256], 'F32'],
      ['blk.0.ffn_gate.weight', [256, 512], 'Q4_K'],
      ['blk.0.ffn_up.weight', [256, 512], 'Q4_K'],
      ['blk.0.ffn_down.weight', [512, 256], 'Q4_K'],
      ['blk.1.ffn_gate_inp.weight', [256, 16], 'F32'],
      ['blk.1.exp_probs_b.bias', [16], 'F32'],
      ['blk.1.ffn_gate_exps.weight', [256, 256, 16], 'Q4_K'],
      ['blk.1.ffn_up_exps.weight', [256, 256, 16], 'Q4_K'],
      ['blk.1.ffn_down_exps.weight', [256, 256, 16], 'Q4_K'],
      ['blk.1.ffn_gate_shexp.weight', [256, 256], 'Q4_K'],
      ['blk.1.ffn_up_shexp.weight', [256, 256], 'Q4_K'],
      ['blk.1.ffn_down_shexp.weight', [256, 256], 'Q4_K'],
      // block 2 of 3 is a "use more bits" layer: its down projections get Q6_K
      ['blk.2.ffn_down_exps.weight', [256, 256, 16], 'Q6_K'],
      ['blk.2.ffn_down_shexp.weight', [256, 256], 'Q6_K'],
      ['blk.2.ffn_gate_exps.weight', [256, 256, 16], 'Q4_K'],
      ['blk.2.attn_k_b.weight', [128, 512, 16], 'Q5_0'],
    ];
    for (const [name, dims, type] of expected) {
      const t = tensor(name);
      expect([t.name, t.dims, t.typeName]).toEqual([name, dims, type]);
    }
    expect(tiny.tensors.some((t) => t.name.includes('attn_kv_b') || t.name.includes('attn_q.weight'))).toBe(false);
    expect(tiny.tensors.some((t) => t.name.startsWith('blk.0.ffn_gate_inp'))).toBe(false);
  });

  it('writes the deepseek2 metadata with exact GGUF types', () => {
    const u32 = (v: number) => ({ type: 'u32', value: v });
    expect(meta('general.architecture')).toEqual({ type: 'string', value: 'deepseek2' });
    expect(meta('general.file_type')).toEqual(u32(15));
    expect(meta('deepseek2.block_count')).toEqual(u32(3));
    expect(meta('deepseek2.leading_dense_block_count')).toEqual(u32(1));
    expect(meta('deepseek2.embedding_length')).toEqual(u32(256));
    expect(meta('deepseek2.attention.head_count')).toEqual(u32(16));
    expect(meta('deepseek2.attention.head_count_kv')).toEqual(u32(1));
    expect(meta('deepseek2.attention.key_length')).toEqual(u32(576));
    expect(meta('deepseek2.attention.value_length')).toEqual(u32(512));
    expect(meta('deepseek2.attention.key_length_mla')).toEqual(u32(192));
    expect(meta('deepseek2.attention.value_length_mla')).toEqual(u32(128));
    expect(meta('deepseek2.attention.q_lora_rank')).toEqual(u32(512));
    expect(meta('deepseek2.attention.kv_lora_rank')).toEqual(u32(512));
    expect(meta('deepseek2.rope.dimension_count')).toEqual(u32(64));
    expect(meta('deepseek2.expert_count')).toEqual(u32(16));
    expect(meta('deepseek2.expert_used_count')).toEqual(u32(4));
    expect(meta('deepseek2.expert_group_count')).toEqual(u32(8));
    expect(meta('deepseek2.expert_group_used_count')).toEqual(u32(4));
    expect(meta('deepseek2.expert_shared_count')).toEqual(u32(1));
    expect(meta('deepseek2.expert_feed_forward_length')).toEqual(u32(256));
    expect(meta('deepseek2.expert_gating_func')).toEqual(u32(2));
    expect(meta('deepseek2.expert_weights_norm')).toEqual({ type: 'bool', value: true });
    expect(meta('deepseek2.expert_weights_scale')).toEqual({ type: 'f32', value: 2.5 });
    expect(meta('deepseek2.rope.scaling.type')).toEqual({ type: 'string', value: 'yarn' });
    expect(meta('deepseek2.rope.scaling.factor')).toEqual({ type: 'f32', value: 40 });
    expect(meta('deepseek2.rope.scaling.original_context_length')).toEqual(u32(4096));
    const ylm = tiny.metadata.get('deepseek2.rope.scaling.yarn_log_multiplier')!;
    expect(ylm.type).toBe('f32');
    expect(ylm.value).toBeCloseTo(0.1, 6);
    expect(tiny.metadata.get('deepseek2.attention.layer_norm_rms_epsilon')!.type).toBe('f32');
    expect(meta('deepseek2.vocab_size')).toEqual(u32(1024));
    const params = tiny.tensors.reduce((n, t) => n + t.dims.reduce((a, b) => a * b, 1), 0);
    expect(meta('general.parameter_count')).toEqual({ type: 'u64', value: params });
    expect(meta('tokenizer.ggml.model')).toEqual({ type: 'string', value: 'gpt2' });
    expect(meta('tokenizer.ggml.pre')).toEqual({ type: 'string', value: 'deepseek-v3' });
    expect(meta('tokenizer.ggml.bos_token_id')).toEqual(u32(0));
    expect(meta('tokenizer.ggml.eos_token_id')).toEqual(u32(1));
    expect(meta('tokenizer.ggml.add_bos_token')).toEqual({ type: 'bool', value: true });
    expect(meta('tokenizer.ggml.add_eos_token')).toEqual({ type: 'bool', value: false });
    expect(meta('tokenizer.chat_template')).toEqual({ type: 'string', value: DEEPSEEK_R1_TEMPLATE });
  });

  it('has finite, non-zero f16 scales in every quantized block', () => {
    let checked = 0;
    for (const t of tiny.tensors) {
      const f = SCALE_FIELDS[t.type];
      if (!f) continue;
      const buf = data(t);
      for (let o = 0; o < buf.length; o += f.block) {
        for (const at of f.at) {
          const h = buf.readUInt16LE(o + at);
          const v = fromHalf(h);
          if (!Number.isFinite(v) || (at === 0 && v === 0)) throw new Error(`${t.name}: bad scale ${h.toString(16)} at ${o}`);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10000);
  });

  it('has no NaN in F32 tensors; norms are 1; router and bias are small', () => {
    for (const t of tiny.tensors.filter((x) => x.type === GgmlType.F32)) {
      const buf = data(t);
      const v = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      for (const x of v) expect(Number.isFinite(x)).toBe(true);
      if (t.name.endsWith('norm.weight')) expect(v.every((x) => x === 1)).toBe(true);
      if (t.name.endsWith('exp_probs_b.bias')) expect(Math.max(...v.map(Math.abs))).toBeLessThan(0.05);
      if (t.name.endsWith('ffn_gate_inp.weight')) expect(stats(v).std).toBeLessThan(0.1);
    }
  });

  it('scales Q4_K weights to about 1/sqrt(input width), centred on zero', () => {
    for (const name of ['blk.1.ffn_gate_exps.weight', 'blk.0.attn_q_b.weight', 'blk.0.attn_output.weight']) {
      const t = tensor(name);
      const { mean, std } = stats(dequantQ4K(data(t)));
      const target = 1 / Math.sqrt(t.dims[0]!);
      expect(std / target).toBeGreaterThan(0.9);
      expect(std / target).toBeLessThan(1.1);
      expect(Math.abs(mean)).toBeLessThan(target * 0.05);
    }
  });

  it('gives different tensors different bytes', () => {
    const a = data(tensor('blk.1.ffn_gate_exps.weight'));
    const b = data(tensor('blk.1.ffn_up_exps.weight'));
    const c = data(tensor('blk.2.ffn_gate_exps.weight'));
    expect(a.equals(b)).toBe(false);
    expect(a.equals(c)).toBe(false);
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const again = path.join(dir, 'again.gguf');
    const other = path.join(dir, 'other.gguf');
    await forgeDeepseek2({ path: again, preset: 'tiny', seed: 7 });
    await forgeDeepseek2({ path: other, preset: 'tiny', seed: 8 });
    const sha = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex');
    expect(await sha(again)).toBe(await sha(tinyPath));
    expect(await sha(other)).not.toBe(await sha(tinyPath));
  });

  it('reports progress up to the file size', async () => {
    const seen: [number, number][] = [];
    // an odd vocabulary: token_embd's size is not a multiple of the alignment, so padding counts too
    const r = await forgeDeepseek2({ path: path.join(dir, 'p.gguf'), shape: { vocab: 1001 }, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen.map(([d]) => d)).toEqual([...seen.map(([d]) => d)].sort((a, b) => a - b));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toEqual([r.bytes, r.bytes]);
  });
});

describe('tokenizer', () => {
  const tokens = (): string[] => tiny.metadata.get('tokenizer.ggml.tokens')!.value as string[];
  const types = (): number[] => tiny.metadata.get('tokenizer.ggml.token_type')!.value as number[];

  it('has unique tokens including all 256 byte-level characters', () => {
    const t = tokens();
    expect(t).toHaveLength(1024);
    expect(new Set(t).size).toBe(t.length);
    const alphabet = byteToUnicode();
    expect(new Set(alphabet).size).toBe(256);
    for (const ch of alphabet) expect(t.indexOf(ch), ch).toBeGreaterThan(1);
    expect(t).toContain('Ġ');
    expect(t).toContain('Ċ');
    for (const ch of alphabet) expect(types()[t.indexOf(ch)]).toBe(TOKEN_TYPE.NORMAL);
  });

  it('marks special tokens; bos and eos at 0 and 1', () => {
    const t = tokens();
    const ty = types();
    expect(t[0]).toBe(SPECIAL.bos);
    expect(t[1]).toBe(SPECIAL.eos);
    for (const s of [
      SPECIAL.bos,
      SPECIAL.eos,
      SPECIAL.user,
      SPECIAL.assistant,
      SPECIAL.toolCallsBegin,
      SPECIAL.toolCallsEnd,
      SPECIAL.toolCallBegin,
      SPECIAL.toolCallEnd,
      SPECIAL.toolOutputsBegin,
      SPECIAL.toolOutputsEnd,
      SPECIAL.toolOutputBegin,
      SPECIAL.toolOutputEnd,
      SPECIAL.toolSep,
    ]) {
      expect(ty[t.indexOf(s)], s).toBe(TOKEN_TYPE.CONTROL);
    }
    // R1 ships <think>/</think> as added tokens that are not "special": USER_DEFINED
    expect(ty[t.indexOf('<think>')]).toBe(TOKEN_TYPE.USER_DEFINED);
    expect(ty[t.indexOf('</think>')]).toBe(TOKEN_TYPE.USER_DEFINED);
  });

  it('has merges consistent with the tokens, so words become single tokens', () => {
    const t = new Set(tokens());
    const merges = tiny.metadata.get('tokenizer.ggml.merges')!.value as string[];
    expect(merges.length).toBeGreaterThan(200);
    for (const m of merges) {
      const [a, b, ...rest] = m.split(' ');
      expect(rest).toEqual([]);
      expect(t.has(a!) && t.has(b!) && t.has(a! + b!), m).toBe(true);
    }
    expect(t.has('hello')).toBe(true);
    expect(t.has('Ġworld')).toBe(true);
    expect(t.has('Ġthe')).toBe(true);
  });

  it("puts R1's special tokens at R1's ids in a full-size vocabulary", () => {
    const v = buildVocab(129280);
    expect(v.tokens).toHaveLength(129280);
    expect(new Set(v.tokens).size).toBe(129280);
    expect(v.tokens[0]).toBe(SPECIAL.bos);
    expect(v.tokens[1]).toBe(SPECIAL.eos);
    expect(v.tokens[128803]).toBe(SPECIAL.user);
    expect(v.tokens[128804]).toBe(SPECIAL.assistant);
    expect(v.tokens[128798]).toBe('<think>');
    expect(v.tokens[128799]).toBe('</think>');
    expect(v.tokens[128806]).toBe(SPECIAL.toolCallsBegin);
    expect(v.tokens[128814]).toBe(SPECIAL.toolSep);
    expect(v.tokenTypes[128803]).toBe(TOKEN_TYPE.CONTROL);
  });
});

describe('chat template', () => {
  it('carries the DeepSeek markers and the R1 tool and thinking syntax', () => {
    for (const marker of [
      '<｜User｜>',
      '<｜Assistant｜>',
      '<｜end▁of▁sentence｜>',
      '<｜tool▁calls▁begin｜>',
      '<｜tool▁call▁begin｜>function<｜tool▁sep｜>',
      '<｜tool▁outputs▁begin｜>',
      '<｜tool▁output▁begin｜>',
      "<｜Assistant｜><think>\\n",
      "'</think>'",
      'tojson',
    ]) {
      expect(DEEPSEEK_R1_TEMPLATE, marker).toContain(marker);
    }
    // balanced blocks (a cheap syntax check; the native test renders it with llama.cpp's engine)
    const count = (re: RegExp): number => (DEEPSEEK_R1_TEMPLATE.match(re) ?? []).length;
    expect(count(/{%-? if /g)).toBe(count(/{%-? endif/g));
    expect(count(/{%-? for /g)).toBe(count(/{%-? endfor/g));
  });
});

describe('Q4_K_M type choice (llama-quant.cpp)', () => {
  it('matches the public R1 Q4_K_M layout: 404.5 GB, 30 of 61 layers with Q6_K down projections', () => {
    const shape = resolveShape('r1');
    const plan = planTensors(shape, 'q4_k_m');
    const total = plan.reduce((n, t) => n + tensorBytes(t.type, t.dims), 0);
    expect(total).toBe(404488847360);
    const count = (pred: (name: string, type: string) => boolean): number =>
      plan.filter((t) => pred(t.name, ggmlTypeName(t.type))).length;
    expect(count((_, ty) => ty === 'F32')).toBe(361);
    const moreBits = Array.from({ length: 61 }, (_, i) => i).filter((i) => useMoreBits(i, 61));
    expect(moreBits).toHaveLength(30);
    expect(count((n, ty) => /ffn_down(_exps|_shexp)?\.weight$/.test(n) && ty === 'Q6_K')).toBe(3 + 27 + 27);
    expect(count((n, ty) => n.endsWith('attn_k_b.weight') && ty === 'Q5_0')).toBe(61);
    expect(count((n, ty) => n.startsWith('blk.') && n.includes('attn') && ty === 'Q6_K')).toBe(0);
    expect(ggmlTypeName(plan.find((t) => t.name === 'output.weight')!.type)).toBe('Q6_K');
    expect(ggmlTypeName(plan.find((t) => t.name === 'token_embd.weight')!.type)).toBe('Q4_K');
  });

  it('applies the 8-expert and fallback rules', () => {
    const s = (over: Partial<Deepseek2Shape>): Deepseek2Shape => ({ ...PRESETS.tiny, ...over });
    expect(ggmlTypeName(q4kmType('blk.0.attn_output.weight', [2048, 256], s({ experts: 8 })))).toBe('Q5_K');
    expect(ggmlTypeName(q4kmType('blk.0.attn_output.weight', [2048, 256], s({ experts: 16 })))).toBe('Q4_K');
    // rows that are not multiples of 256
    expect(ggmlTypeName(q4kmType('output.weight', [320, 1000], s({})))).toBe('Q8_0');
    expect(ggmlTypeName(q4kmType('output.weight', [336, 1000], s({})))).toBe('F16');
    expect(ggmlTypeName(q4kmType('blk.0.attn_q_a.weight', [320, 512], s({})))).toBe('Q5_0');
    expect(ggmlTypeName(q4kmType('blk.0.attn_q_a.weight', [336, 512], s({})))).toBe('F16');
    expect(ggmlTypeName(q4kmType('blk.0.attn_output.weight', [1920, 256], s({ experts: 8 })))).toBe('Q5_1');
    expect(ggmlTypeName(q4kmType('blk.2.ffn_down_exps.weight', [320, 256, 16], s({})))).toBe('Q8_0');
    expect(ggmlTypeName(q4kmType('blk.1.ffn_gate_inp.weight', [256, 16], s({})))).toBe('F32');
  });

  it('forges a shape that needs the fallback types, and f16/f32 files', async () => {
    const odd = path.join(dir, 'odd.gguf');
    await forgeDeepseek2({ path: odd, shape: { hidden: 320, experts: 8, expertGroups: 0, heads: 15 } });
    const h = await readGgufHeader(odd);
    const type = (n: string): string => h.tensors.find((t) => t.name === n)!.typeName;
    expect(type('output.weight')).toBe('Q8_0');
    expect(type('token_embd.weight')).toBe('Q5_0');
    expect(type('blk.0.attn_output.weight')).toBe('Q5_1');
    expect(h.metadata.has('deepseek2.expert_group_count')).toBe(false);

    const f16 = path.join(dir, 'f16.gguf');
    await forgeDeepseek2({ path: f16, type: 'f16' });
    const h16 = await readGgufHeader(f16);
    expect(h16.metadata.get('general.file_type')).toEqual({ type: 'u32', value: 1 });
    const t16 = (n: string): string => h16.tensors.find((t) => t.name === n)!.typeName;
    expect(t16('blk.0.attn_k_b.weight')).toBe('F16');
    expect(t16('blk.1.ffn_gate_inp.weight')).toBe('F32');
    expect(t16('blk.1.exp_probs_b.bias')).toBe('F32');
    expect(t16('output.weight')).toBe('F16');

    const f32 = path.join(dir, 'f32.gguf');
    await forgeDeepseek2({ path: f32, type: 'f32' });
    const h32 = await readGgufHeader(f32);
    expect(h32.metadata.get('general.file_type')).toEqual({ type: 'u32', value: 0 });
    expect(h32.tensors.every((t) => t.typeName === 'F32')).toBe(true);
  });
});

describe('shapes', () => {
  it('refuses the V2-Lite depths and impossible routing', () => {
    expect(() => resolveShape('tiny', {}, 26)).toThrow(ForgeConfigError);
    expect(() => resolveShape('tiny', {}, 27)).toThrow(ForgeConfigError);
    expect(() => resolveShape('tiny', { expertsUsed: 17 })).toThrow(ForgeConfigError);
    expect(() => resolveShape('tiny', { experts: 20 })).toThrow(/multiple of expertGroups/);
    expect(() => resolveShape('tiny', { vocab: 100 })).toThrow(ForgeConfigError);
    expect(() => resolveShape('tiny', { hidden: 0 })).toThrow(ForgeConfigError);
  });

  it('drops expert groups with fewer than 2 experts per group', () => {
    const s = resolveShape('tiny', { experts: 8, expertsUsed: 2 });
    expect([s.expertGroups, s.expertGroupsUsed]).toEqual([0, 0]);
    expect(resolveShape('tiny').expertGroups).toBe(8);
  });

  it('keeps one MoE block in a shallow R1', () => {
    const s = resolveShape('r1', {}, 2);
    expect([s.blocks, s.leadingDense, s.hidden, s.experts, s.vocab]).toEqual([2, 1, 7168, 256, 129280]);
  });
});

describe('parseForgeArgs', () => {
  it('parses options and shape overrides', () => {
    expect(
      parseForgeArgs(['--preset', 'r1', '--blocks=4', '--type', 'F16', '--seed', '3', '--name', 'x', '-o', 'out.gguf', '--hidden', '512', '--experts=64', '--vocab', '2000']),
    ).toEqual({
      preset: 'r1',
      blocks: 4,
      type: 'f16',
      seed: 3,
      name: 'x',
      path: 'out.gguf',
      shape: { hidden: 512, experts: 64, vocab: 2000 },
    });
    expect(parseForgeArgs(['m.gguf'])).toEqual({ path: 'm.gguf' });
  });

  it('prints help and returns undefined', () => {
    let printed = '';
    expect(parseForgeArgs(['--help'], (t) => (printed += t))).toBeUndefined();
    expect(printed).toContain('--preset');
  });

  it('explains bad arguments', () => {
    expect(() => parseForgeArgs([])).toThrow(ForgeUsageError);
    expect(() => parseForgeArgs(['-o'])).toThrow(/needs a value/);
    expect(() => parseForgeArgs(['-o', 'a', '--preset', 'huge'])).toThrow(/--preset/);
    expect(() => parseForgeArgs(['-o', 'a', '--type', 'q8'])).toThrow(/--type/);
    expect(() => parseForgeArgs(['-o', 'a', '--blocks', 'x'])).toThrow(/--blocks/);
    expect(() => parseForgeArgs(['-o', 'a', '--frobnicate', '1'])).toThrow(/unknown option/);
    expect(() => parseForgeArgs(['-o', 'a', 'b'])).toThrow(/unexpected argument/);
  });
});
