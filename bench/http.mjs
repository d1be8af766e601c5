// moed through its HTTP API (run on the GPU machine by bench/gpu.sh): a real daemon process, the
// model created from a GGUF path, and the figures read off Ollama's own response metrics.
// Usage: node bench/http.mjs MODEL.gguf OUT.json [--rules RULES.yaml]
// --rules becomes the model's `rules` parameter (as a Modelfile's PARAMETER rules would).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [modelPath, outPath] = process.argv.slice(2);
const rulesArg = process.argv.indexOf('--rules');
const rulesPath = rulesArg > 0 ? path.resolve(process.argv[rulesArg + 1]) : undefined;
const port = 11500 + Math.floor(Math.random() * 400);
const base = `http://127.0.0.1:${port}`;
const home = mkdtempSync(path.join(os.tmpdir(), 'moed-http-'));
const env = { ...process.env, HOME: home, OLLAMA_HOST: `127.0.0.1:${port}`, OLLAMA_CONTEXT_LENGTH: '16384', OLLAMA_NUM_PARALLEL: '4', OLLAMA_KEEP_ALIVE: '-1' };

async function post(route, body) {
  const res = await fetch(base + route, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return res;
}

async function chat(messages, options, onFirstLine) {
  const t0 = performance.now();
  const res = await post('/api/chat', { model: 'r1', messages, think: false, options: { temperature: 0, ...options } });
  const reader = res.body.getReader();
  let buf = '';
  let first;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (first === undefined) first = performance.now() - t0;
    buf += new TextDecoder().decode(value);
  }
  const lines = buf.trim().split('\n').map((l) => JSON.parse(l));
  const last = lines.at(-1);
  if (last.error) throw new Error(last.error);
  return { ...last, firstLineMs: first, wallMs: performance.now() - t0 };
}

// Words the forged byte-level vocabulary splits into a few tokens each.
const WORDS = 'the of and to in is was for on that with as by at from his her they this which one all were'.split(' ');
const text = (n, seed) => Array.from({ length: n }, (_, i) => WORDS[(i * 7 + seed) % WORDS.length]).join(' ');

function gpuMemoryUsedBytes() {
  try {
    const mib = execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
    return Number(mib.trim().split('\n')[0]) * 2 ** 20;
  } catch {
    return undefined;
  }
}

/** Resident memory of the daemon and its runner processes (pinned expert memory included). */
function processTreeRss(pid) {
  try {
    const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.trim().split(/\s+/).map(Number));
    const tree = new Set([pid]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const [p, pp] of rows) if (tree.has(pp) && !tree.has(p)) (tree.add(p), (grew = true));
    }
    return rows.filter(([p]) => tree.has(p)).reduce((s, [, , rss]) => s + rss * 1024, 0);
  } catch {
    return undefined;
  }
}

async function main() {
  const vramIdle = gpuMemoryUsedBytes();
  const daemon = spawn(process.execPath, ['dist/cli/main.js', 'serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(base)).ok) break;
      } catch {
        if (i > 100) throw new Error('daemon did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const parameters = rulesPath ? { rules: rulesPath } : undefined;
    await (await post('/api/create', { model: 'r1', from: path.resolve(modelPath), parameters, stream: false })).json();
    const out = { model: modelPath, rules: rulesPath ?? 'default' };
    // Load, then calibrate how many tokens a word costs.
    const warm = await chat([{ role: 'user', content: text(200, 1) }], { num_predict: 1 });
    out.loadMs = warm.load_duration / 1e6;
    const tokensPerWord = warm.prompt_eval_count / 200;
    const words = (tokens) => Math.round(tokens / tokensPerWord);
    // Prompt processing at 512, 2048, 8192 tokens (fresh text each time: nothing cached).
    for (const [n, seed] of [[512, 2], [2048, 3], [8192, 4]]) {
      const r = await chat([{ role: 'user', content: text(words(n), seed) }], { num_predict: 1 });
      out[`pp${n}`] = { tokens: r.prompt_eval_count, tokensPerSecond: r.prompt_eval_count / (r.prompt_eval_duration / 1e9) };
    }
    // Generation, one stream.
    const g = await chat([{ role: 'user', content: 'Write a long story.' }], { num_predict: 128 });
    out.tg1 = { tokens: g.eval_count, tokensPerSecond: g.eval_count / (g.eval_duration / 1e9) };
    // A second chat turn over a 4096-token history: time to first token, against the first turn's.
    const history = [{ role: 'user', content: text(words(4096), 5) }];
    const first = await chat(history, { num_predict: 8 });
    const reply = { role: 'assistant', content: 'Yes.' };
    const second = await chat([...history, reply, { role: 'user', content: text(words(64), 6) }], { num_predict: 8 });
    out.secondTurn = {
      historyTokens: first.prompt_eval_count,
      firstTurnTtftMs: first.firstLineMs,
      secondTurnTtftMs: second.firstLineMs,
      secondTurnEvaluated: second.prompt_eval_count,
    };
    // Four concurrent streams: total generated tokens over the wall time.
    const t0 = performance.now();
    const four = await Promise.all([7, 8, 9, 10].map((s) => chat([{ role: 'user', content: text(20, s) }], { num_predict: 96 })));
    const wall = (performance.now() - t0) / 1e3;
    out.tg4 = { tokens: four.reduce((s, r) => s + r.eval_count, 0), tokensPerSecond: four.reduce((s, r) => s + r.eval_count, 0) / wall };
    const ps = await (await fetch(`${base}/api/ps`)).json().catch(() => ({}));
    out.ps = ps.models?.[0];
    out.ramBytes = processTreeRss(daemon.pid);
    const used = gpuMemoryUsedBytes();
    out.vramBytes = used !== undefined && vramIdle !== undefined ? used - vramIdle : undefined;
    console.log(JSON.stringify(out));
    writeFileSync(outPath, JSON.stringify(out, null, 2));
  } finally {
    daemon.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
