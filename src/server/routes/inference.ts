// Generation routes: /api/chat (reference §2.6).
import type Router from '@koa/router';
import type { ChatRequest } from '../../api/types.js';
import { collectChat } from '../../service/chat.js';
import type { AppServices } from '../app.js';
import { bodyOf, type jsonBody } from '../json-body.js';
import { disconnectSignal, respondStream } from '../ndjson.js';

export function inferenceRoutes(router: Router, services: AppServices, json: ReturnType<typeof jsonBody>): void {
  router.post('/api/chat', json, async (ctx) => {
    const req = bodyOf<ChatRequest>(ctx);
    const items = services.chat.chat(req, disconnectSignal(ctx));
    await respondStream(ctx, items, req.stream !== false, collectChat);
  });
}
