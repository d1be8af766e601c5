// The real runner process with the real engine on the tiny forged model: streaming, seeds,
// cancellation, crash isolation, concurrent sequences and prefix reuse.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerProcess } from '../../src/engine/runner-process.js';
import type { GenerateEvent, GenerateParams, LoadParams } from '../../src/engine/types.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { fixedLoad, Scheduler } from '../../src/scheduler/scheduler.js';
import { tempDir } from '../helpers/store.js';

let dir: string;
let modelPath: string;
let runner: RunnerProcess;

const loadParams = (): LoadParams => ({
  modelPath,
  numCtx: 1024,
  numParallel: 2,
  numBatch: 512,
  numUbatch: 512,
  numThreads: 2,
  gpuLayers: 0,
});

function params(over: Partial<GenerateParams> & { seed?: number; temperature?: number } = {}): GenerateParams {
  return {
    prompt: over.prompt ?? { kind: 'chat', messages: [{ role: 'user', content: 'Tell me a story about a cat.' }], enableThinking: true },
    sampling: {
      temperature: over.temperature ?? 0,
      topK: 40,
      topP: 0.9,
      minP: 0,
      typicalP: 1,
      repeatLastN: 64,
      repeatPenalty: 1,
      presencePenalty: 0,
      frequencyPenalty: 0,
      seed: over.seed ?? 1,
      mirostat: 0,
      mirostatTau: 5,
      mirostatEta: 0.1,
    },
    numPredict: over.numPredict ?? 24,
    stop: over.stop ?? [],
    thinking: over.thinking ?? true,
    truncate: over.truncate,
    numKeep: over.numKeep,
    format: over.format,
    returnTokens: over.returnTokens,
    prefix: over.prefix,
  };
}

async function collect(events: AsyncIterable<GenerateEvent>) {
  const all: GenerateEvent[] = [];
  for await (const e of events) all.push(e);
  const text = all.map((e) => (e.type === 'text' || e.type === 'thinking' ? e.text : '')).join('');
  return { all, text, done: all.at(-1) as Extract<GenerateEvent, { type: 'done' }> };
}

const signal = () => new AbortController().signal;

beforeAll(async () => {
  dir = await tempDir();
  modelPath = path.join(dir, 'tiny.gguf');
  await forgeDeepseek2({ path: modelPath, preset: 'tiny', seed: 3 });
  runner = await RunnerProcess.start(loadParams(), { loadTimeoutMs: 60_000 });
});

afterAll(async () => {
  await runner?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('runner process on the tiny forged model', () => {
  it('streams text as it is produced and finishes with metrics', async () => {
    const { all, done } = await collect(runner.generate(params({ numPredict: 16 }), signal()));
    expect(all[0]!.type).toBe('start');
    const start = all[0] as Extract<GenerateEvent, { type: 'start' }>;
    expect(start.promptTokens).toBeGreaterThan(5);
    expect(start.truncated).toBe(false);
    // R1's prompt opens <think>: the random text is reasoning unless a </think> was sampled.
    expect(all.filter((e) => e.type === 'thinking').length).toBeGreaterThan(1);
    expect(done.type).toBe('done');
    expect(done.evalCount).toBeGreaterThan(0);
    expect(done.evalCount).toBeLessThanOrEqual(16);
    if (done.evalCount === 16) expect(done.reason).toBe('length');
    expect(done.promptEvalNs).toBeGreaterThan(0);
  });

  it('gives the same tokens for the same seed and different ones for another seed', async () => {
    const a = await collect(runner.generate(params({ temperature: 0.9, seed: 42, numPredict: 32 }), signal()));
    const b = await collect(runner.generate(params({ temperature: 0.9, seed: 42, numPredict: 32 }), signal()));
    const c = await collect(runner.generate(params({ temperature: 0.9, seed: 43, numPredict: 32 }), signal()));
    expect(a.text.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it('stops a generation when its signal aborts, and the slot serves the next request', async () => {
    const controller = new AbortController();
    const events = runner.generate(params({ numPredict: -1 }), controller.signal);
    let texts = 0;
    await expect(
      (async () => {
        for await (const e of events) {
          if (e.type !== 'start' && ++texts === 3) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'REQUEST_CANCELED' });
    expect(texts).toBe(3);
    const next = await collect(runner.generate(params({ numPredict: 8 }), signal()));
    expect(next.done.type).toBe('done');
  });

  it('decodes two sequences together: both streams progress before either finishes', async () => {
    const order: number[] = [];
    const run = async (id: number, content: string) => {
      const p = params({ numPredict: 40, prompt: { kind: 'chat', messages: [{ role: 'user', content }], enableThinking: true } });
      for await (const e of runner.generate(p, signal())) if (e.type === 'text' || e.type === 'thinking') order.push(id);
    };
    await Promise.all([run(1, 'first question'), run(2, 'second, different question')]);
    const lastOfFirst = order.lastIndexOf(1);
    const firstOfSecond = order.indexOf(2);
    expect(firstOfSecond).toBeGreaterThanOrEqual(0);
    expect(firstOfSecond).toBeLessThan(lastOfFirst);
  });

  it('reuses the cached prefix of the previous turn', async () => {
    const history = [{ role: 'user', content: 'A long first question about the weather in spring.' }];
    const first = await collect(runner.generate(params({ prompt: { kind: 'chat', messages: history, enableThinking: true } }), signal()));
    const second = await collect(
      runner.generate(
        params({
          prompt: {
            kind: 'chat',
            messages: [...history, { role: 'assistant', content: 'It is warm.' }, { role: 'user', content: 'And in autumn?' }],
            enableThinking: true,
          },
        }),
        signal(),
      ),
    );
    const start1 = first.all[0] as Extract<GenerateEvent, { type: 'start' }>;
    const start2 = second.all[0] as Extract<GenerateEvent, { type: 'start' }>;
    expect(second.done.cachedTokens).toBeGreaterThanOrEqual(start1.promptTokens - 3);
    expect(second.done.promptEvalCount).toBe(start2.promptTokens - second.done.cachedTokens);
  });

  it('refuses a prompt longer than the context with a clear error', async () => {
    const long = 'word '.repeat(3000);
    await expect(
      collect(runner.generate(params({ prompt: { kind: 'text', text: long } }), signal())),
    ).rejects.toThrow(/exceeds the context length/);
  });
});

describe('crash isolation', () => {
  it('a runner killed mid-stream fails its stream, and the next request starts a fresh runner', async () => {
    const scheduler = new Scheduler({ maxLoadedModels: 1, maxQueue: 8, loadTimeoutMs: 60_000 }, (p, o) => RunnerProcess.start(p, o));
    try {
      const lease = await scheduler.acquire('tiny', 'tiny', fixedLoad(loadParams()), 60_000);
      const victim = lease.runner as RunnerProcess;
      let texts = 0;
      await expect(
        (async () => {
          for await (const e of victim.generate(params({ numPredict: -1 }), signal())) {
            if (e.type !== 'start' && ++texts === 2) process.kill(victim.pid!, 'SIGKILL');
          }
        })(),
      ).rejects.toMatchObject({ code: 'RUNNER_CRASHED' });
      lease.release();
      expect(victim.alive).toBe(false);
      const again = await scheduler.acquire('tiny', 'tiny', fixedLoad(loadParams()), 60_000);
      expect(again.runner).not.toBe(victim);
      const { done } = await collect(again.runner.generate(params({ numPredict: 4 }), signal()));
      expect(done.type).toBe('done');
      again.release();
    } finally {
      await scheduler.close();
    }
  });

  it('a file that is not a model fails to load with a reason, and the daemon side survives', async () => {
    const bad = path.join(dir, 'bad.gguf');
    await fs.writeFile(bad, 'GGUF this is not a model');
    await expect(RunnerProcess.start({ ...loadParams(), modelPath: bad }, { loadTimeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
  });
});
