// Temporary stores holding one model: a real tiny forged GGUF (the daemon reads its header to plan
// the placement), with the store's config saying what the test needs.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { ModelStore } from '../../src/store/store.js';

let tinyModel: Promise<string> | undefined;

/** One tiny forged model per test process, shared read-only by every store that needs a file. */
export function tinyModelFile(): Promise<string> {
  tinyModel ??= (async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-tiny-'));
    const file = path.join(dir, 'tiny.gguf');
    await forgeDeepseek2({ path: file, preset: 'tiny', seed: 11 });
    return file;
  })();
  return tinyModel;
}

export async function tempDir(prefix = 'moed-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function storeWithModel(name = 'r1-test', capabilities = ['completion', 'thinking']) {
  const root = await tempDir();
  const store = new ModelStore(path.join(root, 'models'));
  const file = path.join(root, 'model.gguf');
  await fs.copyFile(await tinyModelFile(), file);
  const stat = await fs.stat(file);
  await store.create(name, {
    modelFiles: [{ path: file, size: stat.size, mtimeMs: stat.mtimeMs }],
    config: {
      model_format: 'gguf',
      model_family: 'deepseek2',
      model_families: ['deepseek2'],
      model_type: '671B',
      file_type: 'Q4_K_M',
      capabilities,
    },
  });
  return { root, store, file };
}
