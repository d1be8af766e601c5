// Types of the placement layer: a rule file as loaded, and the plan the planner makes from it.

import type { TensorOverride } from '../binding/types.js';

/** A device as rule files write it. */
export type RuleDevice = 'cpu' | `cuda:${number}`;

export type FlashAttention = 'auto' | 'on' | 'off';
export type NumaStrategy = 'disabled' | 'distribute' | 'isolate' | 'numactl' | 'mirror';
/** How CPU-placed weights are held (libllama-api.md 2.1, risk 4). */
export type WeightsMode = 'mmap' | 'pinned' | 'repacked';

export interface EngineSettings {
  flashAttention: FlashAttention;
  threads: 'physical-cores' | number;
  numa: NumaStrategy;
  weights: WeightsMode;
  /** op_offload, and the batch size from which the GPU takes over (GGML_OP_OFFLOAD_MIN_BATCH). */
  gpuPromptOffload: { enabled: boolean; minBatch: number };
  /** ggml type name of the KV cache, lower case ("f16", "q8_0"). */
  kvCacheType: string;
  batch: number;
  ubatch: number;
}

export interface RuleMatch {
  /** Architectures (general.architecture); undefined or ['*'] means any. */
  architecture?: string[];
  minExperts?: number;
  maxExperts?: number;
  /** Regex searched (case-insensitively) in general.name. */
  name?: string;
}

export interface Rule {
  /** 0-based position in the file. */
  index: number;
  name: string;
  /** Regex source, as written. */
  tensors: string;
  regex: RegExp;
  /** Block numbers the rule is restricted to; undefined means any tensor. */
  layers?: ReadonlySet<number>;
  /** The `layers` value as written ("0-29"), for tables. */
  layersText?: string;
  device: RuleDevice;
  /** 1-based line in the file. */
  line: number;
}

export interface FillSpec {
  tensors: string;
  regex: RegExp;
  device: RuleDevice;
  /** Bytes of VRAM the fill leaves free. */
  reserve: number;
  order: 'ascending' | 'descending';
  pack: boolean;
  line: number;
}

export interface RuleFile {
  /** Base name without extension ("deepseek-v3"). */
  name: string;
  /** Path it was read from ("<builtin>/x.yaml" style paths are real paths too). */
  source: string;
  builtin: boolean;
  description?: string;
  match: RuleMatch;
  rules: Rule[];
  fill?: FillSpec;
  /** Settings with defaults filled in. */
  engine: EngineSettings;
}

// ---------------------------------------------------------------------------------------------
// The plan

/** ggml device name ("CPU", "CUDA0"). */
export type DeviceName = string;

/** Rule index of a tensor that no rule decided. */
export const RULE_NONE = -1;
/** Rule index of token_embd, which stays on the CPU whatever the rules say. */
export const RULE_INPUT = -2;
/** Rule index of a tensor moved by `fill`. */
export const RULE_FILL = -3;

export interface PlannedTensor {
  name: string;
  bytes: number;
  /** blk.N number; undefined for model-level tensors. */
  layer?: number;
  device: DeviceName;
  /** Index into plan.rules, or RULE_NONE / RULE_INPUT / RULE_FILL. */
  rule: number;
}

export interface DeviceUsage {
  device: DeviceName;
  kind: 'cpu' | 'gpu';
  /** Tensor data placed here. For the CPU with weights: mmap this is page cache, not required memory. */
  weights: number;
  kv: number;
  compute: number;
  total: number;
  /** What must fit in `free`: total, minus mmap'd weights on the CPU. */
  required: number;
  /** Free memory reported for the device (bytes); undefined when unknown. */
  free?: number;
  memoryTotal?: number;
  fits: boolean;
}

export interface RuleUsage {
  index: number;
  name: string;
  tensors: string;
  layers?: string;
  /** Device the file asked for. */
  requested: RuleDevice;
  /** ggml device actually used (after degrading a missing GPU to the CPU). */
  device: DeviceName;
  matched: number;
  bytes: number;
  line: number;
}

export interface FillUsage {
  device: DeviceName;
  reserve: number;
  /** Layers whose tensors were moved (the output layer is nLayerAll). */
  layers: number[];
  tensors: number;
  bytes: number;
}

export interface EngineMapping {
  /** ggml device names for ModelLoadParams.devices ([] = CPU only). */
  devices: DeviceName[];
  /** ModelLoadParams.gpuLayers: -1 = every layer and the output layer. */
  gpuLayers: number;
  /** llama_model_params.tensor_split (one entry per device) when more than one GPU holds layers. */
  tensorSplit?: number[];
  tensorOverrides: TensorOverride[];
  /** llama_load_mode_from_str name. */
  loadMode: 'mmap' | 'none';
  noHost: boolean;
  useExtraBufts: boolean;
  opOffload: boolean;
  /** Environment for the runner process (read by ggml-cuda when it registers its devices). */
  env: Record<string, string>;
  flashAttention: FlashAttention;
  /** Total context (n_ctx = numCtx × numParallel) and slots. */
  nCtx: number;
  nSeqMax: number;
  kvUnified: boolean;
  nBatch: number;
  nUbatch: number;
  threads: 'physical-cores' | number;
  numa: NumaStrategy;
  typeK: string;
  typeV: string;
}

export interface KvSummary {
  /** Cells (token slots) of the cache, over all sequences. */
  cells: number;
  type: string;
  /** Bytes per cell summed over all layers. */
  bytesPerCell: number;
  mla: boolean;
  layers: number;
}

export interface Plan {
  model: {
    path?: string;
    architecture: string;
    name?: string;
    layers: number;
    experts: number;
    tensors: number;
    bytes: number;
  };
  ruleFile: { name: string; source: string; description?: string };
  tensors: PlannedTensor[];
  /** Device of each layer's attention (what llama.cpp calls the layer's device), output layer last. */
  layerDevices: DeviceName[];
  /** Device llama.cpp will give each layer (and its KV cache) with the emitted parameters. */
  kvDevices: DeviceName[];
  devices: DeviceUsage[];
  rules: RuleUsage[];
  fill?: FillUsage;
  kv: KvSummary;
  fits: boolean;
  notes: string[];
  engine: EngineMapping;
}
