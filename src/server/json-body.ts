// JSON request bodies, read the way Ollama does: whatever the Content-Type (curl -d sends
// x-www-form-urlencoded), unknown fields kept for the handler to ignore, an empty body refused.
import type { Context, Next } from 'koa';
import { koaBody } from 'koa-body';
import { MoedError } from '../errors/index.js';

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
    onError: (err: Error & { status?: number; type?: string }) => {
      if (err.status === 413 || err.type === 'entity.too.large') {
        throw new MoedError('INVALID_REQUEST', `request body is larger than ${limitBytes} bytes`);
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
