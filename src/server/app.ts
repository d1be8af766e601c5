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
import type { Lifecycle } from './middleware/lifecycle.js';
import { basicRoutes } from './routes/basic.js';
import { debugRoutes, type DaemonState } from './routes/debug.js';
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
  /** Counts requests in flight and drains them on shutdown (absent: no graceful shutdown). */
  lifecycle?: Lifecycle;
  /** The daemon's counters for GET /api/moed/state (absent: no such route). */
  state?: () => Promise<DaemonState>;
}

export function createApp(services: AppServices): Koa {
  const app = new Koa();
  const router = new Router();
  const limit = services.bodyLimitBytes ?? 64 * 1024 * 1024;
  const json = jsonBody(limit);

  basicRoutes(router, services);
  inferenceRoutes(router, services, json);
  modelRoutes(router, services, json);
  // A pull or push request is a name and two flags: 1 MiB is plenty, whatever MOED_MAX_BODY allows.
  transferRoutes(router, { store: services.store, bodyLimitBytes: Math.min(limit, 1024 * 1024) });
  openaiRoutes(router, services, json);
  debugRoutes(router, services.state);

  app.use(errorMiddleware);
  if (services.lifecycle) app.use(services.lifecycle.middleware());
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
    // Malformed HTTP from the client (or a client that went away in the middle of an upload).
    if (code?.startsWith('HPE_')) return;
    console.error('moed: internal error:', err);
  });
  return app;
}
