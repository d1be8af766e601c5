// The built daemon as a process (`moed serve --demo`, what `npm start` runs), driven by the
// official `ollama` npm client, by the moed CLI, and by plain HTTP reading NDJSON.
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { freePort } from '../helpers/registry.js';
import { tempDir } from '../helpers/store.js';

const CLI = path.resolve('dist/cli/main.js');
let dir: string;
let daemon: ChildProcess;
let host: string;
let env: NodeJS.ProcessEnv;

async function waitForServer(url: string, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('daemon did not start');
}

beforeAll(async () => {
  dir = await tempDir('moed-e2e-');
  const port = await freePort();
  host = `http://127.0.0.1:${port}`;
  env = { ...process.env, HOME: dir, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_MODELS: path.join(dir, 'models') };
  daemon = spawn(process.execPath, [CLI, 'serve', '--demo'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout!.on('data', (d) => (out += d));
  await waitForServer(host, daemon, 90_000);
  expect(out).toContain('moed-demo:latest');
});

afterAll(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await fs.rm(dir, { recursive: true, force: true });
});

describe('daemon process with the official ollama client', () => {
  it('lists the demo model', async () => {
    const ollama = new Ollama({ host });
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(['moed-demo:latest']);
    expect(models[0]!.details.family).toBe('deepseek2');
    expect(models[0]!.details.quantization_level).toBe('Q4_K_M');
    expect(models[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('streams a chat, thinking apart, ending with done and metrics', async () => {
    const ollama = new Ollama({ host });
    const stream = await ollama.chat({
      model: 'moed-demo',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      options: { num_predict: 12, seed: 5 },
    });
    const parts: { thinking?: string; content: string }[] = [];
    let last;
    for await (const part of stream) {
      parts.push(part.message);
      last = part;
    }
    expect(parts.length).toBeGreaterThan(2);
    expect(last!.done).toBe(true);
    expect(['stop', 'length']).toContain(last!.done_reason);
    expect(Number.isInteger(last!.eval_duration)).toBe(true);
    expect(last!.eval_count).toBeGreaterThan(0);
    // R1's prompt opens <think>, so the random text is thinking unless a </think> was sampled.
    expect(parts.some((p) => (p.thinking ?? '').length > 0)).toBe(true);
  });

  it('reports that the second turn of a conversation found its history in the cache', async () => {
    const ollama = new Ollama({ host });
    const history = [{ role: 'user', content: 'Tell me about the sea, the ships on it and the people who sail them.' }];
    const first = await ollama.chat({ model: 'moed-demo', messages: history, think: false, options: { num_predict: 4, temperature: 0 } });
    const second = (await ollama.chat({
      model: 'moed-demo',
      messages: [...history, { role: 'assistant', content: first.message.content }, { role: 'user', content: 'And the fish?' }],
      think: false,
      options: { num_predict: 4, temperature: 0 },
    })) as typeof first & { prompt_cache_count?: number };
    // Everything up to the first turn's generation prompt is reused; that prompt's empty think
    // block (think:false) is not part of how the history renders, so a few tokens differ there.
    expect(second.prompt_cache_count).toBeGreaterThanOrEqual(first.prompt_eval_count - 6);
    expect(second.prompt_eval_count).toBeLessThan(first.prompt_eval_count);
  });

  it('answers the README curl with NDJSON ending in done and integer nanosecond metrics', async () => {
    const res = await fetch(`${host}/api/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, // what curl -d sends
      body: JSON.stringify({ model: 'moed-demo', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    const last = lines.at(-1);
    expect(last.done).toBe(true);
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration']) {
      if (k in last) expect(Number.isInteger(last[k])).toBe(true);
    }
    expect(Number.isInteger(last.total_duration)).toBe(true);
  });

  async function ggufBlobs(): Promise<number> {
    const blobsDir = path.join(dir, 'models', 'blobs');
    let n = 0;
    for (const b of await fs.readdir(blobsDir)) {
      const head = Buffer.alloc(4);
      const fh = await fs.open(path.join(blobsDir, b));
      await fh.read(head, 0, 4, 0);
      await fh.close();
      if (head.toString('latin1') === 'GGUF') n++;
    }
    return n;
  }

  it('creates a model with the moed CLI from a Modelfile naming a local GGUF, referenced in place', async () => {
    const gguf = path.join(dir, 'custom.gguf');
    await forgeDeepseek2({ path: gguf, preset: 'tiny', seed: 9 });
    const modelfile = path.join(dir, 'Modelfile');
    await fs.writeFile(modelfile, 'FROM ./custom.gguf\nPARAMETER temperature 0.2\nSYSTEM "be brief"\n');
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'create', 'custom', '-f', modelfile], { env });
    expect(stdout.trim().split('\n').at(-1)).toBe('success');
    const { models } = await new Ollama({ host }).list();
    expect(models.map((m) => m.name).sort()).toEqual(['custom:latest', 'moed-demo:latest']);
    // Referenced, not copied: the store holds no more GGUF blobs than before (the demo's one).
    expect(await ggufBlobs()).toBe(1);
    const reply = await new Ollama({ host }).chat({ model: 'custom', messages: [{ role: 'user', content: 'x' }], options: { num_predict: 4 } });
    expect(reply.done).toBe(true);
  });

  it('refuses a Modelfile with a bad line, naming the line', async () => {
    const modelfile = path.join(dir, 'Bad');
    await fs.writeFile(modelfile, 'FROM ./custom.gguf\nPARAMETER num_ctx lots\n');
    await expect(promisify(execFile)(process.execPath, [CLI, 'create', 'bad', '-f', modelfile], { env })).rejects.toMatchObject({
      stderr: expect.stringContaining('Modelfile line 2'),
    });
  });
});
