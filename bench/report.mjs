// Turns the raw results of bench/gpu.sh (one results.json) into the markdown tables of
// docs/BENCHMARKS.md, including the projection to the full 61-layer DeepSeek-R1.
// Usage: node bench/report.mjs docs/bench/DATE-h100.json > docs/bench/DATE-h100.md
//
// Method: every figure is measured on R1-shaped files at full width with 4 and 6 blocks (3 dense
// blocks, then 1 or 3 MoE blocks). The difference between the two depths is the cost of 2 MoE
// layers, so for a time per token t(blocks): c = (t(6) - t(4)) / 2, and R1, which has 58 MoE
// layers, costs t(4) + 57 c. The same holds for prompt tokens and for llama-bench's figures.
import { readFileSync } from 'node:fs';
import { resolveShape } from '../dist/forge/config.js';
import { planTensors } from '../dist/forge/tensors.js';
import { tensorBytes } from '../dist/gguf/index.js';
import { loadRuleFile, planPlacement } from '../dist/placement/index.js';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const R1_MOE_LAYERS = 58;
const f1 = (x) => (x === undefined || Number.isNaN(x) ? 'n/a' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const gb = (b) => (b / 1e9).toFixed(2);
const gib = (b) => (b / 2 ** 30).toFixed(1);

/** R1 projection of a rate (tokens/s) measured at 4 and 6 blocks. */
function project(rate4, rate6, perStep = 1) {
  const t4 = perStep / rate4;
  const t6 = perStep / rate6;
  const c = (t6 - t4) / 2;
  return { perLayerMs: c * 1e3, r1: perStep / (t4 + (R1_MOE_LAYERS - 1) * c), c, t4 };
}

const peer = (name, blocks, what, nPrompt) => {
  const rows = r[`peer-${name}-${blocks}`] ?? [];
  const row = rows.find((x) => (what === 'pp' ? x.n_prompt === nPrompt && x.n_gen === 0 : x.n_gen > 0 && x.n_prompt === 0));
  return row?.avg_ts;
};

// ---- the full R1 model, built in memory, for bytes and for the planner
const shape = resolveShape('r1', {}, 61);
const tensors = planTensors(shape, 'q4_k_m').map((t) => ({ name: t.name, dims: t.dims, type: t.type, bytes: tensorBytes(t.type, t.dims) }));
const expertBytesPerToken = tensors
  .filter((t) => /_exps\./.test(t.name))
  .reduce((s, t) => s + (t.bytes / shape.experts) * shape.expertsUsed, 0);
const membw = r.membw.read_gb_per_s * 1e9;
const ceiling = membw / expertBytesPerToken;

// A full run (bench/gpu.sh start all) has every section; an A/B run (start ab) has the generation
// A/B and the HTTP figures.
const full = Boolean(r.hybrid && r['engine-hybrid-4']);
const e = (p, b) => r[`engine-${p}-${b}`];
const gen = full ? project(e('hybrid', 4).tg1, e('hybrid', 6).tg1) : undefined;
const genGpu = full ? project(e('gpu', 4).tg1, e('gpu', 6).tg1) : undefined;
const gen4 = full ? project(e('hybrid', 4).tg4, e('hybrid', 6).tg4, 4) : undefined;

// Layers `fill` moves to an 80 GB GPU for the real R1 (the GPU as measured; RAM of an R1 machine).
const metadata = new Map(
  Object.entries({
    'general.architecture': { type: 'string', value: 'deepseek2' },
    'deepseek2.block_count': { type: 'u32', value: 61 },
    'deepseek2.leading_dense_block_count': { type: 'u32', value: 3 },
    'deepseek2.embedding_length': { type: 'u32', value: 7168 },
    'deepseek2.feed_forward_length': { type: 'u32', value: 18432 },
    'deepseek2.expert_feed_forward_length': { type: 'u32', value: 2048 },
    'deepseek2.attention.head_count': { type: 'u32', value: 128 },
    'deepseek2.attention.head_count_kv': { type: 'u32', value: 1 },
    'deepseek2.attention.key_length': { type: 'u32', value: 576 },
    'deepseek2.attention.value_length': { type: 'u32', value: 512 },
    'deepseek2.attention.key_length_mla': { type: 'u32', value: 192 },
    'deepseek2.attention.value_length_mla': { type: 'u32', value: 128 },
    'deepseek2.attention.kv_lora_rank': { type: 'u32', value: 512 },
    'deepseek2.attention.q_lora_rank': { type: 'u32', value: 1536 },
    'deepseek2.rope.dimension_count': { type: 'u32', value: 64 },
    'deepseek2.expert_count': { type: 'u32', value: 256 },
    'deepseek2.expert_used_count': { type: 'u32', value: 8 },
    'deepseek2.expert_shared_count': { type: 'u32', value: 1 },
    'deepseek2.context_length': { type: 'u32', value: 163840 },
    'deepseek2.vocab_size': { type: 'u32', value: 129280 },
  }),
);
metadata.set('tokenizer.ggml.tokens', { type: 'array', itemType: 'string', length: 129280 });
// An A/B run does not record the GPU: the H100's as the full runs report it (only the R1 fill
// plan depends on it, and an A/B report does not show that).
const gpu = r.hybrid?.gpu ?? { name: 'CUDA0', description: 'NVIDIA H100 80GB HBM3', type: 'gpu', memoryFree: 84465090560, memoryTotal: 85017493504 };
const devices = [
  { name: 'CPU', description: 'R1 host', type: 'cpu', memoryFree: 512 * 2 ** 30, memoryTotal: 512 * 2 ** 30 },
  gpu,
];
const rules = await loadRuleFile('deepseek-v3');
let r1Plan;
let r1Fill;
let planError;
try {
  r1Plan = planPlacement({ model: { metadata, tensors }, rules: { ...rules, fill: undefined }, devices, numCtx: 8192, throwIfDoesNotFit: false });
  r1Fill = planPlacement({ model: { metadata, tensors }, rules, devices, numCtx: 8192, throwIfDoesNotFit: false });
} catch (err) {
  planError = err.message;
}
const fillLayers = r1Fill?.fill?.layers.length ?? 0;
const vramR1 = r1Plan?.devices.find((d) => d.kind === 'gpu')?.total;
const ramR1 = r1Plan?.devices.find((d) => d.kind === 'cpu')?.total;
// The same R1 plan on a GPU with 14 GB free: what the planner gives up to fit (docs/RULES.md).
const small = planPlacement({ model: { metadata, tensors }, rules: { ...rules, fill: undefined }, devices: [devices[0], { ...gpu, memoryFree: 14e9, memoryTotal: 14e9 }], numCtx: 8192, throwIfDoesNotFit: false });
const vramSmall = small.fits ? small.devices.find((d) => d.kind === 'gpu')?.total : undefined;
const smallPlanSettings = `${small.engine.nUbatch}-token micro-batches, prompt offload ${small.engine.opOffload ? 'on' : 'off'}`;

const pp = {};
const ppGpu = {};
if (full) {
  for (const n of [512, 2048, 8192]) pp[n] = project(e('hybrid', 4)[`pp${n}`], e('hybrid', 6)[`pp${n}`]);
  for (const n of [512, 2048, 8192]) ppGpu[n] = project(e('gpu', 4)[`pp${n}`], e('gpu', 6)[`pp${n}`]);
}
/** R1 with `fill`: its fill layers cost what a GPU layer costs instead of a CPU-expert layer. */
const withFill = (p, g, perStep = 1) => perStep / (perStep / p.r1 - fillLayers * (p.c - g.c));
const peerProject = (name, what, n) => project(peer(name, 4, what, n), peer(name, 6, what, n));
const turn = (b) => e('hybrid', b).secondTurn;
const ttft = full ? project(1 / turn(4).cachedTtft, 1 / turn(6).cachedTtft) : undefined;
const ttftFull = full ? project(1 / turn(4).uncachedTtft, 1 / turn(6).uncachedTtft) : undefined;
const pct = (x) => `${(x * 100).toFixed(0)}%`;
const met = (ok) => (ok ? 'yes' : 'no');

const out = [];
const row = (...cells) => out.push(`| ${cells.join(' | ')} |`);
const head2 = (...cells) => {
  row(...cells);
  row(...cells.map(() => '---'));
};
out.push(`Machine: ${gpu.description ?? gpu.name}, ${gib(gpu.memoryTotal)} GiB; CPU read bandwidth ${r.membw.read_gb_per_s} GB/s (${r.membw.threads} threads).`, '');

if (full) {
// ---- (1) the hybrid proof
const hy = r.hybrid.rows;
const byName = (prefix) => hy.find((h) => h.placement.startsWith(prefix));
const allGpu = byName('all GPU');
const tolDevice = allGpu.maxRelL2;
const tolFa = Math.max(byName('all CPU, flash').maxRelL2, byName('all GPU, flash').vsAllGpu.maxRelL2);
const tolerance = Math.max(tolDevice, tolFa);
out.push(`### Hybrid placement: same function, predicted memory, speed (${r.hybrid.model.split('/').pop()}, context ${r.hybrid.numCtx})`, '');
head2('placement', 'rel. L2 vs all-CPU (max of 4 prompts)', 'rel. L2 vs all-GPU', 'argmax agree with all-CPU', 'greedy 16 tokens agree with all-CPU / all-GPU', 'VRAM predicted', 'VRAM measured', 'pred/meas', 'prompt tok/s (2048)', 'gen tok/s', 'gen tok/s (4 streams)');
for (const h of hy) {
  // The tolerance rows run a placement with flash attention off, which its plan does not size.
  const sized = !h.placement.startsWith('all CPU') && !h.placement.includes('tolerance');
  const ratio = sized ? (h.vramPredicted / h.vramMeasured).toFixed(2) : '-';
  const vram = (b) => (sized ? `${gb(b)} GB` : '-');
  row(h.placement, h.maxRelL2.toExponential(2), h.vsAllGpu.maxRelL2.toExponential(2), pct(h.argmaxAgree), `${pct(h.greedyAgree)} / ${pct(h.vsAllGpu.greedyAgree)}`, vram(h.vramPredicted), vram(h.vramMeasured), ratio, f1(h.promptTokensPerSecond), f1(h.generationTokensPerSecond), f1(h.generation4StreamsTokensPerSecond));
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

// ---- (2) the engine alone, projected
out.push('### Engine alone, measured and projected to R1 (61 layers, 58 MoE)', '');
head2('figure', '4 blocks', '6 blocks', 'per MoE layer', 'R1 projected', `R1 with fill (${fillLayers} expert layers on the GPU)`, 'target', 'met');
const genFill = withFill(gen, genGpu);
row('generation tok/s, one stream', f1(e('hybrid', 4).tg1), f1(e('hybrid', 6).tg1), `${gen.perLayerMs.toFixed(2)} ms`, f1(gen.r1), f1(genFill), `≥ 8 (bandwidth: ${f1(ceiling)} all in RAM)`, met(genFill >= 8));
for (const n of [512, 2048, 8192]) {
  const target = n === 2048 ? 320 : n === 8192 ? 800 : undefined;
  const best = withFill(pp[n], ppGpu[n]);
  row(`prompt tok/s at ${n}`, f1(e('hybrid', 4)[`pp${n}`]), f1(e('hybrid', 6)[`pp${n}`]), `${(pp[n].perLayerMs * 1e3).toFixed(1)} µs/token`, f1(pp[n].r1), f1(best), target ? `≥ ${target}` : '-', target ? met(best >= target) : '');
}
row('4 streams, total tok/s', f1(e('hybrid', 4).tg4), f1(e('hybrid', 6).tg4), `${gen4.perLayerMs.toFixed(2)} ms/step`, `${f1(gen4.r1)} (${(gen4.r1 / gen.r1).toFixed(2)}× one stream)`, '-', '≥ 2.3× one stream', met(gen4.r1 / gen.r1 >= 2.3));
row(`2nd turn over ${turn(6).historyTokens} tokens, ${turn(6).newTokens} new: time to first token`, `${(turn(4).cachedTtft * 1e3).toFixed(0)} ms`, `${(turn(6).cachedTtft * 1e3).toFixed(0)} ms`, '-', `${(1 / ttft.r1).toFixed(1)} s (whole history: ${(1 / ttftFull.r1).toFixed(1)} s)`, '-', 'no more than its new tokens', `yes (${turn(6).newTokens} of ${turn(6).historyTokens + turn(6).newTokens} tokens evaluated)`);
row('VRAM measured / RAM (process RSS)', `${gb(e('hybrid', 4).vramBytes)} / ${gb(e('hybrid', 4).rssBytes)} GB`, `${gb(e('hybrid', 6).vramBytes)} / ${gb(e('hybrid', 6).rssBytes)} GB`, '-', ramR1 ? `RAM ${gb(ramR1)} GB (planner)` : '-', '-', '-', '');
row(`VRAM, R1 at 8K context, experts in RAM (planner, ${r1Plan?.engine.nUbatch}-token micro-batches)`, '-', '-', '-', vramR1 ? `${gb(vramR1)} GB` : `n/a (${planError})`, '-', '< 14 GB', met(vramR1 < 14e9));
row(`VRAM, R1 at 8K context on a 14 GB GPU (planner: ${smallPlanSettings})`, '-', '-', '-', vramSmall ? `${gb(vramSmall)} GB` : 'does not fit', '-', '< 14 GB', met(vramSmall < 14e9));
out.push('');

// ---- (3) peers
out.push('### Peers: llama.cpp built from the same source, same files (llama-bench)', '');
head2('configuration', 'prompt 2048 tok/s (4 / 6 blocks)', 'R1 projected', 'moed/peer (experts in RAM / moed with fill)', 'generation tok/s (4 / 6 blocks)', 'R1 projected', 'moed/peer (experts in RAM / moed with fill)');
const ppFill = withFill(pp[2048], ppGpu[2048]);
for (const [name, label] of [
  ['cpumoe-default', 'experts on CPU (--n-cpu-moe), defaults (mmap, ubatch 512)'],
  ['cpumoe-tuned', 'experts on CPU, hand-tuned (pinned, ubatch 2048, FA)'],
  ['layers-cpu', 'whole layers, none fit 24 GB for R1 (all on CPU)'],
]) {
  const p = peerProject(name, 'pp', 2048);
  const g = peerProject(name, 'tg');
  row(label, `${f1(peer(name, 4, 'pp', 2048))} / ${f1(peer(name, 6, 'pp', 2048))}`, f1(p.r1), `${(pp[2048].r1 / p.r1).toFixed(2)} / ${(ppFill / p.r1).toFixed(2)}`, `${f1(peer(name, 4, 'tg'))} / ${f1(peer(name, 6, 'tg'))}`, f1(g.r1), `${(gen.r1 / g.r1).toFixed(2)} / ${(genFill / g.r1).toFixed(2)}`);
}
if (peer('cpumoe-tuned', 4, 'pp', 8192)) {
  const p = peerProject('cpumoe-tuned', 'pp', 8192);
  row('the same hand-tuned llama.cpp, prompt 8192', `${f1(peer('cpumoe-tuned', 4, 'pp', 8192))} / ${f1(peer('cpumoe-tuned', 6, 'pp', 8192))}`, f1(p.r1), `${(pp[8192].r1 / p.r1).toFixed(2)} / ${(withFill(pp[8192], ppGpu[8192]) / p.r1).toFixed(2)}`, '-', '-', '-');
}
out.push('');

// ---- (4) the limit
out.push('### The limit', '');
out.push(`R1 reads ${gb(expertBytesPerToken)} GB of routed-expert weights per generated token (8 of 256 experts in each of 58 layers). At ${r.membw.read_gb_per_s} GB/s that allows ${f1(ceiling)} tokens/s with every expert in RAM; moed's projected ${f1(gen.r1)} tokens/s is ${((gen.r1 / ceiling) * 100).toFixed(0)}% of it (per MoE layer: ${gen.perLayerMs.toFixed(2)} ms measured against a floor of ${((expertBytesPerToken / R1_MOE_LAYERS / membw) * 1e3).toFixed(2)} ms).`, '');

}

// ---- generation A/B (bench/gpu.sh start ab)
const rounds = [1, 2, 3].filter((k) => r[`ab-moed-4-${k}`] && r[`ab-moed-6-${k}`]);
const abGen = (name, blocks, k) => (name === 'moed' ? r[`ab-moed-${blocks}-${k}`].tokensPerSecond : r[`ab-llama-${blocks}-${k}`].find((x) => x.n_gen > 0).avg_ts);
let abMoed;
if (rounds.length > 0) {
  out.push('### Generation A/B: llama.cpp (experts on the CPU, hand-tuned) and moed\'s engine alone, alternating in fresh processes', '');
  head2('round', 'llama.cpp tok/s (4 / 6 blocks)', 'per MoE layer', 'R1 projected', 'moed tok/s (4 / 6 blocks)', 'per MoE layer', 'R1 projected', 'moed/llama.cpp');
  let sumMoed = 0;
  let sumLlama = 0;
  for (const k of rounds) {
    const l = project(abGen('llama', 4, k), abGen('llama', 6, k));
    const m = project(abGen('moed', 4, k), abGen('moed', 6, k));
    sumMoed += 1 / m.r1;
    sumLlama += 1 / l.r1;
    row(String(k), `${f1(abGen('llama', 4, k))} / ${f1(abGen('llama', 6, k))}`, `${l.perLayerMs.toFixed(2)} ms`, f1(l.r1), `${f1(abGen('moed', 4, k))} / ${f1(abGen('moed', 6, k))}`, `${m.perLayerMs.toFixed(2)} ms`, f1(m.r1), (m.r1 / l.r1).toFixed(2));
  }
  abMoed = { r1: rounds.length / sumMoed };
  const abLlama = rounds.length / sumLlama;
  row('all rounds (time-averaged)', '-', '-', f1(abLlama), '-', '-', f1(abMoed.r1), (abMoed.r1 / abLlama).toFixed(2));
  out.push('');
}

// ---- (5) through the HTTP API
const h4 = r['http-4'];
const h6 = r['http-6'];
if (h4 && h6) {
  out.push('### moed through its HTTP API, projected to R1 (deepseek-v3 rules without `fill`: every routed expert in RAM)', '');
  head2('figure', '4 blocks', '6 blocks', 'per MoE layer', 'R1 projected', 'engine alone, R1 projected');
  const hp = (k) => project(h4[k].tokensPerSecond, h6[k].tokensPerSecond);
  row('load', `${(h4.loadMs / 1e3).toFixed(1)} s`, `${(h6.loadMs / 1e3).toFixed(1)} s`, '-', '-', '-');
  for (const [k, n] of [['pp512', 512], ['pp2048', 2048], ['pp8192', 8192]]) {
    row(`prompt tok/s at ${h6[k].tokens} tokens`, f1(h4[k].tokensPerSecond), f1(h6[k].tokensPerSecond), `${(hp(k).perLayerMs * 1e3).toFixed(1)} µs/token`, f1(hp(k).r1), f1(pp[n]?.r1));
  }
  row('generation tok/s, one stream', f1(h4.tg1.tokensPerSecond), f1(h6.tg1.tokensPerSecond), `${hp('tg1').perLayerMs.toFixed(2)} ms`, f1(hp('tg1').r1), f1((gen ?? abMoed)?.r1));
  const h4s = project(h4.tg4.tokensPerSecond, h6.tg4.tokensPerSecond, 4);
  row('generation tok/s, 4 streams total (over the wall time)', f1(h4.tg4.tokensPerSecond), f1(h6.tg4.tokensPerSecond), '-', `${f1(h4s.r1)} (${(h4s.r1 / hp('tg1').r1).toFixed(2)}×)`, f1(gen4?.r1));
  const st = (x) => x.secondTurn;
  const turnHttp = project(1e3 / st(h4).secondTurnTtftMs, 1e3 / st(h6).secondTurnTtftMs);
  const firstHttp = project(1e3 / st(h4).firstTurnTtftMs, 1e3 / st(h6).firstTurnTtftMs);
  row(`2nd turn over ${st(h6).historyTokens} tokens: time to first line (tokens evaluated)`, `${st(h4).secondTurnTtftMs.toFixed(0)} ms (${st(h4).secondTurnEvaluated})`, `${st(h6).secondTurnTtftMs.toFixed(0)} ms (${st(h6).secondTurnEvaluated})`, '-', `${(1 / turnHttp.r1).toFixed(1)} s (first turn ${(1 / firstHttp.r1).toFixed(1)} s)`, ttft ? `${(1 / ttft.r1).toFixed(1)} s` : '-');
  row('VRAM (nvidia-smi) / size_vram (/api/ps)', `${gb(h4.vramBytes)} / ${gb(h4.ps.size_vram)} GB`, `${gb(h6.vramBytes)} / ${gb(h6.ps.size_vram)} GB`, '-', vramR1 ? `${gb(vramR1)} GB (planner)` : '-', '-');
  row('RAM (daemon and runner, resident)', `${gb(h4.ramBytes)} GB`, `${gb(h6.ramBytes)} GB`, `${gb((h6.ramBytes - h4.ramBytes) / 2)} GB`, `${gb(h4.ramBytes + (R1_MOE_LAYERS - 1) * ((h6.ramBytes - h4.ramBytes) / 2))} GB`, ramR1 ? `${gb(ramR1)} GB (planner)` : '-');
  out.push('');
}
console.log(out.join('\n'));
