// POST /api/pull and POST /api/push: NDJSON progress (or, with stream:false, the last progress
// message as one JSON body). Errors found before the first line keep their HTTP status; a failure
// after it becomes a final {"error": ...} line (reference G9, PL1–PL5).
import type Router from '@koa/router';
import { lastProgress, pull, push, type TransferDeps, type TransferRequest } from '../../service/transfer.js';
import { bodyOf, jsonBody } from '../json-body.js';
import { disconnectSignal, respondStream } from '../ndjson.js';

export interface TransferRouteDeps extends TransferDeps {
  bodyLimitBytes?: number;
}

export function transferRoutes(router: Router, deps: TransferRouteDeps): void {
  const json = jsonBody(deps.bodyLimitBytes ?? 1024 * 1024);

  router.post('/api/pull', json, async (ctx) => {
    const req = bodyOf<TransferRequest>(ctx);
    const items = pull(req, deps, disconnectSignal(ctx));
    await respondStream(ctx, items, req.stream !== false, lastProgress);
  });

  router.post('/api/push', json, async (ctx) => {
    const req = bodyOf<TransferRequest>(ctx);
    const items = push(req, deps, disconnectSignal(ctx));
    await respondStream(ctx, items, req.stream !== false, lastProgress);
  });
}
