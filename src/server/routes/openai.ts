// The OpenAI-compatible routes (reference §5): /v1/chat/completions, /v1/completions,
// /v1/embeddings, /v1/models and /v1/models/:model. Each converts the request (src/openai), calls
// the same service as the /api route, and converts the answer: one JSON body, or SSE with
// stream:true. Errors on /v1 are formatted in OpenAI's shape by the error middleware.
import type Router from '@koa/router';
import type { Context } from 'koa';
import { MoedError } from '../../errors/index.js';
import {
  nextId,
  toChatChunks,
  toChatCompletion,
  toChatRequest,
  toCompletion,
  toCompletionChunks,
  toEmbedRequest,
  toEmbeddingList,
  toGenerateRequest,
  toModel,
  toModelList,
  unixSeconds,
} from '../../openai/index.js';
import { collectChat } from '../../service/chat.js';
import { collectGenerate } from '../../service/generate.js';
import { parseModelNameOrNull } from '../../store/names.js';
import type { AppServices } from '../app.js';
import { setJson } from '../error-middleware.js';
import { bodyOf, type jsonBody } from '../json-body.js';
import { disconnectSignal } from '../ndjson.js';
import { respondSSE } from '../sse.js';

/** The request's model name as it was sent (the service echoes it; a missing one is the service's error). */
const modelOf = (r: { model?: string }) => r.model ?? '';

export function openaiRoutes(router: Router, services: AppServices, json: ReturnType<typeof jsonBody>): void {
  router.post('/v1/chat/completions', json, async (ctx) => {
    const plan = toChatRequest(bodyOf<unknown>(ctx));
    const id = nextId('chatcmpl');
    const created = unixSeconds();
    const items = services.inference.chat(plan.request, disconnectSignal(ctx));
    if (!plan.stream) {
      setJson(ctx, 200, toChatCompletion(await collectChat(items), id, created));
      return;
    }
    const meta = { id, created, model: modelOf(plan.request), includeUsage: plan.includeUsage };
    await respondSSE(ctx, toChatChunks(items, meta));
  });

  router.post('/v1/completions', json, async (ctx) => {
    const plan = toGenerateRequest(bodyOf<unknown>(ctx));
    const id = nextId('cmpl');
    const created = unixSeconds();
    const items = services.inference.generate(plan.request, disconnectSignal(ctx));
    if (!plan.stream) {
      setJson(ctx, 200, toCompletion(await collectGenerate(items), id, created));
      return;
    }
    const meta = { id, created, model: modelOf(plan.request), includeUsage: plan.includeUsage };
    await respondSSE(ctx, toCompletionChunks(items, meta));
  });

  router.post('/v1/embeddings', json, async (ctx) => {
    const plan = toEmbedRequest(bodyOf<unknown>(ctx));
    const result = await services.inference.embed(plan.request, disconnectSignal(ctx));
    setJson(ctx, 200, toEmbeddingList(modelOf(plan.request), result, plan.encoding));
  });

  router.get('/v1/models', async (ctx) => setJson(ctx, 200, toModelList(await services.models.list())));

  // Names hold ':' and '/' (`user/model:tag`, `hf.co/org/repo:Q4_K_M`): the rest of the path is the name.
  router.get(/^\/v1\/models\/(.+)$/, async (ctx: Context) => {
    let id = ctx.path.slice('/v1/models/'.length);
    try {
      id = decodeURIComponent(id);
    } catch {
      // not percent-encoded: the name as it is
    }
    const name = parseModelNameOrNull(id);
    const model = name ? await services.store.get(name) : undefined;
    if (!model) throw new MoedError('MODEL_NOT_FOUND', `model '${id}' not found`);
    setJson(ctx, 200, toModel(id, model.modifiedAt));
  });
}
