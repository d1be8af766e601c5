// Generation speed on the CPU alone (any machine, no GPU): forges the `small` preset into a temporary
// folder and prints tokens/s of one stream, three times after a warm-up. Used for the compute-thread comparison in
// docs/BENCHMARKS.md. Usage: node bench/cpu-gen.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { forgeDeepseek2 } from '../dist/forge/index.js';
import { physicalCores } from '../dist/runner/threads.js';
import { generationSpeed, loadUnder } from './lib/engine-measure.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'moed-cpu-gen-'));
try {
  const file = path.join(dir, 'small.gguf');
  await forgeDeepseek2({ path: file, preset: 'small', seed: 1 });
  const threads = physicalCores();
  const { model, ctx } = await loadUnder(file, { devices: [] }, { nCtx: 2048, nBatch: 512, nUbatch: 512, nThreads: threads, nThreadsBatch: threads });
  await generationSpeed(model, ctx, 64); // warm-up: first graphs, first thread team
  for (let i = 0; i < 3; i++) console.log(`generation, small preset, ${threads} threads: ${(await generationSpeed(model, ctx, 64, 1, 2)).toFixed(1)} tokens/s`);
  ctx.dispose();
  model.dispose();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
