// `moed run MODEL [PROMPT]`, as `ollama run`: /api/show first (a model that is not here is
// pulled), then the model is loaded with an empty /api/generate while a spinner shows the time
// passing (loading R1 takes minutes), then either one answer (a prompt given as arguments or on
// stdin; /api/generate) or the interactive chat (/api/chat; see repl.ts).
import { parseDuration } from '../config/duration.js';
import { ApiError, isAbortError } from '../client/http.js';
import { AnswerWriter } from './answer.js';
import type { CommandSpec, Parsed } from './args.js';
import type { Ctx } from './context.js';
import type { Metrics } from '../api/types.js';
import { metricsSummary } from './format.js';
import { pull } from './models.js';
import { LiveView, Spinner } from './progress.js';
import { Repl } from './repl.js';
import type { ShowResponse } from '../api/types.js';

export const runSpec: CommandSpec = {
  name: 'run',
  usage: 'run MODEL [PROMPT]',
  short: 'Run a model',
  long: `Run a model: chat with it in the terminal, or answer one prompt (given as arguments or on stdin) and exit.`,
  args: { min: 1 },
  flags: [
    { name: 'keepalive', type: 'string', valueName: 'string', help: 'Duration to keep a model loaded (e.g. 5m)' },
    { name: 'verbose', type: 'bool', help: 'Show timings for response' },
    { name: 'insecure', type: 'bool', help: 'Use an insecure registry' },
    { name: 'nowordwrap', type: 'bool', help: "Don't wrap words to the next line automatically" },
    { name: 'format', type: 'string', help: 'Response format (e.g. json, or a JSON schema)' },
    { name: 'think', type: 'string', noValue: 'true', help: 'Enable thinking mode: true/false or high/medium/low for supported models' },
    { name: 'hidethinking', type: 'bool', help: 'Hide thinking output (if provided)' },
    { name: 'truncate', type: 'bool', help: 'For embedding models: truncate inputs exceeding context length (default: true). Set --truncate=false to error instead' },
    { name: 'dimensions', type: 'string', valueName: 'int', help: 'Truncate output embeddings to specified dimension (embedding models only)' },
  ],
  env: [
    ['OLLAMA_HOST', 'IP Address for the moed server (default 127.0.0.1:11434)'],
    ['MOED_API_KEY', 'Sent as a bearer token, to a daemon that requires one'],
  ],
  examples: ['moed run deepseek-r1', 'moed run deepseek-r1 "Why is the sky blue?"', 'echo "Summarize:" | moed run deepseek-r1 --hidethinking'],
};

export type Think = boolean | 'low' | 'medium' | 'high' | 'max';

export interface Message {
  role: string;
  content: string;
  thinking?: string;
}

/** Everything a run session carries (ollama's runOptions). */
export interface RunOptions {
  model: string;
  parentModel?: string;
  /** MESSAGEs of the Modelfile, shown at the start and sent before the session's own. */
  loadedMessages: Message[];
  messages: Message[];
  system?: string;
  options: Record<string, unknown>;
  format?: unknown;
  keepAlive?: string | number;
  think?: Think;
  thinkExplicit: boolean;
  hideThinking: boolean;
  wordWrap: boolean;
  verbose: boolean;
}

export function parseThink(value: string): Think {
  switch (value) {
    case '':
    case 'true':
      return true;
    case 'false':
      return false;
    case 'low':
    case 'medium':
    case 'high':
    case 'max':
      return value;
  }
  throw new Error(`invalid value for --think: "${value}" (must be true, false, high, medium, low, or max)`);
}

/** --keepalive: a Go duration ("5m", "1h", "-1m" forever, "0" unload now), or whole seconds. */
export function parseKeepAlive(value: string): string | number {
  if (/^-?\d+$/.test(value.trim())) return Number(value);
  parseDuration(value); // throws Go's message
  return value.trim();
}

/** --format: "json", or a JSON schema given as JSON text. */
export function parseFormat(value: string): unknown {
  const v = value.trim();
  if (v === '') return undefined;
  if (v === 'json') return 'json';
  if (v.startsWith('{')) {
    try {
      return JSON.parse(v);
    } catch (e) {
      throw new Error(`invalid --format: the JSON schema does not parse: ${(e as Error).message}`);
    }
  }
  throw new Error(`invalid --format "${value}": use json, or a JSON schema such as '{"type":"object",...}'`);
}

/** The show answer, pulling the model first when it is not here (as ollama run does). */
export async function showOrPull(ctx: Ctx, model: string, insecure: boolean): Promise<ShowResponse> {
  try {
    return await ctx.client.json<ShowResponse>('POST', '/api/show', { model });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  try {
    await pull(ctx, model, insecure);
  } catch (e) {
    throw new Error(`model '${model}' is not here, and pulling it failed: ${(e as Error).message}`);
  }
  return ctx.client.json<ShowResponse>('POST', '/api/show', { model });
}

/**
 * Runs `work` with a spinner on stderr (when it is a terminal); `elapsed` adds the time so far,
 * for waits that take minutes. The spinner is erased when the work ends.
 */
export async function withSpinner<T>(ctx: Ctx, message: string, elapsed: boolean, work: (clear: () => void) => Promise<T>): Promise<T> {
  const live = ctx.io.stderr.isTTY ? new LiveView(ctx.io.stderr) : undefined;
  live?.add(new Spinner(message, Date.now(), elapsed));
  live?.render();
  const clear = () => live?.stopAndClear();
  try {
    return await work(clear);
  } finally {
    clear();
  }
}

/** Loads (or, with keep_alive 0, unloads) a model: an empty /api/generate, as ollama does. */
export async function loadModel(ctx: Ctx, opts: RunOptions, signal?: AbortSignal): Promise<void> {
  await withSpinner(ctx, `loading ${opts.model}`, true, () =>
    ctx.client.json('POST', '/api/generate', { model: opts.model, keep_alive: opts.keepAlive, think: opts.think }, { signal }),
  );
}

export interface AnswerResult {
  content: string;
  thinking: string;
  aborted: boolean;
  metrics?: Metrics;
}

interface StreamPart extends Metrics {
  done?: boolean;
  response?: string;
  thinking?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: unknown[] };
}

/**
 * Streams one answer onto the terminal: a spinner until the first output, thinking apart, the
 * metrics after with --verbose. Aborting `signal` (Ctrl-C) ends the request and returns what came.
 */
export async function streamAnswer(
  ctx: Ctx,
  path: '/api/chat' | '/api/generate',
  body: Record<string, unknown>,
  opts: Pick<RunOptions, 'hideThinking' | 'wordWrap' | 'verbose'>,
  signal: AbortSignal,
  trailer: string,
): Promise<AnswerResult> {
  const out = ctx.io.stdout;
  const result: AnswerResult = { content: '', thinking: '', aborted: false };
  await withSpinner(ctx, '', false, async (clearSpinner) => {
    const writer = new AnswerWriter(
      out,
      { tty: out.isTTY === true, wordWrap: opts.wordWrap, hideThinking: opts.hideThinking, width: () => out.columns ?? 80 },
      clearSpinner,
    );
    try {
      for await (const part of ctx.client.stream<StreamPart>(path, { ...body, stream: true }, { signal })) {
        const thinking = part.message?.thinking ?? part.thinking ?? '';
        const content = part.message?.content ?? part.response ?? '';
        result.thinking += thinking;
        result.content += content;
        writer.thinking(thinking);
        writer.content(content);
        for (const call of part.message?.tool_calls ?? []) {
          const fn = (call as { function?: { name?: string; arguments?: unknown } }).function;
          writer.content(`\n  Model called a non-existent function '${fn?.name ?? '?'}()' with arguments: ${JSON.stringify(fn?.arguments ?? {})}\n`);
        }
        if (part.done) result.metrics = part;
      }
    } catch (e) {
      if (!isAbortError(e) && !signal.aborted) {
        writer.finish(writer.wrote ? '\n' : '');
        throw e;
      }
      result.aborted = true;
    }
    clearSpinner();
    writer.finish(trailer);
  });
  if (opts.verbose && result.metrics && !result.aborted) ctx.io.stderr.write(`${metricsSummary(result.metrics)}\n`);
  return result;
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export async function runCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const model = p.args[0]!;
  const flags = p.flags;
  const opts: RunOptions = {
    model,
    loadedMessages: [],
    messages: [],
    options: {},
    thinkExplicit: typeof flags.think === 'string',
    think: typeof flags.think === 'string' ? parseThink(flags.think) : undefined,
    hideThinking: flags.hidethinking === true,
    wordWrap: flags.nowordwrap !== true,
    verbose: flags.verbose === true,
    keepAlive: typeof flags.keepalive === 'string' ? parseKeepAlive(flags.keepalive) : undefined,
    format: typeof flags.format === 'string' ? parseFormat(flags.format) : undefined,
  };

  const prompts = p.args.slice(1);
  let interactive = prompts.length === 0;
  if (!ctx.io.stdin.isTTY) {
    const input = await readAll(ctx.io.stdin);
    if (input.length > 0) prompts.unshift(input);
    interactive = false;
  }
  if (!ctx.io.stdout.isTTY) interactive = false;
  const prompt = prompts.join(' ');

  const info = await showOrPull(ctx, model, flags.insecure === true);
  const caps = info.capabilities ?? [];
  if (!opts.thinkExplicit && caps.includes('thinking')) opts.think = true;
  opts.loadedMessages = info.messages ?? [];

  if (caps.includes('embedding') && !caps.includes('completion')) {
    if (!prompt) throw new Error(`embedding models require input text. Usage: moed run ${model} "your text here"`);
    const dims = typeof flags.dimensions === 'string' ? Number(flags.dimensions) : 0;
    if (!Number.isInteger(dims) || dims < 0) throw new Error(`invalid argument "${flags.dimensions}" for "--dimensions" flag`);
    const resp = await ctx.client.json<{ embeddings: number[][] }>('POST', '/api/embed', {
      model,
      input: prompt,
      keep_alive: opts.keepAlive,
      truncate: typeof flags.truncate === 'boolean' ? flags.truncate : undefined,
      dimensions: dims > 0 ? dims : undefined,
    });
    if (!resp.embeddings?.length) throw new Error('no embeddings returned');
    ctx.io.stdout.write(`${JSON.stringify(resp.embeddings[0])}\n`);
    return 0;
  }

  // Ctrl-C while loading or answering stops the request (and the program: this is not the chat).
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  if (!interactive) process.on('SIGINT', onSigint);
  try {
    if (interactive) {
      return await new Repl(ctx, opts).run();
    }
    await loadModel(ctx, opts, controller.signal).catch((e) => {
      if (isAbortError(e)) return;
      throw e;
    });
    if (controller.signal.aborted) return 130;
    if (!prompt) return 0;
    const result = await streamAnswer(
      ctx,
      '/api/generate',
      { model, prompt, format: opts.format, options: opts.options, keep_alive: opts.keepAlive, think: opts.think },
      opts,
      controller.signal,
      '\n',
    );
    return result.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
