// The soak test: the built daemon as a process, the real runner and the tiny forged model, 8
// clients sending over 500 short requests (chat, generate, stream:false, the OpenAI route), a
// fifth of them dropped mid-stream. Every request must end answered or cleanly aborted; afterwards
// no lease, no slot and no waiting sequence is left, and neither the daemon's nor the runner's
// memory has grown beyond a bound since a warm start. The figures are printed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ModelStore } from '../../src/store/store.js';
import { addModel, tinyGguf } from '../helpers/mgmt.js';
import { tempDir } from '../helpers/store.js';
import { startDaemonProcess, waitFor, type DaemonProcess } from './helpers.js';

const CLIENTS = 8;
const WARMUP = 80;
/** MOED_SOAK_REQUESTS runs a longer soak by hand (e.g. 6000: about two minutes on 2 cores). */
const REQUESTS = Number(process.env.MOED_SOAK_REQUESTS ?? 520);
/** Every fifth request is dropped by its client after the first streamed line. */
const DROP_EVERY = 5;
/** Allowed growth of each process's resident memory from the warm start to the end. */
const MEMORY_BOUND = 64 * 1024 * 1024;

let dir: string;
let daemon: DaemonProcess;

beforeAll(async () => {
  dir = await tempDir('moed-soak-');
  const store = new ModelStore(path.join(dir, 'models'));
  await addModel(store, 'tiny', await tinyGguf());
  daemon = await startDaemonProcess(store.root, {
    OLLAMA_NUM_PARALLEL: '4',
    // The prompt cache is meant to fill up to its budget: a small one is reached during the warm-up.
    MOED_PROMPT_CACHE: '8MiB',
  });
});

afterAll(async () => {
  await daemon?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

type Outcome = 'answered' | 'aborted' | 'error';

const PROMPTS = ['hi', 'Tell me about the sea.', 'What is 2+2?', 'Write a haiku.', 'Explain a tool call.', 'why', 'Name three colours.'];

/** Request `i` of the run: a mix of routes and streaming modes, short answers. */
function request(i: number, drop: boolean): { path: string; body: unknown; sse: boolean; stream: boolean } {
  const prompt = `${PROMPTS[i % PROMPTS.length]} (${i % 13})`;
  const options = { num_predict: 8, seed: i };
  switch (i % 4) {
    case 0:
    case 1:
      return { path: '/api/chat', body: { model: 'tiny', messages: [{ role: 'user', content: prompt }], options }, sse: false, stream: true };
    case 2: {
      // Every other generate is stream:false (unless its client is to drop it mid-stream).
      const stream = drop || i % 8 !== 2;
      return { path: '/api/generate', body: { model: 'tiny', prompt, options, stream }, sse: false, stream };
    }
    default:
      return {
        path: '/v1/chat/completions',
        body: { model: 'tiny', messages: [{ role: 'user', content: prompt }], max_tokens: 8, stream: true },
        sse: true,
        stream: true,
      };
  }
}

/** Runs one request; `drop` makes the client go away after the first streamed line. */
async function run(i: number, drop: boolean): Promise<Outcome> {
  const r = request(i, drop);
  const controller = new AbortController();
  let res: Response;
  try {
    res = await fetch(`${daemon.url}${r.path}`, { method: 'POST', body: JSON.stringify(r.body), signal: controller.signal });
  } catch {
    return 'error';
  }
  if (res.status !== 200) {
    console.error(`request ${i}: status ${res.status}: ${await res.text()}`);
    return 'error';
  }
  if (!r.stream) {
    const body = (await res.json()) as { done?: boolean };
    return body.done === true ? 'answered' : 'error';
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let lines = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      lines = text.split('\n').filter((l) => l.trim() !== '').length;
      if (drop && lines >= 1) {
        controller.abort();
        return 'aborted';
      }
    }
  } catch {
    return drop ? 'aborted' : 'error';
  }
  const all = text.split('\n').filter((l) => l.trim() !== '');
  if (r.sse) {
    const events = all.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    if (events.some((e) => e !== '[DONE]' && 'error' in JSON.parse(e))) return 'error';
    return events.at(-1) === '[DONE]' ? 'answered' : 'error';
  }
  const parsed = all.map((l) => JSON.parse(l) as { done?: boolean; error?: string });
  if (parsed.some((p) => p.error !== undefined)) {
    console.error(`request ${i}: ${JSON.stringify(parsed.find((p) => p.error))}`);
    return 'error';
  }
  return parsed.at(-1)?.done === true ? 'answered' : 'error';
}

/** `total` requests from CLIENTS concurrent clients, numbered from `first`. */
async function load(first: number, total: number, tally: Record<Outcome, number>): Promise<void> {
  let next = first;
  const end = first + total;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < end) {
        const i = next++;
        tally[await run(i, i % DROP_EVERY === DROP_EVERY - 1)]++;
      }
    }),
  );
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

it(`${CLIENTS} clients, ${REQUESTS} requests, a fifth dropped mid-stream: nothing leaks, memory stays flat`, async () => {
  const t0 = Date.now();
  const warm: Record<Outcome, number> = { answered: 0, aborted: 0, error: 0 };
  await load(0, WARMUP, warm);
  expect(warm.error).toBe(0);
  await settledState();
  const start = await daemon.state();
  const startRunner = start.runners[0]!;

  // Peak memory, sampled while the load runs.
  let peakDaemon = start.rss;
  let peakRunner = startRunner.rss;
  let sampling = true;
  /** Runner rss once a second, to show the trend in the output. */
  const series: number[] = [];
  const sampler = (async () => {
    for (let n = 0; sampling; n++) {
      const s = await daemon.state();
      peakDaemon = Math.max(peakDaemon, s.rss);
      peakRunner = Math.max(peakRunner, s.runners[0]?.rss ?? 0);
      if (n % 5 === 0) series.push(s.runners[0]?.rss ?? 0, s.runners[0]?.heap_used ?? 0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const tally: Record<Outcome, number> = { answered: 0, aborted: 0, error: 0 };
  const t1 = Date.now();
  await load(WARMUP, REQUESTS, tally);
  const loadMs = Date.now() - t1;
  sampling = false;
  await sampler;

  const end = await settledState();
  const endRunner = end.runners[0]!;
  const figures = [
    `soak: ${REQUESTS} requests (after ${WARMUP} to warm up) from ${CLIENTS} clients in ${(loadMs / 1000).toFixed(1)} s ` +
      `(${((REQUESTS / loadMs) * 1000).toFixed(1)} requests/s); total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    `soak: answered ${tally.answered}, aborted by their clients ${tally.aborted}, errors ${tally.error}`,
    `soak: daemon rss warm ${mb(start.rss)}, peak ${mb(peakDaemon)}, end ${mb(end.rss)} (heap ${mb(start.heap_used)} → ${mb(end.heap_used)})`,
    `soak: runner rss warm ${mb(startRunner.rss)}, peak ${mb(peakRunner)}, end ${mb(endRunner.rss)}; same runner throughout: ${startRunner.pid === endRunner.pid}`,
    `soak: runner rss/heap each second (MB): ${series.map((b, i) => `${Math.round(b / 2 ** 20)}${i % 2 ? ' ' : '/'}`).join('')}`,
    `soak: at the end: leases ${end.scheduler.leases}, busy slots ${endRunner.busy_slots}, waiting ${endRunner.waiting}, requests in flight ${end.requests_in_flight - 1}`,
  ];
  console.log(figures.join('\n'));

  expect(tally.answered + tally.aborted + tally.error).toBe(REQUESTS);
  expect(tally.error).toBe(0);
  // Drops happen after the first line; a request whose answer ended before it is counted as answered.
  expect(tally.aborted).toBeGreaterThanOrEqual(Math.floor(REQUESTS / DROP_EVERY) - 5);
  expect(end.scheduler).toEqual({ leases: 0, pending: 0, queued_for_slots: 0 });
  expect(endRunner.busy_slots).toBe(0);
  expect(endRunner.waiting).toBe(0);
  expect(endRunner.pid).toBe(startRunner.pid);
  expect(end.rss - start.rss).toBeLessThan(MEMORY_BOUND);
  expect(endRunner.rss - startRunner.rss).toBeLessThan(MEMORY_BOUND);
}, 600_000);

/** The state once every request has ended (the state request itself is the one in flight). */
async function settledState() {
  return waitFor('every request, lease and slot to be released', async () => {
    const s = await daemon.state();
    const r = s.runners[0];
    return s.requests_in_flight === 1 && s.scheduler.leases === 0 && r && r.busy_slots === 0 && r.waiting === 0 ? s : undefined;
  });
}
