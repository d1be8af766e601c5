// The one error catalogue. Domain code throws MoedError; only the server's error middleware formats it.
// Message texts follow Ollama's where clients show or parse them (shared/reference/ollama-api.md §4).

export const ErrorCodes = {
  INVALID_REQUEST: 400,
  MISSING_BODY: 400,
  INVALID_MODEL_NAME: 400,
  INVALID_MODELFILE: 400,
  INVALID_GGUF: 400,
  UNSUPPORTED_CAPABILITY: 400,
  /** MOED_API_KEY is set and the request's bearer key is missing or wrong. */
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RULES_INVALID: 400,
  MODEL_NOT_FOUND: 404,
  RULES_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  /** A JSON body over the limit (MOED_MAX_BODY); blob uploads have no limit but the disk. */
  PAYLOAD_TOO_LARGE: 413,
  REQUEST_CANCELED: 499,
  MODEL_FILE_MISSING: 500,
  MODEL_LOAD_FAILED: 500,
  /** The placement plan needs more memory than a device has free (the message holds the plan). */
  PLAN_DOES_NOT_FIT: 500,
  RUNNER_CRASHED: 500,
  /** The runner stopped answering pings for MOED_RUNNER_TIMEOUT and was killed. */
  RUNNER_UNRESPONSIVE: 500,
  ENGINE_FAILURE: 500,
  INTERNAL: 500,
  QUEUE_FULL: 503,
  /** The daemon is stopping (SIGTERM): new requests are refused, and streams still running after the grace period end. */
  SHUTTING_DOWN: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class MoedError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MoedError';
    this.code = code;
    this.status = ErrorCodes[code];
  }
}

export const isMoedError = (e: unknown): e is MoedError => e instanceof MoedError;

/** Any thrown value as a MoedError; unknown failures become INTERNAL with their message. */
export function toMoedError(e: unknown): MoedError {
  if (e instanceof MoedError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new MoedError('INTERNAL', message, { cause: e });
}

/**
 * The error for a request whose AbortSignal fired: the abort's reason when it is one of ours (the
 * daemon shutting down says so), else 499 `request canceled` (the client went away).
 */
export function abortError(signal: AbortSignal): MoedError {
  return signal.reason instanceof MoedError ? signal.reason : new MoedError('REQUEST_CANCELED', 'request canceled');
}
