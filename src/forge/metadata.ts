// GGUF metadata of a forged deepseek2 model: the keys of libllama-api.md section 3.1 with their exact
// GGUF types (src/llama-model-loader.cpp rejects a u32 key stored as anything but u32).

import type { GgufValue } from '../gguf/types.js';
import { arr, bool, f32, str, u32, u64 } from '../gguf/values.js';
import type { Deepseek2Shape } from './config.js';
import { DEEPSEEK_R1_TEMPLATE } from './template.js';
import type { ForgedVocab } from './tokenizer.js';

const ARCH = 'deepseek2';
/** GGML_QNT_VERSION, written by llama-quantize and convert_hf_to_gguf.py. */
const QUANTIZATION_VERSION = 2;
/** LLAMA_EXPERT_GATING_FUNC_TYPE_SIGMOID: V3/R1 route with sigmoid scores (0 falls back to softmax). */
const GATING_SIGMOID = 2;

export interface MetadataInput {
  shape: Deepseek2Shape;
  vocab: ForgedVocab;
  name: string;
  fileType: number;
  parameterCount: number;
}

export function buildMetadata({ shape: s, vocab, name, fileType, parameterCount }: MetadataInput): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>();
  const a = (key: string, v: GgufValue): void => {
    m.set(`${ARCH}.${key}`, v);
  };

  m.set('general.architecture', str(ARCH));
  m.set('general.name', str(name));
  m.set('general.file_type', u32(fileType));
  m.set('general.quantization_version', u32(QUANTIZATION_VERSION));
  m.set('general.parameter_count', u64(parameterCount));

  a('block_count', u32(s.blocks));
  a('context_length', u32(s.contextLength));
  a('embedding_length', u32(s.hidden));
  a('feed_forward_length', u32(s.denseFfn));
  a('attention.head_count', u32(s.heads));
  // MLA is run as MQA over the compressed KV: one KV head of kv_lora + rope width
  a('attention.head_count_kv', u32(1));
  a('attention.key_length', u32(s.kvLoraRank + s.ropeDim));
  a('attention.value_length', u32(s.kvLoraRank));
  // the _mla keys select absorbed MLA (attn_k_b / attn_v_b instead of attn_kv_b)
  a('attention.key_length_mla', u32(s.nopeDim + s.ropeDim));
  a('attention.value_length_mla', u32(s.vDim));
  a('attention.q_lora_rank', u32(s.qLoraRank));
  a('attention.kv_lora_rank', u32(s.kvLoraRank));
  a('attention.layer_norm_rms_epsilon', f32(1e-6));
  a('rope.dimension_count', u32(s.ropeDim));
  a('rope.freq_base', f32(10000));
  if (s.yarnFactor > 0) {
    a('rope.scaling.type', str('yarn'));
    a('rope.scaling.factor', f32(s.yarnFactor));
    a('rope.scaling.original_context_length', u32(s.yarnOriginalContext));
    // stored as 0.1 * mscale_all_dim like convert_hf_to_gguf.py; deepseek2.cpp divides by 0.1
    a('rope.scaling.yarn_log_multiplier', f32(0.1));
  }
  a('leading_dense_block_count', u32(s.leadingDense));
  a('expert_count', u32(s.experts));
  a('expert_used_count', u32(s.expertsUsed));
  a('expert_shared_count', u32(s.sharedExperts));
  a('expert_feed_forward_length', u32(s.expertFfn));
  if (s.expertGroups > 1) {
    a('expert_group_count', u32(s.expertGroups));
    a('expert_group_used_count', u32(s.expertGroupsUsed));
  }
  a('expert_weights_scale', f32(2.5));
  a('expert_weights_norm', bool(true));
  a('expert_gating_func', u32(GATING_SIGMOID));
  a('vocab_size', u32(s.vocab));

  m.set('tokenizer.ggml.model', str('gpt2'));
  m.set('tokenizer.ggml.pre', str('deepseek-v3'));
  m.set('tokenizer.ggml.tokens', arr('string', vocab.tokens));
  m.set('tokenizer.ggml.token_type', arr('i32', vocab.tokenTypes));
  m.set('tokenizer.ggml.merges', arr('string', vocab.merges));
  m.set('tokenizer.ggml.bos_token_id', u32(vocab.bos));
  m.set('tokenizer.ggml.eos_token_id', u32(vocab.eos));
  m.set('tokenizer.ggml.padding_token_id', u32(vocab.pad));
  m.set('tokenizer.ggml.add_bos_token', bool(true));
  m.set('tokenizer.ggml.add_eos_token', bool(false));
  m.set('tokenizer.chat_template', str(DEEPSEEK_R1_TEMPLATE));
  return m;
}
