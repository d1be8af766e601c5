// The contract between TypeScript and the native addon (native/src/*.cpp).
// The addon owns mechanism only; every slow call returns a Promise and runs off the JS thread.
// Errors thrown by the addon are Error objects with a string `code` (see NativeErrorCode).

export type NativeErrorCode =
  | 'INVALID_ARGUMENT' // a bad parameter from JS
  | 'LOAD_FAILED' // llama_model_load_* returned NULL
  | 'LOAD_ABORTED' // the progress callback asked to stop
  | 'CONTEXT_FAILED' // llama_init_from_model returned NULL
  | 'DECODE_FAILED' // llama_decode returned -1 or < -1
  | 'NO_KV_SPACE' // llama_decode returned 1
  | 'ABORTED' // llama_decode returned 2 (abort flag set)
  | 'GRAMMAR_INVALID' // the grammar did not parse
  | 'TEMPLATE_FAILED' // chat template rendering threw
  | 'PARSE_FAILED' // chat output parsing threw
  | 'QUANTIZE_FAILED'
  | 'STATE_FAILED'
  | 'DISPOSED' // the handle was already freed
  | 'NATIVE_ERROR'; // any other C++ exception

export interface DeviceInfo {
  /** ggml device name: "CPU", "CUDA0", ... */
  name: string;
  description: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
  memoryFree: number;
  memoryTotal: number;
}

export interface TensorOverride {
  /** ECMAScript regex, searched in the tensor name (llama.cpp semantics: first match wins). */
  pattern: string;
  /** A device name ("CPU", "CUDA0") or a buffer type name ("CUDA_Host", "CPU_REPACK"). */
  bufferType: string;
}

export interface ModelLoadParams {
  /** The first file of a split set is enough; llama.cpp finds the rest. */
  path: string;
  /** Device names to use, in order; omitted means every GPU. An empty list means CPU only. */
  devices?: string[];
  /** -1 means every layer plus the output layer. */
  gpuLayers?: number;
  mainGpu?: number;
  splitMode?: 'none' | 'layer' | 'row';
  tensorOverrides?: TensorOverride[];
  /** "auto" | "none" | "mmap" | "mlock" | "mmap+mlock" | "dio" (llama_load_mode_from_str). */
  loadMode?: string;
  /** Skip the pinned host buffer (CUDA_Host) so CPU repack buffers can win. */
  noHost?: boolean;
  useExtraBufts?: boolean;
  vocabOnly?: boolean;
  checkTensors?: boolean;
  /** Called from the JS thread with 0..1, ending with 1 before the promise resolves. If it throws, loading stops (LOAD_ABORTED). */
  onProgress?: (progress: number) => void;
  /** Aborting stops the load at its next progress step; the promise rejects with LOAD_ABORTED. */
  signal?: AbortSignal;
}

export interface ContextParams {
  nCtx: number;
  nBatch?: number;
  nUbatch?: number;
  nSeqMax?: number;
  nThreads?: number;
  nThreadsBatch?: number;
  /** 'auto' | 'on' | 'off' */
  flashAttention?: 'auto' | 'on' | 'off';
  /** One KV buffer for all sequences (cheap cross-sequence prefix copy). */
  kvUnified?: boolean;
  /** ggml type names, e.g. "f16", "q8_0". */
  typeK?: string;
  typeV?: string;
  /** Keep KV and attention on the device of their layer. Default true. */
  offloadKqv?: boolean;
  /** Let the scheduler run host-weight ops on the GPU for big batches. Default true. */
  opOffload?: boolean;
  embeddings?: boolean;
  /** 'unspecified' | 'none' | 'mean' | 'cls' | 'last' */
  pooling?: string;
  /** Keep timing counters (llama_perf_context). */
  perf?: boolean;
}

export interface SamplerParams {
  /** <= 0 means greedy (after penalties and grammar). */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  typicalP: number;
  repeatLastN: number;
  repeatPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** 0xFFFFFFFF means random. */
  seed: number;
  /** 0 off, 1 mirostat v1, 2 mirostat v2 */
  mirostat: number;
  mirostatTau: number;
  mirostatEta: number;
  /** GBNF grammar text and its root rule; empty means none. */
  grammar?: string;
  grammarRoot?: string;
  /** Lazy grammar: active only once a trigger pattern or token appears (tool calls). */
  grammarLazy?: boolean;
  grammarTriggerPatterns?: string[];
  grammarTriggerTokens?: number[];
  logitBias?: { token: number; bias: number }[];
}

export interface Sampler {
  /** Feed a token that was not produced by this sampler (prompt tokens for penalties). The grammar does not see it. */
  accept(token: number): void;
  reset(): void;
  dispose(): void;
}

export interface DecodeBatch {
  tokens: Int32Array;
  positions: Int32Array;
  /** One sequence id per token. */
  seqIds: Int32Array;
  /** 1 where logits are wanted for that token. */
  logits: Uint8Array;
}

export interface SampleRequest {
  sampler: Sampler;
  /** Index in the batch of a token whose logits flag was set. */
  batchIndex: number;
}

export interface PerfCounters {
  promptEvalMs: number;
  evalMs: number;
  promptTokens: number;
  evalTokens: number;
}

/**
 * While a decode or a state call runs on a worker, the other methods throw INVALID_ARGUMENT, except
 * abort(), perf() and dispose(). dispose() during a decode aborts it; memory is freed when it ends.
 */
export interface Context {
  readonly nCtx: number;
  readonly nCtxSeq: number;
  readonly nBatch: number;
  readonly nUbatch: number;
  readonly nSeqMax: number;
  /**
   * llama_decode on a worker thread, then llama_sampler_sample for every request, in order.
   * Resolves to the sampled tokens (same order as `sample`). Rejects with NO_KV_SPACE, ABORTED
   * or DECODE_FAILED. The abort flag is cleared when a decode starts.
   */
  decode(batch: DecodeBatch, sample?: SampleRequest[]): Promise<Int32Array>;
  /** Logits row of a batch index from the last decode (copy). */
  getLogits(batchIndex: number): Float32Array;
  /** Pooled embedding of a sequence (requires embeddings:true and pooling), or of a batch index. */
  getEmbeddings(seqId: number): Float32Array;
  getEmbeddingsIth(batchIndex: number): Float32Array;
  /** Makes a running decode return ABORTED as soon as ggml checks the flag. Thread-safe. */
  abort(): void;
  seqRm(seqId: number, p0: number, p1: number): boolean;
  seqCp(src: number, dst: number, p0: number, p1: number): void;
  seqKeep(seqId: number): void;
  seqAdd(seqId: number, p0: number, p1: number, delta: number): void;
  seqPosMin(seqId: number): number;
  seqPosMax(seqId: number): number;
  memoryClear(): void;
  /** Serialized KV state of one sequence (llama_state_seq_get_data). */
  stateSeqGet(seqId: number): Promise<Buffer>;
  /** Restores a state into a sequence; resolves to the bytes read (0 means failure). */
  stateSeqSet(seqId: number, state: Buffer): Promise<number>;
  perf(): PerfCounters;
  /** Bytes per buffer type: { "CUDA0": {model, context, compute}, "CPU": ... } */
  memoryBreakdown(): Record<string, { model: number; context: number; compute: number }>;
  dispose(): void;
}

export interface ChatMessageInput {
  role: string;
  content: string;
  reasoning_content?: string;
  tool_calls?: { id?: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
  tool_name?: string;
}

export interface ChatApplyInput {
  /** OpenAI-style messages, as common_chat_msgs_parse_oaicompat reads them. */
  messages: ChatMessageInput[];
  /** OpenAI-style tools array. */
  tools?: unknown[];
  toolChoice?: 'auto' | 'required' | 'none';
  jsonSchema?: unknown;
  grammar?: string;
  addGenerationPrompt?: boolean;
  enableThinking?: boolean;
  parallelToolCalls?: boolean;
  /** A Jinja template to use instead of the model's own. */
  templateOverride?: string;
  /** Extra Jinja variables, JSON-encoded values. */
  kwargs?: Record<string, string>;
  /**
   * Build the returned `parser` to split reasoning (<think>...</think>) out of the content
   * (default true, llama-server's reasoning_format "deepseek"); false leaves it in the content.
   */
  parseReasoning?: boolean;
}

export interface ChatApplyResult {
  prompt: string;
  /** common_chat_format as a number, for the parser. */
  format: number;
  grammar: string;
  grammarLazy: boolean;
  grammarTriggers: { type: number; value: string; token?: number }[];
  preservedTokens: string[];
  additionalStops: string[];
  generationPrompt: string;
  supportsThinking: boolean;
  thinkingStartTag: string;
  thinkingEndTags: string[];
  /** Serialized PEG parser arena ("" when none). */
  parser: string;
}

export interface ChatParserParams {
  format: number;
  parser: string;
  generationPrompt: string;
  /**
   * Extract reasoning (true) or leave it in the content (false). In this llama.cpp the choice is
   * baked into `parser` by chatApply (ChatApplyInput.parseReasoning), so pass the same value to both.
   */
  parseReasoning: boolean;
  parseToolCalls: boolean;
}

export interface ParsedChatMessage {
  content: string;
  reasoning: string;
  toolCalls: { name: string; arguments: string; id: string }[];
}

export interface ChatParser {
  parse(text: string, isPartial: boolean): ParsedChatMessage;
}

export interface Model {
  readonly nCtxTrain: number;
  readonly nEmbd: number;
  readonly nLayer: number;
  readonly nVocab: number;
  readonly nParams: number;
  readonly size: number;
  readonly description: string;
  /** All scalar metadata as strings (llama_model_meta_*). */
  metadata(): Record<string, string>;
  chatTemplate(): string | null;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  /** Raw bytes of one token (UTF-8 may be split across tokens). */
  tokenPiece(token: number, special: boolean): Buffer;
  detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string;
  isEog(token: number): boolean;
  isControl(token: number): boolean;
  bos(): number;
  eos(): number;
  addBos(): boolean;
  createContext(params: ContextParams): Promise<Context>;
  createSampler(params: SamplerParams): Sampler;
  chatApply(input: ChatApplyInput): ChatApplyResult;
  createChatParser(params: ChatParserParams): ChatParser;
  dispose(): void;
}

export interface QuantizeParams {
  /** llama_ftype, e.g. 15 for Q4_K_M. */
  ftype: number;
  nThreads?: number;
  allowRequantize?: boolean;
}

export interface Binding {
  /** llama.cpp build info and the compiled-in backends. */
  systemInfo(): string;
  version(): { llama: string; commit: string; cuda: boolean };
  devices(): DeviceInfo[];
  /** Receives libllama/ggml log lines on the JS thread; null restores stderr. */
  setLogger(fn: ((level: number, text: string) => void) | null): void;
  loadModel(params: ModelLoadParams): Promise<Model>;
  quantize(input: string, output: string, params: QuantizeParams): Promise<void>;
  jsonSchemaToGrammar(schema: unknown): string;
}
