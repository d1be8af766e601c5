// The Docker Registry HTTP API V2 as Ollama's registry speaks it: manifests at
// /v2/<repo>/manifests/<tag>, blobs at /v2/<repo>/blobs/<digest>, uploads started by
// POST /v2/<repo>/blobs/uploads/ and finished by PUT <location>&digest=..., in between PATCHed
// in chunks when the body is large or its digest is not known yet. An anonymous Bearer-token
// challenge (realm/service/scope) is answered once; GET and HEAD follow redirects, other methods
// only 307/308 (blob storage often lives elsewhere), dropping credentials when the host changes.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { discard, httpRequest, readBody } from './http.js';

export const ManifestMediaTypes = {
  dockerV2: 'application/vnd.docker.distribution.manifest.v2+json',
  ociV1: 'application/vnd.oci.image.manifest.v1+json',
} as const;

export interface ClientOptions {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  userAgent: string;
}

/** The registry answered, but not with what we asked for. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly codes: string[] = [],
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

interface SendInit {
  headers?: Record<string, string>;
  /** Called for every attempt, so a retried request gets a fresh body. */
  body?: () => Buffer | Readable;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class RegistryClient {
  readonly base: URL;
  private token: string | undefined;

  constructor(
    scheme: 'http' | 'https',
    host: string,
    private readonly options: ClientOptions,
  ) {
    this.base = new URL(`${scheme}://${host}/`);
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  async send(method: string, target: URL, init: SendInit = {}): Promise<IncomingMessage> {
    let url = target;
    let authTried = false;
    for (let hop = 0; hop < 8; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.options.userAgent, ...init.headers };
      if (this.token && url.host === this.base.host) headers.authorization = `Bearer ${this.token}`;
      const res = await httpRequest({
        method,
        url,
        headers,
        body: init.body?.(),
        signal: init.signal,
        connectTimeoutMs: this.options.connectTimeoutMs,
        idleTimeoutMs: this.options.idleTimeoutMs,
      });
      const status = res.statusCode ?? 0;
      if (status === 401 && !authTried && url.host === this.base.host) {
        authTried = true;
        const challenge = String(res.headers['www-authenticate'] ?? '');
        discard(res);
        if (await this.authenticate(challenge, init.signal)) continue;
        throw new RegistryError(
          `unauthorized: ${this.base.host} requires credentials${challenge ? ` (${challenge.split(' ')[0]})` : ''}, which moed does not send`,
          401,
          ['UNAUTHORIZED'],
        );
      }
      const follow = method === 'GET' || method === 'HEAD' || status === 307 || status === 308;
      if (REDIRECTS.has(status) && follow && res.headers.location) {
        discard(res);
        url = new URL(res.headers.location, url);
        continue;
      }
      return res;
    }
    throw new RegistryError(`too many redirects from ${this.base.host}`, 0);
  }

  /** Answers `WWW-Authenticate: Bearer realm=...,service=...,scope=...` with an anonymous token. */
  private async authenticate(challenge: string, signal?: AbortSignal): Promise<boolean> {
    if (!/^bearer\s/i.test(challenge)) return false;
    const params: Record<string, string> = {};
    for (const m of challenge.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
    if (!params.realm) return false;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    if (params.scope) url.searchParams.set('scope', params.scope);
    const res = await httpRequest({
      method: 'GET',
      url,
      headers: { 'user-agent': this.options.userAgent },
      signal,
      connectTimeoutMs: this.options.connectTimeoutMs,
      idleTimeoutMs: this.options.idleTimeoutMs,
    });
    if (res.statusCode !== 200) {
      discard(res);
      return false;
    }
    const body = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    this.token = body.token ?? body.access_token;
    return Boolean(this.token);
  }

  /** The manifest's bytes, or undefined when the registry has no such tag (404). */
  async getManifest(
    repository: string,
    tag: string,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string; digest?: string } | undefined> {
    const res = await this.send('GET', this.url(`/v2/${repository}/manifests/${tag}`), {
      headers: { accept: `${ManifestMediaTypes.dockerV2}, ${ManifestMediaTypes.ociV1}` },
      signal,
    });
    if (res.statusCode === 404) {
      discard(res);
      return undefined;
    }
    if (res.statusCode !== 200) throw await failure(res, this.base.host, `GET manifest ${repository}:${tag}`);
    const bytes = await readBody(res);
    const digest = res.headers['docker-content-digest'];
    return { bytes, contentType: String(res.headers['content-type'] ?? ''), digest: typeof digest === 'string' ? digest : undefined };
  }

  async putManifest(repository: string, tag: string, bytes: Buffer, mediaType: string, signal?: AbortSignal): Promise<void> {
    const res = await this.send('PUT', this.url(`/v2/${repository}/manifests/${tag}`), {
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: () => bytes,
      signal,
    });
    if (res.statusCode !== 201 && res.statusCode !== 200) throw await failure(res, this.base.host, `PUT manifest ${repository}:${tag}`);
    discard(res);
  }

  async hasBlob(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.send('HEAD', this.url(`/v2/${repository}/blobs/${digest}`), { signal });
    discard(res);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw new RegistryError(`HEAD blob ${digest}: registry ${this.base.host} answered ${res.statusCode}`, res.statusCode ?? 0);
  }

  /** The blob's body as a stream (status 200 checked). */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<IncomingMessage> {
    const res = await this.send('GET', this.url(`/v2/${repository}/blobs/${digest}`), { signal });
    if (res.statusCode !== 200) throw await failure(res, this.base.host, `GET blob ${digest}`);
    return res;
  }

  /** Starts an upload; returns the location to PATCH and PUT. */
  async startUpload(repository: string, signal?: AbortSignal): Promise<URL> {
    const url = this.url(`/v2/${repository}/blobs/uploads/`);
    const res = await this.send('POST', url, { headers: { 'content-length': '0' }, signal });
    if (res.statusCode !== 202) throw await failure(res, this.base.host, `POST upload to ${repository}`);
    discard(res);
    return uploadLocation(res, url);
  }

  /** Sends bytes [start, start+length) of an upload; returns the next location. */
  async patchUpload(location: URL, start: number, length: number, body: () => Readable, signal?: AbortSignal): Promise<URL> {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(length),
    };
    if (length > 0) headers['content-range'] = `${start}-${start + length - 1}`;
    const res = await this.send('PATCH', location, { headers, body, signal });
    if (res.statusCode !== 202 && res.statusCode !== 204) throw await failure(res, this.base.host, 'PATCH upload');
    discard(res);
    return uploadLocation(res, location);
  }

  /** How many bytes the registry holds of an upload in progress. */
  async uploadOffset(location: URL, signal?: AbortSignal): Promise<number> {
    const res = await this.send('GET', location, { signal });
    discard(res);
    if (res.statusCode !== 204 && res.statusCode !== 200) return -1;
    const range = /^(\d+)-(\d+)$/.exec(String(res.headers.range ?? ''));
    if (!range) return 0;
    const end = Number(range[2]);
    // Distribution answers "0-0" for an empty upload as well as for one byte.
    return end === 0 ? 0 : end + 1;
  }

  /** Finishes an upload under `digest`, sending `body` (length bytes) or nothing. */
  async putUpload(location: URL, digest: string, body?: { length: number; open: () => Readable }, signal?: AbortSignal): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.send('PUT', url, {
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body?.length ?? 0),
      },
      body: body ? body.open : undefined,
      signal,
    });
    if (res.statusCode !== 201 && res.statusCode !== 204) throw await failure(res, this.base.host, `PUT blob ${digest}`);
    discard(res);
  }

  /** Cancels an upload (best effort). */
  async cancelUpload(location: URL): Promise<void> {
    try {
      discard(await this.send('DELETE', location));
    } catch {
      // the registry cleans up abandoned uploads itself
    }
  }
}

function uploadLocation(res: IncomingMessage, requestUrl: URL): URL {
  const loc = res.headers['docker-upload-location'] ?? res.headers.location;
  if (typeof loc !== 'string' || loc === '') throw new RegistryError('registry did not send an upload location', res.statusCode ?? 0);
  return new URL(loc, requestUrl);
}

/** A RegistryError carrying the registry's own error codes and messages. */
export async function failure(res: IncomingMessage, host: string, what: string): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  const body = await readBody(res, 64 << 10).catch(() => Buffer.alloc(0));
  const codes: string[] = [];
  let detail = '';
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      detail = parsed.errors
        .map((e) => {
          if (e.code) codes.push(e.code);
          return [e.code, e.message].filter(Boolean).join(': ');
        })
        .join('; ');
    }
  } catch {
    detail = body.toString('utf8').trim().slice(0, 200);
  }
  return new RegistryError(`${what}: registry ${host} answered ${status}${detail ? ` (${detail})` : ''}`, status, codes);
}
