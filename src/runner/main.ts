// The runner: one child process per loaded model. libllama and ggml abort() on bad metadata, CUDA
// errors and out-of-memory, so the engine lives here and a crash costs only this model's requests.
// It talks to the daemon over the Node IPC channel (engine/protocol.ts). Per request: the prompt is
// rendered and fitted to the context (render.ts), a grammar chosen (grammar.ts), the sequence decoded
// in the shared batch (batcher.ts), and its text shaped into thinking, content and whole tool calls
// (output.ts) before it is sent, one small message per token. Embeddings use a second context (embedder.ts).
import os from 'node:os';
import { moedSwitches } from '../config/env.js';
import { loadBinding, type Binding, type Context, type Model, type Sampler } from '../binding/index.js';
import type { FromRunner, ToRunner } from '../engine/protocol.js';
import type { EmbedParams, ErrorInfo, GenerateEvent, GenerateParams, LoadParams } from '../engine/types.js';
import { Batcher } from './batcher.js';
import { PromptCache } from './prompt-cache.js';
import { Embedder } from './embedder.js';
import { formatGrammar, toolGrammar, type GrammarChoice } from './grammar.js';
import { OutputShaper } from './output.js';
import { preparePrompt, type PreparedPrompt } from './render.js';
import { samplerParams } from './sampling.js';
import { physicalCores } from './threads.js';

function send(msg: FromRunner): void {
  process.send?.(msg);
}

function errorInfo(e: unknown, fallback: string): ErrorInfo {
  const err = e as { code?: string; message?: string };
  return { code: typeof err?.code === 'string' ? err.code : fallback, message: err?.message ?? String(e) };
}

let binding: Binding;
let model: Model | undefined;
let ctx: Context | undefined;
let batcher: Batcher | undefined;
let embedder: Embedder | undefined;
let templateOverride: string | undefined;

async function load(params: LoadParams): Promise<void> {
  try {
    binding = loadBinding();
    if (!moedSwitches().engineLog) binding.setLogger(() => {});
    let last = -1;
    model = await binding.loadModel({
      path: params.modelPath,
      gpuLayers: params.gpuLayers,
      mainGpu: params.mainGpu,
      devices: params.devices,
      tensorOverrides: params.tensorOverrides,
      loadMode: params.loadMode,
      noHost: params.noHost,
      useExtraBufts: params.useExtraBufts,
      onProgress: (p) => {
        const rounded = Math.floor(p * 100);
        if (rounded !== last) {
          last = rounded;
          send({ t: 'progress', progress: p });
        }
      },
    });
    // More compute threads than CPUs only makes every barrier between two ops wait for a thread
    // that is not running (a tiny model: 2 ms per prompt with 2 threads on 2 CPUs, 2 s with 8), so
    // num_thread is capped at the CPUs this process may use.
    const threads = params.numThreads > 0 ? Math.min(params.numThreads, os.availableParallelism()) : physicalCores();
    ctx = await model.createContext({
      nCtx: params.numCtx * params.numParallel,
      nSeqMax: params.numParallel,
      // llama.cpp asserts n_batch >= n_seq_max (one output per sequence in a step) and would
      // abort the runner: a smaller num_batch is raised to the number of parallel sequences.
      nBatch: Math.max(params.numBatch, params.numParallel),
      nUbatch: params.numUbatch,
      nThreads: threads,
      nThreadsBatch: threads,
      kvUnified: params.kvUnified ?? true,
      flashAttention: params.flashAttention ?? 'auto',
      opOffload: params.opOffload,
      typeK: params.typeK,
      typeV: params.typeV,
    });
    templateOverride = params.templateOverride;
    const limit = Math.min(ctx.nCtxSeq, params.numCtx);
    batcher = new Batcher(model, ctx, limit, new PromptCache(params.promptCacheBytes ?? 0));
    embedder = new Embedder(model, limit, threads);
    let vram = 0;
    let ram = 0;
    for (const [buft, m] of Object.entries(ctx.memoryBreakdown())) {
      const bytes = m.model + m.context + m.compute;
      if (/^(CPU|CUDA_Host)/.test(buft)) ram += bytes;
      else vram += bytes;
    }
    send({
      t: 'loaded',
      info: { nCtx: ctx.nCtx, nCtxSeq: Math.min(ctx.nCtxSeq, params.numCtx), nSeqMax: ctx.nSeqMax, vramBytes: vram, ramBytes: ram },
    });
  } catch (e) {
    send({ t: 'load_failed', error: errorInfo(e, 'MODEL_LOAD_FAILED') });
    // A runner whose model failed to load has nothing left to do.
    setImmediate(() => process.exit(1));
  }
}

function generate(id: number, params: GenerateParams): void {
  if (!model || !batcher) {
    send({ t: 'error', id, error: { code: 'ENGINE_FAILURE', message: 'no model is loaded in this runner' } });
    return;
  }
  let sampler: Sampler | undefined;
  try {
    const prepared = preparePrompt(model, params, batcher.limit, templateOverride);
    const tools = params.prompt.kind === 'chat' && (params.prompt.tools?.length ?? 0) > 0;
    const parser =
      tools && prepared.chat
        ? model.createChatParser({
            format: prepared.chat.format,
            parser: prepared.chat.parser,
            generationPrompt: prepared.chat.generationPrompt,
            parseReasoning: false,
            parseToolCalls: true,
          })
        : undefined;
    try {
      sampler = model.createSampler({ ...samplerParams(params.sampling), ...chooseGrammar(params, prepared, tools) });
    } catch (e) {
      // The sampling values come from the request's options (mirostat 7, ...): the client's to fix.
      if ((e as { code?: string }).code === 'INVALID_ARGUMENT') {
        throw Object.assign(new Error(`invalid options: ${(e as Error).message}`), { code: 'INVALID_REQUEST' });
      }
      throw e;
    }
    const emit = (event: GenerateEvent) => send({ t: 'event', id, event });
    const shaper = new OutputShaper(
      {
        thinking: params.thinking,
        open: prepared.thinkingOpen,
        startTag: prepared.thinkingStart,
        endTag: prepared.thinkingEnd,
        parser,
      },
      emit,
    );
    const owned = sampler;
    sampler = undefined; // the batcher owns it from here
    batcher.submit({
      id,
      prompt: prepared.tokens,
      sampler: owned,
      numPredict: params.numPredict,
      stop: [...params.stop, ...prepared.additionalStops],
      truncated: prepared.truncated,
      returnTokens: params.returnTokens,
      emit: (event) => {
        if (event.type === 'done') shaper.finish();
        emit(event);
      },
      text: (text) => shaper.push(text),
      fail: (error) => send({ t: 'error', id, error }),
    });
  } catch (e) {
    // A native sampler (and its grammar) is freed only by dispose(): none may be left behind.
    sampler?.dispose();
    const info = errorInfo(e, 'ENGINE_FAILURE');
    // A template given with the request is the client's to fix.
    if (info.code === 'TEMPLATE_FAILED' && params.prompt.kind === 'chat' && params.prompt.templateOverride) {
      info.code = 'INVALID_REQUEST';
      info.message = `template: ${info.message}`;
    }
    send({ t: 'error', id, error: info });
  }
}

/**
 * An explicit grammar first, then `format`, then the template's tool-call grammar. When the prompt
 * leaves the model inside its thinking block, the format waits for the end tag (lazy grammar), so
 * the reasoning stays free and the answer is JSON (reference C11).
 */
function chooseGrammar(params: GenerateParams, prepared: PreparedPrompt, tools: boolean): GrammarChoice | undefined {
  if (params.sampling.grammar) return { grammar: params.sampling.grammar, grammarRoot: 'root' };
  if (params.format) {
    const lazy = params.thinking && prepared.thinkingOpen;
    return formatGrammar(binding, params.format, lazy ? prepared.thinkingEnd : undefined);
  }
  if (tools && prepared.chat) return toolGrammar(prepared.chat);
  return undefined;
}

function embed(id: number, params: EmbedParams): void {
  if (!embedder) {
    send({ t: 'error', id, error: { code: 'ENGINE_FAILURE', message: 'no model is loaded in this runner' } });
    return;
  }
  embedder.embed(id, params).then(
    (result) => send({ t: 'embedded', id, result }),
    (e) => send({ t: 'error', id, error: errorInfo(e, 'ENGINE_FAILURE') }),
  );
}

function memory(): { rss: number; heapUsed: number } {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

process.on('message', (msg: ToRunner) => {
  switch (msg.t) {
    case 'load':
      void load(msg.params);
      break;
    case 'generate':
      generate(msg.id, msg.params);
      break;
    case 'embed':
      embed(msg.id, msg.params);
      break;
    case 'cancel':
      batcher?.cancel(msg.id);
      embedder?.cancel(msg.id);
      break;
    case 'ping':
      // Answered here, on the event loop, which decoding never blocks (it runs on libuv's
      // worker threads): the daemon's heartbeat relies on it.
      send({
        t: 'pong',
        seq: msg.seq,
        stats: {
          busySlots: batcher?.busySlots ?? 0,
          waiting: batcher?.waitingCount ?? 0,
          embeds: embedder?.pending ?? 0,
          ...memory(),
        },
      });
      break;
    case 'devices':
      try {
        send({ t: 'devices', devices: loadBinding().devices() });
      } catch (e) {
        send({ t: 'devices_failed', error: errorInfo(e, 'ENGINE_FAILURE') });
      }
      break;
  }
});

// The daemon going away (even by SIGKILL) closes the channel: a runner never outlives it.
process.on('disconnect', () => process.exit(0));
