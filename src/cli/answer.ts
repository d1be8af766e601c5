// How an answer streams onto the terminal, as `ollama run` shows it: thinking apart ("Thinking...",
// dimmed, "...done thinking."), then the answer, wrapped at word boundaries to the terminal's width.
// On a terminal, control characters a model samples (an escape sequence could reprogram the
// terminal) are shown as U+FFFD; in a pipe the text is passed through untouched.
import { ansi, charWidth, stringWidth, terminalSafe } from './format.js';
import type { Output } from './progress.js';

export interface AnswerOptions {
  tty: boolean;
  wordWrap: boolean;
  hideThinking: boolean;
  /** Terminal width; 80 when unknown. */
  width?: () => number;
}

export class AnswerWriter {
  private thinkOpen = false;
  private lineLength = 0;
  private word = '';
  private lastChar = '\n';
  /** Something was written (the spinner is cleared before the first write). */
  wrote = false;

  constructor(
    private readonly out: Output,
    private readonly opts: AnswerOptions,
    private readonly beforeFirstWrite: () => void = () => {},
  ) {}

  private width(): number {
    const w = this.opts.width?.() ?? 0;
    return w > 0 ? w : 80;
  }

  private raw(s: string): void {
    if (s === '') return;
    if (!this.wrote) {
      this.wrote = true;
      this.beforeFirstWrite();
    }
    this.out.write(s);
  }

  /** Text of the model, word-wrapped on a terminal. */
  private text(s: string): void {
    if (s === '') return;
    const text = this.opts.tty ? terminalSafe(s) : s;
    this.lastChar = text.at(-1) ?? this.lastChar;
    const width = this.width();
    if (!this.opts.tty || !this.opts.wordWrap || width < 10) {
      this.raw(text);
      return;
    }
    let buf = '';
    const limit = width - 5;
    for (const ch of text) {
      const w = charWidth(ch.codePointAt(0)!);
      if (ch === '\n') {
        buf += ch;
        this.lineLength = 0;
        this.word = '';
        continue;
      }
      if (ch === '\t') {
        // Spaces to the next tab stop, so the column count stays true.
        const n = 8 - (this.lineLength % 8);
        if (this.lineLength + n > limit) {
          buf += '\n';
          this.lineLength = 0;
        } else {
          buf += ' '.repeat(n);
          this.lineLength += n;
        }
        this.word = '';
        continue;
      }
      if (this.lineLength + w > limit) {
        if (ch === ' ') {
          // Break at the space itself.
          buf += '\n';
          this.lineLength = 0;
          this.word = '';
          continue;
        }
        const ww = stringWidth(this.word);
        if (this.word !== '' && ww < width - 10) {
          // Move the word being written to the next line.
          buf += `\x1b[${ww}D${ansi.clearToEnd}\n${this.word}${ch}`;
          this.lineLength = ww + w;
          this.word += ch;
        } else {
          buf += `\n${ch}`;
          this.lineLength = w;
          this.word = w >= 2 ? '' : ch;
        }
        continue;
      }
      buf += ch;
      this.lineLength += w;
      if (ch === ' ' || w >= 2) this.word = '';
      else this.word += ch;
    }
    this.raw(buf);
  }

  thinking(s: string): void {
    if (!s || this.opts.hideThinking) return;
    if (!this.thinkOpen) {
      this.thinkOpen = true;
      this.raw(this.opts.tty ? `${ansi.dim}Thinking...\n` : 'Thinking...\n');
      this.lineLength = 0;
      this.word = '';
      this.lastChar = '\n';
    }
    this.text(s);
  }

  private closeThinking(): void {
    if (!this.thinkOpen) return;
    this.thinkOpen = false;
    const nl = this.lastChar === '\n' ? '' : '\n';
    this.raw(this.opts.tty ? `${nl}...done thinking.${ansi.reset}\n\n` : `${nl}...done thinking.\n\n`);
    this.lineLength = 0;
    this.word = '';
    this.lastChar = '\n';
  }

  content(s: string): void {
    if (!s) return;
    this.closeThinking();
    this.text(s);
  }

  /** Ends the answer: the terminal's colours are restored and the cursor is on a fresh line. */
  finish(trailer: string): void {
    if (this.thinkOpen && this.opts.tty) this.out.write(ansi.reset);
    this.thinkOpen = false;
    if (this.wrote) this.out.write(trailer);
  }
}
