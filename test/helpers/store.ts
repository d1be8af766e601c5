// Temporary stores with models whose "GGUF" is any file: enough for tests that never load it.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ModelStore } from '../../src/store/store.js';

export async function tempDir(prefix = 'moed-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function storeWithModel(name = 'r1-test', capabilities = ['completion', 'thinking']) {
  const root = await tempDir();
  const store = new ModelStore(path.join(root, 'models'));
  const file = path.join(root, 'model.gguf');
  await fs.writeFile(file, 'GGUF-not-really');
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
