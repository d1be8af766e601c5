// A scripted stand-in for a runner process: the server tests drive the real Koa app, services and
// scheduler against it, with no native code.
import { MoedError } from '../../src/errors/index.js';
import type { EngineRunner, RunnerFactory } from '../../src/engine/runner.js';
import type { GenerateEvent, GenerateParams, LoadParams } from '../../src/engine/types.js';

export interface Script {
  /** The prompt leaves the model inside <think>. */
  thinkingOpen: boolean;
  pieces: string[];
  reason?: 'stop' | 'length';
  /** Delay between pieces, in ms. */
  delayMs?: number;
  /** Fail after this many pieces, as a crashed runner would. */
  crashAfter?: number;
}

export class FakeRunner implements EngineRunner {
  alive = true;
  readonly info = { nCtx: 4096, nCtxSeq: 4096, nSeqMax: 4, vramBytes: 0, ramBytes: 1 << 20 };
  readonly requests: GenerateParams[] = [];
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
      yield {
        type: 'start',
        promptTokens: 10,
        cachedTokens: 0,
        thinkingOpen: script.thinkingOpen,
        thinkingStart: '<think>',
        thinkingEnd: '</think>',
      } satisfies GenerateEvent;
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
        yield { type: 'text', text } satisfies GenerateEvent;
      }
      yield {
        type: 'done',
        reason: script.reason ?? 'stop',
        promptEvalCount: 10,
        promptEvalNs: 1_500_000,
        evalCount: script.pieces.length,
        evalNs: 2_500_000,
        cachedTokens: 0,
      } satisfies GenerateEvent;
    })();
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
