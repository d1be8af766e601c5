// Liveness, version, the model list and cloud status (reference §1, §2.1–2.2), and the
// ollama.com account and web routes, which a local daemon does not have.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { MoedError } from '../../errors/index.js';
import { VERSION } from '../../version.js';
import { setJson } from '../error-middleware.js';
import type { AppServices } from '../app.js';

/**
 * Ollama's answer when its cloud features are switched off (OLLAMA_NO_CLOUD): 403
 * `ollama cloud is disabled: <what>`. moed never has them, so these routes always answer so.
 */
function cloudDisabled(what: string) {
  return (_ctx: Context) => {
    throw new MoedError('FORBIDDEN', `ollama cloud is disabled: ${what} (moed is a local server without ollama.com features)`);
  };
}

export function basicRoutes(router: Router, services: AppServices): void {
  router.get('/', (ctx) => {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'Ollama is running';
  });
  router.get('/api/version', (ctx) => setJson(ctx, 200, { version: VERSION }));
  router.get('/api/tags', async (ctx) => setJson(ctx, 200, { models: await services.models.list() }));
  router.get('/api/status', (ctx) => setJson(ctx, 200, { cloud: { disabled: true, source: 'moed' } }));

  router.post('/api/me', cloudDisabled('account is unavailable'));
  router.post('/api/signout', cloudDisabled('sign-out is unavailable'));
  router.delete('/api/user/keys/:encodedKey', cloudDisabled('sign-out is unavailable'));
  router.post('/api/experimental/web_search', cloudDisabled('web search is unavailable'));
  router.post('/api/experimental/web_fetch', cloudDisabled('web fetch is unavailable'));
  router.get('/api/experimental/model-recommendations', cloudDisabled('model recommendations are unavailable'));
}
