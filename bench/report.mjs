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

const peer = (name, blocks, what) => {
  const rows = r[`peer-${name}-${blocks}`] ?? [];
  const row = rows.find((x) => (what === 'pp' ? x.n_prompt > 0 && x.n_gen === 0 : x.n_gen > 0 && x.n_prompt === 0));
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

const e = (p, b) => r[`engine-${p}-${b}`];
const gen = project(e('hybrid', 4).tg1, e('hybrid', 6).tg1);
const genGpu = project(e('gpu', 4).tg1, e('gpu', 6).tg1);
const gen4 = project(e('hybrid', 4).tg4, e('hybrid', 6).tg4, 4);

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
const gpu = r.hybrid.gpu;
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
const genFill = 1 / (1 / gen.r1 - fillLayers * (gen.c - genGpu.c));
const vramR1 = r1Plan?.devices.find((d) => d.kind === 'gpu')?.total;

const pp = {};
for (const n of [512, 2048, 8192]) pp[n] = project(e('hybrid', 4)[`pp${n}`], e('hybrid', 6)[`pp${n}`]);
const peerPp = (name) => project(peer(name, 4, 'pp'), peer(name, 6, 'pp'));
const peerTg = (name) => project(peer(name, 4, 'tg'), peer(name, 6, 'tg'));
const turn = (b) => e('hybrid', b).secondTurn;
const ttft = project(1 / turn(4).cachedTtft, 1 / turn(6).cachedTtft);
const ttftFull = project(1 / turn(4).uncachedTtft, 1 / turn(6).uncachedTtft);

const out = [];
const row = (...cells) => out.push(`| ${cells.join(' | ')} |`);
out.push(`Machine: ${gpu.description ?? gpu.name}, ${gib(gpu.memoryTotal)} GiB; CPU read bandwidth ${r.membw.read_gb_per_s} GB/s (${r.membw.threads} threads).`, '');

out.push(`### Hybrid placement: same function, predicted memory, speed (${r.hybrid.model.split('/').pop()})`, '');
row('placement', 'max rel. L2 of logits vs all-CPU', 'argmax agree', 'greedy 16 agree', 'VRAM predicted', 'VRAM measured', 'pred/meas', 'prompt tok/s (2048)', 'gen tok/s', 'gen tok/s (4 streams)');
row('---', '---', '---', '---', '---', '---', '---', '---', '---', '---');
for (const h of r.hybrid.rows) {
  const ratio = h.vramMeasured > 0 ? (h.vramPredicted / h.vramMeasured).toFixed(2) : '-';
  row(h.placement, h.maxRelL2.toExponential(2), `${(h.argmaxAgree * 100).toFixed(0)}%`, `${(h.greedyAgree * 100).toFixed(0)}%`, gb(h.vramPredicted) + ' GB', gb(h.vramMeasured) + ' GB', ratio, f1(h.promptTokensPerSecond), f1(h.generationTokensPerSecond), f1(h.generation4StreamsTokensPerSecond));
}
out.push('');

out.push('### Engine alone, measured and projected to R1 (61 layers, 58 MoE)', '');
row('figure', '4 blocks', '6 blocks', 'per MoE layer', 'R1 projected', 'target');
row('---', '---', '---', '---', '---', '---');
row('generation tok/s, experts in RAM', f1(e('hybrid', 4).tg1), f1(e('hybrid', 6).tg1), `${gen.perLayerMs.toFixed(2)} ms`, f1(gen.r1), '≥ 8 (all in RAM: bandwidth allows ~' + f1(ceiling) + ')');
row(`generation tok/s, fill (${fillLayers} expert layers on the GPU)`, '-', '-', `GPU layer ${genGpu.perLayerMs.toFixed(2)} ms`, f1(genFill), '≥ 8');
for (const n of [512, 2048, 8192]) {
  row(`prompt tok/s at ${n}`, f1(e('hybrid', 4)[`pp${n}`]), f1(e('hybrid', 6)[`pp${n}`]), `${(pp[n].perLayerMs * 1e3).toFixed(1)} µs/token`, f1(pp[n].r1), n === 2048 ? '≥ 320' : n === 8192 ? '≥ 800' : '-');
}
row('4 streams, total tok/s', f1(e('hybrid', 4).tg4), f1(e('hybrid', 6).tg4), `${gen4.perLayerMs.toFixed(2)} ms/step`, `${f1(gen4.r1)} (${(gen4.r1 / gen.r1).toFixed(2)}× one stream)`, '≥ 2.3× one stream');
row('2nd turn TTFT over 4096 tokens (64 new)', `${(turn(4).cachedTtft * 1e3).toFixed(0)} ms`, `${(turn(6).cachedTtft * 1e3).toFixed(0)} ms`, '-', `${(1e3 / ttft.r1).toFixed(0)} ms (whole history: ${(1e3 / ttftFull.r1).toFixed(0)} ms)`, 'no more than its new tokens');
row('VRAM, R1 at 8K context, experts in RAM (planner)', '-', '-', '-', vramR1 ? `${gb(vramR1)} GB` : `n/a (${planError})`, '< 14 GB');
const ramR1 = r1Plan?.devices.find((d) => d.kind === 'cpu')?.total;
row('VRAM measured / RAM (process RSS), experts in RAM', `${gb(e('hybrid', 4).vramBytes)} / ${gb(e('hybrid', 4).rssBytes)} GB`, `${gb(e('hybrid', 6).vramBytes)} / ${gb(e('hybrid', 6).rssBytes)} GB`, '-', ramR1 ? `RAM ${gb(ramR1)} GB (planner)` : '-', '-');
out.push('');

out.push('### Peers: llama.cpp built from the same source, same files (llama-bench)', '');
row('configuration', 'prompt 2048 tok/s (4 / 6 blocks)', 'R1 projected', 'moed/peer', 'generation tok/s (4 / 6 blocks)', 'R1 projected', 'moed/peer');
row('---', '---', '---', '---', '---', '---', '---');
for (const [name, label] of [
  ['cpumoe-default', 'experts on CPU (--n-cpu-moe), defaults (mmap, ubatch 512)'],
  ['cpumoe-tuned', 'experts on CPU, hand-tuned (pinned, ubatch 2048, FA)'],
  ['layers-cpu', 'whole layers, none fit 24 GB for R1 (all on CPU)'],
]) {
  const p = peerPp(name);
  const g = peerTg(name);
  row(label, `${f1(peer(name, 4, 'pp'))} / ${f1(peer(name, 6, 'pp'))}`, f1(p.r1), (pp[2048].r1 / p.r1).toFixed(2), `${f1(peer(name, 4, 'tg'))} / ${f1(peer(name, 6, 'tg'))}`, f1(g.r1), (gen.r1 / g.r1).toFixed(2));
}
out.push('');

out.push('### The limit', '');
out.push(`R1 reads ${gb(expertBytesPerToken)} GB of routed-expert weights per generated token (8 of 256 experts in each of 58 layers). At ${r.membw.read_gb_per_s} GB/s that allows ${f1(ceiling)} tokens/s with every expert in RAM; moed's projected ${f1(gen.r1)} tokens/s is ${((gen.r1 / ceiling) * 100).toFixed(0)}% of it (per MoE layer: ${gen.perLayerMs.toFixed(2)} ms measured against a floor of ${((expertBytesPerToken / R1_MOE_LAYERS / membw) * 1e3).toFixed(2)} ms).`, '');

if (r.http) {
  const h = r.http;
  out.push('### moed through its HTTP API (6 blocks, the placement moed picked: the whole file fits the GPU, so `fill` put every expert there)', '');
  row('figure', 'value');
  row('---', '---');
  row('load', `${(h.loadMs / 1e3).toFixed(1)} s`);
  for (const n of [512, 2048, 8192]) row(`prompt tok/s at ${h[`pp${n}`].tokens} tokens`, f1(h[`pp${n}`].tokensPerSecond));
  row('generation tok/s, one stream', f1(h.tg1.tokensPerSecond));
  row('generation tok/s, 4 streams total', `${f1(h.tg4.tokensPerSecond)} (${(h.tg4.tokensPerSecond / h.tg1.tokensPerSecond).toFixed(2)}×)`);
  row(`2nd turn over ${h.secondTurn.historyTokens} tokens: time to first line`, `${h.secondTurn.secondTurnTtftMs.toFixed(0)} ms (first turn ${h.secondTurn.firstTurnTtftMs.toFixed(0)} ms; ${h.secondTurn.secondTurnEvaluated} tokens evaluated)`);
  row('VRAM (nvidia-smi) / size_vram (/api/ps)', `${gb(h.vramBytes)} GB / ${gb(h.ps.size_vram)} GB`);
  if (h.ramBytes !== undefined) row('RAM (daemon and runner, resident)', `${gb(h.ramBytes)} GB`);
}
console.log(out.join('\n'));
