// Placement: rule files (rules/*.yaml) and the planner that turns them, a GGUF header and the
// machine's devices into a placement plan and the libllama parameters that reproduce it.
export * from './types.js';
export { parseSize, formatBytes } from './sizes.js';
export { modelInfo, layerOf, ModelInfoError, type ModelInfo, type PlacementModel } from './model-info.js';
export {
  BUILTIN_RULE_FILES,
  DEFAULT_ENGINE,
  DEFAULT_RULES_DIR,
  RuleFileError,
  loadBuiltinRuleFiles,
  loadRuleFile,
  matchFacts,
  parseLayers,
  parseRuleFile,
  ruleFileMatches,
  ruleSchema,
  selectRuleFile,
  type LoadRuleOptions,
  type MatchFacts,
  type RuleFileErrorCode,
  type RuleFileIssue,
} from './rules.js';
export { compileTensorRegex, numbersRegex, restrictToLayers } from './regex.js';
export { kvBytesPerCell, kvCells, phaseBytesPerToken, GPU_RUNTIME_OVERHEAD } from './memory.js';
export { llamaLayerDevices, llamaTensorDevice, MAX_TENSOR_OVERRIDES } from './overrides.js';
export { planPlacement, PlanDoesNotFitError, weightsParams, type PlanInput } from './planner.js';
export { formatPlanTable } from './format.js';
