// Scheduling as a client sees it through HTTP (reference §3.7, §6): OLLAMA_MAX_LOADED_MODELS
// evicts idle models and makes a new model wait for a busy one, OLLAMA_MAX_QUEUE answers 503.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceInfo } from '../../src/binding/types.js';
import type { RunnerFactory } from '../../src/engine/runner.js';
import type { LoadParams } from '../../src/engine/types.js';
import { fixedLoad, Scheduler } from '../../src/scheduler/scheduler.js';
import { fakeFactory } from '../helpers/fake-runner.js';
import { addModel, post, startTestDaemon, stopTestDaemons } from '../helpers/mgmt.js';

afterEach(stopTestDaemons);

const names = async (url: string) => ((await (await fetch(`${url}/api/ps`)).json()).models as { name: string }[]).map((m) => m.name);

async function twoModels(env: Record<string, string>, factory?: RunnerFactory, script?: () => unknown) {
  const t = await startTestDaemon({ models: ['a'], env, factory, script });
  await addModel(t.store, 'b', t.gguf, { system: 'b' }); // another digest
  return t;
}

describe('OLLAMA_MAX_LOADED_MODELS', () => {
  it('unloads the idle model to load another: /api/ps shows only the new one', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: ['x'] })) as never);
    const t = await twoModels({ OLLAMA_MAX_LOADED_MODELS: '1' }, fake.factory);
    expect((await post(`${t.url}/api/chat`, { model: 'a', stream: false })).status).toBe(200);
    expect(await names(t.url)).toEqual(['a:latest']);
    expect((await post(`${t.url}/api/chat`, { model: 'b', stream: false })).status).toBe(200);
    expect(await names(t.url)).toEqual(['b:latest']);
    expect(fake.runners.map((r) => r.alive)).toEqual([false, true]);
  });

  it('keeps two loaded under a limit of 2', async () => {
    const t = await twoModels({ OLLAMA_MAX_LOADED_MODELS: '2' });
    await post(`${t.url}/api/chat`, { model: 'a', stream: false });
    await post(`${t.url}/api/chat`, { model: 'b', stream: false });
    expect((await names(t.url)).sort()).toEqual(['a:latest', 'b:latest']);
  });

  it('makes a new model wait while the loaded one is busy, instead of loading past the limit', async () => {
    const script = () => ({ thinkingOpen: false, pieces: Array(15).fill('x'), delayMs: 20 });
    const fake = fakeFactory(script as never);
    const t = await twoModels({ OLLAMA_MAX_LOADED_MODELS: '1' }, fake.factory);
    const streaming = post(`${t.url}/api/chat`, { model: 'a', stream: false, messages: [{ role: 'user', content: 'hi' }] });
    await expect.poll(() => fake.runners.length).toBe(1);
    const loadB = post(`${t.url}/api/chat`, { model: 'b', stream: false });
    await new Promise((r) => setTimeout(r, 100));
    // B waits: A is still generating, and only one model may be loaded.
    expect(await names(t.url)).toEqual(['a:latest']);
    expect(fake.runners).toHaveLength(1);
    const a = await streaming;
    expect(a.status).toBe(200);
    const body = await a.json();
    expect(body.done).toBe(true);
    expect(body.message.content).toBe('x'.repeat(15));
    expect((await loadB).status).toBe(200);
    expect(fake.runners.map((r) => r.alive)).toEqual([false, true]);
    expect(await names(t.url)).toEqual(['b:latest']);
  });
});

describe('OLLAMA_MAX_QUEUE', () => {
  it('answers 503 with Ollama’s text when too many requests wait', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: ['x'] })) as never);
    const slowLoad: RunnerFactory = async (params, options) => {
      await new Promise((r) => setTimeout(r, 300));
      return fake.factory(params, options);
    };
    const t = await twoModels({ OLLAMA_MAX_QUEUE: '1' }, slowLoad);
    const first = post(`${t.url}/api/chat`, { model: 'a', stream: false });
    await new Promise((r) => setTimeout(r, 50));
    const second = await post(`${t.url}/api/chat`, { model: 'a', stream: false });
    expect(second.status).toBe(503);
    expect(second.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await second.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
    expect((await first).status).toBe(200);
    // Once the load is done the queue is empty again.
    expect((await post(`${t.url}/api/chat`, { model: 'a', stream: false })).status).toBe(200);
  });
});

describe('scheduler details', () => {
  it('a model in use with keep_alive -1 shows expires_at in 2318 in /api/ps', async () => {
    const t = await startTestDaemon({ script: () => ({ thinkingOpen: false, pieces: Array(20).fill('x'), delayMs: 15 }) });
    const busy = post(`${t.url}/api/chat`, { model: 'tiny', stream: false, keep_alive: -1, messages: [{ role: 'user', content: 'hi' }] });
    await expect.poll(async () => (await names(t.url)).length).toBe(1);
    const [m] = (await (await fetch(`${t.url}/api/ps`)).json()).models;
    expect(new Date(m.expires_at).getUTCFullYear()).toBe(2318);
    expect((await busy).status).toBe(200);
  });

  it('a request whose client gives up while waiting for room gets 499 and leaves the queue', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: [] })) as never);
    const scheduler = new Scheduler({ maxLoadedModels: 1, maxQueue: 1, loadTimeoutMs: 1000 }, fake.factory);
    const params = (p: string) => ({ modelPath: p, numCtx: 256, numParallel: 1, numBatch: 1, numUbatch: 1, numThreads: 1, gpuLayers: 0 }) as LoadParams;
    const a = await scheduler.acquire('a', 'a', fixedLoad(params('a')), 60_000);
    const gone = new AbortController();
    const waiting = scheduler.acquire('b', 'b', fixedLoad(params('b')), 60_000, undefined, gone.signal);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.runners).toHaveLength(1);
    gone.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'REQUEST_CANCELED', status: 499 });
    // The queue has room again; once "a" is released, "b" loads in its place.
    const again = scheduler.acquire('b', 'b', fixedLoad(params('b')), 60_000);
    a.release();
    (await again).release();
    expect(scheduler.loaded().map((l) => l.key)).toEqual(['b']);
    await scheduler.close();
  });
});

describe('placement at load time', () => {
  // A GPU that the loaded model fills, as its weights and fill do on a real one.
  const GPU_TOTAL = 8 * 2 ** 30;
  const RULES = `match: { architecture: '*' }
rules:
  - { name: experts in RAM, tensors: 'blk\\.\\d+\\.ffn_(gate|up|down)_exps\\.weight', device: cpu }
  - { name: the rest on the GPU, tensors: '.*', device: 'cuda:0' }
fill: { tensors: 'blk\\.(\\d+)\\.ffn_(gate|up|down)_exps\\.weight', device: 'cuda:0', reserve: 1MiB }
`;

  it('plans only to load: a loaded model is used as loaded although the GPU has less free memory now', async () => {
    const fake = fakeFactory((() => ({ thinkingOpen: false, pieces: ['x'] })) as never);
    let probes = 0;
    const devices = async (): Promise<DeviceInfo[]> => {
      probes++;
      const loaded = fake.runners.some((r) => r.alive);
      return [
        { name: 'CPU', description: 'host', type: 'cpu', memoryFree: 64 * 2 ** 30, memoryTotal: 64 * 2 ** 30 },
        { name: 'CUDA0', description: 'test GPU', type: 'gpu', memoryFree: loaded ? 2 ** 20 : GPU_TOTAL, memoryTotal: GPU_TOTAL },
      ];
    };
    const t = await startTestDaemon({ factory: fake.factory, devices });
    const rules = path.join(t.root, 'fill.yaml');
    await fs.writeFile(rules, RULES);
    const chat = (options: Record<string, unknown> = {}) =>
      post(`${t.url}/api/chat`, { model: 'tiny', stream: false, options: { rules, ...options }, messages: [{ role: 'user', content: 'hi' }] });

    expect((await chat()).status).toBe(200);
    const overrides = fake.runners[0]!.params.tensorOverrides ?? [];
    // The tiny model's experts all fit: fill put every one on the GPU, so none is held in RAM.
    expect(fake.runners[0]!.params.devices).toEqual(['CUDA0']);
    expect(overrides.some((o) => o.bufferType === 'CPU')).toBe(false);
    // Planned again now, with the GPU full, it would not fit; the model is used as it is.
    expect((await chat()).status).toBe(200);
    expect((await chat()).status).toBe(200);
    expect(fake.runners).toHaveLength(1);
    expect(probes).toBe(1);
    // An option that shapes the load reloads it, planned after the old runner let go of the GPU.
    expect((await chat({ num_ctx: 8192 })).status).toBe(200);
    expect(fake.runners.map((r) => r.alive)).toEqual([false, true]);
    expect(fake.runners[1]!.params.tensorOverrides).toEqual(overrides);
    expect(fake.runners[1]!.params.numCtx).toBe(8192);
  });
});
