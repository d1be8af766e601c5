// Generation of the engine alone, in a fresh process, for bench/gpu.sh's generation A/B against
// llama-bench (which alternates the two so that both see the same state of the machine).
// Placement `hybrid` (default): the plan moed picks for a model whose experts stay in RAM (the
// deepseek-v3 rules without fill); `gpu`: everything on the GPU, for the cost of a layer there.
// Usage: node bench/gen-ab.mjs MODEL.gguf [--placement hybrid|gpu]  → {"model", "placement", "tokensPerSecond"}
import { readGgufSplitSet } from '../dist/gguf/index.js';
import { loadBinding } from '../dist/binding/index.js';
import { loadRuleFile, parseRuleFile, planPlacement } from '../dist/placement/index.js';
import { generationSpeed, loadParamsOf, loadUnder } from './lib/engine-measure.mjs';

const [modelPath] = process.argv.slice(2);
const placement = process.argv.includes('--placement') ? process.argv[process.argv.indexOf('--placement') + 1] : 'hybrid';
const binding = loadBinding();
const header = await readGgufSplitSet(modelPath, { maxArrayLength: 0 });
const rules =
  placement === 'gpu'
    ? parseRuleFile("match: { architecture: '*' }\nrules:\n  - { name: all, tensors: '.*', device: 'cuda:0' }\nengine: { flash_attention: true, weights: mmap }\n", 'gpu.yaml')
    : { ...(await loadRuleFile('deepseek-v3')), fill: undefined };
// Read before the load: the report plans R1's fill for this GPU's free memory.
const devices = binding.devices();
const plan = planPlacement({ model: header, rules, devices, numCtx: 4096, throwIfDoesNotFit: false });
const { load, context } = loadParamsOf(plan, 1);
const { model, ctx } = await loadUnder(modelPath, load, context);
// llama-bench's -n 128 -r 3
const tokensPerSecond = await generationSpeed(model, ctx, 128, 1, 3);
console.log(JSON.stringify({ model: modelPath, placement, tokensPerSecond, gpu: devices.find((d) => d.type === 'gpu') }));
ctx.dispose();
model.dispose();
