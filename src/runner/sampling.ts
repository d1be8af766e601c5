// Engine sampling parameters to the addon's sampler chain parameters.
import type { SamplerParams } from '../binding/types.js';
import type { SamplingParams } from '../engine/types.js';

const RANDOM_SEED = 0xffffffff;

export function samplerParams(s: SamplingParams): SamplerParams {
  return {
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    minP: s.minP,
    typicalP: s.typicalP,
    repeatLastN: s.repeatLastN,
    repeatPenalty: s.repeatPenalty,
    presencePenalty: s.presencePenalty,
    frequencyPenalty: s.frequencyPenalty,
    seed: s.seed < 0 ? RANDOM_SEED : s.seed >>> 0,
    mirostat: s.mirostat,
    mirostatTau: s.mirostatTau,
    mirostatEta: s.mirostatEta,
    grammar: s.grammar,
    grammarRoot: 'root',
  };
}
