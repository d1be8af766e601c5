// The tensor list of a deepseek2 model with absorbed MLA (src/models/deepseek2.cpp, load_arch_tensors),
// and the type llama-quantize gives each tensor for Q4_K_M (src/llama-quant.cpp).

import { GgmlType, tensorElements } from '../gguf/types.js';
import type { Fill } from './blocks.js';
import type { Deepseek2Shape } from './config.js';

export type ForgeType = 'q4_k_m' | 'f16' | 'f32';

export interface PlannedTensor {
  name: string;
  /** ggml ne[] order. */
  dims: number[];
  type: number;
  fill: Fill;
}

/** llama_ftype written as general.file_type for each forge type. */
export const FILE_TYPE: Readonly<Record<ForgeType, number>> = { q4_k_m: 15, f16: 1, f32: 0 };

/** use_more_bits() of llama-quant.cpp (C++ integer division). */
export function useMoreBits(layer: number, nLayers: number): boolean {
  const eighth = Math.trunc(nLayers / 8);
  return layer < eighth || layer >= Math.trunc((7 * nLayers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * tensor_type_fallback(): a row that is not whole blocks of the chosen K-quant falls back to a
 * 32-element type, and to F16 when even that does not divide it.
 */
function fallback(type: number, ne0: number): number {
  const blockOf = (t: number): number => (t === GgmlType.Q4_K || t === GgmlType.Q5_K || t === GgmlType.Q6_K ? 256 : 32);
  if (ne0 % blockOf(type) === 0) return type;
  let next = type;
  if (type === GgmlType.Q4_K) next = GgmlType.Q5_0;
  else if (type === GgmlType.Q5_K) next = GgmlType.Q5_1;
  else if (type === GgmlType.Q6_K) next = GgmlType.Q8_0;
  return ne0 % 32 === 0 ? next : GgmlType.F16;
}

/**
 * The type llama-quantize picks for a tensor of a deepseek2 model with ftype Q4_K_M:
 * - not quantized (kept as converted, F32): 1-D tensors, `*_norm.weight`, `ffn_gate_inp.weight`
 *   (tensor_allows_quantization);
 * - output.weight: Q6_K, or Q8_0 when its rows are not multiples of 256 (the OUTPUT branch of
 *   llama_tensor_get_type_impl); token_embd.weight is not tied (output exists) and keeps Q4_K;
 * - ffn_down, ffn_down_exps, ffn_down_shexp (category FFN_DOWN): Q6_K in use_more_bits() layers,
 *   the layer read from the name because n_expert > 1;
 * - attn_output (ATTENTION_OUTPUT): Q5_K when n_expert == 8, else Q4_K;
 * - everything else (attn_q_a, attn_q_b, attn_kv_a_mqa, attn_k_b, attn_v_b, ffn_gate/up*): Q4_K.
 *   No name here matches attn_v / attn_qkv / attn_kv_b / attn_k / attn_q, so no attention tensor
 *   gets the "more bits" treatment in the split-MLA layout;
 * then tensor_type_fallback: attn_k_b (rows of nope = 128) becomes Q5_0.
 */
export function q4kmType(name: string, dims: readonly number[], shape: Deepseek2Shape): number {
  if (dims.length < 2 || !name.endsWith('weight') || name.includes('_norm.weight') || name.includes('ffn_gate_inp.weight')) {
    return GgmlType.F32;
  }
  const ne0 = dims[0]!;
  let type: number = GgmlType.Q4_K;
  if (name === 'output.weight') {
    type = ne0 % 256 !== 0 ? GgmlType.Q8_0 : GgmlType.Q6_K;
  } else if (name.includes('attn_output.weight')) {
    if (shape.experts === 8) type = GgmlType.Q5_K;
  } else if (name.includes('ffn_down')) {
    const m = /^blk\.(\d+)\./.exec(name);
    if (m && useMoreBits(Number(m[1]), shape.blocks)) type = GgmlType.Q6_K;
  }
  return fallback(type, ne0);
}

function typeFor(forgeType: ForgeType, name: string, dims: readonly number[], shape: Deepseek2Shape): number {
  if (forgeType === 'q4_k_m') return q4kmType(name, dims, shape);
  if (forgeType === 'f32') return GgmlType.F32;
  // As convert_hf_to_gguf.py --outtype f16 writes it: 1-D tensors and the router stay F32.
  return dims.length < 2 || name.includes('ffn_gate_inp.weight') ? GgmlType.F32 : GgmlType.F16;
}

/** Weights scaled so a matmul over `nIn` inputs keeps roughly unit scale. */
const weight = (nIn: number): Fill => ({ kind: 'random', std: 1 / Math.sqrt(nIn) });
const ONE: Fill = { kind: 'const', value: 1 };

/** Every tensor of the model, in file order, with its shape, type and how to fill it. */
/**
 * How the routers are forged. `random`: router logits of about unit size spread the tokens over
 * the experts, as a trained model does; tiny rounding differences (CPU against GPU, flash attention
 * on or off) then flip some expert choices, and a random network amplifies that into different
 * logits. `fixed`: small router logits and a selection bias that always picks the same experts of
 * each layer (spread over the expert groups), so the routing is immune to rounding and two devices
 * must compute the same function up to arithmetic error (bench/hybrid.mjs uses it for that check).
 */
export type RouterKind = 'random' | 'fixed';

/** Selection bias for a `fixed` router: 1 on the layer's chosen experts, 0 elsewhere. */
export function fixedRouterBias(shape: Deepseek2Shape, layer: number): number[] {
  const E = shape.experts;
  const groups = shape.expertGroups > 1 && E / shape.expertGroups >= 2 ? shape.expertGroups : 1;
  const groupsUsed = groups > 1 ? shape.expertGroupsUsed : 1;
  const perGroup = E / groups;
  const take = Math.ceil(shape.expertsUsed / groupsUsed);
  const bias = new Array<number>(E).fill(0);
  let chosen = 0;
  for (let g = 0; g < groupsUsed && chosen < shape.expertsUsed; g++) {
    const group = (layer + g * Math.max(1, Math.floor(groups / groupsUsed))) % groups;
    for (let k = 0; k < take && chosen < shape.expertsUsed; k++) {
      bias[group * perGroup + ((layer * 3 + k) % perGroup)] = 1;
      chosen++;
    }
  }
  return bias;
}

export function planTensors(shape: Deepseek2Shape, forgeType: ForgeType, router: RouterKind = 'random'): PlannedTensor[] {
  const N = shape.hidden;
  const H = shape.heads;
  const Q = shape.qLoraRank;
  const R = shape.kvLoraRank;
  const dr = shape.ropeDim;
  const dn = shape.nopeDim;
  const dv = shape.vDim;
  const F = shape.denseFfn;
  const Fe = shape.expertFfn;
  const E = shape.experts;
  const S = shape.sharedExperts;
  const V = shape.vocab;

  const out: PlannedTensor[] = [];
  const add = (name: string, dims: number[], fill: Fill): void => {
    out.push({ name, dims, type: typeFor(forgeType, name, dims, shape), fill });
  };

  // Embedding rows feed an RMS norm, so their scale is free; keep them near unit size.
  add('token_embd.weight', [N, V], { kind: 'random', std: 1 });
  for (let i = 0; i < shape.blocks; i++) {
    const b = `blk.${i}.`;
    add(`${b}attn_norm.weight`, [N], ONE);
    add(`${b}attn_q_a_norm.weight`, [Q], ONE);
    add(`${b}attn_kv_a_norm.weight`, [R], ONE);
    add(`${b}attn_q_a.weight`, [N, Q], weight(N));
    add(`${b}attn_q_b.weight`, [Q, H * (dn + dr)], weight(Q));
    add(`${b}attn_kv_a_mqa.weight`, [N, R + dr], weight(N));
    add(`${b}attn_k_b.weight`, [dn, R, H], weight(dn));
    add(`${b}attn_v_b.weight`, [R, dv, H], weight(R));
    add(`${b}attn_output.weight`, [H * dv, N], weight(H * dv));
    add(`${b}ffn_norm.weight`, [N], ONE);
    if (i < shape.leadingDense) {
      add(`${b}ffn_gate.weight`, [N, F], weight(N));
      add(`${b}ffn_up.weight`, [N, F], weight(N));
      add(`${b}ffn_down.weight`, [F, N], weight(F));
    } else {
      // Router logits of about unit size spread the tokens over the experts; the selection bias
      // stays small so it only breaks ties, as in a trained model.
      if (router === 'fixed') {
        add(`${b}ffn_gate_inp.weight`, [N, E], { kind: 'random', std: 0.1 / Math.sqrt(N) });
        add(`${b}exp_probs_b.bias`, [E], { kind: 'values', values: fixedRouterBias(shape, i), key: `${b}bias` });
      } else {
        add(`${b}ffn_gate_inp.weight`, [N, E], weight(N));
        add(`${b}exp_probs_b.bias`, [E], { kind: 'random', std: 0.01 });
      }
      add(`${b}ffn_gate_exps.weight`, [N, Fe, E], weight(N));
      add(`${b}ffn_up_exps.weight`, [N, Fe, E], weight(N));
      add(`${b}ffn_down_exps.weight`, [Fe, N, E], weight(Fe));
      add(`${b}ffn_gate_shexp.weight`, [N, Fe * S], weight(N));
      add(`${b}ffn_up_shexp.weight`, [N, Fe * S], weight(N));
      add(`${b}ffn_down_shexp.weight`, [Fe * S, N], weight(Fe * S));
    }
  }
  add('output_norm.weight', [N], ONE);
  add('output.weight', [N, V], weight(N));
  return out;
}

/** Total number of weights (general.parameter_count, which Ollama shows as parameter_size). */
export function parameterCount(tensors: readonly PlannedTensor[]): number {
  return tensors.reduce((n, t) => n + tensorElements(t.dims), 0);
}
