// Liveness, version and the model list (reference §2.1–2.2).
import type Router from '@koa/router';
import { VERSION } from '../../version.js';
import { setJson } from '../error-middleware.js';
import type { AppServices } from '../app.js';

export function basicRoutes(router: Router, services: AppServices): void {
  router.get('/', (ctx) => {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'Ollama is running';
  });
  router.get('/api/version', (ctx) => setJson(ctx, 200, { version: VERSION }));
  router.get('/api/tags', async (ctx) => setJson(ctx, 200, { models: await services.models.list() }));
}
