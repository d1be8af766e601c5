// Model management routes (reference §2.3, §2.4, §2.9, §2.10): /api/ps, /api/show, /api/create,
// /api/blobs/:digest, /api/copy, /api/delete. Bodies are typed as Ollama's Go structs type them.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { CopyRequest, CreateRequest, DeleteRequest, Progress, ShowRequest } from '../../service/model-service.js';
import { parseDigest } from '../../store/store.js';
import { setJson } from '../error-middleware.js';
import type { AppServices } from '../app.js';
import { bodyOf, type jsonBody } from '../json-body.js';
import {
  CopyRequestFields,
  CreateRequestFields,
  DeleteRequestFields,
  goTypes,
  ShowRequestFields,
} from '../middleware/go-types.js';
import { respondStream } from '../ndjson.js';

/** stream:false answers with the last progress message. */
export async function lastOf(all: AsyncIterable<Progress>): Promise<Progress> {
  let last: Progress | undefined;
  for await (const p of all) last = p;
  return last!;
}

/** 200 with an empty body and no content type, as Gin answers a handler that writes nothing. */
function emptyOk(ctx: Context): void {
  ctx.body = null;
  ctx.status = 200;
}

export function modelRoutes(router: Router, services: AppServices, json: ReturnType<typeof jsonBody>): void {
  const { models } = services;

  router.get('/api/ps', async (ctx) => setJson(ctx, 200, { models: await models.running() }));

  router.post('/api/show', json, goTypes('ShowRequest', ShowRequestFields), async (ctx) => {
    setJson(ctx, 200, await models.show(bodyOf<ShowRequest>(ctx)));
  });

  router.post('/api/create', json, goTypes('CreateRequest', CreateRequestFields), async (ctx) => {
    const req = bodyOf<CreateRequest>(ctx);
    await respondStream(ctx, models.create(req), req.stream !== false, lastOf);
  });

  router.post('/api/copy', json, goTypes('CopyRequest', CopyRequestFields), async (ctx) => {
    await models.copy(bodyOf<CopyRequest>(ctx));
    emptyOk(ctx);
  });

  router.delete('/api/delete', json, goTypes('DeleteRequest', DeleteRequestFields), async (ctx) => {
    await models.delete(bodyOf<DeleteRequest>(ctx));
    emptyOk(ctx);
  });

  // No JSON body middleware here: the raw body streams to disk.
  router.head('/api/blobs/:digest', async (ctx) => {
    const digest = ctx.params.digest!;
    parseDigest(digest);
    if (!(await models.hasBlob(digest))) {
      setJson(ctx, 404, { error: `blob "${digest}" not found` });
      return;
    }
    emptyOk(ctx);
  });

  router.post('/api/blobs/:digest', async (ctx) => {
    const result = await models.uploadBlob(ctx.params.digest!, ctx.req);
    ctx.body = null;
    ctx.status = result === 'created' ? 201 : 200;
  });
}
