// Streams an async iterator as NDJSON (one JSON object and "\n" per line), or drains it into one
// JSON body for stream:false. Headers wait for the first object, so a failure before any output
// still gets its real status; a failure after it becomes one final {"error": ...} line.
// A client that disconnects aborts the request's signal at once.
import { once } from 'node:events';
import type { Context } from 'koa';
import ndjson from 'ndjson';
import { toMoedError } from '../errors/index.js';
import { setJson } from './error-middleware.js';

/**
 * An AbortSignal that fires when the client goes away before the response is finished, or when
 * the daemon's shutdown grace period ends (`ctx.state.shutdown`, see middleware/lifecycle.ts; its
 * reason then says so in the stream's final error line).
 */
export function disconnectSignal(ctx: Context): AbortSignal {
  const controller = new AbortController();
  const shutdown = ctx.state.shutdown as AbortSignal | undefined;
  const onShutdown = () => controller.abort(shutdown!.reason);
  const onClose = () => {
    // The daemon-wide signal outlives every request: leave no listener (and no context) on it.
    shutdown?.removeEventListener('abort', onShutdown);
    if (!ctx.res.writableFinished) controller.abort();
  };
  ctx.res.once('close', onClose);
  if (shutdown?.aborted) onShutdown();
  else shutdown?.addEventListener('abort', onShutdown, { once: true });
  return controller.signal;
}

export async function respondStream<T>(
  ctx: Context,
  items: AsyncIterator<T>,
  stream: boolean,
  collect: (all: AsyncIterable<T>) => Promise<T>,
): Promise<void> {
  if (!stream) {
    const iterable = { [Symbol.asyncIterator]: () => items };
    setJson(ctx, 200, await collect(iterable));
    return;
  }
  const first = await items.next();
  ctx.status = 200;
  ctx.type = 'application/x-ndjson';
  const out = ndjson.stringify();
  ctx.body = out;
  void pump(ctx, first, items, out);
}

async function pump<T>(
  ctx: Context,
  first: IteratorResult<T>,
  items: AsyncIterator<T>,
  out: NodeJS.ReadWriteStream,
): Promise<void> {
  try {
    let next = first;
    while (!next.done) {
      if (ctx.res.destroyed) break;
      if (!out.write(next.value as never)) await Promise.race([once(out, 'drain'), once(ctx.res, 'close')]);
      next = await items.next();
    }
  } catch (e) {
    if (!ctx.res.destroyed) out.write({ error: toMoedError(e).message } as never);
  } finally {
    // Whatever the iterator's cleanup does, the response ends (a hung response holds a socket,
    // and a rejection here would be unhandled).
    await Promise.resolve(items.return?.()).catch((e) => ctx.app.emit('error', e, ctx));
    out.end();
  }
}
