// A small client for the daemon's HTTP API, used by the CLI. It speaks the same wire types as
// any Ollama client and reads NDJSON streams line by line.
import { clientBaseUrl } from '../config/env.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Client {
  constructor(readonly baseUrl = clientBaseUrl()) {}

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, `could not connect to moed at ${this.baseUrl}: is "moed serve" running?`);
    }
    if (!res.ok) {
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // plain-text error body
      }
      throw new ApiError(res.status, message);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body);
    return (await res.json()) as T;
  }

  /** POSTs and yields each NDJSON object; an {"error"} line throws. */
  async *stream<T>(path: string, body: unknown): AsyncGenerator<T> {
    const res = await this.request('POST', path, body);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line) continue;
        const obj = JSON.parse(line) as { error?: string };
        if (obj.error) throw new ApiError(500, obj.error);
        yield obj as T;
      }
    }
  }
}
