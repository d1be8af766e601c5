// Prefixes kept in host RAM beyond the live slots: with one slot and two conversations taking
// turns, each conversation's second turn still finds its history cached.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RunnerProcess } from '../../src/engine/runner-process.js';
import type { GenerateEvent, GenerateParams, LoadParams } from '../../src/engine/types.js';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { tempDir } from '../helpers/store.js';

let dir: string;
let runners: RunnerProcess[] = [];

const load = (modelPath: string, promptCacheBytes: number): LoadParams => ({
  modelPath,
  numCtx: 2048,
  numParallel: 1,
  numBatch: 512,
  numUbatch: 512,
  numThreads: 2,
  gpuLayers: 0,
  promptCacheBytes,
});

const chat = (messages: { role: string; content: string }[]): GenerateParams => ({
  prompt: { kind: 'chat', messages, enableThinking: true },
  sampling: { temperature: 0, topK: 1, topP: 1, minP: 0, typicalP: 1, repeatLastN: 0, repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, seed: 1, mirostat: 0, mirostatTau: 5, mirostatEta: 0.1 },
  numPredict: 4,
  stop: [],
  thinking: true,
});

async function turn(runner: RunnerProcess, messages: { role: string; content: string }[]) {
  let start: Extract<GenerateEvent, { type: 'start' }> | undefined;
  for await (const e of runner.generate(chat(messages), new AbortController().signal)) if (e.type === 'start') start = e;
  return start!;
}

const history = (topic: string) => [{ role: 'user', content: `${topic}: ${'tell me everything you know about it. '.repeat(35)}` }];

async function alternate(promptCacheBytes: number) {
  const model = path.join(dir, 'tiny.gguf');
  const runner = await RunnerProcess.start(load(model, promptCacheBytes), { loadTimeoutMs: 60_000 });
  runners.push(runner);
  const a1 = await turn(runner, history('ships'));
  await turn(runner, history('gardens')); // takes the only slot
  const a2 = await turn(runner, [...history('ships'), { role: 'assistant', content: 'Ships float.' }, { role: 'user', content: 'More?' }]);
  return { a1, a2 };
}

beforeAll(async () => {
  dir = await tempDir();
  await forgeDeepseek2({ path: path.join(dir, 'tiny.gguf'), preset: 'tiny', seed: 5 });
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
  await fs.rm(dir, { recursive: true, force: true });
});

it('restores a conversation evicted from its slot from host RAM', async () => {
  const { a1, a2 } = await alternate(64 * 2 ** 20);
  expect(a1.promptTokens).toBeGreaterThan(256);
  expect(a2.cachedTokens).toBeGreaterThanOrEqual(a1.promptTokens - 8);
});

it('without the cache, the evicted conversation is evaluated again', async () => {
  const { a2 } = await alternate(0);
  expect(a2.cachedTokens).toBeLessThan(16);
});
