// Helpers of the reliability tests: byte-exact snapshots of a directory tree, GGUF mutants (files
// that are broken in one precise way), and the built daemon as a real process with its counters.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeGgufHeader, readGgufHeader, type GgufTensorLayout, type GgufValue } from '../../src/gguf/index.js';
import type { DaemonState } from '../../src/server/routes/debug.js';
import { freePort } from '../helpers/registry.js';

// --- snapshots ---------------------------------------------------------------------------------

/** Every entry under `dir` (directories, files with size, mode and sha256, links), nothing ignored. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch((e) => {
      if ((e as { code?: string }).code === 'ENOENT') return [];
      throw e;
    });
    for (const e of entries) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      const st = await fs.lstat(p);
      if (st.isDirectory()) {
        out[`${rel}/`] = `dir ${(st.mode & 0o777).toString(8)}`;
        await walk(p);
      } else if (st.isSymbolicLink()) {
        out[rel] = `link ${await fs.readlink(p)}`;
      } else {
        const hash = createHash('sha256').update(await fs.readFile(p)).digest('hex');
        out[rel] = `file ${(st.mode & 0o777).toString(8)} ${st.size} ${hash}`;
      }
    }
  };
  await walk(dir);
  return out;
}

// --- GGUF mutants --------------------------------------------------------------------------------

export interface MutantTensor {
  name: string;
  dims: number[];
  type: number;
  /** Where the tensor's data is in the source file. */
  source: { offset: number; bytes: number };
}

export interface Mutation {
  metadata?: (md: Map<string, GgufValue>) => void;
  tensors?: (list: MutantTensor[]) => MutantTensor[];
  /** Dims written in the header for a tensor, whatever its data holds (a header that lies). */
  lie?: { tensor: string; dims: number[] };
}

/**
 * Writes a copy of `src` changed as told: metadata edited, tensors dropped, or a header that lies
 * about a tensor's size. Tensor data is copied from the source as is.
 */
export async function mutateGguf(src: string, dst: string, m: Mutation): Promise<string> {
  const h = await readGgufHeader(src);
  const md = new Map(h.metadata);
  m.metadata?.(md);
  let list: MutantTensor[] = h.tensors.map((t) => ({
    name: t.name,
    dims: [...t.dims],
    type: t.type,
    source: { offset: t.fileOffset, bytes: t.bytes },
  }));
  if (m.tensors) list = m.tensors(list);
  const align = h.alignment;
  const pad = (n: number) => Math.ceil(n / align) * align;
  let offset = 0;
  const layouts: GgufTensorLayout[] = list.map((t) => {
    const l = { name: t.name, dims: t.dims, type: t.type, offset, bytes: t.source.bytes };
    offset += pad(t.source.bytes);
    return l;
  });
  if (m.lie) {
    const l = layouts.find((t) => t.name === m.lie!.tensor);
    if (!l) throw new Error(`no tensor ${m.lie.tensor}`);
    l.dims = m.lie.dims;
  }
  const header = encodeGgufHeader(md, layouts, align);
  const fh = await fs.open(src, 'r');
  const parts: Buffer[] = [header];
  try {
    for (const t of list) {
      const buf = Buffer.alloc(pad(t.source.bytes));
      await fh.read(buf, 0, t.source.bytes, t.source.offset);
      parts.push(buf);
    }
  } finally {
    await fh.close();
  }
  await fs.writeFile(dst, Buffer.concat(parts));
  return dst;
}

/** Writes `bytes` over `file` at `offset` (the file keeps its size). */
export async function patchBytes(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

/** The file offset of the first match of `needle` at or after `from`. */
export async function findBytes(file: string, needle: Buffer, from = 0): Promise<number> {
  const buf = await fs.readFile(file);
  const at = buf.indexOf(needle, from);
  if (at < 0) throw new Error(`bytes not found in ${file}`);
  return at;
}

/** A GGUF string as stored: u64 length, then the bytes. */
export function ggufString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}

// --- the daemon as a process -------------------------------------------------------------------------

export const CLI = path.resolve('dist/cli/main.js');

export { freePort };

export interface DaemonProcess {
  url: string;
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  state(): Promise<DaemonState>;
  /** Resolves with the exit code (or signal) once it exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** `moed serve` from dist/, on a free loopback port, over the given store. */
export async function startDaemonProcess(modelsDir: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      HOME: path.dirname(modelsDir),
      OLLAMA_HOST: `127.0.0.1:${port}`,
      OLLAMA_MODELS: modelsDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`daemon did not start:\n${out}`);
    await sleep(100);
  }
  return {
    url,
    child,
    output: () => out,
    exited,
    state: async () => (await (await fetch(`${url}/api/moed/state`)).json()) as DaemonState,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(25);
  }
}

/** True while a process with this pid exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// --- streaming clients ---------------------------------------------------------------------------

export interface OpenStream {
  status: number;
  /** Every NDJSON line read so far, parsed. */
  lines: Record<string, any>[];
  /** Resolves with the next line (or undefined at the end of the body). */
  next(): Promise<Record<string, any> | undefined>;
  /** Reads to the end; resolves with all lines. */
  rest(): Promise<Record<string, any>[]>;
  /** Drops the connection, as a client that goes away. */
  drop(): void;
}

/**
 * POSTs and resolves once the response headers arrive (for inference: once the request has a
 * slot and its prompt was accepted), then reads NDJSON lines on demand.
 */
export async function openStream(url: string, body: unknown, signal?: AbortSignal): Promise<OpenStream> {
  const controller = new AbortController();
  signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), signal: controller.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let ended = false;
  const lines: Record<string, any>[] = [];
  const next = async (): Promise<Record<string, any> | undefined> => {
    for (;;) {
      const nl = buffered.indexOf('\n');
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        const v = JSON.parse(line) as Record<string, any>;
        lines.push(v);
        return v;
      }
      if (ended) {
        if (buffered.trim() !== '') throw new Error(`stream ended inside a line: ${JSON.stringify(buffered)}`);
        return undefined;
      }
      const { value, done } = await reader.read();
      if (done) ended = true;
      else buffered += decoder.decode(value, { stream: true });
    }
  };
  return {
    status: res.status,
    lines,
    next,
    async rest() {
      while ((await next()) !== undefined);
      return lines;
    },
    drop() {
      controller.abort();
    },
  };
}

/** A chat that runs until its context is full (minutes on the tiny model: ample time to act). */
export const longChat = (model = 'tiny', content = 'Tell me a very long story.') => ({
  model,
  messages: [{ role: 'user', content }],
  options: { num_predict: -1, seed: 1 },
});
