// Runner faults and overload against the built daemon as a process, with the real runner and the
// tiny forged model: a runner killed mid-stream, a runner that hangs (SIGSTOP), a model whose load
// fails in the engine, a full queue, and a client that disconnects while others wait for a slot.
// Counters come from GET /api/moed/state. Also, at the runner level: pongs flow while one decode
// call runs for seconds, so the heartbeat never kills a runner that is merely busy.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RunnerProcess } from '../../src/engine/runner-process.js';
import type { GenerateParams } from '../../src/engine/types.js';
import { ModelStore } from '../../src/store/store.js';
import { addModel, tinyGguf } from '../helpers/mgmt.js';
import { tempDir } from '../helpers/store.js';
import {
  longChat,
  mutateGguf,
  openStream,
  processExists,
  startDaemonProcess,
  waitFor,
  type DaemonProcess,
  type OpenStream,
} from './helpers.js';

let dir: string;
let daemon: DaemonProcess;

/** A prompt of about `n` tokens, different for each `tag` (so no prefix is reused). */
const bigPrompt = (tag: string, n: number) => `${tag} ${'word '.repeat(n)}`;

/**
 * A chat on "slow" (num_batch 1): its ~3000-token prompt is evaluated one token per decode step,
 * so it holds its slot for seconds while sampling nothing (no random end of sequence can cut it).
 */
const holder = (tag: string) => ({ model: 'slow', messages: [{ role: 'user', content: bigPrompt(tag, 3000) }], options: { num_predict: 8 } });

const runnerOf = async (model: string) => (await daemon.state()).runners.find((r) => r.model === model);

/** Waits until every request has ended and every slot is free. */
async function settled(): Promise<void> {
  await waitFor('every lease and slot to be released', async () => {
    const s = await daemon.state();
    return s.scheduler.leases === 0 && s.requests_in_flight <= 1 && s.runners.every((r) => r.busy_slots === 0 && r.waiting === 0);
  });
}

/**
 * A "tiny" stream that has produced a few tokens. The random model may sample its end-of-sequence
 * token at any time; a stream that already ended is replaced (the fault must hit a live one).
 */
async function liveStream(): Promise<OpenStream> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const s = await openStream(`${daemon.url}/api/chat`, longChat('tiny', `Tell me story number ${attempt}.`));
    expect(s.status).toBe(200);
    let tokens = 0;
    let line;
    while (tokens < 3 && (line = await s.next()) && !line.done) tokens++;
    if (tokens === 3) return s;
  }
  throw new Error('no stream stayed alive for 3 tokens');
}

beforeAll(async () => {
  dir = await tempDir('moed-faults-');
  const good = await tinyGguf();
  const store = new ModelStore(path.join(dir, 'models'));
  await addModel(store, 'tiny', good);
  await addModel(store, 'slow', good, { parameters: { num_batch: 1 } });
  // Passes every check in TypeScript (a missing tensor is the engine's to find), fails to load.
  const broken = await mutateGguf(good, path.join(dir, 'broken.gguf'), { tensors: (l) => l.filter((t) => t.name !== 'output_norm.weight') });
  await addModel(store, 'broken', broken);
  daemon = await startDaemonProcess(store.root, {
    OLLAMA_NUM_PARALLEL: '2',
    OLLAMA_MAX_QUEUE: '2',
    MOED_RUNNER_TIMEOUT: '2',
  });
});

afterAll(async () => {
  await daemon?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('crash isolation', () => {
  it('a runner killed mid-stream ends its stream with one error line; the daemon stays up; the next request reloads', async () => {
    const stream = await liveStream();
    const victim = (await runnerOf('tiny:latest'))!;
    expect(victim.pid).toBeGreaterThan(0);
    process.kill(victim.pid!, 'SIGKILL');
    const lines = await stream.rest();
    const errors = lines.filter((l) => 'error' in l);
    expect(errors).toEqual([{ error: 'model runner stopped unexpectedly (signal SIGKILL)' }]);
    expect(lines.at(-1)).toBe(errors[0]);
    expect(lines.some((l) => l.done)).toBe(false);

    expect(await (await fetch(`${daemon.url}/`)).text()).toBe('Ollama is running');
    const res = await fetch(`${daemon.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: 'again' }], stream: false, options: { num_predict: 4 } }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).done).toBe(true);
    const fresh = (await runnerOf('tiny:latest'))!;
    expect(fresh.pid).not.toBe(victim.pid);
    expect(processExists(victim.pid!)).toBe(false);
    await settled();
  });

  it('a runner that stops answering (SIGSTOP) is killed after MOED_RUNNER_TIMEOUT; its stream ends with the reason', async () => {
    const stream = await liveStream();
    const victim = (await runnerOf('tiny:latest'))!;
    const t0 = Date.now();
    process.kill(victim.pid!, 'SIGSTOP');
    // Should the daemon fail to kill it, the test must not leave a stopped process behind.
    onTestFinished(() => {
      if (processExists(victim.pid!)) process.kill(victim.pid!, 'SIGKILL');
    });
    const lines = await stream.rest();
    const waited = Date.now() - t0;
    const errors = lines.filter((l) => 'error' in l);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toMatch(/^model runner stopped answering for [23] s and was killed \(MOED_RUNNER_TIMEOUT is 2 s\)$/);
    expect(lines.at(-1)).toBe(errors[0]);
    // Killed after the timeout (2 s), not long after it: the pings go every 0.5 s.
    expect(waited).toBeGreaterThanOrEqual(1500);
    expect(waited).toBeLessThan(6000);
    await waitFor('the stopped runner to be gone', () => !processExists(victim.pid!));

    const res = await fetch(`${daemon.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', prompt: 'again', stream: false, options: { num_predict: 4 } }),
    });
    expect(res.status).toBe(200);
    expect((await runnerOf('tiny:latest'))!.pid).not.toBe(victim.pid);
    await settled();
  });

  it('a model that passes every check but fails in the engine reports why', async () => {
    const res = await fetch(`${daemon.url}/api/chat`, {
      method: 'POST',
      body: JSON.stringify({ model: 'broken', messages: [{ role: 'user', content: 'x' }], stream: false }),
    });
    expect(res.status).toBe(500);
    const { error } = await res.json();
    console.log(`the engine's reason: ${error}`);
    expect(error).toMatch(/output_norm/);
    expect(error).toMatch(/missing|tensor/i);
    expect(await (await fetch(`${daemon.url}/`)).text()).toBe('Ollama is running');
    expect((await daemon.state()).runners.map((r) => r.model)).not.toContain('broken:latest');
    await settled();
  });
});

describe('hostile options', () => {
  // Each reaches the real engine (load options reload the runner). None may take it down or be
  // answered with an engine failure: it is served (values llama.cpp clamps or ignores), or
  // refused with 400, or, for a context that cannot fit, refused with the placement plan.
  const cases: [Record<string, unknown>, number, RegExp?][] = [
    [{ num_thread: 100_000 }, 200],
    [{ num_thread: -3 }, 200],
    [{ num_batch: 1e9 }, 200],
    [{ num_batch: -5 }, 200],
    [{ num_batch: 1 }, 200], // below OLLAMA_NUM_PARALLEL: llama.cpp would abort, the runner raises it
    [{ num_ubatch: 0 }, 200],
    [{ num_ctx: 1 }, 200],
    [{ num_ctx: 2 ** 31 }, 500, /does not fit/],
    [{ num_predict: -2 }, 200],
    [{ num_keep: 1e9 }, 200],
    [{ top_k: -1, top_p: -1, min_p: 5, typical_p: 0 }, 200],
    [{ temperature: -5, repeat_penalty: 0, repeat_last_n: -10, presence_penalty: 1e30 }, 200],
    [{ seed: 2 ** 40 }, 200],
    [{ mirostat: 7 }, 400, /^invalid options: mirostat must be 0, 1 or 2$/],
    [{ mirostat: 2, mirostat_tau: -1 }, 200],
    [{ stop: ['', ''] }, 200],
    [{ main_gpu: 99, num_gpu: -5 }, 200],
  ];
  it.each(cases)('%j: %i', async (options, status, message) => {
    const res = await fetch(`${daemon.url}/api/generate`, {
      method: 'POST',
      body: JSON.stringify({ model: 'tiny', prompt: 'hello', stream: false, options: { num_predict: 4, ...options } }),
    });
    const body = await res.json();
    expect(res.status, JSON.stringify(body).slice(0, 300)).toBe(status);
    if (message) expect(body.error).toMatch(message);
    else expect(body.done).toBe(true);
    expect(await (await fetch(`${daemon.url}/`)).text()).toBe('Ollama is running');
  });
});

describe('overload and disconnects', () => {
  /**
   * Sends a request and does not wait for it. Its headers would only come with its first token
   * (after its long prompt), so the tests watch the counters instead. Resolves with the status,
   * or "dropped" once aborted.
   */
  const send = (body: unknown, signal: AbortSignal) =>
    fetch(`${daemon.url}/api/chat`, { method: 'POST', body: JSON.stringify(body), signal }).then(
      async (r) => {
        await r.text().catch(() => undefined);
        return r.status;
      },
      () => 'dropped' as const,
    );
  const slow = async () => (await daemon.state()).runners.find((r) => r.model === 'slow:latest');

  it('a full queue answers 503 at once', async () => {
    const loaded = await fetch(`${daemon.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'slow', messages: [] }) });
    expect(loaded.status).toBe(200);
    // Two requests hold the two slots (their prompts take many seconds to evaluate), two wait
    // for a slot: with OLLAMA_MAX_QUEUE=2 the queue is full.
    const controller = new AbortController();
    const sent = [send(holder('a'), controller.signal), send(holder('b'), controller.signal)];
    try {
      await waitFor('two requests in the slots', async () => (await slow())?.busy_slots === 2);
      sent.push(send(holder('c'), controller.signal), send(holder('d'), controller.signal));
      await waitFor('two requests queued for a slot', async () => (await daemon.state()).scheduler.queued_for_slots === 2);
      const t0 = Date.now();
      const res = await fetch(`${daemon.url}/api/chat`, { method: 'POST', body: JSON.stringify(holder('e')) });
      const took = Date.now() - t0;
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });
      expect(took).toBeLessThan(1000);
      // The refused request took nothing: the others are where they were.
      expect((await daemon.state()).scheduler.leases).toBe(4);
    } finally {
      controller.abort();
      expect(await Promise.all(sent)).toEqual(['dropped', 'dropped', 'dropped', 'dropped']);
    }
    await settled();
  });

  it('a client that disconnects frees its slot within a decode step: a waiting request starts at once', async () => {
    const keep = new AbortController();
    const gone = new AbortController();
    const sent = [send(holder('f'), keep.signal), send(holder('g'), gone.signal)];
    try {
      await waitFor('two requests in the slots', async () => (await slow())?.busy_slots === 2);
      sent.push(send(holder('h'), keep.signal));
      await waitFor('a third request waiting for a slot', async () => (await slow())?.waiting === 1);
      const t0 = Date.now();
      gone.abort();
      // The waiting request is given the freed slot (the runner reports no one waiting, both
      // slots busy) within the decode step that was running: a few ms on this model, plus polling.
      await waitFor('the waiting request to get the slot', async () => {
        const r = await slow();
        return r?.waiting === 0 && r.busy_slots === 2;
      }, 5000);
      const took = Date.now() - t0;
      console.log(`a waiting request got its slot ${took} ms after another client disconnected`);
      expect(took).toBeLessThan(1000);
      expect((await daemon.state()).scheduler.leases).toBe(2);
    } finally {
      keep.abort();
      gone.abort();
      await Promise.all(sent);
    }
    await settled();
  });
});

describe('heartbeat', () => {
  it('pongs flow while one decode call runs for seconds: a busy runner is never mistaken for a hung one', async () => {
    const file = await tinyGguf();
    // One llama_decode of ~3000 tokens (n_batch = n_ubatch = 4096): seconds on a CPU, with a
    // heartbeat timeout of 250 ms. If decoding blocked the runner's event loop, it would be killed.
    const runner = await RunnerProcess.start(
      { modelPath: file, numCtx: 4096, numParallel: 1, numBatch: 4096, numUbatch: 4096, numThreads: 2, gpuLayers: 0 },
      { loadTimeoutMs: 60_000, runnerTimeoutMs: 250 },
    );
    try {
      const params: GenerateParams = {
        prompt: { kind: 'text', text: bigPrompt('decode', 3000) },
        sampling: { temperature: 0, topK: 40, topP: 1, minP: 0, typicalP: 1, repeatLastN: 64, repeatPenalty: 1, presencePenalty: 0, frequencyPenalty: 0, seed: 1, mirostat: 0, mirostatTau: 5, mirostatEta: 0.1 },
        numPredict: 2,
        stop: [],
        thinking: false,
      };
      let maxRtt = 0;
      let pongs = 0;
      let running = true;
      const prober = (async () => {
        while (running) {
          const t = Date.now();
          await runner.stats();
          maxRtt = Math.max(maxRtt, Date.now() - t);
          pongs++;
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const t0 = Date.now();
      let prefillMs = 0;
      for await (const e of runner.generate(params, new AbortController().signal)) {
        if (e.type === 'done') prefillMs = Math.round(e.promptEvalNs / 1e6);
      }
      const total = Date.now() - t0;
      running = false;
      await prober;
      console.log(`one decode of ~3000 tokens took ${prefillMs} ms; ${pongs} pongs meanwhile, the slowest after ${maxRtt} ms`);
      expect(runner.alive).toBe(true);
      expect(prefillMs).toBeGreaterThan(250);
      expect(total).toBeGreaterThanOrEqual(prefillMs);
      expect(pongs).toBeGreaterThan(5);
      expect(maxRtt).toBeLessThan(Math.max(100, prefillMs / 4));
    } finally {
      await runner.close();
    }
  });
});
