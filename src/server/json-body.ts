// JSON request bodies, read the way Ollama does: whatever the Content-Type (curl -d sends
// x-www-form-urlencoded), unknown fields kept for the handler to ignore, an empty body refused.
// A body over the limit (MOED_MAX_BODY, 64 MiB by default: room for base64 images) is refused with
// 413 as soon as its Content-Length, or the bytes received, pass the limit; it is never buffered
// whole. Blob uploads do not come here: they stream to disk (store/blob-upload.ts).
import type { Context, Next } from 'koa';
import { koaBody } from 'koa-body';
import { MoedError } from '../errors/index.js';

/** "64 MiB", "1 MiB", "1000 bytes". */
function limitText(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

export function jsonBody(limitBytes: number) {
  const parse = koaBody({
    json: true,
    jsonStrict: true,
    urlencoded: false,
    text: false,
    multipart: false,
    includeUnparsed: true,
    jsonLimit: limitBytes,
    parsedMethods: ['POST', 'PUT', 'PATCH', 'DELETE'] as never,
    onError: (err: Error & { status?: number; type?: string; body?: unknown }) => {
      // Only spaces: Go's decoder sees io.EOF, and Ollama answers "missing request body".
      if (typeof err.body === 'string' && err.body.trim() === '') throw new MoedError('MISSING_BODY', 'missing request body');
      if (err.status === 413 || err.type === 'entity.too.large') {
        throw new MoedError('PAYLOAD_TOO_LARGE', `request body is larger than the limit of ${limitText(limitBytes)} (MOED_MAX_BODY)`);
      }
      throw new MoedError('INVALID_REQUEST', err.message);
    },
  });
  return async (ctx: Context, next: Next) => {
    ctx.request.headers['content-type'] = 'application/json';
    await parse(ctx, async () => {
      const raw = (ctx.request as { rawBody?: unknown }).rawBody;
      const body = ctx.request.body;
      if (typeof raw !== 'string' || raw.trim() === '') throw new MoedError('MISSING_BODY', 'missing request body');
      if (Array.isArray(body)) throw new MoedError('INVALID_REQUEST', 'the request body must be a JSON object');
      await next();
    });
  };
}

/** The parsed body as the handler's request type. */
export function bodyOf<T>(ctx: Context): T {
  return ctx.request.body as T;
}
