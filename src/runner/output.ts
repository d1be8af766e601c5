// Shapes one sequence's raw text into the events the daemon streams: reasoning apart from the
// answer (template/thinking.ts, which knows R1's prompt that opens `<think>`), and, when the request
// has tools, complete tool calls parsed out of the answer by llama-common's chat parser (built by
// chatApply for the template in use). Tool calls are sent whole: each once the next one begins,
// the last when the generation ends.
import type { ChatParser, ParsedChatMessage } from '../binding/types.js';
import type { GenerateEvent } from '../engine/types.js';
import { ThinkingSplitter } from '../template/thinking.js';

export interface ShaperOptions {
  /** Separate reasoning from the answer. */
  thinking: boolean;
  /** The prompt ends inside an open thinking block. */
  open: boolean;
  startTag: string;
  endTag: string;
  /** Parses tool calls out of the answer; absent when the request has no tools. */
  parser?: ChatParser;
}

type Emit = (event: GenerateEvent) => void;

export class OutputShaper {
  private readonly splitter: ThinkingSplitter;
  private readonly parser?: ChatParser;
  /** The whole answer so far (tools mode). */
  private answer = '';
  /** The part of the parsed content already sent. */
  private sentContent = '';
  private sentCalls = 0;

  constructor(
    options: ShaperOptions,
    private readonly emit: Emit,
  ) {
    this.splitter = new ThinkingSplitter(options.open, options.thinking, options.startTag, options.endTag);
    this.parser = options.parser;
  }

  /** Raw text from the model (stop strings already applied). */
  push(text: string): void {
    const s = this.splitter.push(text);
    if (s.thinking) this.emit({ type: 'thinking', text: s.thinking });
    if (s.content) this.answerText(s.content, true);
  }

  /** The generation ended: whatever was held back, then the final parse. */
  finish(): void {
    const s = this.splitter.flush();
    if (s.thinking) this.emit({ type: 'thinking', text: s.thinking });
    if (!this.parser) {
      if (s.content) this.emit({ type: 'text', text: s.content });
      return;
    }
    this.answer += s.content;
    let parsed: ParsedChatMessage | undefined;
    try {
      parsed = this.parser.parse(this.answer, false);
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      // Not the template's tool syntax after all: the rest is plain content.
      if (this.sentCalls === 0 && this.answer.startsWith(this.sentContent)) {
        const rest = this.answer.slice(this.sentContent.length);
        if (rest) this.emit({ type: 'text', text: rest });
      }
      return;
    }
    this.sendParsed(parsed, true);
  }

  private answerText(text: string, partial: boolean): void {
    if (!this.parser) {
      this.emit({ type: 'text', text });
      return;
    }
    this.answer += text;
    let parsed: ParsedChatMessage;
    try {
      parsed = this.parser.parse(this.answer, partial);
    } catch {
      return; // not decidable yet
    }
    this.sendParsed(parsed, false);
  }

  private sendParsed(parsed: ParsedChatMessage, final: boolean): void {
    if (parsed.content.length > this.sentContent.length && parsed.content.startsWith(this.sentContent)) {
      this.emit({ type: 'text', text: parsed.content.slice(this.sentContent.length) });
      this.sentContent = parsed.content;
    }
    for (let i = this.sentCalls; i < parsed.toolCalls.length; i++) {
      const call = parsed.toolCalls[i]!;
      // A call is complete once a later one began (or the generation ended). A partial parse may
      // already show arguments that look whole, but some formats stream them key by key.
      const complete = (final || i < parsed.toolCalls.length - 1) && isJsonObject(call.arguments);
      if (!complete || !call.name) break;
      this.emit({ type: 'tool_call', name: call.name, arguments: call.arguments });
      this.sentCalls = i + 1;
    }
  }
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}
