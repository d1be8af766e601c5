// The hyper-parameters the planner needs, read from GGUF metadata the way llama.cpp reads them
// (src/llama-model.cpp load_hparams, src/models/deepseek2.cpp): what a layer is, how wide its KV
// rows are, how many experts there are.

import type { GgufValue } from '../gguf/types.js';
import { numberValue, stringValue } from '../gguf/values.js';

/** The part of a GgufSplitSet the planner reads; any header-only list of tensors will do. */
export interface PlacementModel {
  metadata: Map<string, GgufValue>;
  tensors: ReadonlyArray<{ name: string; dims: readonly number[]; type: number; bytes: number }>;
  /** First file of the model (for messages only). */
  paths?: readonly string[];
}

export interface ModelInfo {
  architecture: string;
  /** general.name, when present. */
  name?: string;
  /** `<arch>.block_count`: every block, NextN/MTP blocks included (llama.cpp's n_layer_all). */
  nLayerAll: number;
  /** `<arch>.nextn_predict_layers`: trailing MTP blocks, which get no KV cache in a normal context. */
  nLayerNextn: number;
  nEmbd: number;
  nVocab: number;
  /** Per block (length nLayerAll). */
  nHead: number[];
  nHeadKv: number[];
  /** Per-head K and V widths (`attention.key_length` / `value_length`). */
  keyLength: number;
  valueLength: number;
  /** Absorbed MLA (deepseek2 with the `_mla` keys): the cache holds K only, key_length wide, no V. */
  isMla: boolean;
  kvLoraRank?: number;
  ropeDim?: number;
  nExpert: number;
  nExpertUsed: number;
  /** Expert FFN width (`expert_feed_forward_length`), 0 when absent. */
  nFfExp: number;
  /** Largest dense FFN width (`feed_forward_length`), 0 when absent. */
  nFf: number;
}

function perLayer(v: GgufValue | undefined, n: number, fallback: number): number[] {
  if (v?.type === 'array' && v.value && v.itemType !== 'string' && v.itemType !== 'bool') {
    const vals = (v.value as (number | bigint)[]).map(Number);
    return Array.from({ length: n }, (_, i) => vals[i] ?? vals[vals.length - 1] ?? fallback);
  }
  const s = numberValue(v);
  return new Array<number>(n).fill(s ?? fallback);
}

function maxOf(v: GgufValue | undefined): number | undefined {
  if (v?.type === 'array' && v.value && v.itemType !== 'string' && v.itemType !== 'bool') {
    return Math.max(0, ...(v.value as (number | bigint)[]).map(Number));
  }
  return numberValue(v);
}

export class ModelInfoError extends Error {
  readonly code = 'INVALID_GGUF';
  constructor(message: string) {
    super(message);
    this.name = 'ModelInfoError';
  }
}

export function modelInfo(model: PlacementModel): ModelInfo {
  const md = model.metadata;
  const arch = stringValue(md.get('general.architecture'));
  if (!arch) throw new ModelInfoError('the GGUF has no general.architecture');
  const k = (key: string): GgufValue | undefined => md.get(`${arch}.${key}`);

  const nLayerAll = numberValue(k('block_count'));
  if (nLayerAll === undefined) throw new ModelInfoError(`the GGUF has no ${arch}.block_count`);
  const nEmbd = numberValue(k('embedding_length')) ?? 0;
  const nHead = perLayer(k('attention.head_count'), nLayerAll, 0);
  const nHeadKv = perLayer(k('attention.head_count_kv'), nLayerAll, NaN).map((v, i) => (Number.isNaN(v) ? nHead[i]! : v));
  const headMax = Math.max(1, ...nHead);
  // llama.cpp: n_embd_head_k defaults to n_embd / n_head, n_embd_head_v to n_embd_head_k.
  const keyLength = numberValue(k('attention.key_length')) ?? Math.floor(nEmbd / headMax);
  const valueLength = numberValue(k('attention.value_length')) ?? keyLength;
  const kMla = numberValue(k('attention.key_length_mla')) ?? 0;
  const vMla = numberValue(k('attention.value_length_mla')) ?? 0;

  const embd = model.tensors.find((t) => t.name === 'token_embd.weight');
  const tokens = md.get('tokenizer.ggml.tokens');
  const nVocab =
    (embd && embd.dims.length >= 2 ? embd.dims[1] : undefined) ??
    numberValue(k('vocab_size')) ??
    (tokens?.type === 'array' ? tokens.length : 0);

  return {
    architecture: arch,
    name: stringValue(md.get('general.name')),
    nLayerAll,
    nLayerNextn: numberValue(k('nextn_predict_layers')) ?? 0,
    nEmbd,
    nVocab,
    nHead,
    nHeadKv,
    keyLength,
    valueLength,
    isMla: kMla !== 0 && vMla !== 0,
    kvLoraRank: numberValue(k('attention.kv_lora_rank')),
    ropeDim: numberValue(k('rope.dimension_count')),
    nExpert: numberValue(k('expert_count')) ?? 0,
    nExpertUsed: maxOf(k('expert_used_count')) ?? 0,
    nFfExp: maxOf(k('expert_feed_forward_length')) ?? 0,
    nFf: maxOf(k('feed_forward_length')) ?? 0,
  };
}

/** The block number of a `blk.N.` tensor, or undefined for model-level tensors. */
export function layerOf(name: string): number | undefined {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}
