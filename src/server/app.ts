// The Koa application: middleware in order (errors first), then the routes of each API.
import Router from '@koa/router';
import Koa from 'koa';
import type { InferenceService } from '../service/inference.js';
import type { ModelService } from '../service/model-service.js';
import type { ModelStore } from '../store/store.js';
import { errorMiddleware, methodNotAllowed, notFound } from './error-middleware.js';
import { jsonBody } from './json-body.js';
import { apiKey } from './middleware/api-key.js';
import { cors } from './middleware/cors.js';
import { hostCheck } from './middleware/host-check.js';
import { basicRoutes } from './routes/basic.js';
import { inferenceRoutes } from './routes/inference.js';
import { modelRoutes } from './routes/models.js';
import { openaiRoutes } from './routes/openai.js';
import { transferRoutes } from './routes/transfer.js';

export interface AppServices {
  inference: InferenceService;
  models: ModelService;
  store: ModelStore;
  bodyLimitBytes?: number;
  /** CORS and DNS-rebinding policy (reference G15, G16); absent: default origins, no host check. */
  network?: { listenHost?: string; origins?: string[] };
  /** MOED_API_KEY: when set, every route but `GET|HEAD /` needs `Authorization: Bearer <key>`. */
  apiKey?: string;
}

export function createApp(services: AppServices): Koa {
  const app = new Koa();
  const router = new Router();
  const json = jsonBody(services.bodyLimitBytes ?? 64 * 1024 * 1024);

  basicRoutes(router, services);
  inferenceRoutes(router, services, json);
  modelRoutes(router, services, json);
  transferRoutes(router, { store: services.store });
  openaiRoutes(router, services, json);

  app.use(errorMiddleware);
  app.use(cors(services.network?.origins));
  app.use(hostCheck(services.network?.listenHost));
  app.use(apiKey(services.apiKey));
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
    if (code === 'HPE_INVALID_EOF_STATE') return; // the client went away in the middle of an upload
    console.error('moed: internal error:', err);
  });
  return app;
}
