// Grammar choice for a request (policy in TypeScript; the addon only compiles and applies GBNF):
// - `format` ("json" or a JSON schema) becomes llama-common's JSON-schema grammar. With thinking on,
//   the grammar is lazy: it waits for the end of the thinking block (`</think>`) and then forces
//   JSON, so the reasoning stays free text (reference C11).
// - otherwise tools give the template's lazy tool-call grammar: once the model opens a tool call,
//   its syntax, function names and arguments are forced to be valid.
import type { Binding, ChatApplyResult } from '../binding/types.js';
import type { OutputFormat } from '../engine/types.js';
import { PromptError } from './render.js';

export interface GrammarChoice {
  grammar: string;
  grammarRoot: string;
  grammarLazy?: boolean;
  grammarTriggerPatterns?: string[];
  grammarTriggerTokens?: number[];
}

/** The grammar of Ollama's format:"json": any JSON object. */
const ANY_OBJECT = { type: 'object' };

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const gbnfLiteral = (s: string) => JSON.stringify(s);

export function formatGrammar(binding: Binding, format: OutputFormat, afterThinking?: string): GrammarChoice {
  let grammar: string;
  try {
    grammar = binding.jsonSchemaToGrammar(format.type === 'json' ? ANY_OBJECT : format.schema);
  } catch (e) {
    const raw = JSON.stringify(format.type === 'json' ? 'json' : format.schema);
    throw new PromptError(
      `invalid format: ${JSON.stringify(raw)}; expected "json" or a valid JSON Schema object (${(e as Error).message.replace(/\s+/g, ' ').trim()})`,
    );
  }
  if (!afterThinking) return { grammar, grammarRoot: 'root' };
  // The trigger is replayed into the grammar from the start of its match, so the grammar begins
  // with the end tag itself, then a little whitespace, then the JSON.
  return {
    grammar: `${grammar}\nmoed-after-thinking ::= ${gbnfLiteral(afterThinking)} [ \\t\\n]{0,3} root\n`,
    grammarRoot: 'moed-after-thinking',
    grammarLazy: true,
    grammarTriggerPatterns: [escapeRegex(afterThinking)],
  };
}

/** common_grammar_trigger_type: TOKEN, WORD, PATTERN, PATTERN_FULL. */
export function toolGrammar(chat: ChatApplyResult): GrammarChoice | undefined {
  if (!chat.grammar) return undefined;
  const patterns: string[] = [];
  const tokens: number[] = [];
  for (const t of chat.grammarTriggers) {
    if (t.type === 0 && t.token !== undefined) tokens.push(t.token);
    else if (t.type === 1) patterns.push(escapeRegex(t.value));
    else if (t.type === 2) patterns.push(t.value);
    else if (t.type === 3) patterns.push(`^${t.value.replace(/^\^/, '').replace(/\$$/, '')}$`);
  }
  return {
    grammar: chat.grammar,
    grammarRoot: 'root',
    grammarLazy: chat.grammarLazy,
    grammarTriggerPatterns: patterns,
    grammarTriggerTokens: tokens,
  };
}
