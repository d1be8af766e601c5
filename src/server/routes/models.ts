// Model management routes: /api/create (reference §2.9).
import type Router from '@koa/router';
import type { CreateRequest, Progress } from '../../service/model-service.js';
import type { AppServices } from '../app.js';
import { bodyOf, type jsonBody } from '../json-body.js';
import { respondStream } from '../ndjson.js';

/** stream:false answers with the last progress message. */
export async function lastOf(all: AsyncIterable<Progress>): Promise<Progress> {
  let last: Progress | undefined;
  for await (const p of all) last = p;
  return last!;
}

export function modelRoutes(router: Router, services: AppServices, json: ReturnType<typeof jsonBody>): void {
  router.post('/api/create', json, async (ctx) => {
    const req = bodyOf<CreateRequest>(ctx);
    await respondStream(ctx, services.models.create(req), req.stream !== false, lastOf);
  });
}
