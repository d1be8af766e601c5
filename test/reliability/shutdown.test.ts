// Graceful shutdown of the built daemon process on SIGTERM: it stops accepting connections, lets
// streams in flight finish within MOED_SHUTDOWN_GRACE, ends the ones still running after it with a
// final error line, stops every runner and exits 0. A second signal stops waiting. The Lifecycle
// middleware itself (503 for requests that arrive while stopping) is checked in-process.
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorMiddleware } from '../../src/server/error-middleware.js';
import { Lifecycle } from '../../src/server/middleware/lifecycle.js';
import { ModelStore } from '../../src/store/store.js';
import { addModel, tinyGguf } from '../helpers/mgmt.js';
import { tempDir } from '../helpers/store.js';
import { longChat, openStream, processExists, sleep, startDaemonProcess, waitFor, type DaemonProcess, type OpenStream } from './helpers.js';

let dir: string;
let modelsDir: string;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  dir = await tempDir('moed-shutdown-');
  const store = new ModelStore(path.join(dir, 'models'));
  await addModel(store, 'tiny', await tinyGguf());
  modelsDir = store.root;
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** Opens `n` streams that run until their context is full and have each produced a line. */
async function streams(d: DaemonProcess, n: number): Promise<OpenStream[]> {
  const all = await Promise.all(Array.from({ length: n }, (_, i) => openStream(`${d.url}/api/chat`, longChat('tiny', `Story ${i}, please.`))));
  for (const s of all) {
    expect(s.status).toBe(200);
    await s.next();
  }
  return all;
}

/**
 * How a stream ended: "done" (it finished: the random model may pick its end token at any time),
 * or the text of its one final error line. Nothing may follow an error line or a done line.
 */
async function ending(s: OpenStream): Promise<string> {
  const lines = await s.rest();
  const last = lines.at(-1)!;
  const errors = lines.filter((l) => 'error' in l);
  expect(errors.length).toBeLessThanOrEqual(1);
  if (errors.length === 1) {
    expect(last).toBe(errors[0]);
    return last.error as string;
  }
  expect(last.done).toBe(true);
  return 'done';
}

const refused = (url: string) =>
  fetch(url).then(
    () => false,
    (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED',
  );

describe('SIGTERM', () => {
  it('lets a stream in flight finish within the grace period, refuses new connections, stops the runner, exits 0', async () => {
    daemon = await startDaemonProcess(modelsDir, { MOED_SHUTDOWN_GRACE: '60s' });
    const stream = await openStream(`${daemon.url}/api/chat`, {
      model: 'tiny',
      messages: [{ role: 'user', content: 'A short story.' }],
      options: { num_predict: 300, seed: 3 },
    });
    await stream.next();
    const runner = (await daemon.state()).runners[0]!;
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    await waitFor('the daemon to stop listening', () => refused(daemon!.url));
    expect(await ending(stream)).toBe('done');
    const exit = await daemon.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(processExists(runner.pid!)).toBe(false);
    expect(daemon.output()).toMatch(/moed: SIGTERM: shutting down/);
    expect(daemon.output()).toMatch(/moed: stopped\n/);
  });

  it('ends the streams still running after the grace period with a final error line, and exits 0', async () => {
    daemon = await startDaemonProcess(modelsDir, { MOED_SHUTDOWN_GRACE: '1s', OLLAMA_NUM_PARALLEL: '4' });
    const open = await streams(daemon, 4);
    const runner = (await daemon.state()).runners[0]!;
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    const endings = await Promise.all(open.map(ending));
    const after = Date.now() - t0;
    // Each ended once: by itself (done) or at the end of the grace period with the reason.
    for (const e of endings) expect(e === 'done' || e === 'moed is shutting down: the request was stopped after the 1 s grace period').toBe(true);
    expect(endings).toContain('moed is shutting down: the request was stopped after the 1 s grace period');
    expect(after).toBeGreaterThanOrEqual(900);
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(processExists(runner.pid!)).toBe(false);
    expect(daemon.output()).toMatch(/moed: stopped \(\d request\(s\) ended after the grace period\)/);
  });

  it('a second signal stops waiting at once', async () => {
    daemon = await startDaemonProcess(modelsDir, { MOED_SHUTDOWN_GRACE: '60s', OLLAMA_NUM_PARALLEL: '4' });
    const open = await streams(daemon, 4);
    const t0 = Date.now();
    daemon.child.kill('SIGTERM');
    await sleep(300);
    daemon.child.kill('SIGINT');
    const endings = await Promise.all(open.map(ending));
    for (const e of endings) expect(e === 'done' || e === 'moed is shutting down now').toBe(true);
    expect(endings).toContain('moed is shutting down now');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});

describe('Lifecycle middleware', () => {
  it('counts requests until their response ends, refuses new ones with 503 while stopping, and aborts the rest after the grace', async () => {
    const lifecycle = new Lifecycle();
    const app = new Koa();
    app.use(errorMiddleware);
    app.use(lifecycle.middleware());
    let aborted: unknown;
    app.use(async (ctx) => {
      const signal = ctx.state.shutdown as AbortSignal;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Number(ctx.query.ms));
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          clearTimeout(timer);
          resolve();
        });
      });
      ctx.body = 'ok';
    });
    const server = http.createServer(app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const quick = fetch(`${url}/?ms=100`);
      const slow = fetch(`${url}/?ms=60000`);
      await waitFor('two requests in flight', () => lifecycle.inFlight === 2);
      const drained = lifecycle.drain(500);
      expect(lifecycle.stopping).toBe(true);
      const late = await fetch(`${url}/?ms=1`);
      expect(late.status).toBe(503);
      expect(late.headers.get('connection')).toBe('close');
      expect(await late.json()).toEqual({ error: 'moed is shutting down; try again when it is back' });
      expect((await quick).status).toBe(200);
      expect(await drained).toEqual({ aborted: 1 });
      expect((await slow).status).toBe(200);
      expect((aborted as Error).message).toBe('moed is shutting down: the request was stopped after the 0.5 s grace period');
      expect(lifecycle.inFlight).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
