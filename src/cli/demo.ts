// The built-in demo: when the store is empty, `npm start` forges a tiny DeepSeek-R1-shaped model
// (random weights, so its replies are random text) and registers it, so a new user can chat at once.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { forgeDeepseek2 } from '../forge/index.js';
import { ModelService } from '../service/model-service.js';
import type { ModelStore } from '../store/store.js';

export const DEMO_MODEL = 'moed-demo';

export async function ensureDemoModel(store: ModelStore): Promise<string | undefined> {
  if ((await store.list()).length > 0) return undefined;
  await fs.mkdir(store.blobsDir, { recursive: true });
  const tmp = path.join(store.blobsDir, `.demo-${process.pid}.gguf`);
  try {
    await forgeDeepseek2({ path: tmp, preset: 'tiny', seed: 42, name: DEMO_MODEL });
    const layer = await store.importBlobFile(tmp);
    const service = new ModelService(store);
    for await (const _ of service.create({
      model: DEMO_MODEL,
      files: { 'moed-demo.gguf': layer.digest },
      // Random weights rarely hit end-of-sentence; keep demo answers short.
      parameters: { num_predict: 200 },
    }));
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return `${DEMO_MODEL}:latest`;
}
