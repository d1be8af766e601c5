// llama.cpp's placement of weights, simulated: which device each tensor lands on for a given
// n_gpu_layers / device list / tensor_split and list of tensor_buft_overrides
// (src/llama-model.cpp load_tensors, src/llama-model-loader.cpp create_tensor).

import type { TensorOverride } from '../binding/types.js';
import { layerOf } from './model-info.js';
import { searches } from './regex.js';
import type { DeviceName } from './types.js';

/** llama_max_tensor_buft_overrides() */
export const MAX_TENSOR_OVERRIDES = 4096;

export interface LayerPlacementParams {
  /** llama.cpp's n_layer_all (block_count); the output layer has index nLayerAll. */
  nLayerAll: number;
  gpuLayers: number;
  /** The model's devices, in order ([] = CPU only). */
  devices: DeviceName[];
  tensorSplit?: number[];
  /** Free memory per device, for llama.cpp's default split when tensorSplit is not given. */
  free?: Record<DeviceName, number>;
}

/**
 * The device of every layer (index nLayerAll is the output layer) as load_tensors computes it:
 * layers below i_gpu_start stay on the CPU, the rest are spread over the devices at the cumulative
 * split points (float arithmetic, std::upper_bound).
 */
export function llamaLayerDevices(p: LayerPlacementParams): DeviceName[] {
  const n = p.nLayerAll;
  const ngl = p.gpuLayers < 0 ? n + 1 : p.gpuLayers;
  const start = Math.max(n + 1 - ngl, 0);
  const act = p.devices.length === 0 ? 0 : Math.min(ngl, n + 1);
  const f = Math.fround;
  const allZero = !p.tensorSplit || p.tensorSplit.every((x) => x === 0);
  const raw = p.devices.map((d, i) => (allZero ? (p.free?.[d] ?? 1) : (p.tensorSplit![i] ?? 0)));
  const splits: number[] = [];
  let sum = f(0);
  for (const x of raw) {
    sum = f(sum + f(x));
    splits.push(sum);
  }
  for (let i = 0; i < splits.length; i++) splits[i] = f(splits[i]! / sum);

  const out: DeviceName[] = [];
  for (let il = 0; il <= n; il++) {
    if (il < start || il - start >= act) {
      out.push('CPU');
      continue;
    }
    const x = f(f(il - start) / act);
    let idx = splits.findIndex((s) => s > x);
    if (idx < 0) idx = splits.length - 1;
    out.push(p.devices[idx]!);
  }
  return out;
}

/** The device a buffer type name lands on ("CUDA_Host" and "CPU_REPACK" are host memory). */
export function deviceOfBufferType(bufferType: string): DeviceName {
  return /^CUDA\d+$/.test(bufferType) ? bufferType : 'CPU';
}

/**
 * Where llama.cpp puts one tensor: the first override whose pattern is found in the name, else the
 * device of its layer (token_embd: the input layer, always the CPU; other model-level tensors: the
 * output layer).
 */
export function llamaTensorDevice(
  name: string,
  overrides: ReadonlyArray<{ bufferType: string; regex: RegExp }>,
  layerDevices: readonly DeviceName[],
  nLayerAll: number,
): DeviceName {
  for (const o of overrides) {
    if (searches(o.regex, name)) return deviceOfBufferType(o.bufferType);
  }
  if (/^token_embd\./.test(name)) return 'CPU';
  const layer = layerOf(name);
  return layerDevices[layer !== undefined && layer < nLayerAll ? layer : nLayerAll] ?? 'CPU';
}

export function compileOverrides(overrides: readonly TensorOverride[]): { bufferType: string; regex: RegExp }[] {
  return overrides.map((o) => ({ bufferType: o.bufferType, regex: new RegExp(o.pattern) }));
}

/** Names of tensors whose simulated device differs from `wanted`. */
export function mismatches(
  tensors: ReadonlyArray<{ name: string; device: DeviceName }>,
  overrides: ReadonlyArray<{ bufferType: string; regex: RegExp }>,
  layerDevices: readonly DeviceName[],
  nLayerAll: number,
  limit = Infinity,
): string[] {
  const out: string[] = [];
  for (const t of tensors) {
    if (llamaTensorDevice(t.name, overrides, layerDevices, nLayerAll) !== t.device) {
      out.push(t.name);
      if (out.length >= limit) break;
    }
  }
  return out;
}

/**
 * Removes every override that the others and the default layer placement make redundant (tried
 * from the last to the first), keeping the result exact for `tensors`.
 */
export function pruneOverrides(
  candidates: readonly TensorOverride[],
  tensors: ReadonlyArray<{ name: string; device: DeviceName }>,
  layerDevices: readonly DeviceName[],
  nLayerAll: number,
): TensorOverride[] {
  let kept = [...candidates];
  for (let i = kept.length - 1; i >= 0; i--) {
    const without = kept.filter((_, j) => j !== i);
    if (mismatches(tensors, compileOverrides(without), layerDevices, nLayerAll, 1).length === 0) kept = without;
  }
  return kept;
}
