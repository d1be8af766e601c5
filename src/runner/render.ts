// Turns a Prompt into tokens: chat messages through the model's own Jinja template (rendered by
// llama-common), raw text as it is. Also reports whether the prompt leaves the model inside a
// thinking block, so the service can route the first tokens to `thinking`.
import type { Model } from '../binding/types.js';
import type { GenerateStart, Prompt } from '../engine/types.js';

export interface RenderedPrompt {
  tokens: Int32Array;
  additionalStops: string[];
  thinking: Omit<GenerateStart, 'type' | 'promptTokens' | 'cachedTokens'>;
}

const DEFAULT_THINK_START = '<think>';
const DEFAULT_THINK_END = '</think>';

export function renderPrompt(model: Model, prompt: Prompt, templateOverride?: string): RenderedPrompt {
  if (prompt.kind === 'text') {
    return {
      tokens: tokenizePrompt(model, prompt.text),
      additionalStops: [],
      thinking: { thinkingOpen: false, thinkingStart: DEFAULT_THINK_START, thinkingEnd: DEFAULT_THINK_END },
    };
  }
  const result = model.chatApply({
    messages: prompt.messages,
    tools: prompt.tools && prompt.tools.length > 0 ? prompt.tools : undefined,
    enableThinking: prompt.enableThinking,
    addGenerationPrompt: true,
    templateOverride,
  });
  const start = result.thinkingStartTag || DEFAULT_THINK_START;
  const end = result.thinkingEndTags[0] || DEFAULT_THINK_END;
  return {
    tokens: tokenizePrompt(model, result.prompt),
    additionalStops: result.additionalStops,
    thinking: { thinkingOpen: result.prompt.trimEnd().endsWith(start.trim()), thinkingStart: start, thinkingEnd: end },
  };
}

/** Special tokens written in the text are parsed; BOS is added once when the model wants it. */
function tokenizePrompt(model: Model, text: string): Int32Array {
  const tokens = model.tokenize(text, false, true);
  if (model.addBos() && model.bos() >= 0 && tokens[0] !== model.bos()) {
    const withBos = new Int32Array(tokens.length + 1);
    withBos[0] = model.bos();
    withBos.set(tokens, 1);
    return withBos;
  }
  return tokens;
}
