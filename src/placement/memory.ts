// KV cache and compute buffer sizes, as the pinned llama.cpp allocates them.
//
// KV cache (src/llama-kv-cache.cpp, llama_kv_cache::llama_kv_cache): for every trunk layer (NextN
// layers are filtered out of a normal context) one K tensor of n_head_kv × key_length elements per
// cell and, unless the model uses absorbed MLA, one V tensor of n_head_kv × value_length elements
// per cell, of type_k / type_v. MLA (deepseek2 with the _mla keys) stores K only: head_count_kv = 1
// and key_length = kv_lora_rank + rope_dim = 576 for V3/R1, i.e. 1152 bytes per token per layer in
// f16. The cache of layer il lives on llama.cpp's device of that layer (offload_kqv).
// Cells (src/llama-context.cpp): n_ctx is padded to 256; with kv_unified the cache holds n_ctx cells,
// otherwise n_seq_max streams of n_ctx_seq = pad256(n_ctx / n_seq_max) cells.
//
// Compute buffers (src/llama-context.cpp sched_reserve): ggml's scheduler reserves the worst-case
// graph of n_ubatch tokens and every backend keeps a buffer as large as the peak of live tensors on
// it. The estimate below takes that peak as the largest of a few phases, each linear in the tokens
// of a micro-batch (T), with F32 activations. It was fitted to llama_get_memory_breakdown with
// no_alloc on an H100 for R1 671B (experts on the CPU and everywhere), Qwen3-30B-A3B and Llama-3-8B
// shapes (docs/RULES.md has the table):
//   mask    = 2 · n_kv                      F16 attention mask row; alive until the last attention
//   output  = 4 · (n_vocab + n_embd)        logits and the final hidden state (mask already freed)
//   attn    = 5 · n_head · (Dk + Dv) + 12 · n_embd + mask  [+ 4 · n_head · n_kv without flash attention]
//   moe     = 4 · (n_embd · (k + 2) + 2 · n_ff_exp · k) + mask     k = experts used per token
//   ffn     = 4 · (2 · n_embd + 3 · n_ff) + mask
// A weight held in host memory (mmap or pinned) that op_offload ships to the GPU is copied into the
// first GPU's compute buffer for its op, so that phase also holds the largest such weight (R1: the
// 3.08 GB Q6_K ffn_down_exps). Routed experts that run on the CPU send 4 · n_embd · (k + 2) bytes
// per token back to the GPU, on top of its attention phase. The CPU backend's buffer (pinned
// CUDA_Host memory when a GPU is present) holds T · (mask + 8 · n_embd) for staging, or the phases
// it runs itself (slightly larger coefficients, fitted the same way).

import { GgmlType, rowBytes, ggmlTypeFromName } from '../gguf/types.js';
import type { ModelInfo } from './model-info.js';

const pad = (n: number, to: number): number => Math.ceil(n / to) * to;

/** n_ctx, n_ctx_seq and the number of KV cells llama.cpp allocates. */
export function kvCells(numCtx: number, numParallel: number, kvUnified: boolean): { nCtx: number; nCtxSeq: number; cells: number } {
  const seqs = Math.max(1, numParallel);
  let nCtx = pad(Math.max(1, numCtx) * seqs, 256);
  if (kvUnified) return { nCtx, nCtxSeq: nCtx, cells: nCtx };
  const nCtxSeq = pad(Math.floor(nCtx / seqs), 256);
  nCtx = nCtxSeq * seqs;
  return { nCtx, nCtxSeq, cells: nCtx };
}

/** Number of layers with a KV cache in a normal (non-MTP) context. */
export function kvLayerCount(info: ModelInfo): number {
  return info.nLayerAll - info.nLayerNextn;
}

/** Bytes of one cell (one token) of layer il's cache: K and, without MLA, V. */
export function kvBytesPerCell(info: ModelInfo, il: number, typeK: string, typeV: string): number {
  const tk = ggmlTypeFromName(typeK);
  const tv = ggmlTypeFromName(typeV);
  if (tk === undefined || tv === undefined) throw new Error(`unknown KV cache type ${typeK}/${typeV}`);
  const heads = info.nHeadKv[il] ?? 0;
  const k = heads * info.keyLength;
  const v = heads * info.valueLength;
  return (k > 0 ? rowBytes(tk, k) : 0) + (!info.isMla && v > 0 ? rowBytes(tv, v) : 0);
}

export type Phase = 'output' | 'attn' | 'moe' | 'ffn';

/** Which compute phase uses a weight (for op_offload copies and for where phases run). */
export function phaseOf(name: string): Phase | undefined {
  if (/_(ch|)exps\b/.test(name)) return 'moe';
  if (/^blk\.\d+\.(attn_|ssm_)/.test(name)) return 'attn';
  if (/^blk\.\d+\.ffn_/.test(name)) return 'ffn';
  if (/^output\.weight$/.test(name)) return 'output';
  return undefined;
}

export interface ComputeShape {
  /** Tokens of the reserved micro-batch: min(n_ctx, n_ubatch). */
  tokens: number;
  /** KV cells one sequence's attention sees: n_ctx (unified) or n_ctx_seq. */
  nKv: number;
  flashAttention: boolean;
}

/** Bytes per token of each phase's live activations on a GPU (see the header). */
export function phaseBytesPerToken(info: ModelInfo, shape: ComputeShape): Record<Phase, number> {
  const mask = 2 * shape.nKv;
  const heads = Math.max(1, ...info.nHead);
  const k = info.nExpertUsed;
  return {
    output: 4 * (info.nVocab + info.nEmbd),
    attn: 5 * heads * (info.keyLength + info.valueLength) + 12 * info.nEmbd + mask + (shape.flashAttention ? 0 : 4 * heads * shape.nKv),
    moe: info.nExpert > 0 ? 4 * (info.nEmbd * (k + 2) + 2 * info.nFfExp * k) + mask : 0,
    ffn: 4 * (2 * info.nEmbd + 3 * info.nFf) + mask,
  };
}

/**
 * Per token on the GPU while routed experts of its layers run on the CPU: their inputs and the
 * k outputs per token come back to the GPU (R1 with experts on the CPU and no op_offload).
 */
export function remoteExpertsBytesPerToken(info: ModelInfo): number {
  return info.nExpert > 0 ? 4 * info.nEmbd * (info.nExpertUsed + 2) : 0;
}

/** Bytes per token the CPU backend needs for a phase it runs itself (fitted to the CPU buffers). */
export function cpuPhaseBytesPerToken(info: ModelInfo, shape: ComputeShape): Record<Phase, number> {
  const gpu = phaseBytesPerToken(info, shape);
  const mask = 2 * shape.nKv;
  const k = info.nExpertUsed;
  return {
    output: 4 * (info.nVocab + 2 * info.nEmbd),
    attn: Math.ceil(1.07 * (gpu.attn - mask)) + mask,
    moe: info.nExpert > 0 ? 4 * (info.nEmbd * (k + 4) + 2 * info.nFfExp * k + 8 * info.nExpert) + mask : 0,
    ffn: 4 * (4 * info.nEmbd + 3 * info.nFf) + mask,
  };
}

/**
 * ggml types the CPU repacks on x86 (AVX2; Q2_K needs AVX-512, Q5_K/Q6_K/Q8_0 only have ARM
 * kernels): ggml/src/ggml-cpu/repack.cpp ggml_repack_get_optimal_repack_type. With weights
 * "repacked" these leave host memory and are never shipped to the GPU; the others still are.
 */
export const X86_REPACKED_TYPES: ReadonlySet<number> = new Set([GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.IQ4_NL, GgmlType.MXFP4]);

/** Host staging buffer of the CPU backend when GPUs run the graph: T · (mask + 8 · n_embd). */
export function hostStagingPerToken(info: ModelInfo, shape: ComputeShape): number {
  return 2 * shape.nKv + 8 * info.nEmbd;
}

/** Headroom per GPU for the CUDA context, cuBLAS workspaces and allocator slack. */
export const GPU_RUNTIME_OVERHEAD = 512 * 2 ** 20;

/** Logits and embeddings output buffer (host): n_vocab floats per sequence, grown on demand. */
export function outputBufferBytes(info: ModelInfo, nSeqMax: number): number {
  return 4 * info.nVocab * Math.max(1, nSeqMax);
}
