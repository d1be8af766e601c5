// Checks a GGUF's metadata for what makes llama.cpp refuse it, or abort() the whole process,
// before the engine sees it: at create time (gguf-summary.ts) and again before each load
// (placement.ts), since a referenced file can change on disk. Each rule cites the pinned llama.cpp
// (node-llama-cpp@3.22.1, release v0.5.0) it mirrors. A runner process would survive an abort, but
// the user would only learn "the runner exited"; here the message names the key and the value.
import { numberValue, stringValue, type GgufValue } from '../gguf/index.js';
import { MoedError } from '../errors/index.js';

/** src/llama-arch.cpp LLM_ARCH_NAMES, less "clip" (a vision projector, not a model one can run). */
export const KNOWN_ARCHITECTURES: ReadonlySet<string> = new Set([
  'llama', 'llama4', 'deci', 'falcon', 'grok', 'gpt2', 'gptj', 'gptneox', 'mpt', 'baichuan',
  'starcoder', 'refact', 'bert', 'modern-bert', 'nomic-bert', 'nomic-bert-moe', 'neo-bert',
  'jina-bert-v2', 'jina-bert-v3', 'eurobert', 'bloom', 'stablelm', 'qwen', 'qwen2', 'qwen2moe',
  'qwen2vl', 'qwen3', 'qwen3moe', 'qwen3next', 'qwen3vl', 'qwen3vlmoe', 'qwen35', 'qwen35moe',
  'qwen4exp', 'phi2', 'phi3', 'phimoe', 'plamo', 'plamo2', 'plamo3', 'codeshell', 'orion',
  'internlm2', 'minicpm', 'minicpm3', 'gemma', 'gemma2', 'gemma3', 'gemma3n', 'gemma4',
  'gemma4-assistant', 'gemma-embedding', 'starcoder2', 'mamba', 'mamba2', 'maple', 'jamba',
  'falcon-h1', 'xverse', 'command-r', 'cohere2', 'cohere2moe', 'dbrx', 'olmo', 'olmo2', 'olmoe',
  'muse-glimmer', 'openelm', 'arctic', 'deepseek', 'deepseek2', 'deepseek2-ocr', 'deepseek32',
  'deepseek4', 'chatglm', 'glm4', 'glm4moe', 'glm-dsa', 'bitnet', 't5', 't5encoder', 'jais',
  'jais2', 'nemotron', 'nemotron_h', 'nemotron_h_moe', 'exaone', 'exaone4', 'exaone-moe',
  'rwkv6', 'rwkv6qwen2', 'rwkv7', 'arwkv7', 'granite', 'granitemoe', 'granitehybrid',
  'graniteswitch', 'granite_swa', 'chameleon', 'wavtokenizer-dec', 'plm', 'bailingmoe',
  'bailingmoe2', 'bailingmoe3', 'dots1', 'dots3note', 'arcee', 'afmoe', 'laguna', 'ernie4_5',
  'ernie4_5-moe', 'hunyuan-moe', 'hunyuan-dense', 'hunyuan_vl', 'hy_v3', 'hy_v4', 'smollm3',
  'gpt-oss', 'lfm2', 'lfm2moe', 'dream', 'smallthinker', 'llada', 'llada-moe', 'seed_oss',
  'grovemoe', 'apertus', 'minimax-01', 'hrm_text', 'minimax-m2', 'minimax-m3', 'cogvlm', 'rnd1',
  'pangu-embedded', 'mistral3', 'eagle3', 'dflash', 'mistral4', 'paddleocr', 'mimo2', 'step35',
  'spark2_5', 'llama-embed', 'maincoder', 'kimi-linear', 'kimi-k3', 'talkie', 'mellum',
  'nanbeige', 'qwen3tts', 'pockettts'
]);

/** src/llama-vocab.cpp impl::load: the tokenizer models it knows; any other throws. */
export const KNOWN_TOKENIZERS: ReadonlySet<string> = new Set([
  'no_vocab', 'none', 'llama', 'bert', 'gpt2', 't5', 'rwkv', 'plamo2', 'gemma4', 'hybriddna', 'whitespace', 'test',
]);

/** src/llama-model.cpp LLAMA_ROPE_SCALING_TYPES; anything else fails a GGML_ASSERT. */
const ROPE_SCALING_TYPES = new Set(['none', 'linear', 'yarn', 'longrope']);

/** src/llama-hparams.h */
export const LLAMA_MAX_LAYERS = 512;
export const LLAMA_MAX_EXPERTS = 1024;

/** Default BOS/EOS ids of each tokenizer model (llama-vocab.cpp impl::load); null: none. */
const DEFAULT_SPECIAL: Record<string, { bos: number | null; eos: number | null }> = {
  llama: { bos: 1, eos: 2 },
  bert: { bos: 101, eos: null },
  gpt2: { bos: 11, eos: 11 },
  hybriddna: { bos: 11, eos: 11 },
  whitespace: { bos: 11, eos: 11 },
  t5: { bos: null, eos: 1 },
  plamo2: { bos: 1, eos: 2 },
};

const bad = (file: string, what: string) => new MoedError('INVALID_GGUF', `${file} cannot be loaded: ${what}`);

/** The largest value of a u32 key that may also be a per-layer array (get_key_or_arr). */
function maxOf(v: GgufValue | undefined): { max: number; length?: number } | undefined {
  if (v?.type === 'array') {
    if (!v.value || v.itemType === 'string' || v.itemType === 'bool') return { max: 0, length: v.length };
    return { max: Math.max(0, ...(v.value as (number | bigint)[]).map(Number)), length: v.length };
  }
  const n = numberValue(v);
  return n === undefined ? undefined : { max: n };
}

/**
 * Throws INVALID_GGUF for metadata that llama.cpp would reject or abort on. `metadata` must hold
 * the token list's values (read with a maxArrayLength that keeps it) for the vocabulary checks.
 */
export function checkLoadable(metadata: Map<string, GgufValue>, file: string): void {
  const arch = stringValue(metadata.get('general.architecture'));
  if (!arch) throw bad(file, 'it has no general.architecture (not a model GGUF)');
  if (arch === 'clip') throw bad(file, 'it is a vision projector (architecture "clip"), not a language model');
  if (!KNOWN_ARCHITECTURES.has(arch)) {
    throw bad(file, `its architecture "${arch}" is unknown to this build of llama.cpp`);
  }
  checkLayers(metadata, arch, file);
  checkExperts(metadata, arch, file);
  const rope = metadata.get(`${arch}.rope.scaling.type`);
  if (rope !== undefined) {
    const t = stringValue(rope);
    if (t === undefined || !ROPE_SCALING_TYPES.has(t)) {
      throw bad(file, `${arch}.rope.scaling.type is ${JSON.stringify(t ?? rope.value)}, not one of ${[...ROPE_SCALING_TYPES].join(', ')} (llama.cpp would abort)`);
    }
  }
  checkVocabulary(metadata, file);
}

/** load_hparams: GGML_ASSERT(0 < n_layer <= LLAMA_MAX_LAYERS), GGML_ASSERT(n_layer_nextn <= n_layer). */
function checkLayers(md: Map<string, GgufValue>, arch: string, file: string): void {
  const key = `${arch}.block_count`;
  const layers = numberValue(md.get(key));
  if (layers === undefined) throw bad(file, `it has no ${key}`);
  if (!(layers > 0 && layers <= LLAMA_MAX_LAYERS)) {
    throw bad(file, `${key} is ${layers}; llama.cpp accepts 1 to ${LLAMA_MAX_LAYERS} (and would abort)`);
  }
  const nextn = numberValue(md.get(`${arch}.nextn_predict_layers`)) ?? 0;
  if (nextn > layers) throw bad(file, `${arch}.nextn_predict_layers (${nextn}) is more than ${key} (${layers}) (llama.cpp would abort)`);
}

/** load_hparams: the GGML_ASSERTs on expert counts and groups (src/llama-model.cpp). */
function checkExperts(md: Map<string, GgufValue>, arch: string, file: string): void {
  const k = (s: string) => `${arch}.${s}`;
  let experts = numberValue(md.get(k('expert_count'))) ?? 0;
  const usedKv = maxOf(md.get(k('expert_used_count')));
  let used = usedKv?.max ?? 0;
  const groups = numberValue(md.get(k('expert_group_count'))) ?? 0;
  const groupUsed = numberValue(md.get(k('expert_group_used_count'))) ?? 0;
  const layers = numberValue(md.get(k('block_count'))) ?? 0;
  // Hunyuan's dense variants zero a single "expert" before the checks.
  if ((arch === 'hunyuan-dense' || arch === 'hunyuan_vl') && experts <= 1) experts = used = 0;
  const abort = (what: string) => bad(file, `${what} (llama.cpp would abort)`);
  if (usedKv?.length !== undefined && usedKv.length > layers) {
    throw bad(file, `${k('expert_used_count')} has ${usedKv.length} entries for ${layers} layers`);
  }
  if (experts > LLAMA_MAX_EXPERTS) throw abort(`${k('expert_count')} is ${experts}, above llama.cpp's limit of ${LLAMA_MAX_EXPERTS}`);
  if (used > experts) throw abort(`${k('expert_used_count')} (${used}) is more than ${k('expert_count')} (${experts})`);
  if (experts > 0) {
    if (used === 0) throw abort(`${k('expert_count')} is ${experts} but ${k('expert_used_count')} is 0`);
    if (groups >= experts) throw abort(`${k('expert_group_count')} (${groups}) is not less than ${k('expert_count')} (${experts})`);
    if (groups > 1) {
      if (experts % groups !== 0) throw abort(`${k('expert_count')} (${experts}) is not a multiple of ${k('expert_group_count')} (${groups})`);
      if (!(groupUsed > 0 && groupUsed < groups)) {
        throw abort(`${k('expert_group_used_count')} is ${groupUsed}; it must be between 1 and ${groups - 1}`);
      }
    }
  } else if (used !== 0 || groups !== 0) {
    throw abort(`the model has no experts but ${used ? k('expert_used_count') : k('expert_group_count')} is set`);
  }
}

/** llama_vocab::impl::load: the tokenizer model, a token list of unique strings, and its side arrays. */
function checkVocabulary(md: Map<string, GgufValue>, file: string): void {
  const modelKv = md.get('tokenizer.ggml.model');
  const model = stringValue(modelKv);
  if (model === undefined) throw bad(file, 'it has no tokenizer.ggml.model');
  if (!KNOWN_TOKENIZERS.has(model)) throw bad(file, `its tokenizer.ggml.model "${model}" is unknown to llama.cpp`);
  if (model === 'no_vocab' || model === 'none') return;
  const tokens = md.get('tokenizer.ggml.tokens');
  if (tokens?.type !== 'array' || tokens.itemType !== 'string') throw bad(file, 'it has no tokenizer.ggml.tokens (a list of strings)');
  const n = tokens.length;
  if (n === 0) throw bad(file, 'tokenizer.ggml.tokens is empty');
  if (tokens.value) {
    // GGML_ASSERT(id_to_token.size() == token_to_id.size()): one duplicate aborts the process.
    const seen = new Map<string, number>();
    tokens.value.forEach((t, i) => {
      const first = seen.get(t);
      if (first !== undefined) {
        throw bad(file, `tokenizer.ggml.tokens has the token ${JSON.stringify(t)} twice (ids ${first} and ${i}); llama.cpp would abort`);
      }
      seen.set(t, i);
    });
  }
  for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
    const v = md.get(key);
    if (v === undefined) continue;
    if (v.type !== 'array' || v.itemType === 'string') throw bad(file, `${key} must be an array of numbers`);
    if (v.length < n) throw bad(file, `${key} has ${v.length} entries for ${n} tokens`);
  }
  // Tokenizing with add_bos/add_eos on and no such token fails a GGML_ASSERT.
  for (const [flag, idKey, which] of [
    ['tokenizer.ggml.add_bos_token', 'tokenizer.ggml.bos_token_id', 'bos'],
    ['tokenizer.ggml.add_eos_token', 'tokenizer.ggml.eos_token_id', 'eos'],
  ] as const) {
    if (md.get(flag)?.value !== true) continue;
    const given = numberValue(md.get(idKey));
    // An id outside the vocabulary is ignored (with a warning) in favour of the default.
    const fallback = DEFAULT_SPECIAL[model]?.[which] ?? undefined;
    const valid = (id: number | null | undefined) => typeof id === 'number' && id >= 0 && id < n;
    if (!valid(given) && !valid(fallback)) {
      const what = given === undefined ? `there is no ${idKey}` : `${idKey} (${given}) is outside the ${n}-token vocabulary`;
      throw bad(file, `${flag} is true but ${what}; llama.cpp would abort on the first prompt`);
    }
  }
}
