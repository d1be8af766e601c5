// The only reader of process.env. Ollama's variable names keep their meaning (so a user's setup
// carries over); MOED_* variables are ours. Values are trimmed of spaces and quotes as Ollama does.
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from './duration.js';

export interface HostAddress {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

export interface DaemonConfig {
  listen: HostAddress;
  modelsDir: string;
  /** Default keep-alive in milliseconds; negative means forever. */
  keepAliveMs: number;
  numParallel: number;
  maxQueue: number;
  maxLoadedModels: number;
  /** Default num_ctx when neither Modelfile nor request sets one. */
  contextLength: number;
  origins: string[];
  debug: boolean;
  /** Host RAM per runner for KV states of prefixes beyond the live slots (MOED_PROMPT_CACHE). */
  promptCacheBytes: number;
  /** How long a runner may go without a sign of life before it is killed. */
  loadTimeoutMs: number;
  /** MOED_API_KEY: when set, every route but `GET|HEAD /` needs `Authorization: Bearer <key>`. */
  apiKey?: string;
  /**
   * MOED_RUNNER_TIMEOUT: a runner with requests in flight that answers no ping for this long is
   * killed (a hung engine must not hold its requests, and the model, forever). Generous by
   * default: one decode step of a 671B model on a CPU can take seconds, but the ping is answered
   * by the runner's event loop, which decode never blocks.
   */
  runnerTimeoutMs: number;
  /** MOED_SHUTDOWN_GRACE: on SIGTERM, how long streams in flight may run before they are ended. */
  shutdownGraceMs: number;
  /** MOED_MAX_BODY: the largest JSON request body, in bytes (blob uploads are limited by disk only). */
  maxBodyBytes: number;
}

type Env = Record<string, string | undefined>;

function clean(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().replace(/^["']+|["']+$/g, '').trim();
  return v === '' ? undefined : v;
}

function intVar(env: Env, name: string, fallback: number): number {
  const v = clean(env[name]);
  if (v === undefined) return fallback;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) throw new Error(`${name} must be an integer, got "${v}"`);
  return n;
}

/** OLLAMA_HOST as Ollama reads it: host, host:port, scheme://host[:port]; scheme without port means 80/443. */
export function parseHost(value: string | undefined): HostAddress {
  const v = clean(value);
  if (v === undefined) return { scheme: 'http', host: '127.0.0.1', port: 11434 };
  let scheme: 'http' | 'https' = 'http';
  let rest = v;
  let defaultPort = 11434;
  const m = /^(https?):\/\/(.*)$/i.exec(v);
  if (m) {
    scheme = m[1]!.toLowerCase() as 'http' | 'https';
    rest = m[2]!;
    defaultPort = scheme === 'https' ? 443 : 80;
  }
  rest = rest.replace(/\/.*$/, '');
  let host = rest;
  let port = defaultPort;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else {
    const idx = rest.lastIndexOf(':');
    if (idx >= 0 && rest.indexOf(':') === idx) {
      host = rest.slice(0, idx);
      const p = rest.slice(idx + 1);
      if (p !== '') port = Number(p);
    }
  }
  if (host === '') host = '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`OLLAMA_HOST has an invalid port: "${v}"`);
  return { scheme, host, port };
}

export function readDaemonConfig(env: Env = process.env): DaemonConfig {
  const keepAlive = clean(env.OLLAMA_KEEP_ALIVE);
  const home = env.HOME ?? os.homedir();
  return {
    listen: parseHost(env.OLLAMA_HOST),
    modelsDir: clean(env.OLLAMA_MODELS) ?? path.join(home, '.moed', 'models'),
    keepAliveMs: keepAlive === undefined ? 5 * 60_000 : parseKeepAliveEnv(keepAlive),
    numParallel: Math.max(1, intVar(env, 'OLLAMA_NUM_PARALLEL', 4)),
    maxQueue: Math.max(1, intVar(env, 'OLLAMA_MAX_QUEUE', 512)),
    maxLoadedModels: intVar(env, 'OLLAMA_MAX_LOADED_MODELS', 0) || 3,
    contextLength: intVar(env, 'OLLAMA_CONTEXT_LENGTH', 0) || 4096,
    origins: (clean(env.OLLAMA_ORIGINS) ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    debug: ['1', 'true', '2'].includes((clean(env.OLLAMA_DEBUG) ?? '').toLowerCase()),
    promptCacheBytes: parseBytes('MOED_PROMPT_CACHE', clean(env.MOED_PROMPT_CACHE), 8 * 2 ** 30),
    loadTimeoutMs: clean(env.OLLAMA_LOAD_TIMEOUT) ? parseKeepAliveEnv(clean(env.OLLAMA_LOAD_TIMEOUT)!) : 5 * 60_000,
    ...(clean(env.MOED_API_KEY) ? { apiKey: clean(env.MOED_API_KEY) } : {}),
    runnerTimeoutMs: durationVar(env, 'MOED_RUNNER_TIMEOUT', 60_000),
    shutdownGraceMs: durationVar(env, 'MOED_SHUTDOWN_GRACE', 10_000),
    maxBodyBytes: Math.max(1, parseBytes('MOED_MAX_BODY', clean(env.MOED_MAX_BODY), 64 * 2 ** 20)),
  };
}

/** Seconds ("30") or a Go duration ("1m30s", "500ms"); must be positive. */
function durationVar(env: Env, name: string, fallback: number): number {
  const v = clean(env[name]);
  if (v === undefined) return fallback;
  let ms: number;
  try {
    ms = parseKeepAliveEnv(v);
  } catch {
    throw new Error(`${name} must be a number of seconds or a duration such as "90s", got "${v}"`);
  }
  if (!(ms > 0)) throw new Error(`${name} must be positive, got "${v}"`);
  return ms;
}

/** A byte size: "8GiB", "512MB", "0" (off) or plain bytes. */
export function parseBytes(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?$/i.exec(value);
  if (!m) throw new Error(`${name} must be a size such as 8GiB or 512MB, got "${value}"`);
  const power = ' kmgt'.indexOf(m[2]!.toLowerCase() || ' ');
  return Math.round(Number(m[1]) * (m[3] ? 1024 : 1000) ** power);
}

/** OLLAMA_KEEP_ALIVE accepts integer seconds or a Go duration. */
function parseKeepAliveEnv(v: string): number {
  if (/^-?\d+$/.test(v)) return Number(v) * 1000;
  return parseDuration(v);
}

/** The address clients use to reach the daemon (the CLI reads OLLAMA_HOST too). */
export function clientBaseUrl(env: Env = process.env): string {
  const { scheme, host, port } = parseHost(env.OLLAMA_HOST);
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

/** The key the CLI sends as `Authorization: Bearer` when the daemon has MOED_API_KEY set. */
export function clientApiKey(env: Env = process.env): string | undefined {
  return clean(env.MOED_API_KEY);
}

/** Folder for moed's own files beside the store (demo model, caches). */
export function moedHome(env: Env = process.env): string {
  return clean(env.MOED_HOME) ?? path.join(env.HOME ?? os.homedir(), '.moed');
}

export function runnerEnv(env: Env = process.env): Env {
  return { ...env };
}

/** moed's switches that are not daemon settings: the demo model, the engine's log, the addon path. */
export function moedSwitches(env: Env = process.env): { demo: boolean; engineLog: boolean; addonPath?: string } {
  return {
    demo: clean(env.MOED_DEMO) === '1',
    engineLog: clean(env.MOED_ENGINE_LOG) !== undefined,
    addonPath: clean(env.MOED_ADDON),
  };
}
