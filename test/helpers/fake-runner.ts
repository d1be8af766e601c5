// A scripted stand-in for a runner process: the server tests drive the real Koa app, services and
// scheduler against it, with no native code. Like the real runner, it separates the reasoning of
// its scripted text (template/thinking.ts) and sends tool calls whole.
import { MoedError } from '../../src/errors/index.js';
import type { EngineRunner, RunnerFactory } from '../../src/engine/runner.js';
import type { EmbedParams, EmbedResult, GenerateEvent, GenerateParams, LoadParams } from '../../src/engine/types.js';
import { ThinkingSplitter } from '../../src/template/thinking.js';

export interface Script {
  /** The prompt leaves the model inside <think>. */
  thinkingOpen: boolean;
  pieces: string[];
  /** Tool calls sent after the pieces (arguments: JSON text). */
  toolCalls?: { name: string; arguments: string }[];
  reason?: 'stop' | 'length';
  /** Delay between pieces, in ms. */
  delayMs?: number;
  /** Fail after this many pieces, as a crashed runner would. */
  crashAfter?: number;
  /** Fail before the start event with this error, as a runner refusing the prompt would. */
  refuse?: MoedError;
  /** Prompt tokens reported (default 10). */
  promptTokens?: number;
  /** Of those, found in the KV cache (default 0): left out of promptEvalCount, as the runner does. */
  cachedTokens?: number;
}

export const FAKE_CONTEXT_PROMPT = [1, 2, 3];

/** A deterministic, unnormalized vector for a text: [length, 1, 2, 3, 4, 5, 6, 7] scaled. */
export function fakeVector(text: string): Float32Array {
  return Float32Array.from([text.length, 1, 2, 3, 4, 5, 6, 7]);
}

export class FakeRunner implements EngineRunner {
  alive = true;
  readonly info = { nCtx: 4096, nCtxSeq: 4096, nSeqMax: 4, vramBytes: 0, ramBytes: 1 << 20 };
  readonly requests: GenerateParams[] = [];
  readonly embedRequests: EmbedParams[] = [];
  cancelled = 0;

  constructor(
    readonly params: LoadParams,
    private readonly script: () => Script,
  ) {}

  generate(params: GenerateParams, signal: AbortSignal): AsyncIterable<GenerateEvent> {
    this.requests.push(params);
    const script = this.script();
    const self = this;
    return (async function* () {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      if (script.refuse) throw script.refuse;
      const promptTokens = script.promptTokens ?? 10;
      const cachedTokens = script.cachedTokens ?? 0;
      yield { type: 'start', promptTokens, cachedTokens, truncated: false } satisfies GenerateEvent;
      const splitter = new ThinkingSplitter(script.thinkingOpen, params.thinking);
      const split = function* (s: { thinking: string; content: string }): Generator<GenerateEvent> {
        if (s.thinking) yield { type: 'thinking', text: s.thinking };
        if (s.content) yield { type: 'text', text: s.content };
      };
      let n = 0;
      for (const text of script.pieces) {
        if (script.delayMs) await sleep(script.delayMs);
        if (signal.aborted) {
          self.cancelled++;
          throw new MoedError('REQUEST_CANCELED', 'request canceled');
        }
        if (script.crashAfter !== undefined && n === script.crashAfter) {
          self.alive = false;
          throw new MoedError('RUNNER_CRASHED', 'model runner stopped unexpectedly (signal SIGKILL)');
        }
        n++;
        yield* split(splitter.push(text));
      }
      yield* split(splitter.flush());
      for (const call of script.toolCalls ?? []) yield { type: 'tool_call', ...call } satisfies GenerateEvent;
      const evalCount = script.pieces.length + (script.toolCalls?.length ?? 0);
      yield {
        type: 'done',
        reason: script.reason ?? 'stop',
        promptEvalCount: promptTokens - cachedTokens,
        promptEvalNs: 1_500_000,
        evalCount,
        evalNs: 2_500_000,
        cachedTokens,
        ...(params.returnTokens
          ? { context: [...(params.prefix ?? []), ...FAKE_CONTEXT_PROMPT, ...Array.from({ length: evalCount }, (_, i) => 100 + i)] }
          : {}),
      } satisfies GenerateEvent;
    })();
  }

  async embed(params: EmbedParams, signal: AbortSignal): Promise<EmbedResult> {
    this.embedRequests.push(params);
    if (signal.aborted) throw new MoedError('REQUEST_CANCELED', 'request canceled');
    if (!params.truncate && params.inputs.some((s) => s.length > 100)) {
      throw new MoedError('INVALID_REQUEST', 'the input length exceeds the context length');
    }
    return {
      embeddings: params.inputs.map(fakeVector),
      promptTokens: params.inputs.reduce((n, s) => n + s.length, 0),
      promptEvalNs: 1_000_000,
    };
  }

  async close(): Promise<void> {
    this.alive = false;
  }
}

/** A factory that records every runner it starts. */
export function fakeFactory(script: () => Script): { factory: RunnerFactory; runners: FakeRunner[] } {
  const runners: FakeRunner[] = [];
  return {
    runners,
    factory: async (params) => {
      const r = new FakeRunner(params, script);
      runners.push(r);
      return r;
    },
  };
}
