// Inference routes: /api/chat (reference §2.6), /api/generate (§2.5), /api/embed and
// /api/embeddings (§2.7). Load and unload answer one JSON object whatever `stream` says.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ChatRequest, EmbedRequest, EmbeddingRequest, GenerateRequest } from '../../api/types.js';
import { collectChat } from '../../service/chat.js';
import { collectGenerate } from '../../service/generate.js';
import type { AppServices } from '../app.js';
import { setJson } from '../error-middleware.js';
import { bodyOf, type jsonBody } from '../json-body.js';
import { ChatRequestFields, GenerateRequestFields, goTypes } from '../middleware/go-types.js';
import { disconnectSignal, respondStream } from '../ndjson.js';

type Final = { done: boolean; done_reason?: string };

/**
 * Streams (or collects) a response; a first object that is a load or unload answer is sent alone
 * as plain JSON, as Ollama does.
 */
async function respondInference<T extends Final>(
  ctx: Context,
  items: AsyncGenerator<T>,
  stream: boolean,
  collect: (all: AsyncIterable<T>) => Promise<T>,
): Promise<void> {
  const first = await items.next();
  if (!first.done && first.value.done && (first.value.done_reason === 'load' || first.value.done_reason === 'unload')) {
    await items.return(undefined);
    setJson(ctx, 200, first.value);
    return;
  }
  let pending: IteratorResult<T> | undefined = first;
  const rest: AsyncIterator<T> = {
    next: () => {
      if (pending) {
        const p = pending;
        pending = undefined;
        return Promise.resolve(p);
      }
      return items.next();
    },
    return: (v?: unknown) => items.return(v as never),
  };
  await respondStream(ctx, rest, stream, collect);
}

export function inferenceRoutes(router: Router, services: AppServices, json: ReturnType<typeof jsonBody>): void {
  // Fields of a wrong JSON type are refused with Go's decoder text, as Ollama does (reference G4).
  router.post('/api/chat', json, goTypes('ChatRequest', ChatRequestFields), async (ctx) => {
    const req = bodyOf<ChatRequest>(ctx);
    const items = services.inference.chat(req, disconnectSignal(ctx));
    await respondInference(ctx, items, req.stream !== false, collectChat);
  });

  router.post('/api/generate', json, goTypes('GenerateRequest', GenerateRequestFields), async (ctx) => {
    const req = bodyOf<GenerateRequest>(ctx);
    const items = services.inference.generate(req, disconnectSignal(ctx));
    await respondInference(ctx, items, req.stream !== false, collectGenerate);
  });

  router.post('/api/embed', json, async (ctx) => {
    const req = bodyOf<EmbedRequest>(ctx);
    setJson(ctx, 200, await services.inference.embed(req, disconnectSignal(ctx)));
  });

  router.post('/api/embeddings', json, async (ctx) => {
    const req = bodyOf<EmbeddingRequest>(ctx);
    setJson(ctx, 200, await services.inference.embeddings(req, disconnectSignal(ctx)));
  });
}
