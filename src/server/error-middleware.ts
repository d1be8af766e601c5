// The first middleware: the only place that turns errors into responses. /api/* answers
// {"error": "..."}; /v1/* answers {"error": {"message", "type", "param", "code"}}; other unknown
// routes and methods answer Ollama's plain-text 404/405 bodies.
import type { Context, Next } from 'koa';
import { MoedError, toMoedError } from '../errors/index.js';
import { toErrorBody } from '../openai/errors.js';

/** The OpenAI-compatible routes answer errors in OpenAI's shape (reference OA1), unknown routes and methods included. */
const isOpenAIPath = (path: string) => path === '/v1' || path.startsWith('/v1/');

export function setJson(ctx: Context, status: number, body: unknown): void {
  ctx.status = status;
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = JSON.stringify(body);
}

export async function errorMiddleware(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (e) {
    const err = toMoedError(e);
    if (err.code === 'INTERNAL' && !(e instanceof MoedError)) ctx.app.emit('error', e, ctx);
    if (ctx.headerSent) return; // a stream writes its own final error line
    if (isOpenAIPath(ctx.path)) {
      setJson(ctx, err.status, toErrorBody(err.status, err.message));
      return;
    }
    if (err.code === 'NOT_FOUND' || err.code === 'METHOD_NOT_ALLOWED') {
      ctx.status = err.status;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = err.message;
      return;
    }
    setJson(ctx, err.status, { error: err.message });
  }
}

export const notFound = () => new MoedError('NOT_FOUND', '404 page not found');
export const methodNotAllowed = () => new MoedError('METHOD_NOT_ALLOWED', '405 method not allowed');
