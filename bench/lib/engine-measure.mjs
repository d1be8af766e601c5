// Engine-level measurements through the addon alone (no daemon): load a model under a placement,
// then prompt processing speed, generation speed, and logits for a fixed set of prompts.
// Used by bench/hybrid.mjs on the GPU machine.
import { loadBinding } from '../../dist/binding/index.js';
import { physicalCores } from '../../dist/runner/threads.js';

const GREEDY = {
  temperature: 0, topK: 1, topP: 1, minP: 0, typicalP: 1, repeatLastN: 0, repeatPenalty: 1,
  presencePenalty: 0, frequencyPenalty: 0, seed: 1, mirostat: 0, mirostatTau: 5, mirostatEta: 0.1,
};

export const PROMPTS = [
  'The history of the printing press begins in',
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
  'Q: What is the capital of France?\nA:',
  'Once upon a time, in a kingdom by the sea, there lived',
];

function batchOf(tokens, pos, seq, lastLogits) {
  return {
    tokens,
    positions: Int32Array.from(tokens, (_, i) => pos + i),
    seqIds: new Int32Array(tokens.length).fill(seq),
    logits: Uint8Array.from(tokens, (_, i) => (lastLogits && i === tokens.length - 1 ? 1 : 0)),
  };
}

const seconds = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

export async function loadUnder(path, load, context) {
  const b = loadBinding();
  if (!process.env.MOED_ENGINE_LOG) b.setLogger(() => {});
  const t0 = process.hrtime.bigint();
  const model = await b.loadModel({ path, ...load });
  const ctx = await model.createContext({ perf: false, ...context });
  return { model, ctx, loadSeconds: seconds(t0) };
}

/** Last-token logits of each prompt and a greedy continuation of `genTokens` tokens. */
export async function logitsAndGreedy(model, ctx, genTokens = 16) {
  const out = [];
  for (const text of PROMPTS) {
    ctx.memoryClear();
    const sampler = model.createSampler(GREEDY);
    const tokens = model.tokenize(text, true, false);
    let [next] = await ctx.decode(batchOf(tokens, 0, 0, true), [{ sampler, batchIndex: tokens.length - 1 }]);
    const logits = ctx.getLogits(tokens.length - 1);
    const greedy = [next];
    let pos = tokens.length;
    for (let i = 1; i < genTokens; i++) {
      [next] = await ctx.decode(batchOf(Int32Array.of(next), pos++, 0, true), [{ sampler, batchIndex: 0 }]);
      greedy.push(next);
    }
    sampler.dispose();
    out.push({ logits, greedy });
  }
  return out;
}

/**
 * Prompt tokens per second over `n` tokens (decoded in chunks of n_batch, split by the engine's
 * ubatch), averaged over `reps` runs after one untimed run of the same size (llama-bench's -r and
 * warm-up: CUDA graphs, page faults and the first PCIe copies are not counted). `reps: 1` warms up
 * on 32 tokens only, for placements too slow to run a prompt three times.
 */
export async function promptSpeed(model, ctx, n, reps = 2) {
  const vocab = model.nVocab;
  const tokens = Int32Array.from({ length: n }, (_, i) => 10 + ((i * 7919) % (vocab - 20)));
  const run = async (count) => {
    ctx.memoryClear();
    const t0 = process.hrtime.bigint();
    for (let start = 0; start < count; start += ctx.nBatch) {
      const chunk = tokens.subarray(start, Math.min(count, start + ctx.nBatch));
      await ctx.decode(batchOf(chunk, start, 0, start + chunk.length === count), []);
    }
    return seconds(t0);
  };
  await run(reps > 1 ? n : 32);
  let total = 0;
  for (let r = 0; r < reps; r++) total += await run(n);
  return (n * reps) / total;
}

/**
 * Generation tokens per second of `seqs` sequences decoded together after a short prompt, averaged
 * over `reps` runs of `n` steps; the first WARMUP_STEPS steps of each run are not timed (CUDA graphs are captured on the first calls of a new
 * graph shape; llama-bench warms up the same way).
 */
const WARMUP_STEPS = 8;
export async function generationSpeed(model, ctx, n, seqs = 1, reps = 1) {
  const samplers = Array.from({ length: seqs }, () => model.createSampler(GREEDY));
  const prompt = model.tokenize(PROMPTS[0], true, false);
  let total = 0;
  for (let r = 0; r < reps; r++) {
    ctx.memoryClear();
    let next = [];
    for (let s = 0; s < seqs; s++) {
      const [t] = await ctx.decode(batchOf(prompt, 0, s, true), [{ sampler: samplers[s], batchIndex: prompt.length - 1 }]);
      next.push(t);
    }
    let pos = prompt.length;
    let t0;
    for (let i = -WARMUP_STEPS; i < n; i++, pos++) {
      if (i === 0) t0 = process.hrtime.bigint();
      const batch = {
        tokens: Int32Array.from(next),
        positions: new Int32Array(seqs).fill(pos),
        seqIds: Int32Array.from({ length: seqs }, (_, s) => s),
        logits: new Uint8Array(seqs).fill(1),
      };
      next = Array.from(await ctx.decode(batch, samplers.map((sampler, s) => ({ sampler, batchIndex: s }))));
    }
    total += seconds(t0);
  }
  for (const s of samplers) s.dispose();
  return (n * seqs * reps) / total;
}

/** Relative L2 difference of two logit vectors, and whether their argmax agrees. */
export function compareLogits(a, b) {
  let num = 0;
  let den = 0;
  let amaxA = 0;
  let amaxB = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
    if (a[i] > a[amaxA]) amaxA = i;
    if (b[i] > b[amaxB]) amaxB = i;
  }
  return { relL2: Math.sqrt(num / den), sameArgmax: amaxA === amaxB };
}

/** Model and context parameters of a placement plan, as the runner derives them. */
export function loadParamsOf(plan, nSeqMax = 4) {
  const e = plan.engine;
  return {
    load: {
      devices: e.devices,
      gpuLayers: e.gpuLayers,
      tensorOverrides: e.tensorOverrides,
      loadMode: e.loadMode,
      noHost: e.noHost,
      useExtraBufts: e.useExtraBufts,
    },
    context: {
      nCtx: e.nCtx,
      nSeqMax,
      nBatch: e.nBatch,
      nUbatch: e.nUbatch,
      nThreads: e.threads === 'physical-cores' ? physicalCores() : e.threads,
      nThreadsBatch: e.threads === 'physical-cores' ? physicalCores() : e.threads,
      flashAttention: e.flashAttention,
      kvUnified: true,
      opOffload: e.opOffload,
      typeK: e.typeK,
      typeV: e.typeV,
    },
  };
}
