// What /api/chat, /api/generate and /api/embed share: resolving the model, its options and
// keep-alive; the checks whose texts clients know (reference §4); loading and unloading; and running
// one generation on a leased runner as a stream of parts that each route turns into its wire shape.
import type { ThinkValue } from '../api/types.js';
import type { DaemonConfig } from '../config/env.js';
import { mergeOptions, type Options } from '../config/options.js';
import type {
  GenerateDone,
  GenerateEvent,
  GenerateParams,
  GenerateStart,
  LoadParams,
  OutputFormat,
  SamplingParams,
  ThinkLevel,
} from '../engine/types.js';
import { MoedError } from '../errors/index.js';
import type { Lease, LoadRequest, Scheduler } from '../scheduler/scheduler.js';
import { fullName } from '../store/names.js';
import type { ModelStore, StoredModel } from '../store/store.js';
import type { PlacementService } from './placement.js';
import { capabilities, loadParamsFor, looksLikeJinja, type Capability } from './models.js';
import { parseKeepAlive, parseThink } from './request-values.js';

export interface ServiceDeps {
  store: ModelStore;
  scheduler: Scheduler;
  config: DaemonConfig;
  placement: PlacementService;
}

export const now = () => new Date().toISOString();

/** Ollama's metrics: integer nanoseconds and counts, omitted when zero (reference G10, §3.2). */
export function metrics(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (v > 0) out[k] = Math.round(v);
  return out;
}

export function samplingFrom(o: Options): SamplingParams {
  return {
    temperature: o.temperature,
    topK: o.top_k,
    topP: o.top_p,
    minP: o.min_p,
    typicalP: o.typical_p,
    repeatLastN: o.repeat_last_n,
    repeatPenalty: o.repeat_penalty,
    presencePenalty: o.presence_penalty,
    frequencyPenalty: o.frequency_penalty,
    seed: o.seed,
    mirostat: o.mirostat,
    mirostatTau: o.mirostat_tau,
    mirostatEta: o.mirostat_eta,
  };
}

/** Engine load parameters: the placement plan, with the request's load-time options applied. */
export async function engineLoadParams(deps: ServiceDeps, r: Resolved): Promise<LoadParams> {
  const plan = await deps.placement.plan(r.model, r.options);
  return loadParamsFor(r.model, r.options, deps.config, plan, r.explicitBatch);
}

/** A Go text/template (Ollama's TEMPLATE syntax: {{ .Prompt }}, {{ if .System }}, {{ end }}). */
export function isGoTemplate(template: string): boolean {
  return /\{\{-?\s*(\.|\$|(if|range|with|else if)\s+[.$]|end\s*-?\}\}|template\s|block\s)/.test(template) && !looksLikeJinja(template);
}

/** A Go-json-like type error for a field of the request (reference G4). */
export function checkField(req: object, field: string, type: 'string' | 'boolean' | 'array', goType: string, struct: string): void {
  const v = (req as Record<string, unknown>)[field];
  if (v === undefined || v === null) return;
  const ok = type === 'array' ? Array.isArray(v) : typeof v === type;
  if (!ok) {
    const got = Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v;
    throw new MoedError('INVALID_REQUEST', `json: cannot unmarshal ${got} into Go struct field ${struct}.${field} of type ${goType}`);
  }
}

/** `format`: "json", a JSON-schema object, or unset (null, ""); anything else is Ollama's error. */
export function parseFormat(value: unknown): OutputFormat | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === 'json') return { type: 'json' };
  if (typeof value === 'object' && !Array.isArray(value)) return { type: 'schema', schema: value as Record<string, unknown> };
  throw new MoedError(
    'INVALID_REQUEST',
    `invalid format: ${JSON.stringify(JSON.stringify(value))}; expected "json" or a valid JSON Schema object`,
  );
}

/** top_logprobs must be 0–20 (logprobs themselves are not produced yet). */
export function checkTopLogprobs(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || value < 0 || value > 20) {
    throw new MoedError('INVALID_REQUEST', 'top_logprobs must be between 0 and 20');
  }
}

/** Go decodes []byte from standard base64 with padding; report the first bad byte as it does. */
export function checkBase64(s: string): void {
  const m = /[^A-Za-z0-9+/=]/.exec(s);
  let bad = m ? m.index : -1;
  if (bad < 0) {
    const pad = s.indexOf('=');
    if (pad >= 0 && (pad < s.length - 2 || !/^=*$/.test(s.slice(pad)) || s.length % 4 !== 0)) bad = pad;
    else if (s.length % 4 !== 0) bad = s.length - (s.length % 4);
  }
  if (bad >= 0) throw new MoedError('INVALID_REQUEST', `illegal base64 data at input byte ${bad}`);
}

/** Images must be base64; a model without a vision projector cannot take them. */
export function checkImages(images: unknown, model: StoredModel, caps: Capability[]): void {
  if (images === undefined || images === null) return;
  if (!Array.isArray(images)) throw new MoedError('INVALID_REQUEST', '"images" must be an array of base64 strings');
  for (const img of images) {
    if (typeof img !== 'string') throw new MoedError('INVALID_REQUEST', '"images" must be an array of base64 strings');
    checkBase64(img);
  }
  if (images.length > 0 && !caps.includes('vision')) {
    throw new MoedError('UNSUPPORTED_CAPABILITY', `${fullName(model.name)} does not support vision (images need a model with a vision projector)`);
  }
}

export interface ThinkChoice {
  /** Separate reasoning and tell the template to think. */
  thinking: boolean;
  level?: ThinkLevel;
}

/** think: a level counts as on; absent means on for thinking models (reference TH1–TH3). */
export function thinkChoice(value: unknown, requested: string, caps: Capability[]): ThinkChoice {
  const think: ThinkValue | undefined = parseThink(value);
  if (think !== undefined && think !== false && !caps.includes('thinking')) {
    throw new MoedError('UNSUPPORTED_CAPABILITY', `"${requested}" does not support thinking`);
  }
  const thinking = think === undefined ? caps.includes('thinking') : think !== false;
  return { thinking, level: typeof think === 'string' ? think : undefined };
}

export interface Resolved {
  model: StoredModel;
  caps: Capability[];
  options: Options;
  keepAliveMs: number;
  /** num_batch was set by the request or the Modelfile (else the rule file's batch sizes apply). */
  explicitBatch: boolean;
}

export function resolveOptions(deps: ServiceDeps, model: StoredModel, req: { keep_alive?: unknown; options?: unknown }): Resolved {
  const keepAliveMs = parseKeepAlive(req.keep_alive, deps.config.keepAliveMs);
  if (req.options !== undefined && req.options !== null && (typeof req.options !== 'object' || Array.isArray(req.options))) {
    throw new MoedError('INVALID_REQUEST', '"options" must be an object');
  }
  const requested = req.options as Record<string, unknown> | null | undefined;
  const options = mergeOptions(deps.config.contextLength, model.parameters, requested);
  const explicitBatch = model.parameters.num_batch != null || requested?.num_batch != null;
  return { model, caps: capabilities(model), options, keepAliveMs, explicitBatch };
}

/**
 * What the request asks to have loaded. Its key holds the model and the options the plan and the
 * load parameters are made from, never the devices' free memory: that falls once the model is
 * loaded, and the model would be loaded again on every request. The plan is made only for a load.
 */
export function loadRequest(deps: ServiceDeps, r: Resolved): LoadRequest {
  const o = r.options;
  const shaping = [r.model.digest, o.num_ctx, r.explicitBatch ? o.num_batch : null, o.num_thread, o.main_gpu, o.num_gpu, o.use_mmap, o.rules];
  return { key: JSON.stringify(shaping), params: () => engineLoadParams(deps, r) };
}

/** A runner for the request's model; a client that goes away while it waits gives up (499). */
export async function acquire(deps: ServiceDeps, r: Resolved, signal?: AbortSignal): Promise<Lease> {
  return deps.scheduler.acquire(r.model.digest, r.model.display, loadRequest(deps, r), r.keepAliveMs, undefined, signal);
}

/** Loads the model (keep-alive from this request) without running anything. */
export async function load(deps: ServiceDeps, r: Resolved, signal?: AbortSignal): Promise<void> {
  (await acquire(deps, r, signal)).release();
}

/** keep_alive 0 with nothing to run: unload now, or, while others still use the model, when they finish. */
export async function unload(deps: ServiceDeps, model: StoredModel): Promise<void> {
  const loaded = deps.scheduler.loaded().find((m) => m.key === model.digest);
  if (loaded && loaded.active > 0) deps.scheduler.expire(model.digest, 0);
  else await deps.scheduler.unload(model.digest);
}

export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'thinking'; text: string }
  | { kind: 'tool'; name: string; arguments: Record<string, unknown> }
  | { kind: 'done'; done: GenerateDone; metrics: Record<string, number> };

export interface Generation {
  start: GenerateStart;
  parts: AsyncGenerator<Part>;
}

/**
 * Loads the model and starts the generation. Resolves once the runner accepted the prompt (its
 * `start` event), so anything refused before (load failure, prompt too long) keeps its status.
 */
export async function startGeneration(
  deps: ServiceDeps,
  r: Resolved,
  params: GenerateParams,
  signal: AbortSignal,
  started: bigint,
): Promise<Generation> {
  const lease = await acquire(deps, r, signal);
  let events: AsyncIterator<GenerateEvent>;
  let first: IteratorResult<GenerateEvent>;
  try {
    events = lease.runner.generate(params, signal)[Symbol.asyncIterator]();
    first = await events.next();
  } catch (e) {
    lease.release();
    throw e;
  }
  if (first.done || first.value.type !== 'start') {
    lease.release();
    throw new MoedError('ENGINE_FAILURE', 'runner sent no start event');
  }
  return { start: first.value, parts: parts(events, lease, started) };
}

async function* parts(events: AsyncIterator<GenerateEvent>, lease: Lease, started: bigint): AsyncGenerator<Part> {
  try {
    for (;;) {
      const { value: ev, done } = await events.next();
      if (done) throw new MoedError('ENGINE_FAILURE', 'the runner ended the stream without finishing');
      switch (ev.type) {
        case 'text':
        case 'thinking':
          if (ev.text) yield { kind: ev.type, text: ev.text };
          break;
        case 'tool_call':
          yield { kind: 'tool', name: ev.name, arguments: toolArguments(ev.arguments) };
          break;
        case 'done':
          yield {
            kind: 'done',
            done: ev,
            metrics: metrics({
              total_duration: Number(process.hrtime.bigint() - started),
              load_duration: lease.loadNs,
              prompt_eval_count: ev.promptEvalCount,
              prompt_eval_duration: ev.promptEvalNs,
              eval_count: ev.evalCount,
              eval_duration: ev.evalNs,
              prompt_cache_count: ev.cachedTokens,
            }),
          };
          return;
      }
    }
  } finally {
    lease.release();
    await events.return?.();
  }
}

/** Arguments as an object, key order kept (JSON.parse keeps it). */
function toolArguments(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}

/** Ollama's tool call ids: call_ and 8 characters of [a-z0-9]. */
export function toolCallId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'call_';
  for (let i = 0; i < 8; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

/** A model that cannot complete text (an embedding model) refuses chat and generate. */
export function checkCompletion(caps: Capability[], requested: string, what: 'chat' | 'generate'): void {
  if (!caps.includes('completion')) throw new MoedError('UNSUPPORTED_CAPABILITY', `"${requested}" does not support ${what}`);
}
