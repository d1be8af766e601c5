// Generation of the engine alone, in a fresh process, with the plan moed picks for a model whose
// experts stay in RAM (the deepseek-v3 rules without fill): one figure for bench/gpu.sh's A/B
// against llama-bench, which alternates the two so that both see the same state of the machine.
// Usage: node bench/gen-ab.mjs MODEL.gguf  → prints {"model":..., "tokensPerSecond":...}
import { readGgufSplitSet } from '../dist/gguf/index.js';
import { loadBinding } from '../dist/binding/index.js';
import { loadRuleFile, planPlacement } from '../dist/placement/index.js';
import { generationSpeed, loadParamsOf, loadUnder } from './lib/engine-measure.mjs';

const [modelPath] = process.argv.slice(2);
const binding = loadBinding();
const header = await readGgufSplitSet(modelPath, { maxArrayLength: 0 });
const rules = { ...(await loadRuleFile('deepseek-v3')), fill: undefined };
const plan = planPlacement({ model: header, rules, devices: binding.devices(), numCtx: 4096, throwIfDoesNotFit: false });
const { load, context } = loadParamsOf(plan, 1);
const { model, ctx } = await loadUnder(modelPath, load, context);
// llama-bench's -n 128 -r 3
const tokensPerSecond = await generationSpeed(model, ctx, 128, 1, 3);
console.log(JSON.stringify({ model: modelPath, tokensPerSecond }));
ctx.dispose();
model.dispose();
