// Checks a manifest that came from a registry before anything is downloaded for it: an image
// manifest (not an index), every digest well formed, every size a non-negative integer, and no
// moed model-ref layer (a path on some other machine means nothing here).
import { MoedError } from '../errors/index.js';
import { MediaTypes, type Layer, type Manifest } from '../store/store.js';
import { ManifestMediaTypes } from './client.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function checkLayer(value: unknown, where: string): Layer {
  const l = value as Partial<Layer> | null;
  if (!l || typeof l !== 'object') throw bad(`${where} is not an object`);
  if (typeof l.digest !== 'string' || !DIGEST.test(l.digest)) throw bad(`${where} has an invalid digest`);
  if (typeof l.size !== 'number' || !Number.isSafeInteger(l.size) || l.size < 0) throw bad(`${where} has an invalid size`);
  if (typeof l.mediaType !== 'string') throw bad(`${where} has no mediaType`);
  if (l.mediaType === MediaTypes.modelRef) {
    throw bad(`${where} references a file on another machine (${MediaTypes.modelRef}); push it again with moed`);
  }
  return l as Layer;
}

function bad(why: string): MoedError {
  return new MoedError('INTERNAL', `pull model manifest: invalid manifest: ${why}`);
}

export function parseRegistryManifest(bytes: Buffer): Manifest {
  let m: Partial<Manifest> & { manifests?: unknown };
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (!m || typeof m !== 'object') throw bad('not an object');
  if (m.manifests !== undefined) throw bad('it is a manifest list / image index, not a model manifest');
  if (m.schemaVersion !== 2) throw bad(`schemaVersion ${String(m.schemaVersion)} is not 2`);
  if (m.mediaType !== undefined && m.mediaType !== ManifestMediaTypes.dockerV2 && m.mediaType !== ManifestMediaTypes.ociV1) {
    throw bad(`unsupported mediaType ${String(m.mediaType)}`);
  }
  if (!Array.isArray(m.layers)) throw bad('no layers');
  const config = checkLayer(m.config, 'config');
  const layers = m.layers.map((l, i) => checkLayer(l, `layer ${i}`));
  return { schemaVersion: 2, mediaType: m.mediaType ?? ManifestMediaTypes.dockerV2, config, layers };
}
