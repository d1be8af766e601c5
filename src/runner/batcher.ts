// Continuous batching: every active sequence shares one llama_decode per step. Each step carries
// the last sampled token of every generating sequence plus as many pending prompt tokens as the
// batch allows, so a new request starts without waiting for others, and a finished or cancelled
// one frees its slot at once. A slot keeps the tokens of its KV cache after a request ends, so the
// next request that extends them (the next chat turn) evaluates only its new tokens.
import type { Context, DecodeBatch, Model, SampleRequest, Sampler } from '../binding/types.js';
import type { ErrorInfo, GenerateDone, GenerateStart } from '../engine/types.js';
import { StopMatcher } from './stop-strings.js';
import { commonPrefix, type PromptCache } from './prompt-cache.js';

export interface JobSpec {
  id: number;
  prompt: Int32Array;
  sampler: Sampler;
  /** -1 means until the context is full. */
  numPredict: number;
  stop: string[];
  /** The prompt was shortened to fit (reported in the start event). */
  truncated?: boolean;
  /** Report the prompt and generated token ids in the done event. */
  returnTokens?: boolean;
  emit: (event: GenerateStart | GenerateDone) => void;
  /** Generated text, stop strings applied, as it is produced. */
  text: (text: string) => void;
  fail: (error: ErrorInfo) => void;
}

interface Job extends JobSpec {
  slot?: Slot;
  /** Prompt tokens already in the slot's KV cache. */
  evaluated: number;
  cached: number;
  /** Sampled but not yet decoded. */
  pending: number | null;
  generated: number;
  /** Generated token ids (kept only with returnTokens). */
  output: number[];
  cancelled: boolean;
  stopper: StopMatcher;
  decoder: TextDecoder;
  tAssigned: bigint;
  tFirstToken: bigint;
}

interface Slot {
  id: number;
  /** Exactly the tokens held in this sequence's KV cache. */
  tokens: number[];
  job?: Job;
  lastUsed: number;
}

interface Entry {
  job: Job;
  count: number;
  sampleIndex: number;
}


export class Batcher {
  private readonly slots: Slot[];
  private readonly waiting: Job[] = [];
  private readonly jobs = new Map<number, Job>();
  private running = false;
  private inFlight: Job[] = [];
  private clock = 0;

  /** Tokens one sequence may hold (num_ctx). */
  readonly limit: number;

  constructor(
    private readonly model: Model,
    private readonly ctx: Context,
    limit = ctx.nCtxSeq,
    /** Host-RAM cache of prefixes beyond the live slots; undefined disables it. */
    private readonly cache?: PromptCache,
  ) {
    this.limit = Math.min(limit, ctx.nCtxSeq);
    this.slots = Array.from({ length: ctx.nSeqMax }, (_, id) => ({ id, tokens: [], lastUsed: 0 }));
  }

  /** Slots holding a sequence. */
  get busySlots(): number {
    return this.slots.filter((s) => s.job).length;
  }

  /** Sequences waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Takes the job, and its sampler: the batcher disposes of it however the job ends. */
  submit(spec: JobSpec): void {
    const refuse = (message: string) => {
      spec.sampler.dispose();
      spec.fail({ code: 'INVALID_REQUEST', message });
    };
    if (spec.prompt.length === 0) return refuse('the prompt is empty after templating');
    if (spec.prompt.length >= this.limit) return refuse('the input length exceeds the context length');
    const job: Job = {
      ...spec,
      evaluated: 0,
      cached: 0,
      pending: null,
      generated: 0,
      output: [],
      cancelled: false,
      stopper: new StopMatcher(spec.stop),
      decoder: new TextDecoder('utf-8'),
      tAssigned: 0n,
      tFirstToken: 0n,
    };
    this.jobs.set(job.id, job);
    this.waiting.push(job);
    void this.run();
  }

  cancel(id: number): void {
    const job = this.jobs.get(id);
    if (!job) return;
    job.cancelled = true;
    // Stop a long prompt evaluation at once when nobody else is waiting on this decode.
    if (this.inFlight.length > 0 && this.inFlight.every((j) => j.cancelled)) this.ctx.abort();
    void this.run();
  }

  private async assignSlots(): Promise<void> {
    for (let i = 0; i < this.waiting.length; ) {
      const job = this.waiting[i]!;
      if (job.cancelled) {
        this.waiting.splice(i, 1);
        this.release(job);
        continue;
      }
      const free = this.slots.filter((s) => !s.job);
      if (free.length === 0) return;
      let best = free[0]!;
      let bestLen = -1;
      for (const s of free) {
        const len = commonPrefix(s.tokens, job.prompt);
        if (len > bestLen || (len === bestLen && s.lastUsed < best.lastUsed)) {
          best = s;
          bestLen = len;
        }
      }
      // Claim the slot before any await, so nothing else takes it meanwhile.
      best.job = job;
      job.slot = best;
      this.waiting.splice(i, 1);
      bestLen = await this.reuseHostPrefix(best, job.prompt, bestLen);
      // At least one prompt token is evaluated again, to get logits for the first sample.
      const keep = Math.min(bestLen, job.prompt.length - 1);
      if (keep < best.tokens.length) {
        this.ctx.seqRm(best.id, keep, -1);
        best.tokens.length = keep;
      }
      best.lastUsed = ++this.clock;
      job.evaluated = keep;
      job.cached = keep;
      job.tAssigned = process.hrtime.bigint();
      job.emit({ type: 'start', promptTokens: job.prompt.length, cachedTokens: keep, truncated: job.truncated ?? false });
    }
  }

  /**
   * Before a slot's KV is overwritten by another conversation, its state goes to the host-RAM
   * cache; and when the cache holds a longer prefix of the new prompt than the slot does, that
   * state is restored into the slot. Returns the prompt tokens now in the slot.
   */
  private async reuseHostPrefix(slot: Slot, prompt: Int32Array, inSlot: number): Promise<number> {
    const cache = this.cache;
    if (!cache || cache.budgetBytes <= 0) return inSlot;
    const hit = cache.best(prompt);
    const restore = hit !== undefined && hit.length > inSlot + 16;
    if (restore || inSlot < slot.tokens.length) await this.saveSlot(slot);
    if (!restore) return inSlot;
    this.ctx.seqRm(slot.id, 0, -1);
    slot.tokens.length = 0;
    const read = await this.ctx.stateSeqSet(slot.id, hit.entry.state).catch(() => 0);
    if (read === 0) {
      this.ctx.seqRm(slot.id, 0, -1);
      return 0;
    }
    slot.tokens = hit.entry.tokens.slice();
    return hit.length;
  }

  private async saveSlot(slot: Slot): Promise<void> {
    if (!this.cache?.wants(slot.tokens)) return;
    const state = await this.ctx.stateSeqGet(slot.id).catch(() => undefined);
    if (state && state.length > 0) this.cache.save(slot.tokens.slice(), state);
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        // Cancelled sequences leave first, so a request waiting for a slot takes it in this
        // very step: a client that disconnects frees its slot within one decode step.
        for (const s of this.slots) if (s.job?.cancelled) this.release(s.job);
        await this.assignSlots();
        const active = this.slots.filter((s) => s.job).map((s) => s.job!);
        if (active.length === 0) break;
        await this.step(active);
      }
    } finally {
      this.running = false;
    }
    if (this.waiting.length > 0) void this.run();
  }

  private async step(active: Job[]): Promise<void> {
    const cap = this.ctx.nBatch;
    const tokens: number[] = [];
    const positions: number[] = [];
    const seqIds: number[] = [];
    const logits: number[] = [];
    const entries: Entry[] = [];
    const samples: SampleRequest[] = [];
    const add = (job: Job, token: number, pos: number, wantLogits: boolean) => {
      tokens.push(token);
      positions.push(pos);
      seqIds.push(job.slot!.id);
      logits.push(wantLogits ? 1 : 0);
      if (wantLogits) samples.push({ sampler: job.sampler, batchIndex: tokens.length - 1 });
    };
    // Generating sequences first: one token each keeps every stream moving.
    for (const job of active) {
      if (job.pending === null) continue;
      add(job, job.pending, job.slot!.tokens.length, true);
      entries.push({ job, count: 1, sampleIndex: samples.length - 1 });
    }
    // Then prompt tokens, as many as fit.
    for (const job of active) {
      if (job.pending !== null || tokens.length >= cap) continue;
      const remaining = job.prompt.length - job.evaluated;
      const n = Math.min(remaining, cap - tokens.length);
      const base = job.slot!.tokens.length;
      for (let k = 0; k < n; k++) {
        const last = job.evaluated + k === job.prompt.length - 1;
        add(job, job.prompt[job.evaluated + k]!, base + k, last);
      }
      entries.push({ job, count: n, sampleIndex: job.evaluated + n === job.prompt.length ? samples.length - 1 : -1 });
    }
    const batch: DecodeBatch = {
      tokens: Int32Array.from(tokens),
      positions: Int32Array.from(positions),
      seqIds: Int32Array.from(seqIds),
      logits: Uint8Array.from(logits),
    };
    this.inFlight = entries.map((e) => e.job);
    let sampled: Int32Array;
    try {
      sampled = await this.ctx.decode(batch, samples);
    } catch (e) {
      this.inFlight = [];
      this.recover(entries, e as Error & { code?: string });
      return;
    }
    this.inFlight = [];
    let offset = 0;
    for (const { job, count, sampleIndex } of entries) {
      const slot = job.slot!;
      const isGen = job.pending !== null;
      if (isGen) {
        slot.tokens.push(job.pending!);
        job.pending = null;
      } else {
        for (let k = 0; k < count; k++) slot.tokens.push(batch.tokens[offset + k]!);
        job.evaluated += count;
      }
      offset += count;
      if (sampleIndex >= 0 && !job.cancelled) this.accept(job, sampled[sampleIndex]!);
    }
  }

  /** After a failed decode: drop whatever part of the batch reached the KV cache. */
  private recover(entries: Entry[], error: Error & { code?: string }): void {
    for (const { job } of entries) {
      const slot = job.slot!;
      this.ctx.seqRm(slot.id, slot.tokens.length, -1);
    }
    if (error.code === 'ABORTED') return; // cancelled jobs are released by the loop; others retry
    for (const { job } of entries) {
      const slot = job.slot!;
      this.ctx.seqRm(slot.id, 0, -1);
      slot.tokens.length = 0;
      job.fail({ code: 'ENGINE_FAILURE', message: `decode failed: ${error.message}` });
      this.release(job);
    }
  }

  private accept(job: Job, token: number): void {
    const now = process.hrtime.bigint();
    if (job.generated === 0 && job.tFirstToken === 0n) job.tFirstToken = now;
    if (this.model.isEog(token)) return this.finish(job, 'stop', false);
    job.generated++;
    if (job.returnTokens) job.output.push(token);
    const text = job.decoder.decode(this.model.tokenPiece(token, true), { stream: true });
    const { emit, stopped } = job.stopper.push(text);
    if (emit) job.text(emit);
    if (stopped) return this.finish(job, 'stop', true);
    if (job.numPredict >= 0 && job.generated >= job.numPredict) return this.finish(job, 'length', false);
    // The sampled token still has to be decoded; with no room left for it, the answer is cut here.
    if (job.slot!.tokens.length + 1 >= this.limit) return this.finish(job, 'length', false);
    job.pending = token;
  }

  private finish(job: Job, reason: 'stop' | 'length', stoppedByString: boolean): void {
    if (!stoppedByString) {
      const rest = job.stopper.push(job.decoder.decode()).emit + job.stopper.flush();
      if (rest) job.text(rest);
    }
    const end = process.hrtime.bigint();
    const first = job.tFirstToken || end;
    job.emit({
      type: 'done',
      reason,
      promptEvalCount: job.prompt.length - job.cached,
      promptEvalNs: Number(first - job.tAssigned),
      evalCount: job.generated,
      evalNs: Number(end - first),
      cachedTokens: job.cached,
      ...(job.returnTokens ? { context: [...job.prompt, ...job.output] } : {}),
    });
    this.release(job);
  }

  private release(job: Job): void {
    if (job.slot) job.slot.job = undefined;
    job.slot = undefined;
    this.jobs.delete(job.id);
    job.sampler.dispose();
  }
}
