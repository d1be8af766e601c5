// Proof of the hybrid engine (run on the GPU machine by bench/gpu.sh): for each placement of the
// same R1-shaped model — all on the CPU; experts on the CPU and the rest on the GPU; experts partly
// on the GPU through `fill`; all on the GPU — it measures
//   (a) the same model function: relative L2 difference of last-token logits against all-CPU (and
//       against all-GPU) for several prompts, and agreement of 16 greedy tokens. The tolerance is
//       what arithmetic alone moves on this model: the same all-CPU and all-GPU runs with flash
//       attention off (a different but equally valid order of operations on each device). Use a
//       model forged with `--router fixed`: with random routers, rounding flips expert choices and
//       a random network turns that into unrelated logits;
//   (b) the plan's predicted VRAM against the VRAM measured (free memory before and after);
//   (c) prompt and generation tokens per second (prompt: 2048 tokens, 512 on the CPU alone).
// Usage: node bench/hybrid.mjs MODEL.gguf OUT.json [--ctx 4096]
import { writeFileSync } from 'node:fs';
import { loadBinding } from '../dist/binding/index.js';
import { readGgufSplitSet } from '../dist/gguf/index.js';
import { formatPlanTable, loadRuleFile, parseRuleFile, planPlacement } from '../dist/placement/index.js';
import { compareLogits, generationSpeed, loadParamsOf, loadUnder, logitsAndGreedy, promptSpeed } from './lib/engine-measure.mjs';

const [modelPath, outPath] = process.argv.slice(2);
const numCtx = Number(process.argv[process.argv.indexOf('--ctx') + 1]) || 4096;
const PP = 2048;
const PP_CPU = 512; // the CPU alone is two orders of magnitude slower at prompts
const TG = 128;

const ALL_GPU = parseRuleFile(
  `description: everything on the first GPU
match: { architecture: '*' }
rules:
  - { name: all on the GPU, tensors: '.*', device: 'cuda:0' }
engine: { flash_attention: true, weights: mmap, batch: 2048, ubatch: 2048 }
`,
  'all-gpu.yaml',
);

const gib = (b) => b / 2 ** 30;

async function main() {
  const binding = loadBinding();
  const devices = binding.devices();
  const gpu = devices.find((d) => d.type === 'gpu');
  if (!gpu) throw new Error('no GPU: this benchmark runs on the GPU machine');
  const header = await readGgufSplitSet(modelPath, { maxArrayLength: 0 });
  const r1 = await loadRuleFile('deepseek-v3');
  const expertBytes = header.tensors.filter((t) => /_exps\./.test(t.name)).reduce((s, t) => s + t.bytes, 0);
  const nonExpertBytes = header.tensors.reduce((s, t) => s + t.bytes, 0) - expertBytes;
  // The fill case gets a VRAM budget that holds the non-expert part and about half the experts.
  const fillBudget = nonExpertBytes + expertBytes / 2 + 8 * 2 ** 30;
  const cpuOnly = devices.filter((d) => d.type === 'cpu');
  const budgeted = devices.map((d) => (d === gpu ? { ...d, memoryFree: Math.min(d.memoryFree, fillBudget) } : d));
  const allCpu = planPlacement({ model: header, rules: r1, devices: cpuOnly, numCtx });
  // The runner exports the plan's environment before ggml starts; ggml reads it once, so here it
  // has to come from the caller (bench/gpu.sh).
  const expertsOnCpu = planPlacement({ model: header, rules: { ...r1, fill: undefined }, devices, numCtx });
  for (const [k, v] of Object.entries(expertsOnCpu.engine.env)) {
    if (process.env[k] !== v) throw new Error(`run with ${k}=${v}, as the runner would`);
  }
  const allGpu = planPlacement({ model: header, rules: ALL_GPU, devices, numCtx });
  const placements = [
    { name: 'all CPU', plan: allCpu },
    { name: 'all CPU, flash attention off (arithmetic tolerance)', plan: allCpu, flashAttention: 'off', speeds: false },
    { name: 'experts on CPU, rest on GPU', plan: expertsOnCpu },
    { name: `experts partly on GPU (fill, ${gib(fillBudget).toFixed(0)} GiB budget)`, plan: planPlacement({ model: header, rules: r1, devices: budgeted, numCtx }) },
    { name: 'all GPU', plan: allGpu, gpuReference: true },
    { name: 'all GPU, flash attention off (arithmetic tolerance)', plan: allGpu, flashAttention: 'off', speeds: false },
  ];
  const rows = [];
  const outputs = [];
  for (const p of placements) {
    console.log(`\n== ${p.name}\n${formatPlanTable(p.plan)}`);
    const { load, context } = loadParamsOf(p.plan);
    if (p.flashAttention) context.flashAttention = p.flashAttention;
    const freeBefore = binding.devices().find((d) => d.name === gpu.name).memoryFree;
    const { model, ctx, loadSeconds } = await loadUnder(modelPath, load, context);
    const results = await logitsAndGreedy(model, ctx);
    const measure = p.speeds !== false;
    const onCpu = p.plan.engine.devices.length === 0;
    const promptTokens = onCpu ? PP_CPU : PP;
    const pp = measure ? await promptSpeed(model, ctx, promptTokens, onCpu ? 1 : 2) : undefined;
    const freeAfter = binding.devices().find((d) => d.name === gpu.name).memoryFree;
    const tg = measure ? await generationSpeed(model, ctx, onCpu ? TG / 4 : TG, 1, onCpu ? 1 : 2) : undefined;
    outputs.push(results);
    const predicted = p.plan.devices.find((d) => d.device === gpu.name)?.total ?? 0;
    const row = {
      placement: p.name,
      loadSeconds,
      vramPredicted: predicted,
      vramMeasured: freeBefore - freeAfter,
      promptTokens,
      promptTokensPerSecond: pp,
      generationTokensPerSecond: tg,
      overrides: p.plan.engine.tensorOverrides.length,
      fillLayers: p.plan.fill?.layers.length ?? 0,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    ctx.dispose();
    model.dispose();
    await new Promise((r) => setTimeout(r, 1000)); // let the driver return the memory
  }
  const against = (results, reference) => {
    const cmp = results.map((r, i) => ({
      ...compareLogits(r.logits, reference[i].logits),
      greedyAgree: r.greedy.filter((t, k) => t === reference[i].greedy[k]).length / r.greedy.length,
    }));
    return {
      relL2: cmp.map((c) => c.relL2),
      maxRelL2: Math.max(...cmp.map((c) => c.relL2)),
      argmaxAgree: cmp.filter((c) => c.sameArgmax).length / cmp.length,
      greedyAgree: cmp.reduce((s, c) => s + c.greedyAgree, 0) / cmp.length,
    };
  };
  const gpuRef = outputs[placements.findIndex((p) => p.gpuReference)];
  rows.forEach((row, i) => {
    Object.assign(row, against(outputs[i], outputs[0]));
    row.vsAllGpu = against(outputs[i], gpuRef);
  });
  console.log(JSON.stringify(rows.map((r) => ({ placement: r.placement, maxRelL2: r.maxRelL2, vsAllGpu: r.vsAllGpu.maxRelL2 }))));
  writeFileSync(outPath, JSON.stringify({ model: modelPath, layers: allCpu.model.layers, numCtx, gpu, rows }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
