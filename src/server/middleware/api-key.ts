// An optional bearer key (MOED_API_KEY). When it is set, every request except the liveness check
// `GET|HEAD /` (and CORS preflights, which browsers send without credentials and which the CORS
// middleware answers first) must carry `Authorization: Bearer <key>`; otherwise 401, in the error
// shape of the route's family (the error middleware formats it). When it is unset, any
// Authorization header is accepted and ignored (reference G17).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'koa';
import { MoedError } from '../../errors/index.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function apiKey(key: string | undefined) {
  if (!key) return async (_ctx: Context, next: Next) => next();
  const expected = digest(key);
  return async (ctx: Context, next: Next) => {
    if (ctx.path === '/' && (ctx.method === 'GET' || ctx.method === 'HEAD')) return next();
    if (ctx.method === 'OPTIONS') return next();
    const header = ctx.get('Authorization');
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!m) {
      ctx.set('WWW-Authenticate', 'Bearer');
      throw new MoedError('UNAUTHORIZED', 'missing API key: send "Authorization: Bearer <key>" (the server has MOED_API_KEY set)');
    }
    // Compare digests: constant time, whatever the lengths.
    if (!timingSafeEqual(digest(m[1]!.trim()), expected)) {
      ctx.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new MoedError('UNAUTHORIZED', 'invalid API key');
    }
    await next();
  };
}
