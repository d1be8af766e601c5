// The model store, laid out as Ollama's (OLLAMA_MODELS): blobs/sha256-<hex> and
// manifests/<host>/<namespace>/<model>/<tag>. A local GGUF named by a Modelfile's FROM is
// referenced in place (a small JSON "model-ref" layer records its path, size and mtime), never copied.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { MoedError } from '../errors/index.js';
import { writeFileAtomic } from './fs-atomic.js';
import { displayName, fullName, parseModelName, type ModelName } from './names.js';

export const MediaTypes = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  model: 'application/vnd.ollama.image.model',
  modelRef: 'application/vnd.moed.image.model-ref',
  template: 'application/vnd.ollama.image.template',
  system: 'application/vnd.ollama.image.system',
  params: 'application/vnd.ollama.image.params',
  messages: 'application/vnd.ollama.image.messages',
  license: 'application/vnd.ollama.image.license',
} as const;

export interface Layer {
  mediaType: string;
  digest: string;
  size: number;
}

export interface Manifest {
  schemaVersion: 2;
  mediaType: string;
  config: Layer;
  layers: Layer[];
}

/** The config blob, as Ollama writes it (model_format, model_family, model_type, file_type). */
export interface ModelConfig {
  model_format: string;
  model_family: string;
  model_families: string[];
  model_type: string;
  file_type: string;
  architecture?: string;
  context_length?: number;
  embedding_length?: number;
  /** What the model can do, decided from its GGUF when it was created. */
  capabilities?: string[];
}

export interface ModelFileRef {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface StoredMessage {
  role: string;
  content: string;
}

export interface StoredModel {
  name: ModelName;
  display: string;
  /** sha256 hex of the manifest bytes (no prefix), as /api/tags reports it. */
  digest: string;
  modifiedAt: Date;
  /** Bytes of the model files plus the other layers. */
  size: number;
  manifest: Manifest;
  config: ModelConfig;
  /** GGUF files in load order; the first is what the engine opens. */
  modelFiles: ModelFileRef[];
  /** True when the GGUF is referenced in place rather than stored as a blob. */
  referenced: boolean;
  template?: string;
  system?: string;
  parameters: Record<string, unknown>;
  messages: StoredMessage[];
  license: string[];
}

export interface CreateParts {
  /** Files referenced in place (a Modelfile FROM naming a local GGUF). */
  modelFiles?: ModelFileRef[];
  /** A GGUF already in the store's blobs ("sha256:<hex>"). */
  modelBlob?: string;
  config: ModelConfig;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  messages?: StoredMessage[];
  license?: string[];
}

const DIGEST = /^sha256[:-]([0-9a-fA-F]{64})$/;

export function parseDigest(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new MoedError('INVALID_REQUEST', 'invalid digest format');
  return m[1]!.toLowerCase();
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

export class ModelStore {
  constructor(readonly root: string) {}

  get blobsDir() {
    return path.join(this.root, 'blobs');
  }

  get manifestsDir() {
    return path.join(this.root, 'manifests');
  }

  blobPath(digest: string): string {
    return path.join(this.blobsDir, `sha256-${parseDigest(digest)}`);
  }

  private manifestPath(n: ModelName): string {
    return path.join(this.manifestsDir, n.host, n.namespace, n.model, n.tag);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return fs.stat(this.blobPath(digest)).then((s) => s.isFile(), () => false);
  }

  /** Writes a small blob (JSON, text) and returns its layer. */
  async putBlob(mediaType: string, data: string | Uint8Array): Promise<Layer> {
    return (await this.addBlob(mediaType, data)).layer;
  }

  /** Writes a small blob unless it is already there; `created` says which. */
  async addBlob(mediaType: string, data: string | Uint8Array): Promise<NewLayer> {
    const hex = sha256(data);
    const target = path.join(this.blobsDir, `sha256-${hex}`);
    const layer = { mediaType, digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
    if (await this.hasBlob(layer.digest)) return { layer, created: false };
    await writeFileAtomic(target, data);
    return { layer, created: true };
  }

  /** The layer of a blob already in the store, under the given media type. */
  async blobLayer(mediaType: string, digest: string): Promise<Layer> {
    const stat = await fs.stat(this.blobPath(digest)).catch(() => undefined);
    if (!stat?.isFile()) throw new MoedError('INVALID_REQUEST', `blob "${digest}" not found`);
    return { mediaType, digest: `sha256:${parseDigest(digest)}`, size: stat.size };
  }

  /** A create or copy that writes blobs, then the manifest last; see StoreTransaction. */
  transaction(): StoreTransaction {
    return new StoreTransaction(this);
  }

  /** Moves a finished file into the blobs under its sha256 (computed here). */
  async importBlobFile(file: string): Promise<Layer> {
    const hex = await hashFile(file);
    const target = path.join(this.blobsDir, `sha256-${hex}`);
    await fs.mkdir(this.blobsDir, { recursive: true });
    await fs.rename(file, target);
    const { size } = await fs.stat(target);
    return { mediaType: MediaTypes.model, digest: `sha256:${hex}`, size };
  }

  private async readBlobText(digest: string): Promise<string> {
    return fs.readFile(this.blobPath(digest), 'utf8');
  }

  /** Every manifest path under manifests/, as names. */
  private async manifestNames(): Promise<ModelName[]> {
    const out: ModelName[] = [];
    const walk = async (dir: string, depth: number, parts: string[]) => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const next = [...parts, e.name];
        if (depth === 3 && e.isFile()) {
          out.push({ host: next[0]!, namespace: next[1]!, model: next[2]!, tag: next[3]! });
        } else if (depth < 3 && e.isDirectory()) {
          await walk(path.join(dir, e.name), depth + 1, next);
        }
      }
    };
    await walk(this.manifestsDir, 0, []);
    return out;
  }

  /** The stored name matching case-insensitively, or undefined. */
  async resolve(name: string | ModelName): Promise<ModelName | undefined> {
    const wanted = typeof name === 'string' ? parseModelName(name) : name;
    const key = fullName(wanted).toLowerCase();
    return (await this.manifestNames()).find((n) => fullName(n).toLowerCase() === key);
  }

  async get(name: string | ModelName): Promise<StoredModel | undefined> {
    const found = await this.resolve(name);
    return found ? this.load(found) : undefined;
  }

  async list(): Promise<StoredModel[]> {
    const models: StoredModel[] = [];
    for (const n of await this.manifestNames()) {
      const m = await this.load(n).catch(() => undefined);
      if (m) models.push(m);
    }
    return models.sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime());
  }

  /** Reads a model; a manifest or config blob that does not parse is named in the error. */
  private async load(n: ModelName): Promise<StoredModel> {
    const file = this.manifestPath(n);
    try {
      return await this.read(n, file);
    } catch (e) {
      if (e instanceof SyntaxError || (e as { code?: string }).code === 'ENOENT') {
        throw new MoedError(
          'INTERNAL',
          `model ${displayName(n)} has a corrupt manifest (${file}): ${(e as Error).message}; create the model again, or delete that file`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  private async read(n: ModelName, file: string): Promise<StoredModel> {
    const [bytes, stat] = await Promise.all([fs.readFile(file), fs.stat(file)]);
    const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    const config = JSON.parse(await this.readBlobText(manifest.config.digest)) as ModelConfig;
    const model: StoredModel = {
      name: n,
      display: displayName(n),
      digest: sha256(bytes),
      modifiedAt: stat.mtime,
      size: 0,
      manifest,
      config,
      modelFiles: [],
      referenced: false,
      parameters: {},
      messages: [],
      license: [],
    };
    let size = manifest.config.size;
    for (const layer of manifest.layers) {
      switch (layer.mediaType) {
        case MediaTypes.model:
          model.modelFiles.push({ path: this.blobPath(layer.digest), size: layer.size, mtimeMs: 0 });
          size += layer.size;
          break;
        case MediaTypes.modelRef: {
          const ref = JSON.parse(await this.readBlobText(layer.digest)) as { files: ModelFileRef[] };
          model.modelFiles.push(...ref.files);
          model.referenced = true;
          size += ref.files.reduce((s, f) => s + f.size, 0);
          break;
        }
        case MediaTypes.template:
          model.template = await this.readBlobText(layer.digest);
          size += layer.size;
          break;
        case MediaTypes.system:
          model.system = await this.readBlobText(layer.digest);
          size += layer.size;
          break;
        case MediaTypes.params:
          model.parameters = JSON.parse(await this.readBlobText(layer.digest));
          size += layer.size;
          break;
        case MediaTypes.messages:
          model.messages = JSON.parse(await this.readBlobText(layer.digest));
          size += layer.size;
          break;
        case MediaTypes.license:
          model.license.push(await this.readBlobText(layer.digest));
          size += layer.size;
          break;
        default:
          size += layer.size;
      }
    }
    model.size = size;
    return model;
  }

  /** The raw manifest bytes of a stored model (for push and copy). */
  async readManifest(name: ModelName): Promise<Buffer> {
    return fs.readFile(this.manifestPath(name));
  }

  /** Writes a manifest atomically; every blob it names must already be in the store. */
  async writeManifest(name: ModelName, manifest: Manifest | Buffer): Promise<void> {
    const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
    const parsed = JSON.parse(bytes.toString('utf8')) as Manifest;
    for (const layer of [parsed.config, ...parsed.layers]) {
      if (!(await this.hasBlob(layer.digest))) throw new MoedError('INVALID_REQUEST', `blob "${layer.digest}" not found`);
    }
    const existing = await this.resolve(name);
    await this.writeManifestFile(this.manifestPath(existing ?? name), bytes);
  }

  /**
   * The one place a manifest file is written (atomically: the old file or the new one, never half).
   * Tests replace it to simulate a full disk.
   */
  protected async writeManifestFile(file: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(file, bytes);
  }

  /**
   * Points `name` at the manifest bytes (create, copy). Layers of the manifest it replaces that no
   * manifest uses any more are removed afterwards.
   */
  async putManifest(name: ModelName, bytes: Uint8Array): Promise<ModelName> {
    const existing = await this.resolve(name);
    const target = existing ?? name;
    let replaced: Manifest | undefined;
    if (existing) replaced = await this.readManifest(existing).then((b) => JSON.parse(b.toString('utf8')) as Manifest, () => undefined);
    await this.writeManifestFile(this.manifestPath(target), bytes);
    if (replaced) await this.removeUnusedBlobs([replaced.config, ...replaced.layers].map((l) => l.digest));
    return target;
  }

  /** Every blob digest ("sha256:<hex>") some manifest names. Throws if a manifest cannot be read. */
  async referencedBlobs(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const n of await this.manifestNames()) {
      const m = JSON.parse((await fs.readFile(this.manifestPath(n))).toString('utf8')) as Manifest;
      for (const l of [m.config, ...m.layers]) used.add(`sha256:${parseDigest(l.digest)}`);
    }
    return used;
  }

  /** Removes those of the given blobs that no manifest names; an unreadable manifest keeps them all. */
  async removeUnusedBlobs(digests: Iterable<string>): Promise<void> {
    let used: Set<string>;
    try {
      used = await this.referencedBlobs();
    } catch {
      return;
    }
    for (const d of new Set(digests)) {
      const norm = `sha256:${parseDigest(d)}`;
      if (!used.has(norm)) await fs.rm(this.blobPath(norm), { force: true });
    }
  }

  /**
   * Removes a model's manifest; its blobs that no other manifest uses are removed too (GGUFs
   * referenced in place live outside the store and are never touched). Returns the removed name.
   */
  async delete(name: ModelName): Promise<ModelName> {
    const found = await this.resolve(name);
    if (!found) throw new MoedError('MODEL_NOT_FOUND', `model '${displayName(name)}' not found`);
    const file = this.manifestPath(found);
    const manifest = JSON.parse((await fs.readFile(file)).toString('utf8')) as Manifest;
    await fs.rm(file);
    // Empty folders of the name go too (as Ollama's PruneDirectory does).
    for (let dir = path.dirname(file); dir.startsWith(this.manifestsDir + path.sep); dir = path.dirname(dir)) {
      if ((await fs.readdir(dir).catch(() => ['?'])).length > 0) break;
      await fs.rmdir(dir).catch(() => {});
    }
    await this.removeUnusedBlobs([manifest.config, ...manifest.layers].map((l) => l.digest));
    return found;
  }

  /** Deletes blobs that no manifest references (temporary upload files are left alone). */
  async pruneBlobs(): Promise<void> {
    const used = new Set<string>();
    for (const n of await this.manifestNames()) {
      const m = JSON.parse((await fs.readFile(this.manifestPath(n))).toString('utf8')) as Manifest;
      for (const l of [m.config, ...m.layers]) {
        used.add(`sha256-${parseDigest(l.digest)}`);
      }
    }
    const entries = await fs.readdir(this.blobsDir).catch(() => [] as string[]);
    for (const e of entries) {
      if (/^sha256-[0-9a-f]{64}$/.test(e) && !used.has(e)) await fs.rm(path.join(this.blobsDir, e), { force: true });
    }
  }

  /** Writes the layers and the manifest; the manifest goes last, so a failure leaves no model. */
  async create(nameText: string, parts: CreateParts): Promise<StoredModel> {
    const name = parseModelName(nameText);
    const tx = this.transaction();
    try {
      const layers: Layer[] = [];
      if (parts.modelBlob) {
        layers.push(await this.blobLayer(MediaTypes.model, parts.modelBlob));
      } else if (parts.modelFiles?.length) {
        layers.push(await tx.put(MediaTypes.modelRef, JSON.stringify({ files: parts.modelFiles })));
      } else {
        throw new MoedError('INVALID_REQUEST', "neither 'from' or 'files' was specified");
      }
      if (parts.template) layers.push(await tx.put(MediaTypes.template, parts.template));
      if (parts.system) layers.push(await tx.put(MediaTypes.system, parts.system));
      if (parts.parameters && Object.keys(parts.parameters).length > 0) {
        layers.push(await tx.put(MediaTypes.params, JSON.stringify(parts.parameters)));
      }
      if (parts.messages?.length) layers.push(await tx.put(MediaTypes.messages, JSON.stringify(parts.messages)));
      for (const text of parts.license ?? []) layers.push(await tx.put(MediaTypes.license, text));
      const config = await tx.put(MediaTypes.config, JSON.stringify(parts.config));
      return await tx.commit(name, config, layers);
    } catch (e) {
      await tx.rollback();
      throw e;
    }
  }
}

export interface NewLayer {
  layer: Layer;
  /** False when the blob was already in the store. */
  created: boolean;
}

/**
 * One create: blobs are written first, the manifest last. Until the manifest is written nothing
 * names the new blobs, and a failure (or a client that went away) rolls them back, so the store
 * is left as it was.
 */
export class StoreTransaction {
  /** Digests of the blobs this transaction wrote, in order. */
  readonly created: string[] = [];
  private committed = false;

  constructor(readonly store: ModelStore) {}

  /** Writes a small blob; remembered for rollback when it is new. */
  async put(mediaType: string, data: string | Uint8Array): Promise<Layer> {
    return (await this.add(mediaType, data)).layer;
  }

  async add(mediaType: string, data: string | Uint8Array): Promise<NewLayer> {
    if (this.committed) throw new Error('transaction already committed');
    const r = await this.store.addBlob(mediaType, data);
    if (r.created) this.created.push(r.layer.digest);
    return r;
  }

  /** Writes the manifest (atomically) and returns the model; on failure rolls back and rethrows. */
  async commit(name: ModelName, config: Layer, layers: Layer[]): Promise<StoredModel> {
    const manifest: Manifest = { schemaVersion: 2, mediaType: MediaTypes.manifest, config, layers };
    try {
      for (const l of [config, ...layers]) {
        if (!(await this.store.hasBlob(l.digest))) throw new MoedError('INVALID_REQUEST', `blob "${l.digest}" not found`);
      }
      const target = await this.store.putManifest(name, Buffer.from(JSON.stringify(manifest)));
      this.committed = true;
      return (await this.store.get(target))!;
    } catch (e) {
      if (!this.committed) await this.rollback();
      throw e;
    }
  }

  /** Removes the blobs this transaction wrote that no manifest names (a no-op after commit). */
  async rollback(): Promise<void> {
    if (this.committed || this.created.length === 0) return;
    const digests = this.created.splice(0);
    await this.store.removeUnusedBlobs(digests);
  }
}

export async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Fails when a referenced GGUF was moved, deleted or replaced since the model was created. */
export async function checkModelFiles(model: StoredModel): Promise<void> {
  for (const f of model.modelFiles) {
    const stat = await fs.stat(f.path).catch(() => undefined);
    if (!stat) {
      throw new MoedError(
        'MODEL_FILE_MISSING',
        `model file ${f.path} of ${model.display} is missing: it was moved or deleted; create the model again with the new path`,
      );
    }
    if (stat.size !== f.size) {
      throw new MoedError(
        'MODEL_FILE_MISSING',
        `model file ${f.path} of ${model.display} changed size (${f.size} → ${stat.size} bytes); create the model again`,
      );
    }
  }
}
