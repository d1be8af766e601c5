// The Koa application: middleware in order (errors first), then the routes of each API.
import Router from '@koa/router';
import Koa from 'koa';
import type { ChatService } from '../service/chat.js';
import type { ModelService } from '../service/model-service.js';
import type { ModelStore } from '../store/store.js';
import { errorMiddleware, methodNotAllowed, notFound } from './error-middleware.js';
import { jsonBody } from './json-body.js';
import { basicRoutes } from './routes/basic.js';
import { inferenceRoutes } from './routes/inference.js';
import { modelRoutes } from './routes/models.js';
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

  basicRoutes(router, services);
  inferenceRoutes(router, services, json);
  modelRoutes(router, services, json);
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
