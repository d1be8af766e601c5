// The Koa application: middleware in order (errors first), then the routes of each API.
import Router from '@koa/router';
import Koa from 'koa';
import type { ChatRequest } from '../api/types.js';
import { collectChat, type ChatService } from '../service/chat.js';
import type { ModelService } from '../service/model-service.js';
import type { ModelStore } from '../store/store.js';
import { VERSION } from '../version.js';
import { errorMiddleware, methodNotAllowed, notFound, setJson } from './error-middleware.js';
import { bodyOf, jsonBody } from './json-body.js';
import { disconnectSignal, respondStream } from './ndjson.js';
import { transferRoutes } from './routes/transfer.js';

export interface AppServices {
  chat: ChatService;
  models: ModelService;
  store: ModelStore;
  bodyLimitBytes?: number;
}

export function createApp(services: AppServices): Koa {
  const app = new Koa();
  const router = new Router();
  const json = jsonBody(services.bodyLimitBytes ?? 64 * 1024 * 1024);

  router.get('/', (ctx) => {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'Ollama is running';
  });
  router.get('/api/version', (ctx) => setJson(ctx, 200, { version: VERSION }));
  router.get('/api/tags', async (ctx) => setJson(ctx, 200, { models: await services.models.list() }));

  router.post('/api/chat', json, async (ctx) => {
    const req = bodyOf<ChatRequest>(ctx);
    const signal = disconnectSignal(ctx);
    const items = services.chat.chat(req, signal);
    await respondStream(ctx, items, req.stream !== false, collectChat);
  });

  router.post('/api/create', json, async (ctx) => {
    const req = bodyOf<Record<string, unknown>>(ctx);
    const items = services.models.create(req);
    await respondStream(ctx, items, req.stream !== false, async (all) => {
      let last;
      for await (const p of all) last = p;
      return last!;
    });
  });

  transferRoutes(router, { store: services.store });

  app.use(errorMiddleware);
  app.use(router.routes());
  // Known path, wrong method: 405; anything else: 404 (Ollama's plain-text bodies).
  app.use(async (ctx) => {
    const matched = router.match(ctx.path, ctx.method);
    if (matched.path.length > 0 && !matched.route) throw methodNotAllowed();
    throw notFound();
  });
  app.on('error', (err) => {
    // A client that went away mid-stream is not an error of ours.
    const code = (err as { code?: string }).code;
    if (code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    console.error('moed: internal error:', err);
  });
  return app;
}
