// Shapes of synthetic DeepSeek-V3/R1 models (llama.cpp architecture "deepseek2") and the rules a
// shape must satisfy. Several of libllama's checks on these values are GGML_ASSERTs that abort the
// process (src/llama-model.cpp:1293-1306), so every one is checked here before a byte is written.

export interface Deepseek2Shape {
  /** Transformer blocks (deepseek2.block_count). */
  blocks: number;
  /** The first `leadingDense` blocks have a dense FFN instead of experts. */
  leadingDense: number;
  hidden: number;
  /** FFN width of the dense blocks. */
  denseFfn: number;
  heads: number;
  qLoraRank: number;
  kvLoraRank: number;
  ropeDim: number;
  nopeDim: number;
  vDim: number;
  experts: number;
  expertsUsed: number;
  expertFfn: number;
  sharedExperts: number;
  /** 0 means no group routing (the keys are left out). */
  expertGroups: number;
  expertGroupsUsed: number;
  vocab: number;
  contextLength: number;
  /** YaRN scaling factor; 0 writes no rope scaling keys. */
  yarnFactor: number;
  yarnOriginalContext: number;
}

export type PresetName = 'tiny' | 'small' | 'r1';

/** R1's attention, expert and vocabulary widths (DeepSeek-V3/R1 671B). */
const R1: Deepseek2Shape = {
  blocks: 61,
  leadingDense: 3,
  hidden: 7168,
  denseFfn: 18432,
  heads: 128,
  qLoraRank: 1536,
  kvLoraRank: 512,
  ropeDim: 64,
  nopeDim: 128,
  vDim: 128,
  experts: 256,
  expertsUsed: 8,
  expertFfn: 2048,
  sharedExperts: 1,
  expertGroups: 8,
  expertGroupsUsed: 4,
  vocab: 129280,
  contextLength: 163840,
  yarnFactor: 40,
  yarnOriginalContext: 4096,
};

export const PRESETS: Readonly<Record<PresetName, Deepseek2Shape>> = {
  // A few MB: what the tests load. The MLA widths are R1's (kv LoRA 512, rope 64, nope 128,
  // v 128) so the real attention kernels run; 16 heads because CUDA flash attention needs >= 2;
  // every row length that a K-quant covers is a multiple of 256. 3 blocks: block 2 is one of
  // llama-quantize's "more bits" layers, block 1 is not, so both Q4_K_M variants appear.
  tiny: {
    ...R1,
    blocks: 3,
    leadingDense: 1,
    hidden: 256,
    denseFfn: 512,
    heads: 16,
    qLoraRank: 512,
    experts: 16,
    expertsUsed: 4,
    expertFfn: 256,
    expertGroups: 8,
    expertGroupsUsed: 4,
    vocab: 1024,
  },
  // Tens of MB: the shape of section 3.4 of libllama-api.md with fewer experts.
  small: {
    ...R1,
    blocks: 4,
    leadingDense: 1,
    hidden: 1024,
    denseFfn: 2048,
    heads: 16,
    qLoraRank: 512,
    experts: 32,
    expertsUsed: 8,
    expertFfn: 256,
    expertGroups: 8,
    expertGroupsUsed: 4,
    vocab: 4096,
  },
  // Full R1 width; choose the depth with `blocks` (a 61-block file is 404.5 GB of tensor data).
  r1: { ...R1 },
};

export class ForgeConfigError extends Error {
  readonly code = 'FORGE_INVALID_SHAPE';
  constructor(message: string) {
    super(message);
    this.name = 'ForgeConfigError';
  }
}

/** The smallest vocabulary that holds bos, eos, the 256 byte tokens and the special tokens. */
export const MIN_VOCAB = 2 + 256 + 13;

const U32_MAX = 0xffffffff;

/**
 * Checks a shape against libllama's rules and returns it normalised: expert groups are dropped
 * (set to 0) when there are fewer than 2 experts per group, because group routing takes the top 2
 * experts of each group. Throws ForgeConfigError for anything libllama would reject or abort on.
 */
export function validateShape(input: Deepseek2Shape): Deepseek2Shape {
  const s = { ...input };
  const fail = (msg: string): never => {
    throw new ForgeConfigError(msg);
  };
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isFinite(v) || v < 0 || v > U32_MAX) fail(`${k} must be a non-negative 32-bit number, got ${v}`);
    if (k !== 'yarnFactor' && !Number.isInteger(v)) fail(`${k} must be an integer, got ${v}`);
  }
  const positive: (keyof Deepseek2Shape)[] = [
    'blocks',
    'hidden',
    'heads',
    'qLoraRank',
    'kvLoraRank',
    'ropeDim',
    'nopeDim',
    'vDim',
    'experts',
    'expertsUsed',
    'expertFfn',
    'sharedExperts',
    'vocab',
    'contextLength',
  ];
  for (const k of positive) if (s[k] < 1) fail(`${k} must be at least 1`);

  if (s.blocks > 512) fail(`blocks must be at most 512 (got ${s.blocks})`);
  // deepseek2.cpp:7 takes 26/27 trunk layers (or 48 with a 128256 vocabulary) for the "Lite"
  // variant, which has no q LoRA: the loader would then expect attn_q and fail.
  if (s.blocks === 26 || s.blocks === 27 || (s.blocks === 48 && s.vocab === 128256)) {
    fail(`${s.blocks} blocks${s.blocks === 48 ? ' with a 128256 vocabulary' : ''} would be loaded as DeepSeek-V2-Lite; choose another depth`);
  }
  if (s.leadingDense > s.blocks) fail(`leadingDense (${s.leadingDense}) exceeds blocks (${s.blocks})`);
  if (s.leadingDense > 0 && s.denseFfn < 1) fail('denseFfn must be at least 1 when there are dense blocks');
  if (s.experts < 2 || s.experts > 1024) fail(`experts must be in 2..1024 (got ${s.experts})`);
  if (s.expertsUsed > s.experts) fail(`expertsUsed (${s.expertsUsed}) exceeds experts (${s.experts})`);

  if (s.expertGroups > 1 && s.experts / s.expertGroups < 2) {
    s.expertGroups = 0;
    s.expertGroupsUsed = 0;
  }
  if (s.expertGroups <= 1) {
    s.expertGroups = 0;
    s.expertGroupsUsed = 0;
  } else {
    if (s.experts % s.expertGroups !== 0) fail(`experts (${s.experts}) must be a multiple of expertGroups (${s.expertGroups})`);
    if (s.expertGroupsUsed < 1 || s.expertGroupsUsed >= s.expertGroups) {
      fail(`expertGroupsUsed must be in 1..${s.expertGroups - 1} (got ${s.expertGroupsUsed})`);
    }
    if (s.expertGroupsUsed * (s.experts / s.expertGroups) < s.expertsUsed) {
      fail(`the ${s.expertGroupsUsed} used groups hold fewer than expertsUsed (${s.expertsUsed}) experts`);
    }
  }
  if (s.vocab < MIN_VOCAB) fail(`vocab must be at least ${MIN_VOCAB} (bos, eos, 256 byte tokens, special tokens)`);
  if (s.yarnFactor > 0 && s.yarnOriginalContext < 1) fail('yarnOriginalContext must be at least 1 with YaRN');
  return s;
}

/** The preset's shape with overrides applied (and `blocks` as a shorthand), validated. */
export function resolveShape(preset: PresetName = 'tiny', overrides: Partial<Deepseek2Shape> = {}, blocks?: number): Deepseek2Shape {
  const base = PRESETS[preset];
  if (!base) throw new ForgeConfigError(`unknown preset '${String(preset)}' (tiny, small, r1)`);
  const merged: Deepseek2Shape = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (merged as unknown as Record<string, number>)[k] = v;
  }
  if (blocks !== undefined) merged.blocks = blocks;
  // A shallow R1 (e.g. 2 blocks) keeps at least one MoE block unless the caller set leadingDense.
  if (overrides.leadingDense === undefined && merged.leadingDense >= merged.blocks) {
    merged.leadingDense = Math.max(0, merged.blocks - 1);
  }
  return validateShape(merged);
}
