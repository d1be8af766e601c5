// Embeddings: a second context on the same model, created on first use, with embeddings on and a
// pooling type (the GGUF's own when it has one, mean otherwise, so completion models embed too, as
// in Ollama). Each input is decoded alone, as one micro-batch (pooling needs the whole sequence in
// one), and its pooled vector read back; normalization is the daemon's business.
import type { Context, Model } from '../binding/types.js';
import type { EmbedParams, EmbedResult } from '../engine/types.js';
import { CONTEXT_EXCEEDED, PromptError } from './render.js';

/** Longest input embedded (the embedding context's size), whatever num_ctx says. */
export const MAX_EMBED_CONTEXT = 8192;

export class Embedder {
  private ctx?: Promise<Context>;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly requests = new Set<number>();
  private readonly cancelled = new Set<number>();

  constructor(
    private readonly model: Model,
    private readonly limit: number,
    private readonly threads: number,
  ) {}

  private get size(): number {
    return Math.max(16, Math.min(this.limit, MAX_EMBED_CONTEXT));
  }

  private context(): Promise<Context> {
    if (!this.ctx) {
      const meta = this.model.metadata();
      const declared = meta[`${meta['general.architecture']}.pooling_type`];
      // 0 is LLAMA_POOLING_TYPE_NONE: per-token vectors, of no use for one vector per input.
      const pooled = declared !== undefined && declared !== '0';
      this.ctx = this.model.createContext({
        nCtx: this.size,
        nBatch: this.size,
        nUbatch: this.size,
        nSeqMax: 1,
        nThreads: this.threads,
        nThreadsBatch: this.threads,
        embeddings: true,
        pooling: pooled ? 'unspecified' : 'mean',
      });
      this.ctx.catch(() => (this.ctx = undefined));
    }
    return this.ctx;
  }

  /** Requests queued or running (reported with each pong). */
  get pending(): number {
    return this.requests.size;
  }

  cancel(id: number): void {
    if (this.requests.has(id)) this.cancelled.add(id);
  }

  /** Requests run one after another. */
  embed(id: number, params: EmbedParams): Promise<EmbedResult> {
    this.requests.add(id);
    const run = this.queue.then(() => this.run(id, params)).finally(() => {
      this.requests.delete(id);
      this.cancelled.delete(id);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(id: number, params: EmbedParams): Promise<EmbedResult> {
    const size = this.size;
    // Tokenize (and refuse) everything before any decoding.
    const inputs = params.inputs.map((text) => {
      let tokens = this.model.tokenize(text, true, false);
      if (tokens.length > size) {
        if (!params.truncate) throw new PromptError(CONTEXT_EXCEEDED);
        tokens = tokens.subarray(0, size);
      }
      return tokens;
    });
    const ctx = await this.context();
    const started = process.hrtime.bigint();
    const embeddings: Float32Array[] = [];
    let promptTokens = 0;
    try {
      for (const tokens of inputs) {
        if (this.cancelled.has(id)) throw Object.assign(new Error('request canceled'), { code: 'REQUEST_CANCELED' });
        ctx.memoryClear();
        if (tokens.length > 0) {
          await ctx.decode({
            tokens,
            positions: Int32Array.from(tokens, (_, i) => i),
            seqIds: new Int32Array(tokens.length),
            logits: new Uint8Array(tokens.length).fill(1),
          });
          embeddings.push(ctx.getEmbeddings(0));
        } else {
          embeddings.push(new Float32Array(this.model.nEmbd));
        }
        promptTokens += tokens.length;
      }
    } finally {
      ctx.memoryClear();
    }
    return { embeddings, promptTokens, promptEvalNs: Number(process.hrtime.bigint() - started) };
  }
}
