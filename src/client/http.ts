// A small client for the daemon's HTTP API, used by the CLI. It speaks the same wire types as
// any Ollama client, reads NDJSON streams line by line, and lets every request be aborted (the
// CLI's Ctrl-C): an aborted stream ends the HTTP request, and the daemon stops the generation.
import { clientApiKey, clientBaseUrl } from '../config/env.js';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the daemon could not be reached. */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The daemon is not listening at OLLAMA_HOST. */
export class ConnectError extends ApiError {
  constructor(readonly baseUrl: string) {
    super(0, `could not connect to moed at ${baseUrl}: run 'moed serve' to start it, or set OLLAMA_HOST to where it listens`);
    this.name = 'ConnectError';
  }
}

/** True for the error an aborted request (or stream) ends with. */
export function isAbortError(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'AbortError';
}

/** Ollama's ProgressResponse (create, pull, push). */
export interface ProgressResponse {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export class Client {
  constructor(
    readonly baseUrl = clientBaseUrl(),
    /** Sent as `Authorization: Bearer` (MOED_API_KEY, for a daemon that requires it). */
    private readonly apiKey = clientApiKey(),
  ) {}

  private async request(method: string, path: string, body?: unknown, opts: RequestOptions & { raw?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    let res: Response;
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        signal: opts.signal,
        // Node's fetch needs this for a streamed request body.
        ...(opts.raw ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (e) {
      if (isAbortError(e)) throw e;
      throw new ConnectError(this.baseUrl);
    }
    if (!res.ok) {
      const text = method === 'HEAD' ? '' : await res.text();
      let message = text || `${res.status} ${res.statusText}`;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // plain-text error body
      }
      throw new ApiError(res.status, message);
    }
    return res;
  }

  /** HEAD /: throws ConnectError when nothing answers (what every command but serve checks first). */
  async heartbeat(): Promise<void> {
    await this.request('HEAD', '/');
  }

  async json<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, body, opts);
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** POSTs and yields each NDJSON object; an {"error"} line throws. Aborting the signal ends the request. */
  async *stream<T>(path: string, body: unknown, opts: RequestOptions = {}): AsyncGenerator<T> {
    const res = await this.request('POST', path, body, opts);
    const decoder = new TextDecoder();
    let buffer = '';
    const parse = (line: string): T | undefined => {
      if (!line.trim()) return undefined;
      const obj = JSON.parse(line) as { error?: string };
      if (obj.error) throw new ApiError(500, obj.error);
      return obj as T;
    };
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const obj = parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (obj !== undefined) yield obj;
      }
    }
    // A body that is one JSON object without a newline (a load answer, stream:false).
    const last = parse(buffer + decoder.decode());
    if (last !== undefined) yield last;
  }

  /** HEAD /api/blobs/:digest */
  async hasBlob(digest: string): Promise<boolean> {
    try {
      await this.request('HEAD', `/api/blobs/${digest}`);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return false;
      throw e;
    }
  }

  /** POST /api/blobs/:digest with a streamed body. */
  async uploadBlob(digest: string, body: ReadableStream<Uint8Array>, opts: RequestOptions = {}): Promise<void> {
    await this.request('POST', `/api/blobs/${digest}`, undefined, {
      ...opts,
      raw: body as unknown as BodyInit,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
}
