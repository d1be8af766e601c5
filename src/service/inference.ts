// The inference API as one service: chat, generate and embeddings on models loaded by the scheduler.
import type {
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EmbedResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  GenerateRequest,
  GenerateResponse,
} from '../api/types.js';
import { chat } from './chat.js';
import { embed, embeddings } from './embed.js';
import { generate } from './generate.js';
import type { ServiceDeps } from './run.js';

export type { ServiceDeps } from './run.js';

export class InferenceService {
  constructor(private readonly deps: ServiceDeps) {}

  chat(req: ChatRequest, signal: AbortSignal): AsyncGenerator<ChatResponse> {
    return chat(this.deps, req, signal);
  }

  generate(req: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerateResponse> {
    return generate(this.deps, req, signal);
  }

  embed(req: EmbedRequest, signal: AbortSignal): Promise<EmbedResponse> {
    return embed(this.deps, req, signal);
  }

  embeddings(req: EmbeddingRequest, signal: AbortSignal): Promise<EmbeddingResponse> {
    return embeddings(this.deps, req, signal);
  }
}
