// HTTP conventions of the whole API (reference §0): CORS, the DNS-rebinding host check, content
// types, lenient bodies, Authorization headers, GETs with a JSON content type, cloud-only routes.
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { allowedOrigins } from '../../src/server/middleware/cors.js';
import { hostOfHeader, isAllowedHost, listensOnLoopback } from '../../src/server/middleware/host-check.js';
import { post, rawRequest, startTestDaemon, stopTestDaemons } from '../helpers/mgmt.js';

afterEach(stopTestDaemons);

describe('CORS', () => {
  it('answers a preflight from an allowed origin with 204 and the allowed methods and headers', async () => {
    const t = await startTestDaemon();
    const res = await fetch(`${t.url}/api/chat`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-methods')).toContain('DELETE');
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
    for (const h of ['authorization', 'content-type', 'user-agent', 'accept', 'x-requested-with', 'openai-beta', 'x-stainless-os', 'x-stainless-timeout']) {
      expect(allowed).toContain(h);
    }
  });

  it('allows the default origins and OLLAMA_ORIGINS, refuses others with 403, ignores requests without Origin', async () => {
    const t = await startTestDaemon({ env: { OLLAMA_ORIGINS: 'https://webui.example.com, chrome-extension://*' } });
    const ok = [
      'http://localhost',
      'https://localhost:8443',
      'http://127.0.0.1:8080',
      'http://0.0.0.0:3000',
      'app://obsidian.md',
      'file://',
      'tauri://localhost',
      'vscode-webview://abc',
      'vscode-file://vscode-app',
      'https://webui.example.com',
      'chrome-extension://abcdef',
    ];
    for (const origin of ok) {
      const res = await fetch(`${t.url}/api/tags`, { headers: { Origin: origin } });
      expect(res.status, origin).toBe(200);
      expect(res.headers.get('access-control-allow-origin'), origin).toBe(origin);
    }
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'https://webui.example.com.evil']) {
      const res = await fetch(`${t.url}/api/tags`, { headers: { Origin: origin } });
      expect(res.status, origin).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
    const plain = await fetch(`${t.url}/api/tags`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    // Error answers carry the header too, so a page can read them.
    const err = await post(`${t.url}/api/show`, { model: 'nope' }, { headers: { Origin: 'http://localhost:5173' } });
    expect(err.status).toBe(404);
    expect(err.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('OLLAMA_ORIGINS=* allows every origin with a wildcard header', async () => {
    const t = await startTestDaemon({ env: { OLLAMA_ORIGINS: '*' } });
    const res = await fetch(`${t.url}/api/version`, { headers: { Origin: 'https://anything.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('lists the default origins as Ollama’s envconfig does', () => {
    const o = allowedOrigins(['x://y']);
    expect(o[0]).toBe('x://y');
    expect(o).toContain('http://127.0.0.1:*');
    expect(o).toContain('https://0.0.0.0');
    expect(o).toContain('vscode-file://*');
  });
});

describe('DNS-rebinding host check', () => {
  it('answers 403 to a foreign Host while bound to loopback, and passes local names', async () => {
    const t = await startTestDaemon();
    const port = new URL(t.url).port;
    const allowed = ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, '10.1.2.3', '192.168.1.5:80', '0.0.0.0', 'host.docker.internal', 'box.local', 'app.localhost', os.hostname(), ''];
    for (const host of allowed) {
      const r = await rawRequest(`${t.url}/api/version`, { headers: { host } });
      expect(r.status, host).toBe(200);
    }
    for (const host of ['evil.example', `evil.example:${port}`, '8.8.8.8', 'localhost.evil.example']) {
      const r = await rawRequest(`${t.url}/api/version`, { headers: { host } });
      expect(r.status, host).toBe(403);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(r.body).error).toContain('is not allowed');
    }
  });

  it('is off when listening on all interfaces', async () => {
    const t = await startTestDaemon({ env: { OLLAMA_HOST: '0.0.0.0:0' } });
    const port = new URL(t.url).port;
    const r = await rawRequest(`http://127.0.0.1:${port}/api/version`, { headers: { host: 'evil.example' } });
    expect(r.status).toBe(200);
  });

  it('parses Host headers and listen addresses', () => {
    expect(hostOfHeader('[::1]:11434')).toBe('::1');
    expect(hostOfHeader('example.com:80')).toBe('example.com');
    expect(isAllowedHost('[::ffff:127.0.0.1]:1')).toBe(true);
    expect(isAllowedHost('172.16.0.1')).toBe(true);
    expect(isAllowedHost('172.32.0.1')).toBe(false);
    expect(isAllowedHost('[fd00::1]')).toBe(true);
    expect(isAllowedHost('[2001:db8::1]')).toBe(false);
    expect(listensOnLoopback('127.0.0.1')).toBe(true);
    expect(listensOnLoopback('::1')).toBe(true);
    expect(listensOnLoopback('localhost')).toBe(true);
    expect(listensOnLoopback('0.0.0.0')).toBe(false);
    expect(listensOnLoopback('192.168.1.2')).toBe(false);
  });
});

describe('conventions', () => {
  it('accepts Authorization and X-OpenWebUI headers and GETs with a JSON content type and no body', async () => {
    const t = await startTestDaemon();
    const headers = { Authorization: 'Bearer ', 'Content-Type': 'application/json', 'X-OpenWebUI-User-Name': 'x' };
    for (const p of ['/api/tags', '/api/ps', '/api/version', '/']) {
      const res = await fetch(`${t.url}${p}`, { headers });
      expect(res.status, p).toBe(200);
    }
    const res = await post(`${t.url}/api/show`, { model: 'tiny' }, { headers: { Authorization: 'Bearer sk-anything' } });
    expect(res.status).toBe(200);
  });

  it('answers HEAD on /, /api/version and /api/tags without a body', async () => {
    const t = await startTestDaemon();
    for (const p of ['/', '/api/version', '/api/tags']) {
      const res = await fetch(`${t.url}${p}`, { method: 'HEAD' });
      expect(res.status, p).toBe(200);
      expect(await res.text()).toBe('');
    }
  });

  it('ignores unknown fields and refuses wrong types with Go’s decoder text', async () => {
    const t = await startTestDaemon();
    let res = await post(`${t.url}/api/show`, { model: 'tiny', extra: { deep: [1] }, num_predict: 3 });
    expect(res.status).toBe(200);
    const cases: [string, unknown, string][] = [
      ['/api/show', { model: 5 }, 'json: cannot unmarshal number into Go struct field ShowRequest.model of type string'],
      ['/api/copy', { source: ['a'], destination: 'b' }, 'json: cannot unmarshal array into Go struct field CopyRequest.source of type string'],
      ['/api/create', { model: 'x', from: 'tiny', parameters: 'temperature 1' }, 'json: cannot unmarshal string into Go struct field CreateRequest.parameters of type map[string]interface {}'],
      ['/api/create', { model: 'x', from: 'tiny', messages: [{ role: 1 }] }, 'json: cannot unmarshal number into Go struct field CreateRequest.messages.role of type string'],
    ];
    for (const [p, body, error] of cases) {
      res = await post(`${t.url}${p}`, body);
      expect(res.status, p).toBe(400);
      expect(await res.json()).toEqual({ error });
    }
    res = await fetch(`${t.url}/api/delete`, { method: 'DELETE', body: JSON.stringify({ name: true }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'json: cannot unmarshal bool into Go struct field DeleteRequest.name of type string' });
    // Malformed JSON and an empty body.
    res = await post(`${t.url}/api/show`, '{"model": ');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(typeof (await res.json()).error).toBe('string');
    res = await post(`${t.url}/api/copy`, '');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'missing request body' });
  });

  it('answers /api/status and refuses the ollama.com routes with 403', async () => {
    const t = await startTestDaemon();
    const status = await fetch(`${t.url}/api/status`);
    expect(status.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await status.json()).toEqual({ cloud: { disabled: true, source: 'moed' } });
    const routes: [string, string][] = [
      ['POST', '/api/me'],
      ['POST', '/api/signout'],
      ['DELETE', '/api/user/keys/abc'],
      ['POST', '/api/experimental/web_search'],
      ['POST', '/api/experimental/web_fetch'],
      ['GET', '/api/experimental/model-recommendations'],
    ];
    for (const [method, p] of routes) {
      const res = await fetch(`${t.url}${p}`, { method, body: method === 'GET' ? undefined : '{}' });
      expect(res.status, p).toBe(403);
      expect((await res.json()).error).toMatch(/^ollama cloud is disabled: /);
    }
  });

  it('keeps Ollama’s plain-text 404 and 405', async () => {
    const t = await startTestDaemon();
    let res = await fetch(`${t.url}/api/nothing`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe('404 page not found');
    res = await fetch(`${t.url}/api/ps`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('405 method not allowed');
  });
});
