// Model management as the API sees it: list (/api/tags), running models (/api/ps), show, create,
// copy, delete and blob uploads. Wire types in, wire types out; the store and the scheduler do the
// work.
import type { Readable } from 'node:stream';
import type { ListModelResponse, ModelDetails } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { receiveBlob, type BlobUploadResult } from '../store/blob-upload.js';
import { parseModelNameOrNull } from '../store/names.js';
import { type ModelStore, type StoredModel } from '../store/store.js';
import { createModel, type CreateRequest, type Progress } from './create.js';
import { listEntry, modelDetails } from './models.js';
import type { ShowResponse } from '../api/types.js';
import { showModel, type ShowHooks, type ShowRequest } from './show.js';

export type { CreateRequest, Progress } from './create.js';
export type { ShowHooks, ShowRequest } from './show.js';

/** Ollama's ProcessModelResponse (/api/ps). */
export interface ProcessModelResponse {
  name: string;
  model: string;
  size: number;
  digest: string;
  details: ModelDetails;
  expires_at: string;
  size_vram: number;
  context_length: number;
}

export interface CopyRequest {
  source?: string;
  destination?: string;
}

export interface DeleteRequest {
  model?: string;
  name?: string;
}

export interface ModelServiceDeps {
  /** Running models for /api/ps; a deleted model is unloaded. Absent: nothing is ever loaded. */
  scheduler?: Pick<Scheduler, 'loaded' | 'unload'>;
  show?: ShowHooks;
}

export class ModelService {
  constructor(
    private readonly store: ModelStore,
    private readonly deps: ModelServiceDeps = {},
  ) {}

  async list(): Promise<ListModelResponse[]> {
    return (await this.store.list()).map(listEntry);
  }

  /**
   * Loaded models, longest time left first (reference P1–P4). The scheduler knows them by model
   * digest; names and details come from the store.
   */
  async running(): Promise<ProcessModelResponse[]> {
    const loaded = this.deps.scheduler?.loaded() ?? [];
    if (loaded.length === 0) return [];
    const byDigest = new Map<string, StoredModel[]>();
    for (const m of await this.store.list()) byDigest.set(m.digest, [...(byDigest.get(m.digest) ?? []), m]);
    const out = loaded.map((l) => {
      const candidates = byDigest.get(l.key) ?? [];
      // A copy shares its digest: prefer the name the model was loaded under.
      const model = candidates.find((m) => m.display === l.name) ?? candidates[0];
      const details: ModelDetails = model
        ? modelDetails(model, false)
        : { parent_model: '', format: 'gguf', family: '', families: null, parameter_size: '', quantization_level: '' };
      const info = l.runner.info;
      const vram = Math.max(0, Math.round(info?.vramBytes ?? 0));
      const ram = Math.max(0, Math.round(info?.ramBytes ?? 0));
      return {
        name: model?.display ?? l.name,
        model: model?.display ?? l.name,
        size: vram + ram,
        digest: l.key,
        details,
        expires_at: l.expiresAt.toISOString(),
        size_vram: vram,
        context_length: info?.nCtxSeq || l.params.numCtx,
      };
    });
    // Stable, as Ollama's SortStableFunc on expires_at (seconds), longest remaining first.
    return out
      .map((m, i) => ({ m, i, t: Math.floor(Date.parse(m.expires_at) / 1000) }))
      .sort((a, b) => b.t - a.t || a.i - b.i)
      .map(({ m }) => m);
  }

  show(req: ShowRequest): Promise<ShowResponse> {
    return showModel(this.store, req, this.deps.show);
  }

  /** /api/create: everything is checked before the first progress line is sent. */
  create(req: CreateRequest): AsyncGenerator<Progress> {
    return createModel(this.store, req);
  }

  /** /api/copy (reference CP1). */
  async copy(req: CopyRequest): Promise<void> {
    const sourceText = req.source ?? '';
    const destText = req.destination ?? '';
    const source = parseModelNameOrNull(sourceText);
    if (!source) throw new MoedError('INVALID_REQUEST', `source ${JSON.stringify(sourceText)} is invalid`);
    const dest = parseModelNameOrNull(destText);
    if (!dest) throw new MoedError('INVALID_REQUEST', `destination ${JSON.stringify(destText)} is invalid`);
    const found = await this.store.resolve(source);
    if (!found) throw new MoedError('MODEL_NOT_FOUND', `model ${JSON.stringify(sourceText)} not found`);
    await this.store.putManifest(dest, await this.store.readManifest(found));
  }

  /**
   * /api/delete (reference D1): `model || name` (the Go CLI sends `"model":""`). A loaded model is
   * unloaded unless another name (a copy) still points at the same manifest.
   */
  async delete(req: DeleteRequest): Promise<void> {
    const text = req.model || req.name || '';
    const name = parseModelNameOrNull(text);
    if (!name) throw new MoedError('INVALID_REQUEST', `name ${JSON.stringify(text)} is invalid`);
    const model = await this.store.get(name);
    if (!model) throw new MoedError('MODEL_NOT_FOUND', `model '${text}' not found`);
    await this.store.delete(model.name);
    const scheduler = this.deps.scheduler;
    if (scheduler) {
      const stillNamed = (await this.store.list()).some((m) => m.digest === model.digest);
      if (!stillNamed) await scheduler.unload(model.digest);
    }
  }

  async hasBlob(digest: string): Promise<boolean> {
    return this.store.hasBlob(digest);
  }

  /** POST /api/blobs/:digest: streamed to disk while hashed. */
  uploadBlob(digest: string, body: Readable): Promise<BlobUploadResult> {
    return receiveBlob(this.store, digest, body);
  }
}
