// The bad-input battery: every way a client (or a file) can be wrong, each answered with the right
// status and a clear message. After each case the daemon still answers `GET /`, and the store's
// file tree (manifests, blobs, temporary files: everything under the models folder) is byte for
// byte what it was before. The daemon is the real app, store, scheduler and placement with the
// scripted runner: a bad GGUF must be refused in TypeScript before any runner is asked.
//
// Body limits: a JSON body over MOED_MAX_BODY answers 413 (here the limit is 1 MiB), whatever
// the route; pull and push take at most 1 MiB.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arr, bool, readGgufHeader, str, u32, type GgufValue } from '../../src/gguf/index.js';
import { startTestDaemon, stopTestDaemons, tinyGguf, type TestDaemon } from '../helpers/mgmt.js';
import { tempDir } from '../helpers/store.js';
import { findBytes, ggufString, mutateGguf, patchBytes, snapshotTree } from './helpers.js';

let t: TestDaemon;
let dir: string;
let good: string;
/** A copy of the good GGUF that the model "victim" references; load-time cases break it in place. */
let victimFile: string;
const mutants: Record<string, string> = {};
const digests: Record<string, string> = {};

interface Res {
  status: number;
  body: string;
}

const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One HTTP request with node:http: exact paths (no dot-segment folding), raw bytes, any method. */
function raw(method: string, urlPath: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    // A fresh connection each time (no keep-alive agent): a case that makes the server close its
    // connection must not break the next one. Content-Length always (Node sends DELETE bodies unframed).
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(`${t.url}${urlPath}`, { method, headers: { ...length, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (p: string, body: unknown) => raw('POST', p, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
const del = (body: unknown) => raw('DELETE', '/api/delete', JSON.stringify(body));

/** The error text of a response: {"error": "..."}, {"error": {"message"}}, or a plain-text body. */
function errorText(res: Res): string {
  try {
    const v = JSON.parse(res.body) as { error?: string | { message?: string } };
    if (typeof v.error === 'string') return v.error;
    if (v.error && typeof v.error.message === 'string') return v.error.message;
  } catch {
    // plain text
  }
  return res.body;
}

/** A body streamed in chunks without Content-Length, `total` bytes long. */
function chunked(p: string, total: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${t.url}${p}`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    // The server may answer and close before everything is sent: that is the point.
    req.on('error', (e) => ((e as { code?: string }).code === 'EPIPE' || (e as { code?: string }).code === 'ECONNRESET' ? undefined : reject(e)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    req.write('{"model":"tiny","prompt":"');
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end('"}');
    };
    pump();
  });
}

/** A blob upload that stops after half its bytes, the connection cut. Resolves once it is cut. */
function cutUpload(bytes: Buffer): Promise<Res> {
  return new Promise((resolve) => {
    const req = http.request(`${t.url}/api/blobs/${sha(bytes)}`, {
      method: 'POST',
      headers: { 'content-length': String(bytes.length) },
      agent: false,
    });
    req.on('error', () => resolve({ status: 0, body: 'connection cut' }));
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode!, body: '' });
    });
    req.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => req.destroy(), 100));
  });
}

async function writeText(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, text);
  return file;
}

/** A named pipe: reading it would block forever. */
async function fifo(name: string): Promise<string> {
  const file = path.join(dir, name);
  execFileSync('mkfifo', [file]);
  return file;
}

/** Puts the good bytes back into the victim's file (same size: the model still "matches" it). */
async function restoreVictim(): Promise<void> {
  await fs.copyFile(good, victimFile);
}

interface Case {
  name: string;
  /** Runs before the "before" snapshot (e.g. a blob upload the case needs). */
  setup?: () => Promise<void>;
  send: () => Promise<Res>;
  status: number | number[];
  error: RegExp;
}

const json = (body: unknown) => JSON.stringify(body);
const chat = (body: unknown) => post('/api/chat', body);
const generate = (body: unknown) => post('/api/generate', body);
const create = (body: unknown) => post('/api/create', body);
const fromPath = (file: string, extra: object = {}) => create({ model: 'broken', from: file, stream: false, ...extra });
const fromBlob = (key: string) => () => create({ model: 'broken', files: { 'model.gguf': digests[key] }, stream: false });
const uploadMutant = (key: string) => async () => {
  const bytes = await fs.readFile(mutants[key]!);
  digests[key] = sha(bytes);
  const res = await fetch(`${t.url}/api/blobs/${digests[key]}`, { method: 'POST', body: bytes });
  expect(res.status).toBe(201);
};

/** The first line of the rule files the cases write. */
const MATCH = 'match: { architecture: deepseek2 }\n';

const traversal = ['../../etc/passwd', '/etc/passwd', 'a\u0000b', 'x'.repeat(300), 'my model', 'modèle', '..', 'tiny:../../x', 'C:\\Windows\\win.ini'];

const cases: Case[] = [
  // --- malformed and truncated JSON ---
  { name: 'chat: a lone {', send: () => chat('{'), status: 400, error: /JSON|Unexpected|unexpected/ },
  { name: 'chat: JSON cut off inside messages', send: () => chat('{"model":"tiny","messages":[{"role":"user","con'), status: 400, error: /JSON|Unterminated|Unexpected/ },
  { name: 'generate: a trailing comma', send: () => generate('{"model":"tiny",}'), status: 400, error: /JSON|Expected|Unexpected/ },
  { name: 'show: not JSON at all', send: () => post('/api/show', 'model=tiny'), status: 400, error: /JSON|Unexpected|unexpected/ },
  { name: 'create: a JSON array', send: () => create('[]'), status: 400, error: /must be a JSON object|invalid JSON/ },
  { name: 'copy: a JSON string', send: () => post('/api/copy', '"tiny"'), status: 400, error: /JSON/ },
  { name: 'delete: an empty body', send: () => raw('DELETE', '/api/delete', ''), status: 400, error: /^missing request body$/ },
  { name: 'chat: a body of spaces', send: () => chat('   \n '), status: 400, error: /^missing request body$/ },
  { name: 'pull: JSON cut off', send: () => post('/api/pull', '{"model":'), status: 400, error: /JSON|Unexpected/ },
  { name: 'v1 chat: a lone { (OpenAI error shape)', send: () => post('/v1/chat/completions', '{'), status: 400, error: /JSON|Unexpected/ },
  { name: 'chat: bytes that are not UTF-8', send: () => chat(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), status: 400, error: /JSON|Unexpected|unexpected/ },
  { name: 'chat: garbage after the object', send: () => chat('{"model":"tiny"} trailing'), status: 400, error: /JSON|Unexpected/ },
  { name: 'generate: the JSON null', send: () => generate('null'), status: 400, error: /JSON|object|body/ },
  { name: 'embed: a bare number', send: () => post('/api/embed', '42'), status: 400, error: /JSON|object|body/ },

  // --- wrong types ---
  { name: 'chat: stream "yes"', send: () => chat({ model: 'tiny', stream: 'yes' }), status: 400, error: /cannot unmarshal string into Go struct field ChatRequest.stream of type bool/ },
  { name: 'chat: messages a string', send: () => chat({ model: 'tiny', messages: 'hi' }), status: 400, error: /cannot unmarshal string into Go struct field ChatRequest.messages/ },
  { name: 'chat: a message role a number', send: () => chat({ model: 'tiny', messages: [{ role: 5, content: 'x' }] }), status: 400, error: /cannot unmarshal number into Go struct field ChatRequest.messages.role of type string/ },
  { name: 'chat: options an array', send: () => chat({ model: 'tiny', messages: [], options: [] }), status: 400, error: /options/ },
  { name: 'chat: keep_alive an object', send: () => chat({ model: 'tiny', messages: [], keep_alive: {} }), status: 400, error: /^Unsupported type: 'object'$/ },
  { name: 'chat: think "maybe"', send: () => chat({ model: 'tiny', messages: [{ role: 'user', content: 'x' }], think: 'maybe' }), status: 400, error: /invalid think value/ },
  { name: 'generate: format a number', send: () => generate({ model: 'tiny', prompt: 'x', format: 5 }), status: 400, error: /invalid format/ },
  { name: 'generate: context a string', send: () => generate({ model: 'tiny', prompt: 'x', context: 'abc' }), status: 400, error: /GenerateRequest.context/ },
  { name: 'generate: top_logprobs 99', send: () => generate({ model: 'tiny', prompt: 'x', top_logprobs: 99 }), status: 400, error: /top_logprobs must be between 0 and 20/ },
  { name: 'generate: images not base64', send: () => generate({ model: 'tiny', prompt: 'x', images: ['!!!'] }), status: 400, error: /illegal base64 data/ },
  { name: 'embed: input a number', send: () => post('/api/embed', { model: 'tiny', input: 5 }), status: 400, error: /input/ },
  { name: 'show: verbose "yes"', send: () => post('/api/show', { model: 'tiny', verbose: 'yes' }), status: 400, error: /ShowRequest.verbose of type bool/ },
  { name: 'copy: source a number', send: () => post('/api/copy', { source: 5, destination: 'x' }), status: 400, error: /CopyRequest.source of type string/ },
  { name: 'delete: model an array', send: () => del({ model: [] }), status: 400, error: /DeleteRequest.model of type string/ },
  { name: 'create: stream "yes"', send: () => create({ model: 'x', from: 'tiny', stream: 'yes' }), status: 400, error: /CreateRequest.stream of type bool/ },
  { name: 'chat: model a number', send: () => chat({ model: 42, messages: [] }), status: 400, error: /ChatRequest.model of type string|model is required/ },
  { name: 'v1 chat: messages a string', send: () => post('/v1/chat/completions', { model: 'tiny', messages: 'x' }), status: 400, error: /messages/ },

  // --- huge bodies and fields ---
  { name: 'a JSON body over the limit (Content-Length)', send: () => post('/api/generate', json({ model: 'tiny', prompt: 'x'.repeat(2 << 20) })), status: 413, error: /larger than the limit of 1 MiB \(MOED_MAX_BODY\)/ },
  { name: 'a chunked JSON body that grows past the limit', send: () => chunked('/api/generate', 3 << 20), status: 413, error: /larger than the limit of 1 MiB/ },
  { name: 'pull: a body over its 1 MiB limit', send: () => post('/api/pull', json({ model: 'x', pad: 'y'.repeat(1.5 * 2 ** 20) })), status: 413, error: /larger than the limit/ },
  { name: 'v1 chat: a body over the limit', send: () => post('/v1/chat/completions', json({ model: 'tiny', messages: [{ role: 'user', content: 'z'.repeat(2 << 20) }] })), status: 413, error: /larger than the limit/ },
  { name: 'chat: a 500 KB model name (echoed cut short)', send: () => chat({ model: 'm'.repeat(500_000), messages: [] }), status: 404, error: /^model 'm{64}…\(500000 characters\)' not found$/ },
  { name: 'chat: JSON nested 100 000 deep', send: () => chat(`{"model":"tiny","options":${'['.repeat(100_000)}${']'.repeat(100_000)}}`), status: 400, error: /options|JSON|depth|stack/i },
  { name: 'chat: 20 000 messages, the last one wrong', send: () => chat({ model: 'tiny', messages: [...Array.from({ length: 20_000 }, () => ({ role: 'user', content: 'x' })), 7] }), status: 400, error: /cannot unmarshal number into Go struct field ChatRequest.messages of type api.Message/ },
  { name: 'create: 20 000 parameters, one unknown', send: () => create({ model: 'x', from: 'tiny', parameters: { ...Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`p${i}`, 1])) } }), status: 400, error: /unknown parameter 'p0'/ },
  { name: 'a header over 16 KiB', send: () => raw('GET', '/api/tags', undefined, { 'x-big': 'h'.repeat(32 * 1024) }), status: 431, error: /^$/ },

  // --- model names that try to leave the store, or are not names ---
  ...traversal.map<Case>((name) => ({ name: `create: model ${JSON.stringify(name.slice(0, 20))}`, send: () => create({ model: name, from: 'tiny', stream: false }), status: 400, error: /^invalid model name$/ })),
  { name: 'chat: model ../../etc/passwd', send: () => chat({ model: '../../etc/passwd', messages: [] }), status: 404, error: /model '..\/..\/etc\/passwd' not found/ },
  { name: 'generate: model with a NUL byte', send: () => generate({ model: 'tiny\u0000x', prompt: 'x' }), status: 404, error: /not found/ },
  { name: 'embed: model ..', send: () => post('/api/embed', { model: '..', input: 'x' }), status: 404, error: /not found/ },
  { name: 'show: model /etc/passwd', send: () => post('/api/show', { model: '/etc/passwd' }), status: [400, 404], error: /not found|invalid model name/ },
  { name: 'copy: destination ../../x', send: () => post('/api/copy', { source: 'tiny', destination: '../../x' }), status: 400, error: /destination "..\/..\/x" is invalid/ },
  { name: 'copy: source ../../etc/passwd', send: () => post('/api/copy', { source: '../../etc/passwd', destination: 'x' }), status: 400, error: /source ".*" is invalid/ },
  { name: 'delete: model ../../etc/passwd', send: () => del({ model: '../../etc/passwd' }), status: 400, error: /name ".*" is invalid/ },
  { name: 'pull: model ../../etc/passwd', send: () => post('/api/pull', { model: '../../etc/passwd', stream: false }), status: 400, error: /invalid model name/ },
  { name: 'push: model /etc/passwd', send: () => post('/api/push', { model: '/etc/passwd', stream: false }), status: 400, error: /invalid model name/ },
  { name: 'blobs: HEAD with ../ in the digest', send: () => raw('HEAD', '/api/blobs/..%2F..%2Fetc%2Fpasswd'), status: 400, error: /^$/ },
  { name: 'blobs: POST with ../ in the digest', send: () => raw('POST', '/api/blobs/sha256-..%2F..%2Fx', 'data'), status: 400, error: /invalid digest format/ },
  { name: 'blobs: POST to a path with dot segments', send: () => raw('POST', '/api/blobs/../../etc/passwd', 'data'), status: [404, 405], error: /404 page not found|405/ },
  { name: 'create: files with ../ in a file name', send: () => create({ model: 'x', files: { '../x.gguf': `sha256:${'0'.repeat(64)}` } }), status: 400, error: /file path must be relative/ },
  { name: 'v1 models: an id with ../', send: () => raw('GET', '/v1/models/..%2F..%2Fetc%2Fpasswd'), status: 404, error: /not found/ },

  // --- unknown endpoints and methods ---
  { name: 'GET an unknown /api route', send: () => raw('GET', '/api/nothing'), status: 404, error: /^404 page not found$/ },
  { name: 'PUT /api/chat', send: () => raw('PUT', '/api/chat', '{}'), status: 405, error: /^405 method not allowed$/ },
  { name: 'DELETE /api/tags', send: () => raw('DELETE', '/api/tags'), status: 405, error: /^405 method not allowed$/ },
  { name: 'POST /', send: () => raw('POST', '/', '{}'), status: 405, error: /^405 method not allowed$/ },
  { name: 'GET an unknown /v1 route (OpenAI error shape)', send: () => raw('GET', '/v1/nothing'), status: 404, error: /404 page not found/ },
  { name: 'GET a path with dot segments', send: () => raw('GET', '/api/chat/../../../etc/passwd'), status: 404, error: /^404 page not found$/ },
  { name: 'PATCH /api/create', send: () => raw('PATCH', '/api/create', '{}'), status: 405, error: /^405 method not allowed$/ },

  // --- bad Modelfile fields through /api/create ---
  { name: 'create: num_ctx "lots"', send: () => create({ model: 'x', from: 'tiny', parameters: { num_ctx: 'lots' } }), status: 400, error: /option "num_ctx" must be of type integer/ },
  { name: 'create: stop a number', send: () => create({ model: 'x', from: 'tiny', parameters: { stop: 5 } }), status: 400, error: /option "stop" must be of an array of strings/ },
  { name: 'create: an unknown parameter', send: () => create({ model: 'x', from: 'tiny', parameters: { bogus: 1 } }), status: 400, error: /unknown parameter 'bogus'/ },
  { name: 'create: parameters a string', send: () => create({ model: 'x', from: 'tiny', parameters: 'num_ctx 5' }), status: 400, error: /CreateRequest.parameters/ },
  { name: 'create: a message role "robot"', send: () => create({ model: 'x', from: 'tiny', messages: [{ role: 'robot', content: 'x' }] }), status: 400, error: /message role must be one of "system", "user", or "assistant"/ },
  { name: 'create: message content a number', send: () => create({ model: 'x', from: 'tiny', messages: [{ role: 'user', content: 5 }] }), status: 400, error: /content of type string/ },
  { name: 'create: template a number', send: () => create({ model: 'x', from: 'tiny', template: 5 }), status: 400, error: /CreateRequest.template of type string/ },
  { name: 'create: license an object', send: () => create({ model: 'x', from: 'tiny', license: { a: 1 } }), status: 400, error: /license/ },
  { name: 'create: quantize to a type that does not exist', send: () => create({ model: 'x', from: 'tiny', quantize: 'q9_9' }), status: 400, error: /unsupported quantization type q9_9/ },
  { name: 'create: from a model that does not exist', send: () => create({ model: 'x', from: 'nope' }), status: 404, error: /model 'nope' not found/ },
  { name: 'create: neither from nor files', send: () => create({ model: 'x' }), status: 400, error: /neither 'from' or 'files' was specified/ },

  // --- rule files ---
  { name: 'create: rules names no rule file', send: () => create({ model: 'x', from: 'tiny', parameters: { rules: 'deepseek-v4' } }), status: 404, error: /rule file "deepseek-v4" not found.*did you mean "deepseek-v3"/ },
  { name: 'create: rules is YAML that does not parse', send: async () => create({ model: 'x', from: 'tiny', parameters: { rules: await writeText('broken.yaml', 'match: { architecture: deepseek2 }\nrules:\n  - name: x\n    tensors: [unclosed\n') } }), status: 400, error: /broken.yaml line \d+: .*not valid YAML/ },
  { name: 'create: rules with a bad device', send: async () => create({ model: 'x', from: 'tiny', parameters: { rules: await writeText('bad-device.yaml', `${MATCH}rules:\n  - name: all\n    tensors: '.*'\n    device: gpu0\n`) } }), status: 400, error: /bad-device.yaml line 5: rules\[0\].device must be/ },
  { name: 'create: rules is /dev/zero', send: () => create({ model: 'x', from: 'tiny', parameters: { rules: '/dev/zero' } }), status: 400, error: /^rule file \/dev\/zero must be a .yaml or .yml file$/ },
  { name: 'create: rules is a FIFO named .yaml', send: async () => create({ model: 'x', from: 'tiny', parameters: { rules: await fifo('pipe.yaml') } }), status: 400, error: /pipe.yaml is not a regular file$/ },
  { name: 'create: rules is /proc/self/environ (never quoted back)', send: () => create({ model: 'x', from: 'tiny', parameters: { rules: '/proc/self/environ' } }), status: 400, error: /^rule file \/proc\/self\/environ must be a .yaml or .yml file$/ },
  { name: 'create: rules is a YAML file that is not a rule file (never quoted back)', send: async () => create({ model: 'x', from: 'tiny', parameters: { rules: await writeText('secrets.yaml', 'password: hunter2\ntoken: abc\n') } }), status: 400, error: /^\S*secrets.yaml is not a rule file: it has no "match" or "rules" key at the top$/ },
  { name: 'create: rules names a file of the daemon’s folder without a path', send: () => create({ model: 'x', from: 'tiny', parameters: { rules: 'package.json' } }), status: 404, error: /^rule file "package.json" not found/ },
  { name: 'create: rules is a bare name that is not built in', send: () => create({ model: 'x', from: 'tiny', parameters: { rules: 'package' } }), status: 404, error: /^rule file "package" not found: give a path to a .yaml file or one of the built-in names/ },
  {
    name: 'chat: the model\u2019s rule file was deleted after create',
    setup: async () => {
      const file = await writeText('gone.yaml', `${MATCH}rules:\n  - name: all\n    tensors: '.*'\n    device: cpu\n`);
      const res = await create({ model: 'ruled-gone', from: 'tiny', parameters: { rules: file }, stream: false });
      expect(res.status, res.body).toBe(200);
      await fs.rm(file);
    },
    send: () => chat({ model: 'ruled-gone', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 404,
    error: /rule file ".*gone.yaml" not found/,
  },
  {
    name: 'chat: the model\u2019s rule file went bad after create',
    setup: async () => {
      const file = await writeText('turns.yaml', `${MATCH}rules:\n  - name: all\n    tensors: '.*'\n    device: cpu\n`);
      const res = await create({ model: 'ruled-bad', from: 'tiny', parameters: { rules: file }, stream: false });
      expect(res.status, res.body).toBe(200);
      await fs.writeFile(file, `${MATCH}rules:\n  - name: all\n    tensors: '(unclosed'\n    device: cpu\n`);
    },
    send: () => chat({ model: 'ruled-bad', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 400,
    error: /turns.yaml line 4: rules\[0\].tensors/,
  },

  // --- corrupt, truncated and wrong GGUF files, from a path ---
  { name: 'create from a GGUF with a bad magic', send: () => fromPath(mutants.badMagic!), status: 400, error: /not a GGUF file \(magic 'GGUX'\)/ },
  { name: 'create from a GGUF cut inside its header', send: () => fromPath(mutants.truncatedHeader!), status: 400, error: /file ends inside/ },
  { name: 'create from an empty file', send: () => fromPath(mutants.empty!), status: 400, error: /not a usable GGUF file/ },
  { name: 'create from a GGUF whose header lies about a tensor\u2019s size', send: () => fromPath(mutants.lying!), status: 400, error: /tensor 'output_norm.weight' data .* extends past the end of the file/ },
  { name: 'create from a GGUF cut short in its data', send: () => fromPath(mutants.cutShort!), status: 400, error: /extends past the end of the file/ },
  { name: 'create from a GGUF of an unknown architecture', send: () => fromPath(mutants.unknownArch!), status: 400, error: /architecture "llama9000" is unknown to this build of llama.cpp/ },
  { name: 'create from a GGUF with duplicate tokens', send: () => fromPath(mutants.duplicateTokens!), status: 400, error: /tokenizer.ggml.tokens has the token .* twice .*llama.cpp would abort/ },
  { name: 'create from a GGUF using more experts than it has', send: () => fromPath(mutants.tooManyUsed!), status: 400, error: /expert_used_count \(99\) is more than deepseek2.expert_count/ },
  { name: 'create from a GGUF with 0 layers', send: () => fromPath(mutants.noLayers!), status: 400, error: /deepseek2.block_count is 0/ },
  { name: 'create from a GGUF that adds a BOS it does not have', send: () => fromPath(mutants.badBos!), status: 400, error: /add_bos_token is true but tokenizer.ggml.bos_token_id \(999999\) is outside/ },
  { name: 'create from a GGUF with an unknown tokenizer', send: () => fromPath(mutants.unknownTokenizer!), status: 400, error: /tokenizer.ggml.model "sentencepiece9" is unknown/ },
  { name: 'create from a GGUF with a bad rope scaling type', send: () => fromPath(mutants.badRope!), status: 400, error: /rope.scaling.type is "warp"/ },
  { name: 'create from a vision projector GGUF', send: () => fromPath(mutants.clip!), status: 400, error: /vision projector/ },
  { name: 'create from a text file named .gguf', send: async () => fromPath(await writeText('notes.gguf', 'hello, world\n')), status: 400, error: /not a GGUF file/ },
  { name: 'create from a path that does not exist', send: () => fromPath('/nonexistent/model.gguf'), status: 400, error: /model file \/nonexistent\/model.gguf does not exist/ },
  { name: 'create from a folder', send: () => fromPath(`${dir}/`), status: 400, error: /does not exist|not a/ },

  // --- the same through blobs ---
  { name: 'create from a blob with a bad magic', setup: uploadMutant('badMagic'), send: fromBlob('badMagic'), status: 400, error: /supplied file was not in GGUF format/ },
  { name: 'create from a blob with duplicate tokens', setup: uploadMutant('duplicateTokens'), send: fromBlob('duplicateTokens'), status: 400, error: /twice/ },
  { name: 'create from a blob whose header lies', setup: uploadMutant('lying'), send: fromBlob('lying'), status: 400, error: /extends past the end of the file/ },
  { name: 'create from a blob of an unknown architecture', setup: uploadMutant('unknownArch'), send: fromBlob('unknownArch'), status: 400, error: /llama9000/ },
  { name: 'create from a blob that was never uploaded', send: () => create({ model: 'x', files: { 'a.gguf': `sha256:${'a'.repeat(64)}` } }), status: 400, error: /blob "sha256:a{64}" not found/ },
  { name: 'blob upload whose bytes do not hash to the digest', send: () => raw('POST', `/api/blobs/sha256:${'0'.repeat(64)}`, Buffer.alloc(4096, 7)), status: 400, error: /digest mismatch, expected "sha256:0{64}", got "sha256:[0-9a-f]{64}"/ },
  { name: 'blob upload with a digest that is not sha256', send: () => raw('POST', '/api/blobs/md5:abc', 'data'), status: 400, error: /invalid digest format/ },
  { name: 'blob upload cut short by the client', send: async () => cutUpload(await fs.readFile(good)), status: 0, error: /connection cut/ },

  // --- files that went bad after create (checked again at load, placement.ts) ---
  {
    name: 'chat: the referenced GGUF now has an unknown architecture',
    setup: async () => {
      await restoreVictim();
      // Same length, so the file keeps its size: only the check of the contents can tell.
      await patchBytes(victimFile, await findBytes(victimFile, ggufString('deepseek2')), ggufString('deepseekZ'));
    },
    send: () => chat({ model: 'victim', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 400,
    error: /architecture "deepseekZ" is unknown/,
  },
  {
    name: 'chat: the referenced GGUF now has duplicate tokens',
    setup: async () => {
      await restoreVictim();
      // Two control tokens of the same byte length: one is overwritten with the other.
      const tokens = ((await readGgufHeader(victimFile)).metadata.get('tokenizer.ggml.tokens') as { value: string[] }).value;
      const special = tokens.filter((s) => s.startsWith('<｜'));
      const len = (s: string) => Buffer.byteLength(s);
      const a = special.find((s) => special.some((o) => o !== s && len(o) === len(s)))!;
      const b = special.find((o) => o !== a && len(o) === len(a))!;
      const list = await findBytes(victimFile, ggufString('tokenizer.ggml.tokens'));
      await patchBytes(victimFile, await findBytes(victimFile, ggufString(b), list), ggufString(a));
    },
    send: () => chat({ model: 'victim', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 400,
    error: /has the token "<｜.*｜>" twice .*llama.cpp would abort/,
  },
  {
    name: 'chat: the referenced GGUF now has a bad magic',
    setup: async () => {
      await restoreVictim();
      await patchBytes(victimFile, 0, Buffer.from('XXXX'));
    },
    send: () => chat({ model: 'victim', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 400,
    error: /not a usable GGUF file: .*not a GGUF file/,
  },
  {
    name: 'chat: the referenced GGUF was deleted',
    setup: async () => {
      await restoreVictim();
      await fs.rm(victimFile);
    },
    send: () => chat({ model: 'victim', messages: [{ role: 'user', content: 'x' }], stream: false }),
    status: 500,
    error: /model file .*victim.gguf of victim:latest is missing/,
  },
];

beforeAll(async () => {
  dir = await tempDir('moed-bad-input-');
  good = await tinyGguf();
  t = await startTestDaemon({ env: { MOED_MAX_BODY: '1MiB' } });
  victimFile = path.join(dir, 'victim.gguf');
  await fs.copyFile(good, victimFile);
  const res = await create({ model: 'victim', from: victimFile, stream: false });
  expect(res.status, res.body).toBe(200);

  const bytes = await fs.readFile(good);
  const at = async (name: string, data: Buffer) => {
    const file = path.join(dir, name);
    await fs.writeFile(file, data);
    return file;
  };
  const mutant = (name: string, m: Parameters<typeof mutateGguf>[2]) => mutateGguf(good, path.join(dir, `${name}.gguf`), m);
  const set = (key: string, v: GgufValue) => (md: Map<string, GgufValue>) => void md.set(key, v);
  Object.assign(mutants, {
    badMagic: await at('bad-magic.gguf', Buffer.concat([Buffer.from('GGUX'), bytes.subarray(4)])),
    truncatedHeader: await at('truncated-header.gguf', bytes.subarray(0, 200)),
    empty: await at('empty.gguf', Buffer.alloc(0)),
    cutShort: await at('cut-short.gguf', bytes.subarray(0, Math.floor(bytes.length * 0.6))),
    lying: await mutant('lying', { lie: { tensor: 'output_norm.weight', dims: [1 << 24] }, tensors: (l) => [...l.filter((x) => x.name !== 'output_norm.weight'), l.find((x) => x.name === 'output_norm.weight')!] }),
    unknownArch: await mutant('unknown-arch', { metadata: set('general.architecture', str('llama9000')) }),
    duplicateTokens: await mutant('duplicate-tokens', {
      metadata: (md) => {
        const tokens = md.get('tokenizer.ggml.tokens') as { value: string[] };
        const list = [...tokens.value];
        list[list.length - 1] = list[100]!;
        md.set('tokenizer.ggml.tokens', arr('string', list));
      },
    }),
    tooManyUsed: await mutant('too-many-used', { metadata: set('deepseek2.expert_used_count', u32(99)) }),
    noLayers: await mutant('no-layers', { metadata: set('deepseek2.block_count', u32(0)) }),
    // T5's tokenizer has no default BOS, so an out-of-range id leaves none at all.
    badBos: await mutant('bad-bos', {
      metadata: (md) => {
        md.set('tokenizer.ggml.model', str('t5'));
        md.set('tokenizer.ggml.add_bos_token', bool(true));
        md.set('tokenizer.ggml.bos_token_id', u32(999_999));
      },
    }),
    unknownTokenizer: await mutant('unknown-tokenizer', { metadata: set('tokenizer.ggml.model', str('sentencepiece9')) }),
    badRope: await mutant('bad-rope', { metadata: set('deepseek2.rope.scaling.type', str('warp')) }),
    clip: await mutant('clip', { metadata: set('general.architecture', str('clip')) }),
  });
});

afterAll(async () => {
  await stopTestDaemons();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('bad input: the right status and a clear message, the daemon up, the store untouched', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await c.setup?.();
    const before = await snapshotTree(t.store.root);
    const res = await c.send();
    const statuses = Array.isArray(c.status) ? c.status : [c.status];
    expect(statuses, `status ${res.status}: ${res.body.slice(0, 300)}`).toContain(res.status);
    expect(errorText(res).slice(0, 2000)).toMatch(c.error);
    // The daemon is still there...
    const alive = await fetch(`${t.url}/`);
    expect(alive.status).toBe(200);
    expect(await alive.text()).toBe('Ollama is running');
    // ...and the store is exactly as it was (a cut upload may take a moment to clean up after itself).
    let after = await snapshotTree(t.store.root);
    for (let i = 0; i < 40 && JSON.stringify(after) !== JSON.stringify(before); i++) {
      await new Promise((r) => setTimeout(r, 25));
      after = await snapshotTree(t.store.root);
    }
    expect(after).toEqual(before);
  });
});
