// Typed errors for GGUF files. Callers (model import, the placement planner) branch on `code`:
// a file that fails here must never reach libllama, which would abort the process on some of them.

export type GgufErrorCode =
  | 'GGUF_BAD_MAGIC' // not a GGUF file
  | 'GGUF_BAD_VERSION' // version 0, 1, above 3, or the other byte order
  | 'GGUF_TRUNCATED' // the header ends before the end of the file says it should
  | 'GGUF_BAD_COUNT' // a tensor, key or array count, or a string length, that cannot be real
  | 'GGUF_BAD_KV' // empty or duplicate key, unknown value type, nested array, bad general.alignment
  | 'GGUF_BAD_TENSOR' // bad tensor name, rank, dimension, type, or a row that is not whole blocks
  | 'GGUF_BAD_OFFSET' // tensor offsets not consecutive with alignment padding
  | 'GGUF_DATA_OUT_OF_BOUNDS' // tensor data extends past the end of the file
  | 'GGUF_SPLIT' // a split set with missing, extra or inconsistent parts
  | 'GGUF_WRITE'; // misuse of the writer (wrong byte count, wrong order, closed)

export class GgufError extends Error {
  readonly code: GgufErrorCode;
  /** The file the error is about, when known. */
  path?: string;

  constructor(code: GgufErrorCode, message: string, options?: { path?: string; cause?: unknown }) {
    super(options?.path ? `${options.path}: ${message}` : message, options?.cause ? { cause: options.cause } : undefined);
    this.name = 'GgufError';
    this.code = code;
    if (options?.path) this.path = options.path;
  }
}
