// Engine-alone figures for one model under one placement (run on the GPU machine by bench/gpu.sh):
// prompt tokens/s at 512, 2048 and 8192 tokens, generation tokens/s for one and four streams,
// time to first token of a second chat turn over a 4096-token history, and memory.
// Usage: node bench/engine.mjs MODEL.gguf OUT.json --placement hybrid|fill|gpu
import { readFileSync, writeFileSync } from 'node:fs';
import { loadBinding } from '../dist/binding/index.js';
import { readGgufSplitSet } from '../dist/gguf/index.js';
import { loadRuleFile, parseRuleFile, planPlacement } from '../dist/placement/index.js';
import { GREEDY, generationSpeed, loadParamsOf, loadUnder, promptSpeed } from './lib/engine-measure.mjs';

const [modelPath, outPath] = process.argv.slice(2);
const placement = process.argv[process.argv.indexOf('--placement') + 1] ?? 'hybrid';
const NUM_CTX = 16384;

const rssBytes = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;

async function main() {
  const binding = loadBinding();
  const devices = binding.devices();
  const gpu = devices.find((d) => d.type === 'gpu');
  const header = await readGgufSplitSet(modelPath, { maxArrayLength: 0 });
  let rules = await loadRuleFile('deepseek-v3');
  if (placement === 'hybrid') rules = { ...rules, fill: undefined };
  if (placement === 'gpu') {
    rules = parseRuleFile(
      "match: { architecture: '*' }\nrules:\n  - { name: all, tensors: '.*', device: 'cuda:0' }\nengine: { flash_attention: true, weights: mmap, batch: 2048, ubatch: 2048 }\n",
      'gpu.yaml',
    );
  }
  const plan = planPlacement({ model: header, rules, devices, numCtx: NUM_CTX, throwIfDoesNotFit: false });
  const e = plan.engine;
  const params = loadParamsOf(plan);
  const threads = params.context.nThreads;
  const freeBefore = gpu ? binding.devices().find((d) => d.name === gpu.name).memoryFree : 0;
  const { model, ctx, loadSeconds } = await loadUnder(modelPath, params.load, { ...params.context, nCtx: NUM_CTX });
  const out = { model: modelPath, placement, layers: model.nLayer, loadSeconds, threads, nBatch: e.nBatch, nUbatch: e.nUbatch, loadMode: e.loadMode };
  out.pp512 = await promptSpeed(model, ctx, 512);
  out.pp2048 = await promptSpeed(model, ctx, 2048);
  out.pp8192 = await promptSpeed(model, ctx, 8192);
  out.tg1 = await generationSpeed(model, ctx, 128, 1, 3);
  out.tg4 = await generationSpeed(model, ctx, 64, 4, 2);
  out.secondTurn = await secondTurn(model, ctx);
  out.vramBytes = gpu ? freeBefore - binding.devices().find((d) => d.name === gpu.name).memoryFree : 0;
  out.rssBytes = rssBytes();
  out.vramPredicted = plan.devices.filter((d) => d.kind === 'gpu').reduce((s, d) => s + d.total, 0);
  out.ramPredicted = plan.devices.filter((d) => d.kind === 'cpu').reduce((s, d) => s + d.total, 0);
  console.log(JSON.stringify(out));
  writeFileSync(outPath, JSON.stringify(out, null, 2));
  ctx.dispose();
  model.dispose();
}

/**
 * A chat's second turn over a 4096-token history whose KV is still cached: only the new tokens
 * (64 here) are evaluated before the first answer token. Compared with evaluating all of it.
 */
async function secondTurn(model, ctx) {
  const vocab = model.nVocab;
  const history = Int32Array.from({ length: 4096 }, (_, i) => 10 + ((i * 104729) % (vocab - 20)));
  const turn = Int32Array.from({ length: 64 }, (_, i) => 10 + ((i * 7) % (vocab - 20)));
  const sampler = model.createSampler(GREEDY);
  const decodeAll = async (tokens, pos, wantSample) => {
    let sampled;
    for (let s = 0; s < tokens.length; s += ctx.nBatch) {
      const chunk = tokens.subarray(s, Math.min(tokens.length, s + ctx.nBatch));
      const last = s + chunk.length === tokens.length;
      const batch = {
        tokens: chunk,
        positions: Int32Array.from(chunk, (_, i) => pos + s + i),
        seqIds: new Int32Array(chunk.length),
        logits: Uint8Array.from(chunk, (_, i) => (last && i === chunk.length - 1 ? 1 : 0)),
      };
      sampled = await ctx.decode(batch, last && wantSample ? [{ sampler, batchIndex: chunk.length - 1 }] : []);
    }
    return sampled;
  };
  ctx.memoryClear();
  let t0 = process.hrtime.bigint();
  await decodeAll(history, 0, false);
  const firstTurnSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  await decodeAll(turn, history.length, true);
  const cachedTtft = Number(process.hrtime.bigint() - t0) / 1e9;
  ctx.memoryClear();
  const full = new Int32Array(history.length + turn.length);
  full.set(history);
  full.set(turn, history.length);
  t0 = process.hrtime.bigint();
  await decodeAll(full, 0, true);
  const uncachedTtft = Number(process.hrtime.bigint() - t0) / 1e9;
  sampler.dispose();
  return { historyTokens: 4096, newTokens: 64, firstTurnSeconds, cachedTtft, uncachedTtft };
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
