// Model management: listing and creating models. A create from a local GGUF validates the file
// in TypeScript first (the engine aborts on bad metadata), then references it in place.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ListModelResponse } from '../api/types.js';
import { MoedError } from '../errors/index.js';
import { parseModelNameOrNull } from '../store/names.js';
import type { CreateParts, ModelConfig, ModelStore, StoredMessage } from '../store/store.js';
import { summarizeGguf } from './gguf-summary.js';
import { listEntry } from './models.js';

export interface CreateRequest {
  model?: string;
  name?: string;
  from?: string;
  files?: Record<string, string>;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  messages?: StoredMessage[];
  license?: string | string[];
  stream?: boolean;
}

export interface Progress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

/** A `from` that names a file on this machine rather than a model (moed extension, see docs). */
function isLocalPath(from: string): boolean {
  return path.isAbsolute(from) || from.startsWith('./') || from.startsWith('../') || /\.gguf$/i.test(from);
}

export class ModelService {
  constructor(private readonly store: ModelStore) {}

  async list(): Promise<ListModelResponse[]> {
    return (await this.store.list()).map(listEntry);
  }

  /** /api/create: everything is checked before the first progress line is sent. */
  async *create(req: CreateRequest): AsyncGenerator<Progress> {
    const nameText = (req.model || req.name) ?? '';
    if (typeof nameText !== 'string' || !parseModelNameOrNull(nameText)) {
      throw new MoedError('INVALID_MODEL_NAME', 'invalid model name');
    }
    let parts: Omit<CreateParts, 'config'> & { config?: ModelConfig };
    if (req.files && typeof req.files === 'object' && Object.keys(req.files).length > 0) {
      const entries = Object.entries(req.files);
      const gguf = entries.find(([file]) => /\.gguf$/i.test(file)) ?? entries[0]!;
      if (!(await this.store.hasBlob(gguf[1]))) throw new MoedError('INVALID_REQUEST', `blob "${gguf[1]}" not found`);
      const summary = await summarizeGguf(this.store.blobPath(gguf[1]));
      parts = { modelBlob: gguf[1], config: summary.config };
    } else if (typeof req.from === 'string' && req.from !== '') {
      if (isLocalPath(req.from)) {
        const file = path.resolve(req.from);
        const stat = await fs.stat(file).catch(() => undefined);
        if (!stat?.isFile()) throw new MoedError('INVALID_REQUEST', `model file ${file} does not exist`);
        const summary = await summarizeGguf(file);
        parts = { modelFiles: summary.files, config: summary.config };
      } else {
        const base = await this.store.get(req.from);
        if (!base) throw new MoedError('MODEL_NOT_FOUND', `model '${req.from}' not found`);
        parts = {
          modelFiles: base.referenced ? base.modelFiles : undefined,
          modelBlob: base.referenced ? undefined : base.manifest.layers.find((l) => l.mediaType.endsWith('.model'))?.digest,
          config: base.config,
          template: base.template,
          system: base.system,
          parameters: base.parameters,
          messages: base.messages,
          license: base.license,
        };
      }
    } else {
      throw new MoedError('INVALID_REQUEST', "neither 'from' or 'files' was specified");
    }
    if (req.parameters !== undefined && (typeof req.parameters !== 'object' || req.parameters === null)) {
      throw new MoedError('INVALID_REQUEST', '"parameters" must be an object');
    }
    yield { status: 'parsing GGUF' };
    const created = await this.store.create(nameText, {
      ...parts,
      config: parts.config!,
      template: req.template ?? parts.template,
      system: req.system ?? parts.system,
      parameters: { ...(parts.parameters ?? {}), ...(req.parameters ?? {}) },
      messages: req.messages ?? parts.messages,
      license: req.license === undefined ? parts.license : Array.isArray(req.license) ? req.license : [req.license],
    });
    for (const layer of created.manifest.layers) yield { status: `using existing layer ${layer.digest}` };
    yield { status: 'writing manifest' };
    yield { status: 'success' };
  }
}
