// The interactive chat of `moed run`, as `ollama run` has it: `>>> ` prompts, `"""` for multi-line
// input, /set, /show, /load, /save, /clear, /bye, /? and history.
//
// Terminal handling: at the prompt the terminal is in raw mode and node's readline edits the line,
// so Ctrl-C there is a key, not a signal: it clears the line, and at an empty prompt says how to
// leave (a second Ctrl-C in a row leaves). While an answer streams, readline is paused and the
// terminal is back in cooked mode, so Ctrl-C is a real SIGINT: it aborts the HTTP request (the
// daemon stops generating at once) and brings back the prompt, keeping the partial answer in the
// conversation. Ctrl-D at an empty prompt, /bye and /exit leave.
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseParameterValue } from '../config/options.js';
import { moedHome } from '../config/env.js';
import { ApiError, isAbortError } from '../client/http.js';
import type { Ctx } from './context.js';
import { ansi } from './format.js';
import type { Message, RunOptions } from './run.js';
import { loadModel, parseThink, streamAnswer } from './run.js';
import type { ShowResponse } from '../api/types.js';
import { formatShowInfo } from './show.js';

export type Assembled =
  | { kind: 'more' }
  /** One line as typed: a command when it starts with "/". */
  | { kind: 'line'; text: string }
  /** Text from a \"\"\" block: always a message. */
  | { kind: 'message'; text: string }
  | { kind: 'system'; text: string };

/** Ollama's multi-line input: \"\"\" opens a block (a prompt, or `/set system \"\"\"`), a line ending in \"\"\" closes it. */
export class InputAssembler {
  private mode: 'none' | 'prompt' | 'system' = 'none';
  private lines: string[] = [];

  get continuing(): boolean {
    return this.mode !== 'none';
  }

  reset(): void {
    this.mode = 'none';
    this.lines = [];
  }

  feed(line: string): Assembled {
    if (this.mode !== 'none') {
      if (!line.endsWith('"""')) {
        this.lines.push(line);
        return { kind: 'more' };
      }
      this.lines.push(line.slice(0, -3));
      const text = this.lines.join('\n');
      const kind = this.mode === 'system' ? 'system' : 'message';
      this.reset();
      return { kind, text };
    }
    if (line.startsWith('"""')) {
      const rest = line.slice(3);
      if (rest.length >= 3 && rest.endsWith('"""')) return { kind: 'message', text: rest.slice(0, -3) };
      this.mode = 'prompt';
      this.lines = [rest];
      return { kind: 'more' };
    }
    const sys = /^\/set\s+system\s+"""(.*)$/s.exec(line);
    if (sys) {
      const rest = sys[1]!;
      if (rest.length >= 3 && rest.endsWith('"""')) return { kind: 'system', text: rest.slice(0, -3) };
      this.mode = 'system';
      this.lines = [rest];
      return { kind: 'more' };
    }
    return { kind: 'line', text: line };
  }
}

/** `/set parameter NAME VALUE...`: the value typed as the option's type (several for stop). */
export function parseSetParameter(name: string, values: string[]): unknown {
  const key = name.toLowerCase();
  if (key === 'stop') return values.map((v) => parseParameterValue('stop', v) as string[]).flat();
  if (values.length !== 1) throw new Error(`parameter '${key}' takes one value`);
  return parseParameterValue(key, values[0]!);
}

const HELP = `Available Commands:
  /set            Set session variables
  /show           Show model information
  /load <model>   Load a session or model
  /save <model>   Save your current session
  /clear          Clear session context
  /bye            Exit
  /?, /help       Help for a command
  /? shortcuts    Help for keyboard shortcuts

Use """ to begin a multi-line message.
`;

const HELP_SET = `Available Commands:
  /set parameter ...     Set a parameter
  /set system <string>   Set system message
  /set history           Enable history
  /set nohistory         Disable history
  /set wordwrap          Enable wordwrap
  /set nowordwrap        Disable wordwrap
  /set format json       Enable JSON mode
  /set noformat          Disable formatting
  /set verbose           Show LLM stats
  /set quiet             Disable LLM stats
  /set think             Enable thinking
  /set nothink           Disable thinking
  /set hidethinking      Hide thinking output
  /set showthinking      Show thinking output
`;

const HELP_SHORTCUTS = `Available keyboard shortcuts:
  Ctrl + a            Move to the beginning of the line (Home)
  Ctrl + e            Move to the end of the line (End)
   Alt + b            Move back (left) one word
   Alt + f            Move forward (right) one word
  Ctrl + k            Delete the sentence after the cursor
  Ctrl + u            Delete the sentence before the cursor
  Ctrl + w            Delete the word before the cursor

  Ctrl + l            Clear the screen
  Ctrl + c            Stop the model from responding
  Ctrl + d            Exit moed (/bye)
`;

const HELP_SHOW = `Available Commands:
  /show info         Show details for this model
  /show license      Show model license
  /show modelfile    Show Modelfile for this model
  /show parameters   Show parameters for this model
  /show system       Show system message
  /show template     Show prompt template
`;

const HELP_PARAMETERS = `Available Parameters:
  /set parameter seed <int>             Random number seed
  /set parameter num_predict <int>      Max number of tokens to predict
  /set parameter top_k <int>            Pick from top k num of tokens
  /set parameter top_p <float>          Pick token based on sum of probabilities
  /set parameter min_p <float>          Pick token based on top token probability * min_p
  /set parameter num_ctx <int>          Set the context size
  /set parameter temperature <float>    Set creativity level
  /set parameter repeat_penalty <float> How strongly to penalize repetitions
  /set parameter repeat_last_n <int>    Set how far back to look for repetitions
  /set parameter num_gpu <int>          The number of layers to send to the GPU
  /set parameter rules <name|path>      The placement rule file (moed)
  /set parameter stop <string> <string> ...   Set the stop parameters
`;

const PLACEHOLDER = 'Send a message (/? for help)';
const HISTORY_LINES = 1000;

export class Repl {
  private rl?: readline.Interface;
  private assembler = new InputAssembler();
  private pending: string[] = [];
  private flushTimer?: NodeJS.Timeout;
  private work: Promise<void> = Promise.resolve();
  private abort?: AbortController;
  private busy = false;
  private lastInterrupt = false;
  private placeholderShown = false;
  private historyEnabled = true;
  private readonly historyFile = path.join(moedHome(), 'history');
  private done!: (code: number) => void;
  private finished = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly opts: RunOptions,
  ) {}

  private get out() {
    return this.ctx.io.stdout;
  }

  private print(text: string): void {
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  private readHistory(): string[] {
    try {
      return readFileSync(this.historyFile, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_LINES).reverse();
    } catch {
      return [];
    }
  }

  private async saveHistory(line: string): Promise<void> {
    if (!this.historyEnabled || !line.trim()) return;
    await fs.mkdir(path.dirname(this.historyFile), { recursive: true }).catch(() => {});
    await fs.appendFile(this.historyFile, `${line.replace(/\n/g, ' ')}\n`).catch(() => {});
  }

  async run(): Promise<number> {
    const { stdin } = this.ctx.io;
    const loaded = new AbortController();
    this.abort = loaded;
    const onSignal = () => this.onSignal();
    process.on('SIGINT', onSignal);
    try {
      try {
        await loadModel(this.ctx, this.opts, loaded.signal);
      } catch (e) {
        if (isAbortError(e)) return 130;
        throw e;
      } finally {
        this.abort = undefined;
      }
      for (const m of this.opts.loadedMessages) {
        if (m.role === 'user') this.print(`>>> ${m.content}`);
        else if (m.role === 'assistant') this.print(`${m.content}\n`);
      }
      const rl = readline.createInterface({
        input: stdin,
        output: this.out,
        terminal: true,
        history: this.readHistory(),
        historySize: HISTORY_LINES,
        removeHistoryDuplicates: true,
        prompt: '>>> ',
        tabSize: 4,
      });
      this.rl = rl;
      rl.on('line', (line) => this.onLine(line));
      rl.on('SIGINT', () => this.onInterrupt());
      rl.on('close', () => this.finish(0, true));
      // Before readline's own listener: the placeholder goes before a key is echoed.
      stdin.prependListener('keypress', this.onKeypress);
      const code = await new Promise<number>((resolve) => {
        this.done = resolve;
        this.prompt();
      });
      return code;
    } finally {
      stdin.off('keypress', this.onKeypress);
      process.off('SIGINT', onSignal);
      clearTimeout(this.flushTimer);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
    }
  }

  private readonly onKeypress = (_s: string, key: { name?: string; ctrl?: boolean } | undefined) => {
    if (!(key?.ctrl && key.name === 'c')) this.lastInterrupt = false;
    if (this.placeholderShown) {
      this.placeholderShown = false;
      this.out.write(ansi.clearToEnd);
    }
  };

  private finish(code: number, eof = false): void {
    if (this.finished) return;
    this.finished = true;
    if (eof) this.out.write('\n');
    const rl = this.rl;
    this.rl = undefined;
    rl?.close();
    this.done(code);
  }

  private prompt(): void {
    const rl = this.rl;
    if (!rl || this.finished) return;
    const { stdin } = this.ctx.io;
    if (stdin.isTTY) stdin.setRawMode(true);
    rl.setPrompt(this.assembler.continuing ? '... ' : '>>> ');
    rl.prompt();
    if (this.out.isTTY && rl.line === '') {
      const text = this.assembler.continuing ? 'Press Enter to send' : PLACEHOLDER;
      this.out.write(`${ansi.dim}${text}${ansi.reset}\x1b[${text.length}D`);
      this.placeholderShown = true;
    }
  }

  /** Lines that arrive together (a paste) are taken together. */
  private onLine(line: string): void {
    this.placeholderShown = false;
    this.pending.push(line);
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => {
      const lines = this.pending.splice(0);
      this.work = this.work.then(() => this.handle(lines)).catch((e) => this.print(`Error: ${(e as Error).message}`));
    }, 10);
  }

  /** Ctrl-C at the prompt (a key: the terminal is raw there). */
  private onInterrupt(): void {
    const rl = this.rl;
    if (!rl || this.busy) return;
    const empty = rl.line === '' && !this.assembler.continuing;
    this.out.write('\n');
    if (empty) {
      if (this.lastInterrupt) {
        this.finish(0);
        return;
      }
      this.print('Use Ctrl + d or /bye to exit.');
      this.lastInterrupt = true;
    }
    this.assembler.reset();
    // Drop the text typed so far and start a fresh prompt.
    const state = rl as unknown as { line: string; cursor: number; prevRows?: number };
    state.line = '';
    state.cursor = 0;
    state.prevRows = 0;
    this.prompt();
  }

  /** SIGINT: only while an answer streams (the terminal is cooked then). */
  private onSignal(): void {
    this.abort?.abort();
  }

  private async handle(lines: string[]): Promise<void> {
    this.busy = true;
    this.rl?.pause();
    try {
      if (lines.length > 1 && !this.assembler.continuing && !lines[0]!.startsWith('"""') && !lines[0]!.startsWith('/')) {
        // A pasted block of lines is one message.
        await this.saveHistory(lines.join(' '));
        await this.send(lines.join('\n'));
        return;
      }
      for (const line of lines) {
        if (this.finished) return;
        await this.saveHistory(line);
        const r = this.assembler.feed(line);
        switch (r.kind) {
          case 'more':
            break;
          case 'message':
            if (r.text.trim()) await this.send(r.text);
            break;
          case 'system':
            this.setSystem(r.text);
            break;
          case 'line':
            if (r.text.startsWith('/')) await this.command(r.text);
            else if (r.text.trim()) await this.send(r.text);
            break;
        }
      }
    } finally {
      this.busy = false;
      if (!this.finished) this.prompt();
    }
  }

  private setSystem(text: string): void {
    this.opts.system = text;
    const msg: Message = { role: 'system', content: text };
    const last = this.opts.messages.at(-1);
    if (last?.role === 'system') this.opts.messages[this.opts.messages.length - 1] = msg;
    else this.opts.messages.push(msg);
    this.print('Set system message.');
  }

  /** One chat turn; Ctrl-C stops it and keeps what was said so far. */
  private async send(text: string): Promise<void> {
    const { stdin } = this.ctx.io;
    if (stdin.isTTY) stdin.setRawMode(false);
    const controller = new AbortController();
    this.abort = controller;
    const user: Message = { role: 'user', content: text };
    this.opts.messages.push(user);
    try {
      const result = await streamAnswer(
        this.ctx,
        '/api/chat',
        {
          model: this.opts.model,
          messages: [...this.opts.loadedMessages, ...this.opts.messages],
          format: this.opts.format,
          options: this.opts.options,
          keep_alive: this.opts.keepAlive,
          think: this.opts.think,
        },
        this.opts,
        controller.signal,
        '\n\n',
      );
      if (result.content || result.thinking) {
        this.opts.messages.push({ role: 'assistant', content: result.content, thinking: result.thinking || undefined });
      } else {
        this.opts.messages.pop();
      }
    } catch (e) {
      this.opts.messages.pop();
      this.print(`Error: ${(e as Error).message}`);
    } finally {
      this.abort = undefined;
    }
  }

  private async command(line: string): Promise<void> {
    const args = line.trim().split(/\s+/);
    const cmd = args[0]!;
    switch (cmd) {
      case '/bye':
      case '/exit':
        this.finish(0);
        return;
      case '/?':
      case '/help':
        if (args[1] === 'set' || args[1] === '/set') this.ctx.io.stderr.write(`${HELP_SET}\n`);
        else if (args[1] === 'show' || args[1] === '/show') this.ctx.io.stderr.write(`${HELP_SHOW}\n`);
        else if (args[1] === 'shortcut' || args[1] === 'shortcuts') this.ctx.io.stderr.write(`${HELP_SHORTCUTS}\n`);
        else this.ctx.io.stderr.write(`${HELP}\n`);
        return;
      case '/clear':
        this.opts.messages = this.opts.system ? [{ role: 'system', content: this.opts.system }] : [];
        this.print('Cleared session context');
        return;
      case '/set':
        return this.set(args, line);
      case '/show':
        return this.show(args[1]);
      case '/load':
        return this.load(args);
      case '/save':
        return this.save(args);
      case '/list': {
        const { models } = await this.ctx.client.json<{ models: { name: string }[] }>('GET', '/api/tags');
        this.print(models.map((m) => m.name).join('\n') || 'No models.');
        return;
      }
    }
    this.print(`Unknown command '${cmd}'. Type /? for help`);
  }

  private set(args: string[], line: string): void {
    const o = this.opts;
    switch (args[1]) {
      case undefined:
        this.ctx.io.stderr.write(`${HELP_SET}\n`);
        return;
      case 'history':
        this.historyEnabled = true;
        this.print("Set 'history' mode.");
        return;
      case 'nohistory':
        this.historyEnabled = false;
        this.print("Set 'nohistory' mode.");
        return;
      case 'wordwrap':
        o.wordWrap = true;
        this.print("Set 'wordwrap' mode.");
        return;
      case 'nowordwrap':
        o.wordWrap = false;
        this.print("Set 'nowordwrap' mode.");
        return;
      case 'verbose':
        o.verbose = true;
        this.print("Set 'verbose' mode.");
        return;
      case 'quiet':
        o.verbose = false;
        this.print("Set 'quiet' mode.");
        return;
      case 'hidethinking':
        o.hideThinking = true;
        this.print("Set 'hidethinking' mode.");
        return;
      case 'showthinking':
        o.hideThinking = false;
        this.print("Set 'showthinking' mode.");
        return;
      case 'think': {
        try {
          o.think = parseThink(args[2] ?? 'true');
        } catch (e) {
          this.print(`error: ${(e as Error).message.replace('--think', '/set think')}`);
          return;
        }
        o.thinkExplicit = true;
        this.print(args[2] ? `Set 'think' mode to '${args[2]}'.` : "Set 'think' mode.");
        return;
      }
      case 'nothink':
        o.think = false;
        o.thinkExplicit = true;
        this.print("Set 'nothink' mode.");
        return;
      case 'format':
        if (args[2] !== 'json') {
          this.print("Invalid or missing format. For 'json' mode use '/set format json'");
          return;
        }
        o.format = 'json';
        this.print("Set format to 'json' mode.");
        return;
      case 'noformat':
        o.format = undefined;
        this.print('Disabled format.');
        return;
      case 'parameter': {
        if (args.length < 4) {
          this.ctx.io.stderr.write(`${HELP_PARAMETERS}\n`);
          return;
        }
        const name = args[2]!.toLowerCase();
        const values = args.slice(3);
        try {
          o.options[name] = parseSetParameter(name, values);
        } catch (e) {
          this.print(`Couldn't set parameter: "${(e as Error).message}"`);
          return;
        }
        this.print(`Set parameter '${name}' to '${values.join(', ')}'`);
        return;
      }
      case 'system': {
        const text = line.replace(/^\s*\/set\s+system\s*/, '').replace(/^"(.*)"$/s, '$1');
        if (!text) {
          this.ctx.io.stderr.write(`${HELP_SET}\n`);
          return;
        }
        this.setSystem(text);
        return;
      }
    }
    this.print(`Unknown command '/set ${args[1]}'. Type /? for help`);
  }

  private async show(what: string | undefined): Promise<void> {
    if (!what) {
      this.ctx.io.stderr.write(`${HELP_SHOW}\n`);
      return;
    }
    const o = this.opts;
    const resp = await this.ctx.client.json<ShowResponse>('POST', '/api/show', {
      model: o.model,
      system: o.system,
      options: Object.keys(o.options).length ? o.options : undefined,
    });
    switch (what) {
      case 'info':
        this.out.write(formatShowInfo(resp, false));
        this.out.write('\n');
        return;
      case 'license':
        this.print(resp.license || 'No license was specified for this model.');
        return;
      case 'modelfile':
        this.print(resp.modelfile ?? '');
        return;
      case 'parameters': {
        const lines = ['Model defined parameters:'];
        if (!resp.parameters) lines.push('  No additional parameters were specified for this model.');
        else for (const l of resp.parameters.split('\n')) lines.push(`  ${l}`);
        lines.push('');
        const user = Object.entries(o.options);
        if (user.length) {
          lines.push('User defined parameters:');
          for (const [k, v] of user) for (const item of Array.isArray(v) ? v : [v]) lines.push(`  ${k.padEnd(30)} ${String(item)}`);
          lines.push('');
        }
        this.print(lines.join('\n'));
        return;
      }
      case 'system':
        this.print(o.system ? `${o.system}\n` : resp.system ? `${resp.system}\n` : 'No system message was specified for this model.');
        return;
      case 'template':
        this.print(resp.template || 'No prompt template was specified for this model.');
        return;
    }
    this.print(`Unknown command '/show ${what}'. Type /? for help`);
  }

  private async load(args: string[]): Promise<void> {
    if (args.length !== 2) {
      this.print('Usage:\n  /load <modelname>');
      return;
    }
    const name = args[1]!;
    this.print(`Loading model '${name}'`);
    let info: ShowResponse;
    try {
      info = await this.ctx.client.json<ShowResponse>('POST', '/api/show', { model: name });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        this.print(`Couldn't find model '${name}'`);
        return;
      }
      throw e;
    }
    const previous = { model: this.opts.model, messages: this.opts.messages, loaded: this.opts.loadedMessages, think: this.opts.think };
    this.opts.model = name;
    this.opts.messages = [];
    this.opts.loadedMessages = info.messages ?? [];
    if (!this.opts.thinkExplicit) this.opts.think = info.capabilities?.includes('thinking') ? true : undefined;
    const controller = new AbortController();
    this.abort = controller;
    if (this.ctx.io.stdin.isTTY) this.ctx.io.stdin.setRawMode(false);
    try {
      await loadModel(this.ctx, this.opts, controller.signal);
    } catch (e) {
      Object.assign(this.opts, { model: previous.model, messages: previous.messages, loadedMessages: previous.loaded, think: previous.think });
      if (isAbortError(e)) return;
      this.print(`error: ${(e as Error).message}`);
    } finally {
      this.abort = undefined;
    }
  }

  private async save(args: string[]): Promise<void> {
    if (args.length !== 2) {
      this.print('Usage:\n  /save <modelname>');
      return;
    }
    const o = this.opts;
    const messages = [...o.loadedMessages, ...o.messages].map((m) => ({ role: m.role, content: m.content }));
    try {
      for await (const _ of this.ctx.client.stream('/api/create', {
        model: args[1],
        from: o.model,
        system: o.system,
        parameters: Object.keys(o.options).length ? o.options : undefined,
        messages: messages.length ? messages : undefined,
        stream: true,
      })) {
        // progress is not shown for a save
      }
    } catch (e) {
      if (/invalid model name/i.test((e as Error).message)) {
        this.print(`error: The model name '${args[1]}' is invalid`);
        return;
      }
      throw e;
    }
    this.print(`Created new model '${args[1]}'`);
  }
}
