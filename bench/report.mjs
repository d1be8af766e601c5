// Turns the raw results of `bash bench/gpu.sh start all` (one results.json) into the markdown
// tables of docs/BENCHMARKS.md, including the projection to the full 61-layer DeepSeek-R1.
// Usage: node bench/report.mjs results.json > report.md
//
// Method: every speed is measured on R1-shaped files at full width with 4 and 6 blocks (3 dense
// blocks, then 1 or 3 MoE blocks). The difference between the two depths is the cost of 2 MoE
// layers, so for a time per token t(blocks): c = (t(6) - t(4)) / 2, and R1, which has 58 MoE
// layers, costs t(4) + 57 c. The same holds for prompt tokens and for llama-bench's figures.
import { readFileSync } from 'node:fs';
import { resolveShape } from '../dist/forge/config.js';
import { buildMetadata } from '../dist/forge/metadata.js';
import { parameterCount, planTensors } from '../dist/forge/tensors.js';
import { buildVocab } from '../dist/forge/tokenizer.js';
import { tensorBytes } from '../dist/gguf/index.js';
import { loadRuleFile, planPlacement } from '../dist/placement/index.js';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const R1_MOE_LAYERS = 58;
const f1 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const gb = (b) => (b === undefined ? 'n/a' : (b / 1e9).toFixed(2));
const gib = (b) => (b / 2 ** 30).toFixed(1);
const ratio = (a, b) => (a / b).toFixed(2);
const pct = (x) => `${(x * 100).toFixed(0)}%`;
const met = (ok) => (ok ? 'yes' : 'no');

/** R1 projection of a rate (tokens/s) measured at 4 and 6 blocks. */
function project(rate4, rate6, perStep = 1) {
  const t4 = perStep / rate4;
  const t6 = perStep / rate6;
  const c = (t6 - t4) / 2;
  return { perLayerMs: c * 1e3, r1: perStep / (t4 + (R1_MOE_LAYERS - 1) * c), c };
}

// ---- the full R1 model, built in memory, for bytes and for the planner
const shape = resolveShape('r1', {}, 61);
const planned = planTensors(shape, 'q4_k_m');
const tensors = planned.map((t) => ({ name: t.name, dims: t.dims, type: t.type, bytes: tensorBytes(t.type, t.dims) }));
const metadata = buildMetadata({ shape, vocab: buildVocab(shape.vocab), name: 'R1', fileType: 15, parameterCount: parameterCount(planned) });
const expertBytesPerToken = tensors
  .filter((t) => /_exps\./.test(t.name))
  .reduce((s, t) => s + (t.bytes / shape.experts) * shape.expertsUsed, 0);
const membw = r.membw.read_gb_per_s * 1e9;
const ceiling = membw / expertBytesPerToken;

// Layers `fill` moves to this GPU for the real R1 (the GPU as measured; RAM of an R1 machine).
const gpu = r.hybrid?.gpu ?? r['ab-gpu-6'].gpu;
const devices = [{ name: 'CPU', description: 'R1 host', type: 'cpu', memoryFree: 512 * 2 ** 30, memoryTotal: 512 * 2 ** 30 }, gpu];
const rules = await loadRuleFile('deepseek-v3');
const r1Model = { metadata, tensors };
const r1Plan = planPlacement({ model: r1Model, rules: { ...rules, fill: undefined }, devices, numCtx: 8192, throwIfDoesNotFit: false });
const r1Fill = planPlacement({ model: r1Model, rules, devices, numCtx: 8192, throwIfDoesNotFit: false });
const fillLayersR1 = r1Fill.fill?.layers.length ?? 0;
const vramR1 = r1Plan.devices.find((d) => d.kind === 'gpu')?.total;
const ramR1 = r1Plan.devices.find((d) => d.kind === 'cpu')?.total;
// The same R1 plan on a GPU with 14 GB free: what the planner gives up to fit (docs/RULES.md).
const small = planPlacement({ model: r1Model, rules: { ...rules, fill: undefined }, devices: [devices[0], { ...gpu, memoryFree: 14e9, memoryTotal: 14e9 }], numCtx: 8192, throwIfDoesNotFit: false });
const vramSmall = small.fits ? small.devices.find((d) => d.kind === 'gpu')?.total : undefined;

const out = [];
const row = (...cells) => out.push(`| ${cells.join(' | ')} |`);
const head2 = (...cells) => {
  row(...cells);
  row(...cells.map(() => '---'));
};
const ph = r.phases ?? {};
out.push(
  `Machine: ${gpu.description ?? gpu.name}, ${gib(gpu.memoryTotal)} GiB; ${r.membw.threads} cores, CPU read bandwidth ${r.membw.read_gb_per_s} GB/s.`,
  '',
  `Run time: ${ph.total} s in all (${Object.entries({ setup: 'set-up', membw: 'memory bandwidth', build: 'CUDA build', forge: 'forge, beside the build', proof: 'hybrid proof', peers: 'llama-bench peers', http: 'moed over HTTP', ab: 'generation A/B' })
    .filter(([k]) => ph[k] !== undefined)
    .map(([k, label]) => `${label} ${ph[k]} s`)
    .join(', ')}).`,
  '',
);

// A full run (start all) has the proof, the peers and the HTTP figures; an A/B run (start ab) the
// generation rounds.
if (r.hybrid) fullRun();
if (r['ab-moed-4-1']) abRun();
console.log(out.join('\n'));

function fullRun() {
// ---- (1) the hybrid proof
const hy = r.hybrid.rows;
const byName = (prefix) => hy.find((h) => h.placement.startsWith(prefix));
const allGpu = byName('all GPU');
const tolDevice = allGpu.maxRelL2;
const tolFa = Math.max(byName('all CPU, flash').maxRelL2, byName('all GPU, flash').vsAllGpu.maxRelL2);
const tolerance = Math.max(tolDevice, tolFa);
out.push(`### Hybrid placement: same function, predicted memory, speed (${r.hybrid.model.split('/').pop()}, context ${r.hybrid.numCtx})`, '');
head2('placement', 'rel. L2 vs all-CPU (max of 4 prompts)', 'rel. L2 vs all-GPU', 'argmax agree with all-CPU', 'greedy 16 tokens agree with all-CPU / all-GPU', 'VRAM predicted', 'VRAM measured', 'pred/meas', 'prompt tok/s (tokens)', 'gen tok/s');
for (const h of hy) {
  // The tolerance rows run a placement with flash attention off, which its plan does not size.
  const sized = !h.placement.startsWith('all CPU') && !h.placement.includes('tolerance');
  const vram = (b) => (sized ? `${gb(b)} GB` : '-');
  const prompt = h.promptTokensPerSecond === undefined ? 'n/a' : `${f1(h.promptTokensPerSecond)} (${h.promptTokens})`;
  row(h.placement, h.maxRelL2.toExponential(2), h.vsAllGpu.maxRelL2.toExponential(2), pct(h.argmaxAgree), `${pct(h.greedyAgree)} / ${pct(h.vsAllGpu.greedyAgree)}`, vram(h.vramPredicted), vram(h.vramMeasured), sized ? ratio(h.vramPredicted, h.vramMeasured) : '-', prompt, f1(h.generationTokensPerSecond));
}
out.push('');
const hybridRows = hy.filter((h) => /^experts/.test(h.placement));
const within = hybridRows.every((h) => h.maxRelL2 <= tolerance && h.argmaxAgree === 1);
out.push(
  `Tolerance: ${tolerance.toExponential(2)} relative L2 with every argmax the same. It is the larger of what arithmetic alone moves on this file: all-GPU against all-CPU (the same function computed by the other device's kernels: ${tolDevice.toExponential(2)}) and flash attention on against off on one device (CPU ${byName('all CPU, flash').maxRelL2.toExponential(2)}, GPU ${byName('all GPU, flash').vsAllGpu.maxRelL2.toExponential(2)}). ` +
    `Hybrid placements: ${hybridRows.map((h) => `${h.maxRelL2.toExponential(2)} (${h.placement.split(' (')[0]})`).join(', ')}: ${within ? 'within it' : 'NOT within it'}. ` +
    'Greedy continuations are not a criterion: on a random network the top logits are near ties, and the CPU alone with flash attention off keeps only ' +
    `${pct(byName('all CPU, flash').greedyAgree)} of its own 16 greedy tokens.`,
  '',
);

// What one expert layer moved to the GPU by `fill` saves per token: its cost with the experts on
// the CPU (the per-MoE-layer cost c measured at two depths) less its cost on the GPU, taken as the
// all-GPU time per layer of the proof's file (every layer there is on the GPU, the output layer
// too: more than one expert layer costs, so the saving is not overstated).
const allGpuPerLayer = (key) => 1 / allGpu[key] / (r.hybrid.layers ?? Number(/r1-(\d+)/.exec(r.hybrid.model)[1]));
/** R1 with `fill`: each of its fill layers saves c - g. */
const withFill = (p, key) => 1 / (1 / p.r1 - fillLayersR1 * (p.c - allGpuPerLayer(key)));

// ---- (2) moed, engine and HTTP, projected
const h4 = r['http-4'];
const h6 = r['http-6'];
const proj = (key, view, perStep = 1) => project(h4[key][view], h6[key][view], perStep);
out.push(
  '### moed, projected to R1 (61 layers, 58 MoE)',
  '',
  'One daemon per depth (`bench/http.mjs`), the deepseek-v3 rules without `fill` (every routed expert in RAM, as for R1). ' +
    "Each figure two ways from the same requests: **engine** is the runner's own timing (Ollama's prompt_eval_duration and eval_duration), **HTTP** the client's wall clock (time to the first streamed line; first to last token line). " +
    `R1 with fill: the planner puts ${fillLayersR1} of R1's 58 expert layers on this GPU at 8K context; each saves its cost with the experts on the CPU (per MoE layer below) less its cost on the GPU, at most the all-GPU time per layer in the proof (${(allGpuPerLayer('generationTokensPerSecond') * 1e3).toFixed(2)} ms per generated token, ${(allGpuPerLayer('promptTokensPerSecond') * 1e6).toFixed(1)} µs per prompt token at ${allGpu.promptTokens}).`,
  '',
);
head2('figure', '4 blocks: engine / HTTP', '6 blocks: engine / HTTP', 'per MoE layer (engine)', 'R1 projected: engine / HTTP', 'R1 with fill (engine)', 'target', 'met');
const both = (h, key) => `${f1(h[key].engine)} / ${f1(h[key].http)}`;
const gen = proj('tg1', 'engine');
const genFill = withFill(gen, 'generationTokensPerSecond');
row('generation tok/s, one stream', both(h4, 'tg1'), both(h6, 'tg1'), `${gen.perLayerMs.toFixed(2)} ms`, `${f1(gen.r1)} / ${f1(proj('tg1', 'http').r1)}`, f1(genFill), `≥ 8 (bandwidth: ${f1(ceiling)} all in RAM)`, met(genFill >= 8));
const pp = {};
for (const n of [512, 2048, 8192]) {
  const k = `pp${n}`;
  pp[n] = proj(k, 'engine');
  const fill = n === allGpu.promptTokens ? withFill(pp[n], 'promptTokensPerSecond') : undefined;
  const target = { 2048: 320, 8192: 800 }[n];
  const best = fill ?? pp[n].r1;
  row(`prompt tok/s at ${n} (${h6[k].tokens} tokens)`, both(h4, k), both(h6, k), `${(pp[n].perLayerMs * 1e3).toFixed(1)} µs/token`, `${f1(pp[n].r1)} / ${f1(proj(k, 'http').r1)}`, fill ? f1(fill) : '-', target ? `≥ ${target}` : '-', target ? met(best >= target) : '');
}
const gen4 = proj('tg4', 'engine', 4);
const gen4Http = proj('tg4', 'http', 4);
row('4 streams, total tok/s', both(h4, 'tg4'), both(h6, 'tg4'), `${gen4.perLayerMs.toFixed(2)} ms/step`, `${f1(gen4.r1)} / ${f1(gen4Http.r1)} (${ratio(gen4.r1, gen.r1)}× one stream)`, '-', '≥ 2.3× one stream', met(gen4.r1 / gen.r1 >= 2.3));
const st = (h) => h.secondTurn;
const ttft = (h, turn, view) => st(h)[turn][`${view}Ms`];
const turnProj = (turn, view) => 1 / project(1e3 / ttft(h4, turn, view), 1e3 / ttft(h6, turn, view)).r1;
row(
  `2nd chat turn over ${st(h6).historyTokens} tokens: time to first token, ms (tokens evaluated)`,
  `${ttft(h4, 'secondTurn', 'engine').toFixed(0)} / ${ttft(h4, 'secondTurn', 'http').toFixed(0)} (${st(h4).secondTurnEvaluated})`,
  `${ttft(h6, 'secondTurn', 'engine').toFixed(0)} / ${ttft(h6, 'secondTurn', 'http').toFixed(0)} (${st(h6).secondTurnEvaluated})`,
  '-',
  `${turnProj('secondTurn', 'engine').toFixed(1)} / ${turnProj('secondTurn', 'http').toFixed(1)} s (first turn ${turnProj('firstTurn', 'http').toFixed(1)} s)`,
  '-',
  'no more than its new tokens',
  met(st(h6).secondTurnEvaluated < 2 * 64 && st(h4).secondTurnEvaluated < 2 * 64) + ` (${st(h6).secondTurnCached} from the cache)`,
);
row('VRAM (nvidia-smi) / size_vram (/api/ps), GB', `${gb(h4.vramBytes)} / ${gb(h4.ps?.size_vram)}`, `${gb(h6.vramBytes)} / ${gb(h6.ps?.size_vram)}`, '-', `${gb(vramR1)} (planner, ${r1Plan.engine.nUbatch}-token micro-batches)`, '-', '< 14 GB at 8K', met(vramR1 < 14e9));
row('VRAM, R1 at 8K on a GPU with 14 GB free (planner)', '-', '-', '-', vramSmall ? `${gb(vramSmall)} GB (${small.engine.nUbatch}-token micro-batches, prompt offload ${small.engine.opOffload ? 'on' : 'off'})` : 'does not fit', '-', '< 14 GB', met(vramSmall < 14e9));
const ramLayer = (h6.ramBytes - h4.ramBytes) / 2;
row('RAM (daemon and runner, resident), GB', gb(h4.ramBytes), gb(h6.ramBytes), gb(ramLayer), `${gb(h4.ramBytes + (R1_MOE_LAYERS - 1) * ramLayer)} (planner: ${gb(ramR1)})`, '-', '-', '');
row('load', `${(h4.loadMs / 1e3).toFixed(1)} s`, `${(h6.loadMs / 1e3).toFixed(1)} s`, '-', '-', '-', '-', '');
out.push('');

// ---- (3) peers
const peerRun = (name, blocks) => r[`peer-${name}-${blocks}`] ?? [];
const peerRate = (name, blocks, nPrompt) =>
  peerRun(name, blocks).find((x) => (nPrompt ? x.n_prompt === nPrompt && x.n_gen === 0 : x.n_gen > 0 && x.n_prompt === 0))?.avg_ts;
out.push(
  '### Peers: llama.cpp built from the same source, same files (llama-bench)',
  '',
  "moed/peer compares R1 projections: moed's engine with every expert in RAM, and with the fill it picks for R1 on this GPU (where measured).",
  '',
);
head2('configuration', 'figure', '4 / 6 blocks', 'R1 projected', 'moed/peer (experts in RAM / with fill)');
const peerRow = (label, name, nPrompt) => {
  const p = project(peerRate(name, 4, nPrompt), peerRate(name, 6, nPrompt));
  const moed = nPrompt ? pp[nPrompt].r1 : gen.r1;
  const moedFill = nPrompt ? (nPrompt === allGpu.promptTokens ? withFill(pp[nPrompt], 'promptTokensPerSecond') : undefined) : genFill;
  row(label, nPrompt ? `prompt ${nPrompt}` : 'generation', `${f1(peerRate(name, 4, nPrompt))} / ${f1(peerRate(name, 6, nPrompt))}`, f1(p.r1), `${ratio(moed, p.r1)} / ${moedFill ? ratio(moedFill, p.r1) : '-'}`);
  return p;
};
peerRow('experts on CPU (--n-cpu-moe), defaults (mmap, ubatch 512)', 'cpumoe-default', 512);
const peerGenDefault = peerRow('', 'cpumoe-default');
peerRow('experts on CPU, hand-tuned (pinned, ubatch 2048, FA)', 'cpumoe-tuned', 2048);
peerRow('', 'cpumoe-tuned', 8192);
const peerGenTuned = peerRow('', 'cpumoe-tuned');
peerRow("whole layers on the GPU up to 24 GB (Ollama's split): about 3 of R1's 61 fit, measured with all on the CPU", 'layers-cpu', 512);
peerRow('', 'layers-cpu');
out.push('');

// ---- (4) the limit
const ceilingFill = membw / (expertBytesPerToken * (1 - fillLayersR1 / R1_MOE_LAYERS));
out.push(
  '### The limit',
  '',
  `R1 reads ${gb(expertBytesPerToken)} GB of routed-expert weights per generated token (8 of 256 experts in each of 58 layers). At ${r.membw.read_gb_per_s} GB/s that allows ${f1(ceiling)} tokens/s with every expert in RAM (${f1(ceilingFill)} with ${fillLayersR1} expert layers in VRAM). ` +
    `moed's engine, projected: ${f1(gen.r1)} tokens/s, ${pct(gen.r1 / ceiling)} of it (per MoE layer: ${gen.perLayerMs.toFixed(2)} ms against a floor of ${((expertBytesPerToken / R1_MOE_LAYERS / membw) * 1e3).toFixed(2)} ms); with fill ${f1(genFill)}, ${pct(genFill / ceilingFill)}. ` +
    `llama.cpp with experts on the CPU: ${f1(peerGenTuned.r1)} (hand-tuned), ${f1(peerGenDefault.r1)} (defaults).`,
  '',
);
}

function abRun() {
  const rounds = [1, 2, 3, 4].filter((k) => r[`ab-moed-4-${k}`] && r[`ab-moed-6-${k}`]);
  const rate = (name, blocks, k) => {
    const x = r[`ab-${name}-${blocks}${k ? `-${k}` : ''}`];
    return Array.isArray(x) ? x.find((y) => y.n_gen > 0).avg_ts : x.tokensPerSecond;
  };
  const projected = (name, k) => project(rate(name, 4, k), rate(name, 6, k));
  // fill: each of R1's fill layers costs what a layer costs on the GPU (all-GPU at both depths).
  const gpuLayer = projected('gpu');
  const fill = (p) => 1 / (1 / p.r1 - fillLayersR1 * (p.c - gpuLayer.c));
  out.push(
    '### Generation A/B: llama.cpp with experts on the CPU and moed\'s engine, alternating in fresh processes',
    '',
    `Each round, at 4 then 6 blocks: llama-bench with defaults (-ncmoe 99), llama-bench hand-tuned (pinned, ubatch 2048, FA), moed's engine (bench/gen-ab.mjs: the deepseek-v3 plan, every expert in RAM); each 3 × 128 tokens. moed with fill: R1 with ${fillLayersR1} expert layers on this GPU, each costing what a MoE layer costs all on the GPU (${gpuLayer.perLayerMs.toFixed(2)} ms: ${f1(rate('gpu', 4))} / ${f1(rate('gpu', 6))} tok/s at 4 / 6 blocks) instead of on the CPU.`,
    '',
  );
  head2('round', 'llama.cpp defaults: 4 / 6 blocks → R1', 'llama.cpp hand-tuned: 4 / 6 → R1', 'moed: 4 / 6 → R1', 'moed with fill, R1', 'moed / defaults, tuned', 'moed with fill / defaults, tuned');
  const sum = { default: 0, tuned: 0, moed: 0, fill: 0 };
  const cell = (name, k) => `${f1(rate(name, 4, k))} / ${f1(rate(name, 6, k))} → ${f1(projected(name, k).r1)}`;
  for (const k of rounds) {
    const d = projected('default', k).r1;
    const t = projected('tuned', k).r1;
    const m = projected('moed', k);
    const mf = fill(m);
    sum.default += 1 / d;
    sum.tuned += 1 / t;
    sum.moed += 1 / m.r1;
    sum.fill += 1 / mf;
    row(String(k), cell('default', k), cell('tuned', k), cell('moed', k), f1(mf), `${ratio(m.r1, d)}, ${ratio(m.r1, t)}`, `${ratio(mf, d)}, ${ratio(mf, t)}`);
  }
  const avg = (x) => rounds.length / x;
  row('all rounds (time-averaged)', f1(avg(sum.default)), f1(avg(sum.tuned)), f1(avg(sum.moed)), f1(avg(sum.fill)), `${ratio(avg(sum.moed), avg(sum.default))}, ${ratio(avg(sum.moed), avg(sum.tuned))}`, `${ratio(avg(sum.fill), avg(sum.default))}, ${ratio(avg(sum.fill), avg(sum.tuned))}`);
  out.push('');
}

