// Turns a request's prompt into tokens: chat messages through a Jinja chat template (rendered by
// llama-common), raw text as it is, optionally after the token ids of an earlier answer (`context`).
// A prompt that does not fit the context is shortened here as Ollama does: the oldest non-system
// messages go first (the last message always stays), then the tokens after the first `numKeep`.
// Also reports whether the prompt leaves the model inside a thinking block (R1's `<think>\n`).
import type { ChatApplyResult, Model } from '../binding/types.js';
import type { ChatMessage, GenerateParams, Prompt } from '../engine/types.js';

export const CONTEXT_EXCEEDED = 'the input length exceeds the context length';

export class PromptError extends Error {
  readonly code = 'INVALID_REQUEST';
}

export interface PreparedPrompt {
  tokens: Int32Array;
  additionalStops: string[];
  /** The prompt ends inside an open thinking block. */
  thinkingOpen: boolean;
  thinkingStart: string;
  thinkingEnd: string;
  /** The template's result for the messages finally used (chat prompts only): tool parsing and grammar. */
  chat?: ChatApplyResult;
  truncated: boolean;
}

const DEFAULT_THINK_START = '<think>';
const DEFAULT_THINK_END = '</think>';

/**
 * Tokens a prompt may hold in a context of `limit` tokens: it must leave room for at least one
 * generated token. When it has to be shortened, it is cut further, to leave a quarter of the context
 * (or num_predict tokens, when smaller) for the answer.
 */
export function promptBudget(limit: number, numPredict: number): { fits: number; target: number } {
  const room = Math.max(1, Math.min(numPredict > 0 ? numPredict : Infinity, Math.floor(limit / 4)));
  return { fits: limit - 1, target: Math.max(1, limit - room) };
}

export function preparePrompt(model: Model, params: GenerateParams, limit: number, loadTemplate?: string): PreparedPrompt {
  const prefix = params.prefix ?? [];
  for (const t of prefix) {
    if (!Number.isInteger(t) || t < 0 || t >= model.nVocab) throw new PromptError(`context holds an invalid token id: ${t}`);
  }
  const { fits, target } = promptBudget(limit, params.numPredict);
  const truncate = params.truncate ?? false;
  const withPrefix = (tokens: Int32Array): Int32Array => {
    if (prefix.length === 0) return tokens;
    // The earlier answer's tokens already begin with BOS.
    const body = model.addBos() && tokens[0] === model.bos() ? tokens.subarray(1) : tokens;
    const out = new Int32Array(prefix.length + body.length);
    out.set(prefix, 0);
    out.set(body, prefix.length);
    return out;
  };

  let prepared: PreparedPrompt;
  if (params.prompt.kind === 'text') {
    const text = params.prompt.text;
    prepared = {
      tokens: withPrefix(tokenizePrompt(model, text)),
      additionalStops: [],
      thinkingOpen: text.trimEnd().endsWith(DEFAULT_THINK_START),
      thinkingStart: DEFAULT_THINK_START,
      thinkingEnd: DEFAULT_THINK_END,
      truncated: false,
    };
  } else {
    const prompt = params.prompt;
    const template = prompt.templateOverride || loadTemplate;
    const render = (messages: ChatMessage[]) => renderChat(model, prompt, messages, template, withPrefix);
    prepared = render(prompt.messages);
    if (prepared.tokens.length > fits && truncate && prompt.messages.length > 1) {
      prepared = dropOldest(prompt.messages, target, render);
    }
  }
  if (prepared.tokens.length > fits) {
    if (!truncate) throw new PromptError(CONTEXT_EXCEEDED);
    prepared = { ...prepared, tokens: keepHeadAndTail(prepared.tokens, params.numKeep ?? 4, target), truncated: true };
  }
  return prepared;
}

/**
 * The fewest leading non-system messages dropped for the prompt to fit `target` tokens (binary
 * search: dropping more never makes a prompt longer). System messages before the cut stay.
 */
function dropOldest(
  messages: ChatMessage[],
  target: number,
  render: (m: ChatMessage[]) => PreparedPrompt,
): PreparedPrompt {
  const keepFrom = (i: number) => [...messages.slice(0, i).filter((m) => m.role === 'system'), ...messages.slice(i)];
  const last = messages.length - 1;
  const shortest = render(keepFrom(last));
  if (shortest.tokens.length > target) return { ...shortest, truncated: true };
  let lo = 0; // does not fit
  let hi = last; // fits
  let best = shortest;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const r = render(keepFrom(mid));
    if (r.tokens.length <= target) {
      hi = mid;
      best = r;
    } else {
      lo = mid;
    }
  }
  return { ...best, truncated: true };
}

/** The first `numKeep` tokens and as many of the last ones as fit `target` (Ollama's runner). */
export function keepHeadAndTail(tokens: Int32Array, numKeep: number, target: number): Int32Array {
  if (tokens.length <= target) return tokens;
  const keep = Math.max(0, Math.min(numKeep, target - 1));
  const out = new Int32Array(target);
  out.set(tokens.subarray(0, keep), 0);
  out.set(tokens.subarray(tokens.length - (target - keep)), keep);
  return out;
}

function renderChat(
  model: Model,
  prompt: Extract<Prompt, { kind: 'chat' }>,
  messages: ChatMessage[],
  templateOverride: string | undefined,
  withPrefix: (t: Int32Array) => Int32Array,
): PreparedPrompt {
  const result = model.chatApply({
    messages,
    tools: prompt.tools && prompt.tools.length > 0 ? prompt.tools : undefined,
    enableThinking: prompt.enableThinking,
    addGenerationPrompt: true,
    templateOverride,
    kwargs: prompt.thinkLevel ? { reasoning_effort: JSON.stringify(prompt.thinkLevel) } : undefined,
    // Reasoning is split by moed (template/thinking.ts); the parser only finds tool calls.
    parseReasoning: false,
  });
  const start = result.thinkingStartTag || DEFAULT_THINK_START;
  const end = result.thinkingEndTags[0] || DEFAULT_THINK_END;
  return {
    tokens: withPrefix(tokenizePrompt(model, result.prompt)),
    additionalStops: result.additionalStops,
    thinkingOpen: result.prompt.trimEnd().endsWith(start.trim()),
    thinkingStart: start,
    thinkingEnd: end,
    chat: result,
    truncated: false,
  };
}

/** Special tokens written in the text are parsed; BOS is added once when the model wants it. */
export function tokenizePrompt(model: Model, text: string): Int32Array {
  const tokens = model.tokenize(text, false, true);
  if (model.addBos() && model.bos() >= 0 && tokens[0] !== model.bos()) {
    const withBos = new Int32Array(tokens.length + 1);
    withBos[0] = model.bos();
    withBos.set(tokens, 1);
    return withBos;
  }
  return tokens;
}
