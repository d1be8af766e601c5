// POST /api/blobs/:digest: the request body streams into a temporary file in blobs/ while it is
// hashed (a multi-GB GGUF is never held in memory), and is renamed to its digest only when the
// bytes hash to it. A mismatch, a client that goes away mid-upload, or any write failure removes
// the temporary file: nothing is left behind (reference CR4).
import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MoedError } from '../errors/index.js';
import { tempPathFor } from './fs-atomic.js';
import { parseDigest, type ModelStore } from './store.js';

export type BlobUploadResult = 'created' | 'exists';

/** Codes Node gives a request stream whose client disconnected. */
const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE']);

export async function receiveBlob(store: ModelStore, digest: string, body: Readable): Promise<BlobUploadResult> {
  const hex = parseDigest(digest);
  if (await store.hasBlob(digest)) {
    // Ollama answers 200 without reading the body; let Node discard what the client still sends.
    body.resume();
    return 'exists';
  }
  const target = store.blobPath(digest);
  await fs.mkdir(store.blobsDir, { recursive: true });
  // A dot name: listings, pruning and manifests never see a half-written blob.
  const tmp = tempPathFor(target);
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    try {
      await pipeline(body, hasher, createWriteStream(tmp, { flags: 'wx' }));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (body.destroyed || (code !== undefined && CLIENT_GONE.has(code)) || (e as Error).message === 'aborted') {
        throw new MoedError('REQUEST_CANCELED', 'request canceled', { cause: e });
      }
      throw e;
    }
    const got = hash.digest('hex');
    if (got !== hex) {
      throw new MoedError('INVALID_REQUEST', `digest mismatch, expected "${digest}", got "sha256:${got}"`);
    }
    const fh = await fs.open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
    return 'created';
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
