// The model store when things go wrong: a full disk in the middle of a create (while blobs are
// written, or at the manifest), a create that replaces a model and fails, manifests that are
// corrupt, a GGUF referenced in place that was moved, and names that differ only in case.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import { writeFileAtomic } from '../../src/store/fs-atomic.js';
import { parseModelName } from '../../src/store/names.js';
import { checkModelFiles, ModelStore, type CreateParts } from '../../src/store/store.js';

const CONFIG = {
  model_format: 'gguf',
  model_family: 'deepseek2',
  model_families: ['deepseek2'],
  model_type: '671B',
  file_type: 'Q4_K_M',
};

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
}

/** A store whose manifest writes fail, as on a full disk. */
class FullDiskStore extends ModelStore {
  failManifest = false;
  protected override async writeManifestFile(file: string, bytes: Uint8Array): Promise<void> {
    if (this.failManifest) throw enospc();
    return super.writeManifestFile(file, bytes);
  }
}

let root: string;
let store: FullDiskStore;
let gguf: string;

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

async function parts(system: string, extra: Partial<CreateParts> = {}): Promise<CreateParts> {
  const stat = await fs.stat(gguf);
  return {
    modelFiles: [{ path: gguf, size: stat.size, mtimeMs: stat.mtimeMs }],
    config: CONFIG,
    system,
    template: '{{ .Prompt }}',
    parameters: { temperature: 0.6 },
    license: ['MIT'],
    ...extra,
  };
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-store-'));
  store = new FullDiskStore(path.join(root, 'models'));
  gguf = path.join(root, 'r1.gguf');
  await fs.writeFile(gguf, 'GGUF and some bytes');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fs.rm(root, { recursive: true, force: true });
});

describe('a create that fails leaves the store as it was', () => {
  it('when the manifest cannot be written: no model, no new blob, no temporary file', async () => {
    await store.create('other', await parts('kept'));
    const before = await listTree(store.root);
    store.failManifest = true;
    await expect(store.create('r1', await parts('new system'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(await listTree(store.root)).toEqual(before);
    expect(await store.get('r1')).toBeUndefined();
    expect((await store.list()).map((m) => m.display)).toEqual(['other:latest']);
  });

  it('when a blob write fails half-way: the blobs written before it are removed again', async () => {
    const before = await listTree(store.root);
    const realRename = fs.rename.bind(fs);
    let renames = 0;
    // The third blob's rename into place fails (the first two are already in blobs/).
    vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      if (++renames === 3) throw enospc();
      return realRename(from, to);
    });
    await expect(store.create('r1', await parts('sys'))).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(renames).toBe(3);
    vi.restoreAllMocks();
    expect(await listTree(store.root)).toEqual(before.filter((f) => !f.includes('.tmp')));
    expect((await listTree(store.root)).filter((f) => f.startsWith('blobs/'))).toEqual([]);
    expect(await store.list()).toEqual([]);
  });

  it('when replacing a model fails: the old model still answers, whole', async () => {
    await store.create('r1', await parts('old system'));
    const before = await listTree(store.root);
    store.failManifest = true;
    await expect(store.create('r1', await parts('new system', { parameters: { temperature: 0.1 } }))).rejects.toThrow('ENOSPC');
    expect(await listTree(store.root)).toEqual(before);
    const m = (await store.get('r1'))!;
    expect(m.system).toBe('old system');
    expect(m.parameters).toEqual({ temperature: 0.6 });
    await expect(checkModelFiles(m)).resolves.toBeUndefined();
  });

  it('writes a file atomically: a failed write keeps the old content and leaves no temporary file', async () => {
    const target = path.join(root, 'models', 'manifests', 'x');
    await writeFileAtomic(target, 'old');
    const realOpen = fs.open.bind(fs);
    vi.spyOn(fs, 'open').mockImplementationOnce(async (...args: Parameters<typeof fs.open>) => {
      const fh = await realOpen(...args);
      // The disk fills after a few bytes.
      fh.writeFile = async () => {
        await fh.write('ne');
        throw enospc();
      };
      return fh;
    });
    await expect(writeFileAtomic(target, 'new content')).rejects.toThrow('ENOSPC');
    expect(await fs.readFile(target, 'utf8')).toBe('old');
    expect(await fs.readdir(path.dirname(target))).toEqual(['x']);
  });
});

describe('corrupt manifests', () => {
  async function writeManifest(name: string, text: string) {
    const file = path.join(store.manifestsDir, 'registry.ollama.ai', 'library', name, 'latest');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, text);
  }

  it('are left out of the list, which still shows the good models', async () => {
    await store.create('good', await parts('s'));
    await writeManifest('garbage', '{"schemaVersion": 2, "lay');
    await writeManifest('noconfig', JSON.stringify({ schemaVersion: 2, mediaType: 'x', config: { digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [] }));
    await writeManifest('empty', '');
    expect((await store.list()).map((m) => m.display)).toEqual(['good:latest']);
  });

  it('are named when asked for directly', async () => {
    await writeManifest('garbage', 'not json');
    await expect(store.get('garbage')).rejects.toThrow(/garbage/);
  });

  it('keep every blob when a model is deleted (the unreadable manifest may need them)', async () => {
    await store.create('a', await parts('shared'));
    await store.create('b', await parts('shared'));
    const blobs = (await listTree(store.root)).filter((f) => f.startsWith('blobs/'));
    await writeManifest('garbage', 'not json');
    await store.delete(parseModelName('a'));
    expect((await listTree(store.root)).filter((f) => f.startsWith('blobs/'))).toEqual(blobs);
    expect((await store.get('b'))?.system).toBe('shared');
  });
});

describe('a GGUF referenced in place', () => {
  it('that was moved gives an error naming the file, the model and what to do', async () => {
    await store.create('r1', await parts('s'));
    await fs.rename(gguf, `${gguf}.moved`);
    const m = (await store.get('r1'))!;
    await expect(checkModelFiles(m)).rejects.toMatchObject({
      code: 'MODEL_FILE_MISSING',
      message: `model file ${gguf} of r1:latest is missing: it was moved or deleted; create the model again with the new path`,
    });
  });

  it('that was replaced by another file of another size is noticed too', async () => {
    await store.create('r1', await parts('s'));
    await fs.writeFile(gguf, 'GGUF but a different model');
    await expect(checkModelFiles((await store.get('r1'))!)).rejects.toThrow(/changed size \(19 → 26 bytes\); create the model again/);
  });

  it('is never copied into the store nor removed with the model', async () => {
    await store.create('r1', await parts('s'));
    for (const f of await listTree(store.blobsDir)) expect(await fs.readFile(path.join(store.blobsDir, f), 'utf8')).not.toBe('GGUF and some bytes');
    await store.delete(parseModelName('r1'));
    expect(await fs.readFile(gguf, 'utf8')).toBe('GGUF and some bytes');
  });
});

describe('names', () => {
  it('match case-insensitively, and a create in other case replaces the same model', async () => {
    await store.create('DeepSeek-R1:Q4_K_M', await parts('first'));
    expect((await store.get('deepseek-r1:q4_k_m'))?.display).toBe('DeepSeek-R1:Q4_K_M');
    await store.create('DEEPSEEK-R1:q4_k_m', await parts('second'));
    const all = await store.list();
    expect(all.map((m) => m.display)).toEqual(['DeepSeek-R1:Q4_K_M']);
    expect(all[0]!.system).toBe('second');
    await store.delete(parseModelName('deepseek-R1:Q4_k_m'));
    expect(await store.list()).toEqual([]);
    expect(await listTree(store.manifestsDir)).toEqual([]);
  });

  it('default to the library namespace and the latest tag, as ollama\'s', async () => {
    await store.create('r1', await parts('s'));
    expect(await listTree(store.manifestsDir)).toEqual(['registry.ollama.ai/library/r1/latest']);
    expect((await store.get('registry.ollama.ai/library/r1:latest'))?.display).toBe('r1:latest');
  });

  it('live where OLLAMA_MODELS says', () => {
    expect(readDaemonConfig({ OLLAMA_MODELS: '/data/models', HOME: '/home/u' }).modelsDir).toBe('/data/models');
    expect(readDaemonConfig({ HOME: '/home/u' }).modelsDir).toBe('/home/u/.moed/models');
  });
});
