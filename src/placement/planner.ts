// The planner: rule file + GGUF tensor list + devices -> a placement plan (every tensor's device,
// bytes per device, whether it fits) and the libllama parameters that reproduce it.

import type { DeviceInfo, TensorOverride } from '../binding/types.js';
import { formatPlanTable } from './format.js';
import { layerOf, modelInfo, type ModelInfo, type PlacementModel } from './model-info.js';
import {
  cpuPhaseBytesPerToken,
  GPU_RUNTIME_OVERHEAD,
  hostStagingPerToken,
  kvBytesPerCell,
  kvCells,
  kvLayerCount,
  outputBufferBytes,
  phaseBytesPerToken,
  phaseOf,
  remoteExpertsBytesPerToken,
  X86_REPACKED_TYPES,
  type ComputeShape,
  type Phase,
} from './memory.js';
import { compileOverrides, llamaLayerDevices, MAX_TENSOR_OVERRIDES, mismatches, pruneOverrides } from './overrides.js';
import { escapeRegex, restrictToLayers, searches } from './regex.js';
import { formatBytes } from './sizes.js';
import {
  RULE_FILL,
  RULE_INPUT,
  RULE_NONE,
  type DeviceName,
  type DeviceUsage,
  type EngineMapping,
  type Plan,
  type PlannedTensor,
  type RuleDevice,
  type RuleFile,
  type RuleUsage,
  type WeightsMode,
} from './types.js';

export interface PlanInput {
  /** The GGUF header: a GgufSplitSet from readGgufSplitSet, or anything with metadata and tensors. */
  model: PlacementModel;
  rules: RuleFile;
  /** Devices as the binding reports them (the CPU entry gives the RAM). */
  devices: readonly DeviceInfo[];
  /** Context per sequence (Ollama's num_ctx). */
  numCtx: number;
  /** Sequences decoded together; the context holds numCtx × numParallel cells. Default 1. */
  numParallel?: number;
  /**
   * Override the rule file's engine.batch / engine.ubatch (e.g. from num_batch). A given nUbatch is
   * kept: no smaller micro-batch is tried when the plan does not fit.
   */
  nBatch?: number;
  nUbatch?: number;
  /** One KV stream for all sequences (what the runner creates). Default true. */
  kvUnified?: boolean;
  /** Throw PlanDoesNotFitError when a device overflows (default true). `moed show --plan` passes false. */
  throwIfDoesNotFit?: boolean;
}

export class PlanDoesNotFitError extends Error {
  readonly code = 'PLAN_DOES_NOT_FIT';
  readonly plan: Plan;
  constructor(plan: Plan) {
    const over = plan.devices
      .filter((d) => !d.fits)
      .map((d) => `${d.device} needs ${formatBytes(d.required)} but has ${formatBytes(d.free ?? 0)} free`);
    super(`the model does not fit with rule file "${plan.ruleFile.name}": ${over.join('; ')}\n\n${formatPlanTable(plan)}`);
    this.name = 'PlanDoesNotFitError';
    this.plan = plan;
  }
}

/** load_mode / no_host / use_extra_bufts for each weights mode (libllama-api.md 2.1, risk 4). */
export function weightsParams(mode: WeightsMode): { loadMode: 'mmap' | 'none'; noHost: boolean; useExtraBufts: boolean } {
  switch (mode) {
    case 'mmap':
      // CPU overrides select CUDA_Host, which mmap rewrites to plain CPU over the mapping; without
      // extra bufts nothing is copied into CPU_REPACK either (CPU-only machines included).
      return { loadMode: 'mmap', noHost: false, useExtraBufts: false };
    case 'pinned':
      // load_mode none keeps the pinned CUDA_Host buffer that select_weight_buft tries first.
      return { loadMode: 'none', noHost: false, useExtraBufts: false };
    case 'repacked':
      // no_host drops CUDA_Host from the CPU list so CPU_REPACK wins for repackable types.
      return { loadMode: 'none', noHost: true, useExtraBufts: true };
  }
}

interface Assignment {
  /** undefined: no rule decided, llama.cpp's default for the tensor's layer. */
  device: (DeviceName | undefined)[];
  rule: number[];
}

interface Evaluation {
  layerDevices: DeviceName[];
  kvDevices: DeviceName[];
  devicesList: DeviceName[];
  gpuLayers: number;
  tensorSplit?: number[];
  finalDevice: DeviceName[];
  usage: Map<DeviceName, { weights: number; kv: number; compute: number }>;
  notes: string[];
}

const isGpu = (d: DeviceName): boolean => d !== 'CPU';

/** Smallest micro-batch the planner falls back to (llama.cpp's default n_ubatch). */
const MIN_FALLBACK_UBATCH = 512;

/**
 * The plan of the rule file as written; when a GPU cannot hold it and the caller did not fix the
 * micro-batch, cheaper settings follow before refusing: the micro-batch halved down to 512 (a
 * smaller compute buffer, slower long prompts), then no GPU prompt offload (no shipped weight in
 * the compute buffer: prompts run on the CPU). What a small GPU gives up is said in the notes.
 */
export function planPlacement(input: PlanInput): Plan {
  const first = planOnce({ ...input, throwIfDoesNotFit: false });
  const gpuOverflows = (p: Plan): boolean => p.devices.some((d) => d.kind === 'gpu' && !d.fits);
  if (gpuOverflows(first) && input.nUbatch === undefined) {
    const engine = input.rules.engine;
    const noOffload: RuleFile = { ...input.rules, engine: { ...engine, gpuPromptOffload: { ...engine.gpuPromptOffload, enabled: false } } };
    const u0 = first.engine.nUbatch;
    const halvings: number[] = [];
    for (let u = u0; u >= MIN_FALLBACK_UBATCH; u = Math.floor(u / 2)) halvings.push(u);
    if (halvings.length === 0) halvings.push(u0);
    const tries = halvings.slice(1).map((nUbatch) => ({ rules: input.rules, nUbatch }));
    if (engine.gpuPromptOffload.enabled) tries.push(...halvings.map((nUbatch) => ({ rules: noOffload, nUbatch })));
    for (const t of tries) {
      const plan = planOnce({ ...input, rules: t.rules, nUbatch: t.nUbatch, throwIfDoesNotFit: false });
      if (gpuOverflows(plan)) continue;
      const what = [t.nUbatch !== u0 ? `a micro-batch of ${t.nUbatch} instead of ${u0} tokens` : ''];
      if (t.rules === noOffload) what.push('prompts on the CPU (gpu_prompt_offload off)');
      plan.notes.unshift(`the rule file's settings do not fit the GPU: planned with ${what.filter(Boolean).join(' and ')}`);
      if (!plan.fits && input.throwIfDoesNotFit !== false) throw new PlanDoesNotFitError(plan);
      return plan;
    }
  }
  if (!first.fits && input.throwIfDoesNotFit !== false) throw new PlanDoesNotFitError(first);
  return first;
}

function planOnce(input: PlanInput): Plan {
  const { model, rules: file } = input;
  const info = modelInfo(model);
  const numParallel = Math.max(1, input.numParallel ?? 1);
  const kvUnified = input.kvUnified ?? true;
  const engine = file.engine;
  const notes: string[] = [];

  // ---- devices
  const gpuInfos = input.devices.filter((d) => d.type === 'gpu' || d.type === 'igpu');
  const gpuNames = gpuInfos.map((d) => d.name);
  const cpuInfo = input.devices.find((d) => d.type === 'cpu');
  const missing = new Set<RuleDevice>();
  const resolve = (d: RuleDevice): DeviceName => {
    if (d === 'cpu') return 'CPU';
    const name = `CUDA${d.slice('cuda:'.length)}`;
    if (gpuNames.includes(name)) return name;
    missing.add(d);
    return 'CPU';
  };
  const freeOf = (d: DeviceName): number | undefined => {
    const dev = d === 'CPU' ? cpuInfo : input.devices.find((x) => x.name === d);
    if (!dev || (dev.memoryFree === 0 && dev.memoryTotal === 0)) return undefined;
    return dev.memoryFree;
  };

  // ---- tensors: MTP (NextN) blocks are not loaded in a normal context
  const trunk = info.nLayerAll - info.nLayerNextn;
  const unused = (name: string): boolean => {
    const l = layerOf(name);
    return info.nLayerNextn > 0 && l !== undefined && l >= trunk;
  };
  const tensors = model.tensors;

  // ---- rules, first match wins
  const ruleDevices = file.rules.map((r) => resolve(r.device));
  const assign: Assignment = { device: [], rule: [] };
  tensors.forEach((t, i) => {
    if (/^token_embd\./.test(t.name)) {
      assign.device[i] = 'CPU';
      assign.rule[i] = RULE_INPUT;
      return;
    }
    const layer = layerOf(t.name);
    const r = file.rules.find((rule) => (rule.layers ? layer !== undefined && rule.layers.has(layer) : true) && searches(rule.regex, t.name));
    assign.device[i] = r ? ruleDevices[r.index] : undefined;
    assign.rule[i] = r ? r.index : RULE_NONE;
  });
  const nUnmatched = tensors.filter((t, i) => assign.rule[i] === RULE_NONE && !unused(t.name)).length;

  // ---- sizes that do not depend on placement
  const { nCtx, nCtxSeq, cells } = kvCells(input.numCtx, numParallel, kvUnified);
  let nBatch = input.nBatch ?? engine.batch;
  let nUbatch = input.nUbatch ?? engine.ubatch;
  if (nUbatch > nBatch) nUbatch = nBatch;
  nBatch = Math.min(nBatch, nCtx); // llama.cpp: causal models clamp n_batch to n_ctx
  nUbatch = Math.min(nUbatch, nBatch);
  const shape: ComputeShape = { tokens: nUbatch, nKv: kvUnified ? nCtx : nCtxSeq, flashAttention: engine.flashAttention !== 'off' };
  const typeK = engine.kvCacheType;
  const typeV = engine.kvCacheType;
  const kvLayers = kvLayerCount(info);
  const kvPerCell = Array.from({ length: kvLayers }, (_, il) => kvBytesPerCell(info, il, typeK, typeV));
  const gpuPhase = phaseBytesPerToken(info, shape);
  const cpuPhase = cpuPhaseBytesPerToken(info, shape);
  const shipsWeights = engine.gpuPromptOffload.enabled && nUbatch >= engine.gpuPromptOffload.minBatch;

  function evaluate(a: Assignment): Evaluation {
    const evNotes: string[] = [];
    const n = info.nLayerAll;
    // Each layer's intended device: where most of its attention bytes are (else most of its bytes).
    const byLayer = Array.from({ length: n + 1 }, () => ({ attn: new Map<DeviceName, number>(), all: new Map<DeviceName, number>() }));
    tensors.forEach((t, i) => {
      const dev = a.device[i];
      if (dev === undefined || unused(t.name) || a.rule[i] === RULE_INPUT) return;
      const layer = layerOf(t.name);
      const slot = byLayer[layer !== undefined && layer < n ? layer : n]!;
      const add = (m: Map<DeviceName, number>): void => void m.set(dev, (m.get(dev) ?? 0) + t.bytes + 1);
      if (layer === undefined) {
        if (/^output(_norm)?\./.test(t.name)) add(slot.attn);
        add(slot.all);
      } else {
        if (phaseOf(t.name) === 'attn') add(slot.attn);
        add(slot.all);
      }
    });
    const argmax = (m: Map<DeviceName, number>): DeviceName | undefined => {
      let best: DeviceName | undefined;
      let bestBytes = -1;
      for (const [d, b] of m) if (b > bestBytes) [best, bestBytes] = [d, b];
      return best;
    };
    const fallback = gpuNames[0] ?? 'CPU';
    const layerDevices = byLayer.map((s) => argmax(s.attn) ?? argmax(s.all) ?? fallback);

    // llama.cpp parameters that give those layer devices
    const used: DeviceName[] = [];
    for (const d of layerDevices) if (isGpu(d) && !used.includes(d)) used.push(d);
    for (const d of a.device) if (d !== undefined && isGpu(d) && !used.includes(d)) used.push(d);
    let gpuLayers = 0;
    let tensorSplit: number[] | undefined;
    if (used.length > 0) {
      let prefix = 0;
      while (prefix <= n && layerDevices[prefix] === 'CPU') prefix++;
      gpuLayers = prefix === 0 ? -1 : n + 1 - prefix;
      if (used.length > 1) {
        const counts = new Map<DeviceName, number>(used.map((d) => [d, 0]));
        let cur = used[0]!;
        for (let il = prefix; il <= n; il++) {
          const d = layerDevices[il]!;
          if (isGpu(d)) cur = d;
          counts.set(cur, counts.get(cur)! + 1);
        }
        tensorSplit = used.map((d) => counts.get(d)!);
      }
    }
    const free: Record<DeviceName, number> = {};
    for (const d of used) free[d] = freeOf(d) ?? 1;
    const kvDevices = llamaLayerDevices({ nLayerAll: n, gpuLayers, devices: used, tensorSplit, free });
    for (let il = 0; il <= n; il++) {
      if (layerDevices[il] !== kvDevices[il] && (il < kvLayers || il === n)) {
        evNotes.push(
          il === n
            ? `the output layer's weights are on ${layerDevices[il]}, but llama.cpp counts the output layer on ${kvDevices[il]}`
            : `layer ${il}'s attention is on ${layerDevices[il]}, but llama.cpp keeps its KV cache on ${kvDevices[il]} (CPU layers must come first and GPUs in one run each)`,
        );
      }
    }

    // Final device of every tensor: unmatched ones get llama.cpp's default for their layer.
    const finalDevice = tensors.map((t, i) => {
      if (unused(t.name)) return 'unused';
      const d = a.device[i];
      if (d !== undefined) return d;
      const layer = layerOf(t.name);
      return kvDevices[layer !== undefined && layer < n ? layer : n]!;
    });

    // Usage: weights, KV, compute
    const usage = new Map<DeviceName, { weights: number; kv: number; compute: number }>();
    const u = (d: DeviceName): { weights: number; kv: number; compute: number } => {
      let e = usage.get(d);
      if (!e) usage.set(d, (e = { weights: 0, kv: 0, compute: 0 }));
      return e;
    };
    u('CPU');
    for (const d of used) u(d);
    // Which compute phases run where. A CPU-held weight in host memory is shipped to the first GPU
    // for micro-batches of min_batch+ tokens (op_offload); repacked ones never are.
    const T = shape.tokens;
    const ship = shipsWeights && used.length > 0;
    const phasesOn = new Map<DeviceName, Set<Phase>>();
    const on = (d: DeviceName, p: Phase): void => {
      if (!phasesOn.has(d)) phasesOn.set(d, new Set());
      phasesOn.get(d)!.add(p);
    };
    const shipped = new Map<Phase, number>(); // phase -> largest shipped weight
    const cpuRun = new Set<Phase>();
    tensors.forEach((t, i) => {
      const d = finalDevice[i]!;
      if (d === 'unused') return;
      u(d).weights += t.bytes;
      const p = phaseOf(t.name);
      if (!p) return;
      if (d !== 'CPU') {
        on(d, p);
      } else if (ship && !(engine.weights === 'repacked' && X86_REPACKED_TYPES.has(t.type))) {
        shipped.set(p, Math.max(shipped.get(p) ?? 0, t.bytes));
      } else {
        cpuRun.add(p);
      }
    });
    for (let il = 0; il < kvLayers; il++) {
      u(kvDevices[il]!).kv += cells * kvPerCell[il]!;
      if (kvDevices[il] !== 'CPU') on(kvDevices[il]!, 'attn');
    }
    const remote = cpuRun.has('moe') ? T * remoteExpertsBytesPerToken(info) : 0;
    for (const d of used) {
      const phases = new Set<Phase>(phasesOn.get(d) ?? []);
      const shipsHere = ship && d === used[0];
      if (shipsHere) for (const p of shipped.keys()) phases.add(p);
      let peak = 0;
      for (const p of phases) {
        let bytes = T * gpuPhase[p];
        if (shipsHere) bytes += shipped.get(p) ?? 0;
        if (p === 'attn' || (p === 'moe' && shipsHere && shipped.has('moe'))) bytes += remote;
        // the last layer's routed outputs are still alive when the logits are computed
        if (p === 'output' && phasesOn.get(d)?.has('moe')) bytes += T * remoteExpertsBytesPerToken(info);
        peak = Math.max(peak, bytes);
      }
      u(d).compute = peak + GPU_RUNTIME_OVERHEAD;
    }
    let cpuCompute = used.length > 0 ? T * hostStagingPerToken(info, shape) : 0;
    for (const p of cpuRun) {
      cpuCompute = Math.max(cpuCompute, T * cpuPhase[p]);
    }
    u('CPU').compute = cpuCompute + outputBufferBytes(info, numParallel);

    return { layerDevices, kvDevices, devicesList: used, gpuLayers, tensorSplit, finalDevice, usage, notes: evNotes };
  }

  // Pinned memory belongs to a GPU: without one, mmap is the better way to hold the weights. And
  // when the CPU weights do not fit in free RAM, mmap (page cache) is the only way to run at all.
  let tooBigForRam = false;
  const weightsMode = (e: Evaluation): WeightsMode =>
    (engine.weights === 'pinned' && e.devicesList.length === 0) || tooBigForRam ? 'mmap' : engine.weights;
  const requiredOn = (d: DeviceName, e: Evaluation): number => {
    const x = e.usage.get(d);
    if (!x) return 0;
    return x.kv + x.compute + (d === 'CPU' && weightsMode(e) === 'mmap' ? 0 : x.weights);
  };

  // ---- fill: spend what is left of the fill device's memory on whole layers
  let fillUsage: Plan['fill'];
  if (file.fill) {
    const f = file.fill;
    const dev = resolve(f.device);
    if (dev === 'CPU') {
      notes.push(`fill skipped: ${f.device} is not present`);
    } else if (freeOf(dev) === undefined) {
      notes.push(`fill skipped: ${dev} reports no free memory figure`);
    } else {
      const groups = new Map<number, number[]>();
      tensors.forEach((t, i) => {
        if (assign.rule[i] === RULE_INPUT || unused(t.name)) return;
        f.regex.lastIndex = 0;
        const m = f.regex.exec(t.name);
        if (!m) return;
        const key = m[1] === undefined ? info.nLayerAll : Number(m[1]);
        if (!Number.isSafeInteger(key)) return;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key)!.push(i);
      });
      const keys = [...groups.keys()].filter((k) => groups.get(k)!.every((i) => assign.device[i] === 'CPU'));
      keys.sort((a, b) => (f.order === 'ascending' ? a - b : b - a));
      const budget = freeOf(dev)! - f.reserve;
      const filled: number[] = [];
      let bytes = 0;
      let count = 0;
      for (const key of keys) {
        const idx = groups.get(key)!;
        for (const i of idx) {
          assign.device[i] = dev;
          assign.rule[i] = RULE_FILL;
        }
        const e = evaluate(assign);
        if (requiredOn(dev, e) <= budget) {
          filled.push(key);
          count += idx.length;
          for (const i of idx) bytes += tensors[i]!.bytes;
          continue;
        }
        // revert: back to the CPU rule that placed them
        for (const i of idx) {
          assign.device[i] = 'CPU';
          assign.rule[i] = originalRule(i);
        }
        if (!f.pack) break;
      }
      filled.sort((a, b) => a - b);
      fillUsage = { device: dev, reserve: f.reserve, layers: filled, tensors: count, bytes };
      if (filled.length > 0) {
        const names = filled.map((l) => (l === info.nLayerAll ? 'output' : String(l)));
        notes.push(`fill moved ${count} tensors of ${filled.length} layer${filled.length === 1 ? '' : 's'} (${compactList(names)}) to ${dev}: ${formatBytes(bytes)}`);
      } else if (keys.length > 0) {
        notes.push(`fill found no room on ${dev} above its ${formatBytes(f.reserve)} reserve`);
      }
    }
  }
  function originalRule(i: number): number {
    const t = tensors[i]!;
    const layer = layerOf(t.name);
    const r = file.rules.find((rule) => (rule.layers ? layer !== undefined && rule.layers.has(layer) : true) && searches(rule.regex, t.name));
    return r ? r.index : RULE_NONE;
  }

  // ---- final evaluation
  const ev = evaluate(assign);
  notes.push(...ev.notes);
  const ram = freeOf('CPU');
  if (weightsMode(ev) !== 'mmap' && ram !== undefined && requiredOn('CPU', ev) > ram) {
    const wanted = requiredOn('CPU', ev);
    tooBigForRam = true;
    if (requiredOn('CPU', ev) <= ram) {
      notes.push(
        `weights "${engine.weights}" would need ${formatBytes(wanted)} of RAM but ${formatBytes(ram)} is free: the CPU weights are mmap'd instead (slower prompts)`,
      );
    } else {
      tooBigForRam = false;
    }
  }
  for (const d of missing) {
    notes.push(gpuNames.length === 0 ? `no GPU: rules for ${d} place their tensors on the CPU` : `${d} is not present: rules for it place their tensors on the CPU`);
  }
  if (nUnmatched > 0) notes.push(`${nUnmatched} tensors matched no rule and stay where llama.cpp puts them by default`);
  const nUnused = tensors.filter((t) => unused(t.name)).length;
  if (nUnused > 0) notes.push(`${nUnused} MTP (NextN) tensors are not loaded`);
  if (engine.flashAttention === 'auto') notes.push('flash attention is "auto": sizes assume llama.cpp turns it on');

  // ---- device usage table
  const deviceOrder: DeviceName[] = [...ev.devicesList, 'CPU'];
  for (const d of ev.usage.keys()) if (!deviceOrder.includes(d)) deviceOrder.push(d);
  const devices: DeviceUsage[] = deviceOrder.map((d) => {
    const x = ev.usage.get(d) ?? { weights: 0, kv: 0, compute: 0 };
    const total = x.weights + x.kv + x.compute;
    const required = requiredOn(d, ev);
    const free = freeOf(d);
    const dev = d === 'CPU' ? cpuInfo : input.devices.find((y) => y.name === d);
    return {
      device: d,
      kind: d === 'CPU' ? 'cpu' : 'gpu',
      weights: x.weights,
      kv: x.kv,
      compute: x.compute,
      total,
      required,
      free,
      memoryTotal: dev && !(dev.memoryFree === 0 && dev.memoryTotal === 0) ? dev.memoryTotal : undefined,
      fits: free === undefined || required <= free,
    };
  });
  const cpuUsage = devices.find((d) => d.device === 'CPU')!;
  if (weightsMode(ev) === 'mmap' && cpuUsage.free !== undefined && cpuUsage.weights + cpuUsage.required > cpuUsage.free) {
    notes.push(
      `the ${formatBytes(cpuUsage.weights)} of CPU weights do not all fit in the ${formatBytes(cpuUsage.free)} of free RAM: mmap will read them from disk as they are used`,
    );
  }
  if (engine.weights === 'pinned' && ev.devicesList.length === 0) notes.push('weights "pinned" need a GPU: without one the weights are mmap\'d');
  if (engine.weights === 'repacked' && engine.gpuPromptOffload.enabled && ev.devicesList.length > 0) {
    notes.push('repacked weights run on the CPU for every batch: gpu_prompt_offload only ships the tensors the CPU could not repack');
  }
  if (shipsWeights && ev.devicesList.length > 0 && cpuUsage.weights > 0) {
    notes.push(
      `batches of ${engine.gpuPromptOffload.minBatch}+ tokens run CPU-held weights on ${ev.devicesList[0]} (op_offload), copying them over PCIe`,
    );
  }

  // ---- rules table
  const ruleUsage: RuleUsage[] = file.rules.map((r, k) => ({
    index: r.index,
    name: r.name,
    tensors: r.tensors,
    layers: r.layersText,
    requested: r.device,
    device: ruleDevices[k]!,
    matched: 0,
    bytes: 0,
    line: r.line,
  }));
  const planned: PlannedTensor[] = tensors.map((t, i) => {
    const rule = unused(t.name) ? RULE_NONE : assign.rule[i]!;
    if (rule >= 0) {
      ruleUsage[rule]!.matched++;
      ruleUsage[rule]!.bytes += t.bytes;
    }
    return { name: t.name, bytes: t.bytes, layer: layerOf(t.name), device: ev.finalDevice[i]!, rule };
  });

  // ---- overrides: candidates in the planner's own order, then pruned to what the defaults miss
  const bufferType = (d: DeviceName): string => d;
  const candidates: TensorOverride[] = [{ pattern: '^token_embd\\.', bufferType: 'CPU' }];
  if (fillUsage && fillUsage.layers.length > 0) {
    const blockLayers = fillUsage.layers.filter((l) => l < info.nLayerAll);
    if (blockLayers.length > 0) candidates.push({ pattern: restrictToLayers(file.fill!.tensors, blockLayers), bufferType: bufferType(fillUsage.device) });
    if (fillUsage.layers.includes(info.nLayerAll)) {
      const names = planned.filter((t) => t.rule === RULE_FILL && t.layer === undefined).map((t) => escapeRegex(t.name));
      candidates.push({ pattern: `^(?:${names.join('|')})$`, bufferType: bufferType(fillUsage.device) });
    }
  }
  for (const r of file.rules) {
    candidates.push({ pattern: r.layers ? restrictToLayers(r.tensors, r.layers) : r.tensors, bufferType: bufferType(ruleDevices[r.index]!) });
  }
  const live = planned.filter((t) => t.device !== 'unused');
  const tensorOverrides = pruneOverrides(candidates, live, ev.kvDevices, info.nLayerAll);
  const wrong = mismatches(live, compileOverrides(tensorOverrides), ev.kvDevices, info.nLayerAll, 5);
  if (wrong.length > 0) throw new Error(`internal error: the emitted overrides do not reproduce the plan for ${wrong.join(', ')}`);
  if (tensorOverrides.length > MAX_TENSOR_OVERRIDES) {
    throw new Error(`the plan needs ${tensorOverrides.length} tensor overrides; llama.cpp takes at most ${MAX_TENSOR_OVERRIDES}`);
  }

  const w = weightsParams(weightsMode(ev));
  const opOffload = engine.gpuPromptOffload.enabled;
  const engineMapping: EngineMapping = {
    devices: ev.devicesList,
    gpuLayers: ev.gpuLayers,
    tensorSplit: ev.tensorSplit,
    tensorOverrides,
    loadMode: w.loadMode,
    noHost: w.noHost,
    useExtraBufts: w.useExtraBufts,
    opOffload,
    env: opOffload && ev.devicesList.length > 0 ? { GGML_OP_OFFLOAD_MIN_BATCH: String(engine.gpuPromptOffload.minBatch) } : {},
    flashAttention: engine.flashAttention,
    nCtx,
    nSeqMax: numParallel,
    kvUnified,
    nBatch,
    nUbatch,
    threads: engine.threads,
    numa: engine.numa,
    typeK,
    typeV,
  };

  const plan: Plan = {
    model: {
      path: model.paths?.[0],
      architecture: info.architecture,
      name: info.name,
      layers: info.nLayerAll,
      experts: info.nExpert,
      tensors: tensors.length,
      bytes: tensors.reduce((s, t) => s + t.bytes, 0),
    },
    ruleFile: { name: file.name, source: file.source, description: file.description },
    tensors: planned,
    layerDevices: ev.layerDevices,
    kvDevices: ev.kvDevices,
    devices,
    rules: ruleUsage,
    fill: fillUsage,
    kv: {
      cells,
      type: typeK,
      bytesPerCell: kvPerCell.reduce((s, b) => s + b, 0),
      mla: info.isMla,
      layers: kvLayers,
    },
    fits: devices.every((d) => d.fits),
    notes,
    engine: engineMapping,
  };
  if (!plan.fits && input.throwIfDoesNotFit !== false) throw new PlanDoesNotFitError(plan);
  return plan;
}

/** "3-14, 20, output" from a sorted list of layer labels. */
export function compactList(labels: string[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < labels.length) {
    const a = Number(labels[i]);
    if (Number.isNaN(a)) {
      out.push(labels[i]!);
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < labels.length && Number(labels[j + 1]) === Number(labels[j]) + 1) j++;
    out.push(j > i ? `${labels[i]}-${labels[j]}` : labels[i]!);
    i = j + 1;
  }
  return out.join(', ');
}

export type { ModelInfo };
