// The runner: one child process per loaded model. libllama and ggml abort() on bad metadata, CUDA
// errors and out-of-memory, so the engine lives here and a crash costs only this model's requests.
// It talks to the daemon over the Node IPC channel (engine/protocol.ts).
import { loadBinding, type Binding, type Context, type Model } from '../binding/index.js';
import type { FromRunner, ToRunner } from '../engine/protocol.js';
import type { ErrorInfo, GenerateParams, LoadParams } from '../engine/types.js';
import { Batcher } from './batcher.js';
import { renderPrompt } from './render.js';
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
let templateOverride: string | undefined;

async function load(params: LoadParams): Promise<void> {
  try {
    binding = loadBinding();
    if (!process.env.MOED_ENGINE_LOG) binding.setLogger(() => {});
    let last = -1;
    model = await binding.loadModel({
      path: params.modelPath,
      gpuLayers: params.gpuLayers,
      devices: params.devices,
      tensorOverrides: params.tensorOverrides,
      loadMode: params.loadMode,
      noHost: params.noHost,
      onProgress: (p) => {
        const rounded = Math.floor(p * 100);
        if (rounded !== last) {
          last = rounded;
          send({ t: 'progress', progress: p });
        }
      },
    });
    const threads = params.numThreads > 0 ? params.numThreads : physicalCores();
    ctx = await model.createContext({
      nCtx: params.numCtx * params.numParallel,
      nSeqMax: params.numParallel,
      nBatch: params.numBatch,
      nUbatch: params.numUbatch,
      nThreads: threads,
      nThreadsBatch: threads,
      kvUnified: true,
      flashAttention: params.flashAttention ?? 'auto',
      opOffload: params.opOffload,
    });
    templateOverride = params.templateOverride;
    batcher = new Batcher(model, ctx);
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
  try {
    const rendered = renderPrompt(model, params.prompt, templateOverride);
    const sampler = model.createSampler(samplerParams(params.sampling));
    batcher.submit({
      id,
      prompt: rendered.tokens,
      sampler,
      numPredict: params.numPredict,
      stop: [...params.stop, ...rendered.additionalStops],
      start: rendered.thinking,
      emit: (event) => send({ t: 'event', id, event }),
      fail: (error) => send({ t: 'error', id, error }),
    });
  } catch (e) {
    send({ t: 'error', id, error: errorInfo(e, 'ENGINE_FAILURE') });
  }
}

process.on('message', (msg: ToRunner) => {
  switch (msg.t) {
    case 'load':
      void load(msg.params);
      break;
    case 'generate':
      generate(msg.id, msg.params);
      break;
    case 'cancel':
      batcher?.cancel(msg.id);
      break;
    case 'ping':
      send({ t: 'pong', seq: msg.seq });
      break;
  }
});

// The daemon going away (even by SIGKILL) closes the channel: a runner never outlives it.
process.on('disconnect', () => process.exit(0));
