// Models as the API shows them: lookup by the requested name, details, capabilities, and the
// engine parameters a request needs to load one.
import type { ListModelResponse, ModelDetails } from '../api/types.js';
import type { DaemonConfig } from '../config/env.js';
import type { Options } from '../config/options.js';
import type { LoadParams } from '../engine/types.js';
import type { Plan } from '../placement/index.js';
import { MoedError } from '../errors/index.js';
import { parseModelNameOrNull } from '../store/names.js';
import { checkModelFiles, type ModelStore, type StoredModel } from '../store/store.js';

export type Capability = 'completion' | 'tools' | 'insert' | 'vision' | 'embedding' | 'thinking';

/** The model for a request, or Ollama's 404 `model '<name>' not found`. */
export async function findModel(store: ModelStore, requested: string): Promise<StoredModel> {
  const name = parseModelNameOrNull(requested);
  const model = name ? await store.get(name) : undefined;
  if (!model) throw new MoedError('MODEL_NOT_FOUND', `model '${shownName(requested)}' not found`);
  return model;
}

/** A requested name as an error message shows it: whole unless absurdly long (no real name is). */
export function shownName(requested: string): string {
  return requested.length <= 256 ? requested : `${requested.slice(0, 64)}…(${requested.length} characters)`;
}

export function capabilities(model: StoredModel): Capability[] {
  return (model.config.capabilities ?? ['completion']) as Capability[];
}

export function modelDetails(model: StoredModel, withLengths = true): ModelDetails {
  const c = model.config;
  const details: ModelDetails = {
    parent_model: '',
    format: c.model_format || 'gguf',
    family: c.model_family || '',
    families: c.model_families?.length ? c.model_families : null,
    parameter_size: c.model_type || '',
    quantization_level: c.file_type || '',
  };
  if (withLengths && c.context_length) details.context_length = c.context_length;
  if (withLengths && c.embedding_length) details.embedding_length = c.embedding_length;
  return details;
}

export function listEntry(model: StoredModel): ListModelResponse {
  return {
    name: model.display,
    model: model.display,
    modified_at: model.modifiedAt.toISOString(),
    size: model.size,
    digest: model.digest,
    details: modelDetails(model),
    capabilities: capabilities(model),
  };
}

/**
 * Engine load parameters from a placement plan. The plan decides devices, overrides, weights mode,
 * batch sizes and threads; explicit request or Modelfile options win where Ollama has them
 * (num_batch, num_thread, use_mmap).
 */
export async function loadParamsFor(model: StoredModel, options: Options, config: DaemonConfig, plan: Plan, explicitBatch: boolean): Promise<LoadParams> {
  await checkModelFiles(model);
  const e = plan.engine;
  const params: LoadParams = {
    modelPath: model.modelFiles[0]!.path,
    numCtx: Math.max(256, options.num_ctx),
    numParallel: config.numParallel,
    numBatch: explicitBatch ? Math.max(options.num_batch, 1) : e.nBatch,
    numUbatch: explicitBatch ? Math.max(options.num_batch, 1) : e.nUbatch,
    numThreads: options.num_thread > 0 ? options.num_thread : typeof e.threads === 'number' ? e.threads : 0,
    gpuLayers: e.gpuLayers,
    mainGpu: options.main_gpu,
    devices: e.devices,
    tensorOverrides: e.tensorOverrides,
    flashAttention: e.flashAttention,
    loadMode: options.use_mmap === undefined ? e.loadMode : options.use_mmap ? 'mmap' : 'none',
    noHost: e.noHost,
    useExtraBufts: e.useExtraBufts,
    opOffload: e.opOffload,
    kvUnified: e.kvUnified,
    typeK: e.typeK,
    typeV: e.typeV,
    env: e.env,
    promptCacheBytes: config.promptCacheBytes,
    templateOverride: model.template && looksLikeJinja(model.template) ? model.template : undefined,
  };
  return params;
}

/** Ollama TEMPLATEs are Go templates ({{ .Prompt }}); moed renders Jinja ({{ messages }}, {% %}). */
export function looksLikeJinja(template: string): boolean {
  return /\{%|\{\{\s*(messages|bos_token|message)\b/.test(template) && !/\{\{\s*\./.test(template);
}
