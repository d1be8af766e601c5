// Streams an async iterator as server-sent events the way OpenAI does (reference OA6, OA12): one
// `data: <json>\n\n` event per object, then `data: [DONE]\n\n`. Headers wait for the first object,
// so a failure before any output still gets its real status and an error body (the error
// middleware's). A failure after it becomes one `data: {"error":{...}}` event, which the official
// SDKs raise as an APIError with the message, followed by `data: [DONE]` for clients that read
// to the end marker. A client that disconnects aborts the request's signal (see ndjson.ts).
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { toMoedError } from '../errors/index.js';
import { toErrorBody } from '../openai/errors.js';

export const SSE_DONE = 'data: [DONE]\n\n';

export const sseEvent = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;

export async function respondSSE<T>(ctx: Context, items: AsyncIterator<T>): Promise<void> {
  const first = await items.next();
  ctx.status = 200;
  ctx.set('Content-Type', 'text/event-stream');
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('X-Accel-Buffering', 'no');
  const out = new PassThrough();
  ctx.body = out;
  void pump(ctx, first, items, out);
}

async function pump<T>(ctx: Context, first: IteratorResult<T>, items: AsyncIterator<T>, out: PassThrough): Promise<void> {
  try {
    let next = first;
    while (!next.done) {
      if (ctx.res.destroyed) break;
      if (!out.write(sseEvent(next.value))) await Promise.race([once(out, 'drain'), once(ctx.res, 'close')]);
      next = await items.next();
    }
  } catch (e) {
    if (!ctx.res.destroyed) {
      const err = toMoedError(e);
      out.write(sseEvent(toErrorBody(err.status, err.message)));
    }
  } finally {
    await Promise.resolve(items.return?.(undefined)).catch((e) => ctx.app.emit('error', e, ctx));
    if (!ctx.res.destroyed) out.write(SSE_DONE);
    out.end();
  }
}
