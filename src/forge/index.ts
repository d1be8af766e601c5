// The forge: synthetic DeepSeek-V3/R1-shaped GGUF files (random weights, real architecture, real
// quantization formats) for tests, the demo model and benchmarks.
export { forgeDeepseek2, type ForgeOptions, type ForgeResult } from './forge.js';
export { parseForgeArgs, ForgeUsageError, FORGE_USAGE } from './args.js';
export { PRESETS, MIN_VOCAB, ForgeConfigError, resolveShape, validateShape, type Deepseek2Shape, type PresetName } from './config.js';
export { planTensors, q4kmType, useMoreBits, parameterCount, FILE_TYPE, type ForgeType, type PlannedTensor } from './tensors.js';
export { buildVocab, byteToUnicode, SPECIAL, TOKEN_TYPE, R1_VOCAB, type ForgedVocab } from './tokenizer.js';
export { DEEPSEEK_R1_TEMPLATE } from './template.js';
export { buildMetadata } from './metadata.js';
