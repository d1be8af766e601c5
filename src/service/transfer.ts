// /api/pull and /api/push over the registry protocol Ollama uses (Docker Registry HTTP API V2).
//
// Pull: the manifest is fetched before the first progress line, so a name the registry does not
// have, or a registry that cannot be reached, answers with a real HTTP status. Each blob then
// streams into a temporary file in blobs/ while it is hashed, and is renamed to its digest only
// when the bytes and the sha256 match: a failed or wrong download leaves nothing behind. Blobs
// already in the store are not downloaded again. The manifest is written last, exactly as the
// registry sent it.
//
// Push: every blob goes up unless the registry already has it (HEAD). A GGUF referenced in place
// (a moed model-ref layer) is streamed from its file and becomes one
// application/vnd.ollama.image.model layer per file, in load order (a split set gives several);
// its digest is computed while it uploads (PATCH in chunks, then PUT ?digest=), and remembered
// next to the store, keyed by path, size and mtime, so a later push can skip what the registry
// has. The pushed manifest is the local one with those layers put in place of the model-ref.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline as pipelineStreams, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MoedError } from '../errors/index.js';
import { ManifestMediaTypes, RegistryClient, RegistryError } from '../registry/client.js';
import { ConnectError, TransportError } from '../registry/http.js';
import { parseRegistryManifest } from '../registry/manifest.js';
import { registryRef, type RegistryRef } from '../registry/reference.js';
import { tempPathFor, writeFileAtomic } from '../store/fs-atomic.js';
import { displayName } from '../store/names.js';
import { MediaTypes, parseDigest, type Layer, type Manifest, type ModelFileRef, type ModelStore } from '../store/store.js';
import { VERSION } from '../version.js';

/** PullRequest / PushRequest of Ollama (`name` is the alias ollama-js sends). */
export interface TransferRequest {
  model?: unknown;
  name?: unknown;
  insecure?: unknown;
  stream?: unknown;
}

/** Ollama's ProgressResponse. */
export interface Progress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface TransferDeps {
  store: ModelStore;
  /** DNS + TCP + TLS, per request. Default 10 s. */
  connectTimeoutMs?: number;
  /** Silence on an open connection. Default 5 min. */
  idleTimeoutMs?: number;
  /** At most one progress line per layer per interval. Default 100 ms. */
  progressIntervalMs?: number;
  /** Uploads larger than this (or of unknown digest) go up in PATCH chunks of this size. Default 64 MiB. */
  uploadChunkBytes?: number;
}

interface Ctx {
  store: ModelStore;
  ref: RegistryRef;
  client: RegistryClient;
  signal: AbortSignal;
  abort: () => void;
  intervalMs: number;
  chunkBytes: number;
}

const USER_AGENT = `moed/${VERSION} (${process.arch} ${process.platform}) Node.js/${process.version}`;

/** The response of stream:false: the last progress message. */
export async function lastProgress(all: AsyncIterable<Progress>): Promise<Progress> {
  let last: Progress = { status: 'success' };
  for await (const p of all) last = p;
  return last;
}

export async function* pull(req: TransferRequest, deps: TransferDeps, signal?: AbortSignal): AsyncGenerator<Progress> {
  const { nameText, insecure } = readRequest(req, 'PullRequest');
  const ref = registryRef(nameText, insecure);
  const ctx = context(deps, ref, signal);
  const { store } = ctx;
  let finished = false;
  try {
    let remote;
    try {
      remote = await ctx.client.getManifest(ref.repository, ref.tag, ctx.signal);
    } catch (e) {
      throw asMoedError(e, 'pull model manifest');
    }
    if (!remote) {
      throw new MoedError(
        'MODEL_NOT_FOUND',
        `pull model manifest: file does not exist: ${ref.repository}:${ref.tag} is not in registry ${ref.host}`,
      );
    }
    if (remote.digest?.startsWith('sha256:') && remote.digest !== sha256Digest(remote.bytes)) {
      throw new MoedError('INTERNAL', `pull model manifest: the manifest does not match its digest ${remote.digest}`);
    }
    const manifest = parseRegistryManifest(remote.bytes);

    // Layers of the manifest this pull replaces: candidates for removal afterwards.
    const existing = await store.resolve(ref.name);
    const before = new Set<string>();
    if (existing) {
      try {
        const old = JSON.parse((await store.readManifest(existing)).toString('utf8')) as Manifest;
        for (const l of [...old.layers, old.config]) before.add(l.digest);
      } catch {
        // an unreadable old manifest: keep its blobs
      }
    }

    yield { status: 'pulling manifest' };
    const layers = [...manifest.layers, manifest.config];
    for (const layer of layers) yield* pullLayer(ctx, layer);

    // Every blob was hashed as it arrived and kept only on a match; a blob that was already
    // here was verified when it arrived.
    yield { status: 'verifying sha256 digest' };
    for (const layer of layers) {
      if (!(await store.hasBlob(layer.digest))) throw new MoedError('INTERNAL', `blob ${layer.digest} disappeared during the pull`);
    }

    yield { status: 'writing manifest' };
    await store.writeManifest(existing ?? ref.name, remote.bytes);

    for (const l of layers) before.delete(l.digest);
    if (before.size > 0) {
      yield { status: 'removing unused layers' };
      await removeUnusedBlobs(store, before);
    }
    finished = true;
    yield { status: 'success' };
  } finally {
    if (!finished) ctx.abort();
  }
}

export async function* push(req: TransferRequest, deps: TransferDeps, signal?: AbortSignal): AsyncGenerator<Progress> {
  const { nameText, insecure } = readRequest(req, 'PushRequest');
  const ref = registryRef(nameText, insecure);
  const { store } = deps;
  const found = await store.resolve(ref.name);
  if (!found) throw new MoedError('MODEL_NOT_FOUND', `model '${nameText}' not found`);
  const bytes = await store.readManifest(found);
  const local = JSON.parse(bytes.toString('utf8')) as Manifest;

  // Everything local is checked before the first line: a moved GGUF is a real 500, not a half push.
  const refs = new Map<string, ModelFileRef[]>();
  for (const layer of [...local.layers, local.config]) {
    if (!(await store.hasBlob(layer.digest))) {
      throw new MoedError('INTERNAL', `blob ${layer.digest} of ${displayName(found)} is missing from the store`);
    }
    if (layer.mediaType !== MediaTypes.modelRef) continue;
    const { files } = JSON.parse(await fs.readFile(store.blobPath(layer.digest), 'utf8')) as { files: ModelFileRef[] };
    for (const f of files) await checkReferencedFile(f, displayName(found));
    refs.set(layer.digest, files);
  }

  const ctx = context(deps, ref, signal);
  let finished = false;
  try {
    // One request before the first line, so an unreachable registry gets a real status too.
    await ping(ctx);
    yield { status: 'retrieving manifest' };

    const layers: Layer[] = [];
    for (const layer of local.layers) {
      const files = refs.get(layer.digest);
      if (layer.mediaType === MediaTypes.modelRef && files) {
        for (const f of files) layers.push(yield* pushReferencedFile(ctx, f));
      } else {
        yield* pushBlob(ctx, layer, store.blobPath(layer.digest));
        layers.push(layer);
      }
    }
    yield* pushBlob(ctx, local.config, store.blobPath(local.config.digest));

    yield { status: 'pushing manifest' };
    const mediaType = local.mediaType || ManifestMediaTypes.dockerV2;
    const body =
      refs.size > 0
        ? Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: local.config, layers }))
        : bytes;
    try {
      await ctx.client.putManifest(ref.repository, ref.tag, body, mediaType, ctx.signal);
    } catch (e) {
      throw asMoedError(e, 'pushing manifest');
    }
    finished = true;
    yield { status: 'success' };
  } finally {
    if (!finished) ctx.abort();
  }
}

// ---------------------------------------------------------------------------------------------

function context(deps: TransferDeps, ref: RegistryRef, signal: AbortSignal | undefined): Ctx {
  const controller = new AbortController();
  if (signal?.aborted) controller.abort();
  else signal?.addEventListener('abort', () => controller.abort(), { once: true });
  return {
    store: deps.store,
    ref,
    client: new RegistryClient(ref.scheme, ref.host, {
      connectTimeoutMs: deps.connectTimeoutMs ?? 10_000,
      idleTimeoutMs: deps.idleTimeoutMs ?? 300_000,
      userAgent: USER_AGENT,
    }),
    signal: controller.signal,
    abort: () => controller.abort(),
    intervalMs: deps.progressIntervalMs ?? 100,
    chunkBytes: Math.max(1, deps.uploadChunkBytes ?? 64 << 20),
  };
}

const GO_TYPES: Record<string, string> = { number: 'number', boolean: 'bool', string: 'string', object: 'object' };

/** The request's fields, typed as Ollama's Go structs type them (reference G4, PL1, PL5). */
function readRequest(req: TransferRequest, struct: string): { nameText: string; insecure: boolean } {
  const check = (field: keyof TransferRequest, want: 'string' | 'boolean') => {
    const v = req[field];
    if (v === undefined || v === null || typeof v === want) return;
    const got = Array.isArray(v) ? 'array' : GO_TYPES[typeof v] ?? typeof v;
    throw new MoedError(
      'INVALID_REQUEST',
      `json: cannot unmarshal ${got} into Go struct field ${struct}.${field} of type ${want === 'boolean' ? 'bool' : want}`,
    );
  };
  check('model', 'string');
  check('name', 'string');
  check('insecure', 'boolean');
  check('stream', 'boolean');
  const nameText = (req.model as string | undefined) || (req.name as string | undefined) || '';
  if (nameText === '') throw new MoedError('INVALID_REQUEST', 'model is required');
  return { nameText, insecure: req.insecure === true };
}

const hex12 = (digest: string) => parseDigest(digest).slice(0, 12);
const sha256Digest = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Any failure of a transfer as a MoedError with a message that says what broke. */
function asMoedError(e: unknown, what: string): MoedError {
  if (e instanceof MoedError) return e;
  const err = e as Error & { code?: string };
  if (err?.name === 'AbortError') return new MoedError('REQUEST_CANCELED', 'request canceled');
  if (e instanceof ConnectError || e instanceof TransportError) return new MoedError('INTERNAL', `${what}: ${err.message}`);
  if (e instanceof RegistryError) return new MoedError('INTERNAL', `${what}: ${err.message}`);
  return new MoedError('INTERNAL', `${what}: ${err?.message ?? String(e)}`, { cause: e });
}

/**
 * Yields progress lines sampled every interval while `work` runs (only when `completed` moved
 * from `last`, the value of the line before), then returns the last value yielded, or throws
 * what `work` threw. A consumer that stops early aborts the work and waits
 * for it to clean up.
 */
async function* watch(ctx: Ctx, work: Promise<void>, sample: () => Progress, last: number): AsyncGenerator<Progress, number> {
  let done = false;
  const settled = work.then(
    () => void (done = true),
    () => void (done = true),
  );
  try {
    while (!done) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, ctx.intervalMs)))]);
      clearTimeout(timer);
      if (done) break;
      const p = sample();
      if (p.completed !== last) {
        last = p.completed ?? -1;
        yield p;
      }
    }
  } finally {
    if (!done) {
      ctx.abort();
      await settled;
    }
  }
  await work;
  return last;
}

// --- pull ------------------------------------------------------------------------------------

async function* pullLayer(ctx: Ctx, layer: Layer): AsyncGenerator<Progress> {
  const status = `pulling ${hex12(layer.digest)}`;
  const line = (completed: number): Progress => ({ status, digest: layer.digest, total: layer.size, completed });
  if (await ctx.store.hasBlob(layer.digest)) {
    yield line(layer.size);
    return;
  }
  const counter = { n: 0 };
  yield line(0);
  const last = yield* watch(ctx, downloadBlob(ctx, layer, counter), () => line(counter.n), 0);
  if (last !== layer.size) yield line(layer.size);
}

async function downloadBlob(ctx: Ctx, layer: Layer, counter: { n: number }): Promise<void> {
  const { store, client, ref, signal } = ctx;
  const target = store.blobPath(layer.digest);
  await fs.mkdir(store.blobsDir, { recursive: true });
  const tmp = tempPathFor(target);
  const hash = createHash('sha256');
  try {
    const res = await client.getBlob(ref.repository, layer.digest, signal);
    const declared = res.headers['content-length'];
    if (declared !== undefined && Number(declared) !== layer.size) {
      res.destroy();
      throw new MoedError('INTERNAL', `blob ${layer.digest}: the registry sends ${declared} bytes, the manifest says ${layer.size}`);
    }
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        counter.n += chunk.length;
        if (counter.n > layer.size) return cb(new MoedError('INTERNAL', `blob ${layer.digest} is larger than the manifest says`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(tmp, { flags: 'wx' }), { signal });
    } catch (e) {
      if (e instanceof MoedError || (e as Error).name === 'AbortError') throw e;
      throw new MoedError('INTERNAL', `download of ${layer.digest} was interrupted: ${(e as Error).message}`);
    }
    if (counter.n !== layer.size) {
      throw new MoedError('INTERNAL', `download of ${layer.digest} ended after ${counter.n} of ${layer.size} bytes`);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== layer.digest) {
      throw new MoedError('INTERNAL', `digest mismatch, file must be downloaded again: want ${layer.digest}, got ${got}`);
    }
    const fh = await fs.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw asMoedError(e, `pulling ${hex12(layer.digest)}`);
  }
}

/** Removes the given blobs unless some manifest still names them; any unreadable manifest keeps all. */
async function removeUnusedBlobs(store: ModelStore, candidates: Set<string>): Promise<void> {
  const used = new Set<string>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (depth === 3 && e.isFile()) {
        const m = JSON.parse(await fs.readFile(p, 'utf8')) as Manifest;
        for (const l of [m.config, ...m.layers]) used.add(l.digest);
      } else if (depth < 3 && e.isDirectory()) {
        await walk(p, depth + 1);
      }
    }
  };
  try {
    await walk(store.manifestsDir, 0);
  } catch {
    return;
  }
  for (const d of candidates) if (!used.has(d)) await fs.rm(store.blobPath(d), { force: true });
}

// --- push ------------------------------------------------------------------------------------

async function ping(ctx: Ctx): Promise<void> {
  try {
    const res = await ctx.client.send('GET', new URL('/v2/', ctx.client.base), { signal: ctx.signal });
    res.resume();
  } catch (e) {
    // Only a registry that cannot be reached fails here; anything it answers is checked later.
    if (e instanceof RegistryError) return;
    throw asMoedError(e, 'push');
  }
}

async function checkReferencedFile(f: ModelFileRef, display: string): Promise<Stats> {
  const stat = await fs.stat(f.path).catch(() => undefined);
  if (!stat?.isFile()) {
    throw new MoedError('MODEL_FILE_MISSING', `model file ${f.path} of ${display} is missing: it was moved or deleted; create the model again with the new path`);
  }
  if (stat.size !== f.size) {
    throw new MoedError('MODEL_FILE_MISSING', `model file ${f.path} of ${display} changed size (${f.size} → ${stat.size} bytes); create the model again`);
  }
  return stat;
}

async function* pushBlob(ctx: Ctx, layer: Layer, file: string): AsyncGenerator<Progress> {
  const status = `pushing ${hex12(layer.digest)}`;
  const line = (completed: number): Progress => ({ status, digest: layer.digest, total: layer.size, completed });
  let exists: boolean;
  try {
    exists = await ctx.client.hasBlob(ctx.ref.repository, layer.digest, ctx.signal);
  } catch (e) {
    throw asMoedError(e, status);
  }
  if (exists) {
    yield line(layer.size);
    return;
  }
  const counter = { n: 0 };
  yield line(0);
  const work = uploadFile(ctx, file, layer.size, layer.digest, counter).then(() => undefined);
  const last = yield* watch(ctx, work.catch((e) => Promise.reject(asMoedError(e, status))), () => line(counter.n), 0);
  if (last !== layer.size) yield line(layer.size);
}

/** A referenced GGUF: its digest is known only once it has been read, so it is hashed as it uploads. */
async function* pushReferencedFile(ctx: Ctx, f: ModelFileRef): AsyncGenerator<Progress, Layer> {
  const stat = await fs.stat(f.path);
  const cached = await readDigestCache(ctx.store, f.path, stat);
  if (cached) {
    const layer: Layer = { mediaType: MediaTypes.model, digest: cached, size: stat.size };
    yield* pushBlob(ctx, layer, f.path);
    return layer;
  }
  const status = `pushing ${path.basename(f.path)}`;
  const counter = { n: 0 };
  let digest = '';
  yield { status, total: stat.size, completed: 0 };
  const work = uploadFile(ctx, f.path, stat.size, undefined, counter).then(
    (d) => void (digest = d),
    (e) => Promise.reject(asMoedError(e, status)),
  );
  yield* watch(ctx, work, () => ({ status, total: stat.size, completed: counter.n }), 0);
  await writeDigestCache(ctx.store, f.path, stat, digest);
  yield { status: `pushing ${hex12(digest)}`, digest, total: stat.size, completed: stat.size };
  return { mediaType: MediaTypes.model, digest, size: stat.size };
}

/** Reads bytes [start, start+length) of a file, reporting each chunk; fails if the file got shorter. */
function readRange(file: string, start: number, length: number, onChunk: (b: Buffer) => void): Readable {
  let n = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onChunk(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      cb(n === length ? null : new MoedError('INTERNAL', `${file} changed while it was being pushed`));
    },
  });
  // pipeline: destroying the returned stream (a request that failed) closes the file too.
  return pipelineStreams(createReadStream(file, { start, end: start + length - 1 }), meter, () => {});
}

const retryable = (e: unknown) =>
  !(e instanceof MoedError) &&
  (e as Error)?.name !== 'AbortError' &&
  (!(e instanceof RegistryError) || e.status >= 500);

/**
 * Uploads a file as one blob and returns its digest. A small file of known digest goes up in one
 * PUT; otherwise PATCH chunks carry it (hashed on the way; a chunk that failed in transit is sent
 * again when the registry holds exactly the bytes before it) and a PUT ?digest= closes it.
 */
async function uploadFile(ctx: Ctx, file: string, size: number, digest: string | undefined, counter: { n: number }): Promise<string> {
  const { client, ref, signal, chunkBytes } = ctx;
  let location = await client.startUpload(ref.repository, signal);
  try {
    if (digest && size <= chunkBytes) {
      const body =
        size === 0
          ? undefined
          : {
              length: size,
              open: () => {
                counter.n = 0;
                return readRange(file, 0, size, (b) => (counter.n += b.length));
              },
            };
      await client.putUpload(location, digest, body, signal);
      return digest;
    }
    let hash = createHash('sha256');
    for (let start = 0; start < size; ) {
      const length = Math.min(chunkBytes, size - start);
      const before = hash.copy();
      for (let attempt = 1; ; attempt++) {
        let h = before.copy();
        try {
          location = await client.patchUpload(
            location,
            start,
            length,
            () => {
              h = before.copy();
              counter.n = start;
              return readRange(file, start, length, (b) => {
                h.update(b);
                counter.n += b.length;
              });
            },
            signal,
          );
          hash = h;
          break;
        } catch (e) {
          if (signal.aborted || !retryable(e) || attempt >= 3) throw e;
          const offset = await client.uploadOffset(location, signal).catch(() => -1);
          if (offset !== start) throw e;
        }
      }
      start += length;
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (digest && got !== digest) {
      throw new MoedError('INTERNAL', `${file} is damaged or changed: it should hash to ${digest}, its bytes hash to ${got}`);
    }
    await client.putUpload(location, got, undefined, signal);
    return got;
  } catch (e) {
    if (!signal.aborted) await client.cancelUpload(location);
    throw e;
  }
}

// Digests of referenced files, remembered by path, size and mtime: a second push of a 400 GB GGUF
// asks the registry by digest instead of reading the file again.
function digestCachePath(store: ModelStore, file: string): string {
  const key = createHash('sha256').update(path.resolve(file)).digest('hex');
  return path.join(store.root, '.digest-cache', `${key}.json`);
}

async function readDigestCache(store: ModelStore, file: string, stat: Stats): Promise<string | undefined> {
  try {
    const c = JSON.parse(await fs.readFile(digestCachePath(store, file), 'utf8')) as {
      path: string;
      size: number;
      mtimeMs: number;
      digest: string;
    };
    if (c.path === path.resolve(file) && c.size === stat.size && c.mtimeMs === stat.mtimeMs && /^sha256:[0-9a-f]{64}$/.test(c.digest)) {
      return c.digest;
    }
  } catch {
    // no entry
  }
  return undefined;
}

async function writeDigestCache(store: ModelStore, file: string, stat: Stats, digest: string): Promise<void> {
  const entry = { path: path.resolve(file), size: stat.size, mtimeMs: stat.mtimeMs, digest };
  await writeFileAtomic(digestCachePath(store, file), JSON.stringify(entry)).catch(() => {});
}
