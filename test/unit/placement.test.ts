// Placement: rule files (rules/*.yaml) and the planner. Pure TypeScript: models are header-only
// tensor lists built in memory (the full-width R1 shape) or a tiny forged GGUF read from disk.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceInfo, TensorOverride } from '../../src/binding/types.js';
import { resolveShape } from '../../src/forge/config.js';
import { forgeDeepseek2 } from '../../src/forge/forge.js';
import { planTensors } from '../../src/forge/tensors.js';
import { f32, GgmlType, readGgufSplitSet, str, tensorBytes, u32, type GgufValue } from '../../src/gguf/index.js';
import {
  BUILTIN_RULE_FILES,
  formatPlanTable,
  GPU_RUNTIME_OVERHEAD,
  kvCells,
  loadBuiltinRuleFiles,
  loadRuleFile,
  MAX_TENSOR_OVERRIDES,
  numbersRegex,
  parseLayers,
  parseRuleFile,
  parseSize,
  planPlacement,
  PlanDoesNotFitError,
  RULE_FILL,
  RULE_INPUT,
  RuleFileError,
  selectRuleFile,
  weightsParams,
  type Plan,
  type PlacementModel,
  type RuleFile,
} from '../../src/placement/index.js';

const GiB = 2 ** 30;
const GB = 1e9;

// ---------------------------------------------------------------------------------------------
// Models (header only)

type Tensor = PlacementModel['tensors'][number];

function withBytes(list: { name: string; dims: number[]; type: number }[]): Tensor[] {
  return list.map((t) => ({ ...t, bytes: tensorBytes(t.type, t.dims) }));
}

/** DeepSeek R1 671B Q4_K_M: 61 blocks, 3 dense, 256 experts, absorbed MLA (the forge's tensor list). */
function r1Model(blocks = 61): PlacementModel {
  const shape = resolveShape('r1', {}, blocks);
  const md = new Map<string, GgufValue>([
    ['general.architecture', str('deepseek2')],
    ['general.name', str('DeepSeek R1')],
    ['deepseek2.block_count', u32(blocks)],
    ['deepseek2.context_length', u32(163840)],
    ['deepseek2.embedding_length', u32(7168)],
    ['deepseek2.feed_forward_length', u32(18432)],
    ['deepseek2.attention.head_count', u32(128)],
    ['deepseek2.attention.head_count_kv', u32(1)],
    ['deepseek2.attention.key_length', u32(576)],
    ['deepseek2.attention.value_length', u32(512)],
    ['deepseek2.attention.key_length_mla', u32(192)],
    ['deepseek2.attention.value_length_mla', u32(128)],
    ['deepseek2.attention.kv_lora_rank', u32(512)],
    ['deepseek2.attention.q_lora_rank', u32(1536)],
    ['deepseek2.rope.dimension_count', u32(64)],
    ['deepseek2.leading_dense_block_count', u32(3)],
    ['deepseek2.expert_count', u32(256)],
    ['deepseek2.expert_used_count', u32(8)],
    ['deepseek2.expert_shared_count', u32(1)],
    ['deepseek2.expert_feed_forward_length', u32(2048)],
    ['deepseek2.vocab_size', u32(129280)],
  ]);
  return { metadata: md, tensors: withBytes(planTensors(shape, 'q4_k_m')), paths: ['/models/r1.gguf'] };
}

/** Llama-3-8B (dense) or Qwen3-30B-A3B (qwen3moe) shaped tensor lists, Q4_K/Q6_K. */
function otherModel(kind: 'llama' | 'qwen3moe' | 'mixtral'): PlacementModel {
  const moe = kind !== 'llama';
  const arch = kind === 'qwen3moe' ? 'qwen3moe' : 'llama';
  const L = kind === 'qwen3moe' ? 48 : 32;
  const N = kind === 'qwen3moe' ? 2048 : 4096;
  const H = 32;
  const KV = kind === 'qwen3moe' ? 4 : 8;
  const D = 128;
  const V = kind === 'qwen3moe' ? 151936 : 128256;
  const E = kind === 'qwen3moe' ? 128 : 8;
  const K = kind === 'qwen3moe' ? 8 : 2;
  const FE = kind === 'qwen3moe' ? 768 : 14336;
  const F = kind === 'qwen3moe' ? 6144 : 14336;
  const md = new Map<string, GgufValue>([
    ['general.architecture', str(arch)],
    ['general.name', str(kind)],
    [`${arch}.block_count`, u32(L)],
    [`${arch}.embedding_length`, u32(N)],
    [`${arch}.feed_forward_length`, u32(F)],
    [`${arch}.attention.head_count`, u32(H)],
    [`${arch}.attention.head_count_kv`, u32(KV)],
    [`${arch}.attention.key_length`, u32(D)],
    [`${arch}.attention.value_length`, u32(D)],
    [`${arch}.rope.freq_base`, f32(1e6)],
  ]);
  if (moe) {
    md.set(`${arch}.expert_count`, u32(E));
    md.set(`${arch}.expert_used_count`, u32(K));
    md.set(`${arch}.expert_feed_forward_length`, u32(FE));
  }
  const { Q4_K, Q6_K, F32 } = GgmlType;
  const t: { name: string; dims: number[]; type: number }[] = [{ name: 'token_embd.weight', dims: [N, V], type: Q4_K }];
  for (let i = 0; i < L; i++) {
    const b = `blk.${i}.`;
    t.push({ name: `${b}attn_norm.weight`, dims: [N], type: F32 });
    t.push({ name: `${b}attn_q.weight`, dims: [N, H * D], type: Q4_K });
    t.push({ name: `${b}attn_k.weight`, dims: [N, KV * D], type: Q4_K });
    t.push({ name: `${b}attn_v.weight`, dims: [N, KV * D], type: Q6_K });
    t.push({ name: `${b}attn_output.weight`, dims: [H * D, N], type: Q4_K });
    t.push({ name: `${b}ffn_norm.weight`, dims: [N], type: F32 });
    if (moe) {
      t.push({ name: `${b}ffn_gate_inp.weight`, dims: [N, E], type: F32 });
      t.push({ name: `${b}ffn_gate_exps.weight`, dims: [N, FE, E], type: Q4_K });
      t.push({ name: `${b}ffn_down_exps.weight`, dims: [FE, N, E], type: Q6_K });
      t.push({ name: `${b}ffn_up_exps.weight`, dims: [N, FE, E], type: Q4_K });
    } else {
      t.push({ name: `${b}ffn_gate.weight`, dims: [N, F], type: Q4_K });
      t.push({ name: `${b}ffn_down.weight`, dims: [F, N], type: Q6_K });
      t.push({ name: `${b}ffn_up.weight`, dims: [N, F], type: Q4_K });
    }
  }
  t.push({ name: 'output_norm.weight', dims: [N], type: F32 });
  t.push({ name: 'output.weight', dims: [N, V], type: Q6_K });
  return { metadata: md, tensors: withBytes(t) };
}

function machine(gpus: number[], ramGiB = 512): DeviceInfo[] {
  return [
    ...gpus.map((g, i): DeviceInfo => ({ name: `CUDA${i}`, description: 'GPU', type: 'gpu', memoryFree: g, memoryTotal: g })),
    { name: 'CPU', description: 'CPU', type: 'cpu', memoryFree: ramGiB * GiB, memoryTotal: ramGiB * GiB },
  ];
}

const deviceOf = (plan: Plan, name: string): string => plan.tensors.find((t) => t.name === name)!.device;
const usage = (plan: Plan, device: string) => plan.devices.find((d) => d.device === device)!;
const isExpert = (name: string): boolean => /_exps\.weight$/.test(name);

/**
 * llama.cpp's loader, written independently of the planner: the first override whose pattern is
 * found in the name (std::regex_search, ECMAScript) decides; otherwise token_embd stays on the CPU
 * and everything else goes to its layer's device: with n_gpu_layers = g, blocks from n_layer + 1 - g
 * (and the output layer) are on the GPUs, split by tensor_split.
 */
function llamaPlacement(model: PlacementModel, e: Plan['engine'], nLayer: number): Map<string, string> {
  const compiled = e.tensorOverrides.map((o: TensorOverride) => ({ re: new RegExp(o.pattern), to: /^CUDA\d+$/.test(o.bufferType) ? o.bufferType : 'CPU' }));
  const ngl = e.gpuLayers < 0 ? nLayer + 1 : e.gpuLayers;
  const start = e.devices.length === 0 ? Infinity : nLayer + 1 - ngl;
  const split = e.tensorSplit ?? [1];
  const total = split.reduce((a, b) => a + b, 0);
  const layerDevice = (il: number): string => {
    if (il < start) return 'CPU';
    let acc = 0;
    for (let d = 0; d < e.devices.length; d++) {
      acc += split[d] ?? 0;
      if ((il - start) / (nLayer + 1 - start) < acc / total) return e.devices[d]!;
    }
    return e.devices[e.devices.length - 1]!;
  };
  const out = new Map<string, string>();
  for (const t of model.tensors) {
    const hit = compiled.find((c) => c.re.test(t.name));
    let dev: string;
    if (hit) dev = hit.to;
    else if (t.name.startsWith('token_embd.')) dev = 'CPU';
    else {
      const m = /^blk\.(\d+)\./.exec(t.name);
      dev = layerDevice(m ? Number(m[1]) : nLayer);
    }
    out.set(t.name, dev);
  }
  return out;
}

function expectOverridesReproduce(model: PlacementModel, plan: Plan): void {
  expect(plan.engine.tensorOverrides.length).toBeLessThanOrEqual(MAX_TENSOR_OVERRIDES);
  const sim = llamaPlacement(model, plan.engine, plan.model.layers);
  const wrong = plan.tensors.filter((t) => t.device !== 'unused' && sim.get(t.name) !== t.device).map((t) => `${t.name}: plan ${t.device}, llama.cpp ${sim.get(t.name)}`);
  expect(wrong).toEqual([]);
}

async function ruleText(text: string, file = 'rules/test.yaml'): Promise<RuleFile> {
  return parseRuleFile(text, file);
}

function ruleError(text: string): RuleFileError {
  try {
    parseRuleFile(text, 'rules/x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(RuleFileError);
    return e as RuleFileError;
  }
  throw new Error('expected a RuleFileError');
}

// ---------------------------------------------------------------------------------------------

describe('built-in rule files', () => {
  it('all parse and validate against rules/schema.json', async () => {
    const files = await loadBuiltinRuleFiles();
    expect(files.map((f) => f.name)).toEqual([...BUILTIN_RULE_FILES]);
    for (const f of files) {
      expect(f.builtin).toBe(true);
      expect(f.rules.length).toBeGreaterThan(0);
      expect(f.description).toBeTruthy();
    }
    const dir = path.resolve('rules');
    const onDisk = (await fs.readdir(dir)).filter((n) => n.endsWith('.yaml')).map((n) => n.replace(/\.yaml$/, ''));
    expect(onDisk.sort()).toEqual([...BUILTIN_RULE_FILES].sort());
  });

  it('deepseek-v3 carries the measured defaults: pinned experts, 8192-token micro-batches, op_offload, flash attention', async () => {
    const f = await loadRuleFile('deepseek-v3');
    expect(f.engine).toMatchObject({
      weights: 'pinned',
      batch: 8192,
      ubatch: 8192,
      flashAttention: 'on',
      threads: 'physical-cores',
      gpuPromptOffload: { enabled: true },
      kvCacheType: 'f16',
    });
    expect(f.match).toEqual({ architecture: ['deepseek2'], minExperts: 200, maxExperts: undefined, name: undefined });
    expect(f.fill).toMatchObject({ device: 'cuda:0', reserve: 2 * GiB, order: 'ascending', pack: true });
  });

  it('selectRuleFile picks by architecture and expert count', async () => {
    const pick = async (m: PlacementModel) => (await selectRuleFile(m.metadata)).name;
    expect(await pick(r1Model(4))).toBe('deepseek-v3');
    const lite = r1Model(4);
    lite.metadata.set('deepseek2.expert_count', u32(64));
    expect(await pick(lite)).toBe('deepseek-v2');
    expect(await pick(otherModel('qwen3moe'))).toBe('qwen3-moe');
    expect(await pick(otherModel('mixtral'))).toBe('moe');
    expect(await pick(otherModel('llama'))).toBe('dense');
  });

  it('loadRuleFile takes a name or a path and names the built-ins when it finds neither', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-rules-'));
    const file = path.join(dir, 'mine.yaml');
    await fs.writeFile(file, 'match: {}\nrules:\n  - { tensors: ".*", device: cpu }\n');
    expect((await loadRuleFile(file)).name).toBe('mine');
    expect((await loadRuleFile('mine.yaml', { baseDir: dir })).builtin).toBe(false);
    const err = (await loadRuleFile('deepseek-v4').catch((e: unknown) => e)) as RuleFileError;
    expect(err).toBeInstanceOf(RuleFileError);
    expect(err.code).toBe('RULES_NOT_FOUND');
    expect(err.message).toContain('did you mean "deepseek-v3"');
    await fs.rm(dir, { recursive: true });
  });
});

describe('rule file errors name the line', () => {
  const good = ['match: { architecture: deepseek2 }', 'rules:', '  - name: experts', "    tensors: 'ffn_.*_exps'", '    device: cpu'];

  it('bad YAML', () => {
    const e = ruleError(['match: { architecture: deepseek2', 'rules: []'].join('\n'));
    expect(e.code).toBe('RULES_INVALID');
    expect(e.message).toMatch(/^rules\/x\.yaml line \d+: is not valid YAML/);
  });

  it('unknown device', () => {
    const text = [...good, "  - tensors: '.*'", '    device: gpu0'].join('\n');
    const e = ruleError(text);
    expect(e.message).toBe('rules/x.yaml line 7: rules[1].device must be "cpu" or "cuda:N", not "gpu0"');
    expect(e.issues[0]).toMatchObject({ line: 7, path: 'rules[1].device' });
  });

  it('bad regexes, including constructs std::regex lacks', () => {
    const e = ruleError([...good.slice(0, 3), "    tensors: 'blk\\.(\\d+\\.ffn'", '    device: cpu'].join('\n'));
    expect(e.message).toMatch(/^rules\/x\.yaml line 4: rules\[0\]\.tensors is not a valid regular expression/);
    const lb = ruleError([...good.slice(0, 3), "    tensors: '(?<=blk\\.)\\d+'", '    device: cpu'].join('\n'));
    expect(lb.message).toContain('line 4: rules[0].tensors uses lookbehind');
  });

  it('unknown keys, with a suggestion', () => {
    const e = ruleError([...good.slice(0, 4), '    devcie: cpu'].join('\n'));
    expect(e.issues.map((i) => i.line)).toEqual([3, 5]);
    expect(e.message).toContain('line 3: rules[0] needs a "device" key');
    expect(e.message).toContain('line 5: rules[0].devcie is not a known key (did you mean "device"?)');
  });

  it('bad reserve size and a fill without a layer group', () => {
    const e = ruleError([...good, 'fill:', "  tensors: 'blk\\.\\d+\\.ffn_.*_exps'", '  device: cuda:0', '  reserve: 2 gigs'].join('\n'));
    expect(e.message).toContain('line 7: fill.tensors needs a capturing group for the layer number');
    expect(e.message).toContain('line 9: fill.reserve must be a size such as "2GiB"');
  });

  it('backwards layer ranges, empty files, quantized KV without flash attention', () => {
    expect(ruleError([...good, '    layers: 30-10'].join('\n')).message).toBe(
      'rules/x.yaml line 6: rules[0].layers has the range "30-10", which runs backwards',
    );
    expect(ruleError('').message).toContain('line 1: is empty');
    expect(ruleError('# nothing\n').message).toContain('is empty');
    const kv = ruleError([...good, 'engine:', '  flash_attention: false', '  kv_cache_type: q8_0'].join('\n'));
    expect(kv.message).toContain('line 8: engine.kv_cache_type q8_0 needs flash attention');
  });

  it('every problem in one error', () => {
    const e = ruleError(['match: { archtecture: x }', 'rules:', "  - { tensors: '(', device: tpu }", 'engine: { weights: swap }'].join('\n'));
    expect(e.issues.length).toBe(4);
    expect(e.message.split('\n')[0]).toBe('rules/x.yaml has 4 errors:');
  });
});

describe('rule evaluation', () => {
  it('parses sizes and layer lists', () => {
    expect(parseSize('2GiB')).toBe(2 * GiB);
    expect(parseSize('1.5 GB')).toBe(1.5e9);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('2 gigs')).toBeUndefined();
    expect([...(parseLayers('0-2, 5') as Set<number>)]).toEqual([0, 1, 2, 5]);
    expect([...(parseLayers([1, '3-4']) as Set<number>)]).toEqual([1, 3, 4]);
    expect([...(parseLayers(7) as Set<number>)]).toEqual([7]);
    expect(numbersRegex([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 20, 21, 22, 100])).toBe('[0-9]|1[013]|2[0-2]|100');
  });

  it('first match wins', async () => {
    const rules = await ruleText(
      [
        'match: {}',
        'rules:',
        "  - { name: q on cpu, tensors: 'attn_q_a\\.', device: cpu }",
        "  - { name: attention on gpu, tensors: 'attn_', device: 'cuda:0' }",
        "  - { name: rest on cpu, tensors: '.*', device: cpu }",
      ].join('\n'),
    );
    const model = r1Model(4);
    const plan = planPlacement({ model, rules, devices: machine([80 * GiB]), numCtx: 4096 });
    expect(deviceOf(plan, 'blk.1.attn_q_a.weight')).toBe('CPU');
    expect(deviceOf(plan, 'blk.1.attn_q_b.weight')).toBe('CUDA0');
    expect(deviceOf(plan, 'blk.1.attn_kv_a_mqa.weight')).toBe('CUDA0');
    expect(deviceOf(plan, 'blk.1.ffn_down.weight')).toBe('CPU');
    expect(plan.rules.map((r) => r.matched)).toEqual([4, 4 * 8, model.tensors.length - 1 - 36]);
    expectOverridesReproduce(model, plan);
  });

  it('layer ranges put whole layers on different GPUs, with their KV cache', async () => {
    const rules = await ruleText(
      [
        'match: {}',
        'rules:',
        "  - { name: experts, tensors: '_exps\\.', device: cpu }",
        "  - { name: first half, tensors: '.*', layers: 0-29, device: 'cuda:0' }",
        "  - { name: second half, tensors: '.*', layers: [30-59, 60], device: 'cuda:1' }",
        "  - { name: output, tensors: '^output', device: 'cuda:1' }",
      ].join('\n'),
    );
    const model = r1Model();
    const plan = planPlacement({ model, rules, devices: machine([80 * GiB, 80 * GiB]), numCtx: 8192 });
    expect(plan.engine.devices).toEqual(['CUDA0', 'CUDA1']);
    expect(plan.engine.gpuLayers).toBe(-1);
    expect(plan.engine.tensorSplit).toEqual([30, 32]); // 31 blocks + the output layer
    expect(plan.kvDevices.slice(0, 61)).toEqual(plan.layerDevices.slice(0, 61));
    const perLayer = 576 * 2 * 8192;
    expect(usage(plan, 'CUDA0').kv).toBe(30 * perLayer);
    expect(usage(plan, 'CUDA1').kv).toBe(31 * perLayer);
    expect(deviceOf(plan, 'blk.29.attn_q_b.weight')).toBe('CUDA0');
    expect(deviceOf(plan, 'blk.30.attn_q_b.weight')).toBe('CUDA1');
    expect(deviceOf(plan, 'blk.30.ffn_up_exps.weight')).toBe('CPU');
    expectOverridesReproduce(model, plan);
  });

  it('llama.cpp n_gpu_layers split: the KV cache of CPU layers stays in RAM (matches llama.cpp: ngl 16 of Llama-3-8B)', async () => {
    const rules = await ruleText(["match: {}", 'rules:', "  - { tensors: '.*', layers: 0-16, device: cpu }", "  - { tensors: '.*', device: 'cuda:0' }"].join('\n'));
    const model = otherModel('llama');
    const plan = planPlacement({ model, rules, devices: machine([24 * GiB]), numCtx: 8192 });
    expect(plan.engine.gpuLayers).toBe(16);
    // llama_get_memory_breakdown for ngl=16 at n_ctx 8192 (H100, no_alloc): 503316480 / 570425344
    expect(usage(plan, 'CUDA0').kv).toBe(503316480);
    expect(usage(plan, 'CPU').kv).toBe(570425344);
    expect(plan.engine.tensorOverrides).toEqual([]);
    expectOverridesReproduce(model, plan);
  });
});

describe('DeepSeek R1 671B Q4_K_M (61 layers, 3 dense, 256 experts)', () => {
  const model = r1Model();
  let v3: RuleFile;
  beforeAll(async () => {
    v3 = await loadRuleFile('deepseek-v3');
  });

  it('24 GB GPU: experts in RAM, everything else on the GPU, well under 24 GB', () => {
    const noFill = { ...v3, fill: undefined };
    // 2048-token micro-batches: the settings llama.cpp's figures below were taken with
    const plan = planPlacement({ model, rules: noFill, devices: machine([24 * GB]), numCtx: 8192, nBatch: 2048, nUbatch: 2048 });
    for (const t of plan.tensors) {
      const want = isExpert(t.name) || t.name === 'token_embd.weight' ? 'CPU' : 'CUDA0';
      expect(t.device, t.name).toBe(want);
    }
    expect(plan.tensors.find((t) => t.name === 'token_embd.weight')!.rule).toBe(RULE_INPUT);
    const gpu = usage(plan, 'CUDA0');
    // llama.cpp (no_alloc on an H100) reports CUDA0 model 9984056192, KV 575668224, compute 3972030464
    expect(gpu.weights).toBe(9984032768);
    expect(gpu.kv).toBe(61 * (512 + 64) * 2 * 8192);
    expect(gpu.kv).toBe(575668224);
    expect(gpu.compute - GPU_RUNTIME_OVERHEAD).toBeGreaterThan(3972030464 * 0.99);
    expect(gpu.compute - GPU_RUNTIME_OVERHEAD).toBeLessThan(3972030464 * 1.01);
    expect(gpu.total).toBeLessThan(16 * GB);
    expect(plan.fits).toBe(true);
    expect(plan.kv).toMatchObject({ cells: 8192, mla: true, layers: 61, bytesPerCell: 61 * 1152 });
    expect(usage(plan, 'CPU').weights).toBe(394504814592);
    expect(plan.engine).toMatchObject({
      devices: ['CUDA0'],
      gpuLayers: -1,
      loadMode: 'none',
      noHost: false,
      useExtraBufts: false,
      opOffload: true,
      flashAttention: 'on',
      nBatch: 2048,
      nUbatch: 2048,
      typeK: 'f16',
      typeV: 'f16',
      env: { GGML_OP_OFFLOAD_MIN_BATCH: '256' },
    });
    // exactly llama.cpp's --cpu-moe: one pattern, experts to the CPU
    expect(plan.engine.tensorOverrides).toEqual([{ pattern: v3.rules[0]!.tensors, bufferType: 'CPU' }]);
    expectOverridesReproduce(model, plan);
  });

  it('24 GB GPU with fill: whole expert layers only, within the reserve', () => {
    const plan = planPlacement({ model, rules: v3, devices: machine([24 * GB]), numCtx: 8192, nBatch: 2048, nUbatch: 2048 });
    const gpu = usage(plan, 'CUDA0');
    expect(gpu.required).toBeLessThanOrEqual(24 * GB - 2 * GiB);
    expect(plan.fill!.layers.length).toBeGreaterThanOrEqual(1);
    expectOverridesReproduce(model, plan);
  });

  it('80 GB GPU: fill puts whole expert layers on the GPU and respects the reserve', () => {
    const free = 80 * GB;
    const plan = planPlacement({ model, rules: v3, devices: machine([free]), numCtx: 8192 });
    const filled = plan.fill!.layers;
    expect(filled.length).toBeGreaterThanOrEqual(8);
    for (let il = 3; il < 61; il++) {
      const devs = new Set(plan.tensors.filter((t) => t.layer === il && isExpert(t.name)).map((t) => t.device));
      expect(devs.size, `layer ${il}`).toBe(1);
      expect([...devs][0]).toBe(filled.includes(il) ? 'CUDA0' : 'CPU');
    }
    expect(plan.tensors.filter((t) => t.rule === RULE_FILL).length).toBe(3 * filled.length);
    const gpu = usage(plan, 'CUDA0');
    expect(gpu.required).toBeLessThanOrEqual(free - 2 * GiB);
    // maximal: no remaining expert layer would have fitted in what is left
    const left = free - 2 * GiB - gpu.required;
    for (let il = 3; il < 61; il++) {
      if (filled.includes(il)) continue;
      const bytes = plan.tensors.filter((t) => t.layer === il && isExpert(t.name)).reduce((s, t) => s + t.bytes, 0);
      expect(bytes, `layer ${il} would have fitted`).toBeGreaterThan(left);
    }
    expect(plan.engine.tensorOverrides).toHaveLength(2);
    expect(plan.engine.tensorOverrides[0]!.bufferType).toBe('CUDA0');
    expectOverridesReproduce(model, plan);
  });

  it('80 GB GPU at 8K: the rule file\'s 8192-token micro-batch, then fill', () => {
    const plan = planPlacement({ model, rules: v3, devices: machine([80 * GB]), numCtx: 8192 });
    expect(plan.engine).toMatchObject({ nBatch: 8192, nUbatch: 8192, opOffload: true });
    expect(plan.notes.some((n) => n.includes('do not fit the GPU'))).toBe(false);
    expect(plan.fill!.layers.length).toBeGreaterThanOrEqual(8);
  });

  it('smaller GPUs: the micro-batch is halved, then prompts stay on the CPU, before refusing', () => {
    const noFill = { ...v3, fill: undefined };
    const at = (gb: number, nUbatch?: number) =>
      planPlacement({ model, rules: noFill, devices: machine([gb * GB]), numCtx: 8192, nUbatch, throwIfDoesNotFit: false });
    const roomy = at(24);
    expect(roomy.engine.nUbatch).toBe(8192);
    // 16 GB: 8192 tokens (17.7 GB) do not fit, 4096 (15.96 GB) do
    const mid = at(16);
    expect(mid.fits).toBe(true);
    expect(mid.engine).toMatchObject({ nBatch: 8192, nUbatch: 4096, opOffload: true });
    expect(usage(mid, 'CUDA0').compute).toBeLessThan(usage(roomy, 'CUDA0').compute);
    expect(mid.notes[0]).toBe("the rule file's settings do not fit the GPU: planned with a micro-batch of 4096 instead of 8192 tokens");
    // 13 GB: even 512 tokens need the shipped 3.08 GB expert tensor; without the offload 1024 fit
    const small = at(13);
    expect(small.fits).toBe(true);
    expect(small.engine).toMatchObject({ nUbatch: 1024, opOffload: false, env: {} });
    expect(usage(small, 'CUDA0').compute).toBeLessThan(2 * GB);
    expect(small.notes[0]).toBe(
      "the rule file's settings do not fit the GPU: planned with a micro-batch of 1024 instead of 8192 tokens and prompts on the CPU (gpu_prompt_offload off)",
    );
    // 10 GB: nothing fits; the refusal shows the rule file's own settings
    const tiny = at(10);
    expect(tiny.fits).toBe(false);
    expect(tiny.engine).toMatchObject({ nUbatch: 8192, opOffload: true });
    expect(() => planPlacement({ model, rules: noFill, devices: machine([10 * GB]), numCtx: 8192 })).toThrow(PlanDoesNotFitError);
    // a micro-batch the caller asked for is kept
    const asked = at(16, 8192);
    expect(asked.fits).toBe(false);
    expect(asked.engine.nUbatch).toBe(8192);
  });

  it('too little RAM for pinned experts: falls back to mmap with a note instead of failing', () => {
    const plan = planPlacement({ model, rules: v3, devices: machine([80 * GB], 256), numCtx: 8192 });
    expect(plan.fits).toBe(true);
    expect(plan.engine).toMatchObject({ loadMode: 'mmap', noHost: false, useExtraBufts: false });
    expect(plan.notes.some((n) => n.startsWith('weights "pinned" would need') && n.includes("mmap'd instead"))).toBe(true);
    expect(plan.notes.some((n) => n.includes('mmap will read them from disk'))).toBe(true);
    expect(usage(plan, 'CPU').required).toBeLessThan(GiB);
  });

  it('CPU-only machine: cuda rules degrade to the CPU with a note, and nothing needs an override', () => {
    const plan = planPlacement({ model, rules: v3, devices: machine([]), numCtx: 4096 });
    expect(new Set(plan.tensors.map((t) => t.device))).toEqual(new Set(['CPU']));
    expect(plan.notes).toContain('no GPU: rules for cuda:0 place their tensors on the CPU');
    expect(plan.notes).toContain('fill skipped: cuda:0 is not present');
    expect(plan.rules[1]!.device).toBe('CPU');
    expect(plan.engine).toMatchObject({ devices: [], gpuLayers: 0, tensorOverrides: [], env: {}, loadMode: 'mmap' });
    expect(plan.notes).toContain('weights "pinned" need a GPU: without one the weights are mmap\'d');
    // mmap'd weights are page cache, not required memory: the CPU row needs only KV and compute
    expect(usage(plan, 'CPU').required).toBe(usage(plan, 'CPU').kv + usage(plan, 'CPU').compute);
    expect(usage(plan, 'CPU').kv).toBe(61 * 1152 * 4096);
    expectOverridesReproduce(model, plan);
    expect(formatPlanTable(plan)).toContain('CPU (asked cuda:0)');
  });

  it('the table shows devices, rules, fill and engine settings', () => {
    const plan = planPlacement({ model, rules: v3, devices: machine([80 * GB]), numCtx: 8192 });
    const text = formatPlanTable(plan);
    expect(text).toMatch(/^DEVICE +WEIGHTS +KV CACHE +COMPUTE +TOTAL +FREE +FITS$/m);
    expect(text).toMatch(/^CUDA0 .* yes$/m);
    expect(text).toContain('1. routed experts stay in RAM');
    expect(text).toContain('fill (reserve 2.00 GiB)');
    expect(text).toContain('weights pinned (load_mode none)');
    expect(text).toContain('KV cache: 8192 cells');
  });

  it('places exactly what llama.cpp loads with the emitted overrides (measured on an H100)', () => {
    // llama_get_memory_breakdown (no_alloc) with this plan's n_gpu_layers and tensor_buft_overrides:
    // 24 GB: CUDA0 model 16325843840, CUDA_Host model 388163026944; 80 GB: 71904566144 / 332584304640.
    // The GPU's buffers pad each tensor (a few KB over 1025 tensors).
    for (const [free, gpu, host] of [
      [24 * GB, 16325843840, 388163026944],
      [80 * GB, 71904566144, 332584304640],
    ] as const) {
      const plan = planPlacement({ model, rules: v3, devices: machine([free]), numCtx: 8192, nBatch: 2048, nUbatch: 2048 });
      expect(Math.abs(usage(plan, 'CUDA0').weights - gpu)).toBeLessThan(64 * 1024);
      expect(usage(plan, 'CPU').weights).toBe(host);
    }
  });
});

describe('compute buffer estimates against llama.cpp', () => {
  // llama_get_memory_breakdown with no_alloc on an H100 (pinned llama.cpp, sparse GGUFs of the full
  // shapes): compute bytes of CUDA0 and of the CPU backend's (CUDA_Host) buffer.
  const experts = "  - { tensors: '_exps\\.', device: cpu }";
  const allGpu = "  - { tensors: '.*', device: 'cuda:0' }";
  const rows: {
    what: string;
    model: () => PlacementModel;
    rules: string[];
    ctx: number;
    ub: number;
    fa?: boolean;
    off?: boolean | number;
    weights?: string;
    gpu: number;
    host?: number;
  }[] = [
    { what: 'R1 experts pinned', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 512, gpu: 3305117696, host: 37758976 },
    { what: 'R1 experts pinned', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 2048, gpu: 3972030464, host: 151035904 },
    { what: 'R1 experts pinned', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 4096, gpu: 4861247488, host: 302071808 },
    { what: 'R1 experts pinned', model: r1Model, rules: [experts, allGpu], ctx: 131072, ub: 2048, gpu: 4475346944, host: 654352384 },
    { what: 'R1 no op_offload', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 2048, off: false, gpu: 2174885888, host: 1023451136 },
    { what: 'R1 min batch above ubatch', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 2048, off: 4096, gpu: 2174885888, host: 1023451136 },
    { what: 'R1 no flash attention', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 2048, fa: false, gpu: 10443980800 },
    { what: 'R1 repacked', model: r1Model, rules: [experts, allGpu], ctx: 8192, ub: 2048, weights: 'repacked', gpu: 4240465920, host: 1023451136 },
    { what: 'R1 all on GPU', model: r1Model, rules: [allGpu], ctx: 8192, ub: 512, gpu: 406855680 },
    { what: 'R1 all on GPU', model: r1Model, rules: [allGpu], ctx: 8192, ub: 2048, gpu: 1627422720 },
    { what: 'R1 all on GPU, no FA', model: r1Model, rules: [allGpu], ctx: 8192, ub: 512, fa: false, gpu: 2560665600 },
    { what: 'Qwen3-30B-A3B experts pinned', model: () => otherModel('qwen3moe'), rules: [experts, allGpu], ctx: 8192, ub: 2048, gpu: 1261436928, host: 67166208 },
    { what: 'Qwen3-30B-A3B experts pinned', model: () => otherModel('qwen3moe'), rules: [experts, allGpu], ctx: 8192, ub: 128, gpu: 182979328 },
    { what: 'Qwen3-30B-A3B all on GPU', model: () => otherModel('qwen3moe'), rules: [allGpu], ctx: 8192, ub: 512, gpu: 358125568 },
    { what: 'Qwen3-30B-A3B all on GPU', model: () => otherModel('qwen3moe'), rules: [allGpu], ctx: 32768, ub: 2048, gpu: 1432502272 },
    { what: 'Llama-3-8B all on GPU', model: () => otherModel('llama'), rules: [allGpu], ctx: 8192, ub: 2048, gpu: 1084227584, host: 100720640 },
    { what: 'Llama-3-8B all on GPU, no FA', model: () => otherModel('llama'), rules: [allGpu], ctx: 8192, ub: 512, fa: false, gpu: 591405056 },
    { what: 'Llama-3-8B 24 of 32 blocks on CPU', model: () => otherModel('llama'), rules: ["  - { tensors: '.*', layers: 0-23, device: cpu }", allGpu], ctx: 8192, ub: 512, gpu: 271056896, host: 25180160 },
    { what: 'Llama-3-8B 24 of 32 blocks on CPU, no op_offload', model: () => otherModel('llama'), rules: ["  - { tensors: '.*', layers: 0-23, device: cpu }", allGpu], ctx: 8192, ub: 512, off: false, gpu: 271056896, host: 130037760 },
  ];
  for (const r of rows) {
    it(`${r.what}, n_ctx ${r.ctx}, n_ubatch ${r.ub}`, () => {
      const off = r.off === undefined ? '{ enabled: true, min_batch: 32 }' : typeof r.off === 'number' ? `{ enabled: true, min_batch: ${r.off} }` : 'false';
      const rules = parseRuleFile(
        ['match: {}', 'rules:', ...r.rules, 'engine:', `  flash_attention: ${r.fa ?? true}`, `  gpu_prompt_offload: ${off}`, `  weights: ${r.weights ?? 'pinned'}`, `  batch: ${Math.max(2048, r.ub)}`, `  ubatch: ${r.ub}`].join('\n'),
        'calibration.yaml',
      );
      const plan = planPlacement({ model: r.model(), rules, devices: machine([1000 * GB]), numCtx: r.ctx });
      const gpu = usage(plan, 'CUDA0').compute - GPU_RUNTIME_OVERHEAD;
      // never far below what llama.cpp reserves (the 512 MiB headroom covers the rest), never wasteful
      expect(gpu / r.gpu).toBeGreaterThan(0.97);
      expect(gpu / r.gpu).toBeLessThan(1.1);
      if (gpu < r.gpu) expect(r.gpu - gpu).toBeLessThan(GPU_RUNTIME_OVERHEAD / 2);
      if (r.host !== undefined) {
        const host = usage(plan, 'CPU').compute;
        expect(host / r.host).toBeGreaterThan(0.98);
        expect(host / r.host).toBeLessThan(1.1);
      }
    });
  }
});

describe('other models', () => {
  it('dense model that fits: everything on the GPU, no overrides', async () => {
    const model = otherModel('llama');
    const plan = planPlacement({ model, rules: await loadRuleFile('dense'), devices: machine([24 * GiB]), numCtx: 8192 });
    expect(plan.engine.gpuLayers).toBe(-1);
    expect(plan.engine.tensorOverrides).toEqual([]);
    expect(plan.engine.loadMode).toBe('mmap');
    expect(plan.tensors.filter((t) => t.device === 'CPU').map((t) => t.name)).toEqual(['token_embd.weight']);
    // llama.cpp: CUDA0 KV 1073741824, compute 271056896 at n_ubatch 512
    expect(usage(plan, 'CUDA0').kv).toBe(1073741824);
    expect((usage(plan, 'CUDA0').compute - GPU_RUNTIME_OVERHEAD) / 271056896).toBeCloseTo(1, 1);
  });

  it('dense model on a small GPU: the output layer and the last blocks, contiguous, as n_gpu_layers', async () => {
    const model = otherModel('llama');
    const plan = planPlacement({ model, rules: await loadRuleFile('dense'), devices: machine([4 * GiB]), numCtx: 8192 });
    const g = plan.engine.gpuLayers;
    expect(g).toBeGreaterThan(1);
    expect(g).toBeLessThan(33);
    const first = 33 - g;
    for (let il = 0; il < 32; il++) expect(plan.kvDevices[il]).toBe(il < first ? 'CPU' : 'CUDA0');
    expect(deviceOf(plan, 'output.weight')).toBe('CUDA0');
    expect(usage(plan, 'CUDA0').required).toBeLessThanOrEqual(4 * GiB - GiB);
    expect(plan.engine.tensorOverrides).toEqual([]);
    expectOverridesReproduce(model, plan);
  });

  it('a plan that cannot fit throws PLAN_DOES_NOT_FIT with the table', async () => {
    const rules = await ruleText(["match: {}", 'rules:', "  - { name: all on the GPU, tensors: '.*', device: 'cuda:0' }"].join('\n'));
    const model = otherModel('llama');
    let err: unknown;
    try {
      planPlacement({ model, rules, devices: machine([1 * GiB]), numCtx: 8192 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanDoesNotFitError);
    const e = err as PlanDoesNotFitError;
    expect(e.code).toBe('PLAN_DOES_NOT_FIT');
    expect(e.plan.fits).toBe(false);
    expect(e.message).toMatch(/^the model does not fit with rule file "test": CUDA0 needs .* but has 1.00 GiB free/);
    expect(e.message).toContain('DEVICE');
    expect(e.message).toMatch(/^CUDA0 .* NO, .* over$/m);
    // the same plan without throwing, for `moed show --plan`
    const plan = planPlacement({ model, rules, devices: machine([1 * GiB]), numCtx: 8192, throwIfDoesNotFit: false });
    expect(plan.fits).toBe(false);
  });

  it('Qwen3 MoE on a 24 GB GPU: fill takes every expert layer that fits', async () => {
    const model = otherModel('qwen3moe');
    const rules = await selectRuleFile(model.metadata);
    const plan = planPlacement({ model, rules, devices: machine([24 * GiB]), numCtx: 8192 });
    // llama.cpp: CUDA0 KV 805306368 for 48 layers x 4 KV heads x 128 x (K+V) x f16 at 8192
    expect(usage(plan, 'CUDA0').kv).toBe(805306368);
    expect(plan.fill!.layers.length).toBe(48);
    expect(usage(plan, 'CUDA0').required).toBeLessThanOrEqual(23 * GiB);
    expectOverridesReproduce(model, plan);
  });
});

describe('KV cache and engine mapping', () => {
  it('cells follow llama.cpp: n_ctx padded to 256, per-sequence streams without kv_unified', () => {
    expect(kvCells(8000, 1, true)).toEqual({ nCtx: 8192, nCtxSeq: 8192, cells: 8192 });
    expect(kvCells(4096, 4, true)).toEqual({ nCtx: 16384, nCtxSeq: 16384, cells: 16384 });
    expect(kvCells(1000, 3, false)).toEqual({ nCtx: 3072, nCtxSeq: 1024, cells: 3072 });
  });

  it('q8_0 KV: 612 bytes per layer and token for MLA (576 elements in 34-byte blocks of 32)', async () => {
    const v3 = await loadRuleFile('deepseek-v3');
    const rules: RuleFile = { ...v3, fill: undefined, engine: { ...v3.engine, kvCacheType: 'q8_0' } };
    const plan = planPlacement({ model: r1Model(), rules, devices: machine([80 * GB]), numCtx: 8192 });
    // llama.cpp: CUDA0 KV 305854976 (305823744 of tensor data plus buffer padding)
    expect(usage(plan, 'CUDA0').kv).toBe(61 * 612 * 8192);
    expect(plan.engine).toMatchObject({ typeK: 'q8_0', typeV: 'q8_0' });
  });

  it('weights modes map to load_mode / no_host / use_extra_bufts', () => {
    expect(weightsParams('mmap')).toEqual({ loadMode: 'mmap', noHost: false, useExtraBufts: false });
    expect(weightsParams('pinned')).toEqual({ loadMode: 'none', noHost: false, useExtraBufts: false });
    expect(weightsParams('repacked')).toEqual({ loadMode: 'none', noHost: true, useExtraBufts: true });
  });
});

describe('a forged GGUF read from disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-plan-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('plans the tiny deepseek2 model from its header', async () => {
    const file = path.join(dir, 'tiny.gguf');
    await forgeDeepseek2({ path: file, preset: 'tiny', seed: 1 });
    const set = await readGgufSplitSet(file, { maxArrayLength: 0 });
    const rules = await selectRuleFile(set.metadata);
    expect(rules.name).toBe('deepseek-v2'); // 16 experts
    const plan = planPlacement({ model: set, rules, devices: machine([8 * GiB]), numCtx: 2048 });
    expect(plan.model.path).toBe(file);
    expect(plan.fits).toBe(true);
    // the whole model fits: fill moves every expert layer
    expect(plan.tensors.filter((t) => t.device === 'CPU').map((t) => t.name)).toEqual(['token_embd.weight']);
    expect(plan.engine.tensorOverrides).toEqual([]);
    expectOverridesReproduce(set, plan);
  });
});
