// One HTTP request to a registry, on node:http(s), with what fetch() lacks for this job: a
// connect timeout that covers DNS, TCP and TLS (an unreachable registry fails in seconds instead
// of hanging), an idle timeout once connected, streamed request bodies of known length, and an
// AbortSignal. The response is returned as soon as its headers arrive; its body is the caller's.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a stream of exactly headers['content-length'] bytes. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** From the start of the request to an open connection (TLS included). */
  connectTimeoutMs: number;
  /** Silence on an open connection, in either direction. */
  idleTimeoutMs: number;
}

/** The request never reached the registry: DNS, refused, unreachable, or too slow to connect. */
export class ConnectError extends Error {
  constructor(
    message: string,
    readonly host: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConnectError';
  }
}

/** The connection went quiet or broke after it was open. */
export class TransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
  }
}

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 8 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 8 }),
};

const CONNECT_CODES: Record<string, string> = {
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (DNS unavailable)',
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPROTO: 'TLS handshake failed',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed (is it a plain-http registry? use insecure)',
};

export function httpRequest(req: HttpRequest): Promise<http.IncomingMessage> {
  const secure = req.url.protocol === 'https:';
  const host = req.url.host;
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const r = (secure ? https : http).request(req.url, {
      method: req.method,
      headers: req.headers,
      agent: secure ? agents.https : agents.http,
      signal: req.signal,
    });
    const timer = setTimeout(() => {
      const s = req.connectTimeoutMs / 1000;
      r.destroy(new ConnectError(`cannot reach registry ${host}: no connection within ${s}s`, host));
    }, req.connectTimeoutMs);
    r.on('socket', (socket) => {
      const open = () => {
        connected = true;
        clearTimeout(timer);
      };
      if (r.reusedSocket) open();
      else socket.once(secure ? 'secureConnect' : 'connect', open);
    });
    r.setTimeout(req.idleTimeoutMs, () => {
      r.destroy(new TransportError(`registry ${host} stopped responding (${req.idleTimeoutMs / 1000}s without data)`));
    });
    r.on('error', (e: Error & { code?: string }) => {
      settle(() => {
        if (e instanceof ConnectError || e instanceof TransportError || e.name === 'AbortError') return reject(e);
        if (!connected) {
          const why = (e.code && CONNECT_CODES[e.code]) ?? e.message;
          return reject(new ConnectError(`cannot reach registry ${host}: ${why}`, host, { cause: e }));
        }
        reject(new TransportError(`connection to registry ${host} failed: ${e.message}`, { cause: e }));
      });
    });
    r.on('response', (res) => settle(() => resolve(res)));
    if (req.body === undefined) {
      r.end();
    } else if (Buffer.isBuffer(req.body)) {
      r.end(req.body);
    } else {
      const body = req.body;
      body.on('error', (e) => r.destroy(e));
      r.on('close', () => body.destroy());
      body.pipe(r);
    }
  });
}

/** Reads a whole (small) response body, refusing more than `limit` bytes. */
export async function readBody(res: http.IncomingMessage, limit = 4 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new TransportError(`registry response is larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Drops a response body we do not need, keeping the connection reusable when it is small. */
export function discard(res: http.IncomingMessage): void {
  res.resume();
  res.on('error', () => {});
}
