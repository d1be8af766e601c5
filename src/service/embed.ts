// /api/embed and the legacy /api/embeddings (reference §2.7). The runner pools the last hidden
// states (mean pooling for completion models, as Ollama does); here they become Ollama's vectors:
// L2-normalized for /api/embed (and cut to `dimensions`, then normalized again), raw for /api/embeddings.
import type { EmbedRequest, EmbedResponse, EmbeddingRequest, EmbeddingResponse } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { parseModelNameOrNull } from '../store/names.js';
import type { StoredModel } from '../store/store.js';
import { acquire, load, metrics, resolveOptions, type ServiceDeps } from './run.js';

/** Unknown models at schedule time: Ollama's handleScheduleError text (double quotes). */
async function findForEmbed(deps: ServiceDeps, requested: string): Promise<StoredModel> {
  if (requested === '') throw new MoedError('MODEL_NOT_FOUND', "model '' not found");
  const name = parseModelNameOrNull(requested);
  const model = name ? await deps.store.get(name) : undefined;
  if (!model) throw new MoedError('MODEL_NOT_FOUND', `model "${requested}" not found, try pulling it first`);
  return model;
}

export function normalize(v: ArrayLike<number>): number[] {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  const out = Array.from(v);
  if (norm === 0) return out;
  return out.map((x) => x / norm);
}

function inputsOf(input: unknown): string[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return input === '' ? [] : [input];
  if (Array.isArray(input) && input.every((s) => typeof s === 'string')) return input as string[];
  throw new MoedError('INVALID_REQUEST', 'invalid input type');
}

export async function embed(deps: ServiceDeps, req: EmbedRequest, signal: AbortSignal): Promise<EmbedResponse> {
  const started = process.hrtime.bigint();
  const requested = typeof req.model === 'string' ? req.model : '';
  const inputs = inputsOf(req.input);
  if (req.truncate !== undefined && req.truncate !== null && typeof req.truncate !== 'boolean') {
    throw new MoedError('INVALID_REQUEST', 'json: cannot unmarshal into Go struct field EmbedRequest.truncate of type bool');
  }
  const dims = req.dimensions ?? 0;
  if (typeof dims !== 'number' || !Number.isInteger(dims)) {
    throw new MoedError('INVALID_REQUEST', 'json: cannot unmarshal into Go struct field EmbedRequest.dimensions of type int');
  }
  const model = await findForEmbed(deps, requested);
  const r = resolveOptions(deps, model, req);
  if (inputs.length === 0) {
    // An empty input loads the model (reference E3).
    await load(deps, r, signal);
    return { model: requested, embeddings: [] };
  }
  const lease = await acquire(deps, r, signal);
  try {
    const result = await lease.runner.embed({ inputs, truncate: req.truncate ?? true }, signal);
    const embeddings = result.embeddings.map((e) => {
      const n = normalize(e);
      return dims > 0 && dims < n.length ? normalize(n.slice(0, dims)) : n;
    });
    return {
      model: requested,
      embeddings,
      ...metrics({
        total_duration: Number(process.hrtime.bigint() - started),
        load_duration: lease.loadNs,
        prompt_eval_count: result.promptTokens,
      }),
    };
  } finally {
    lease.release();
  }
}

/** The legacy route: one prompt, one raw vector. */
export async function embeddings(deps: ServiceDeps, req: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
  if (typeof req.model !== 'string' || req.model === '') throw new MoedError('INVALID_REQUEST', 'model is required');
  if (req.prompt !== undefined && req.prompt !== null && typeof req.prompt !== 'string') {
    throw new MoedError('INVALID_REQUEST', 'json: cannot unmarshal into Go struct field EmbeddingRequest.prompt of type string');
  }
  const model = await findForEmbed(deps, req.model);
  const r = resolveOptions(deps, model, req);
  if (!req.prompt) {
    await load(deps, r, signal);
    return { embedding: [] };
  }
  const lease = await acquire(deps, r, signal);
  try {
    const result = await lease.runner.embed({ inputs: [req.prompt], truncate: true }, signal);
    return { embedding: Array.from(result.embeddings[0]!) };
  } finally {
    lease.release();
  }
}
