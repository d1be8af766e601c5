// moed through its HTTP API (run on the GPU machine by bench/gpu.sh): a real daemon process, the
// model created from a GGUF path, and every figure seen two ways from the same requests:
//   - engine: the runner's own timing of its engine work, as Ollama reports it (prompt_eval_duration
//     from the slot's start to the first token, eval_duration from the first token to the last);
//   - http: the wall clock of the client, which adds the daemon, HTTP, templating, tokenizing and
//     the runner's IPC (prompt: time to the first streamed line; generation: first to last token line).
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

/** One streamed chat: the done line's metrics, and when the client saw the first and last token. */
async function chat(messages, options) {
  const t0 = performance.now();
  const res = await post('/api/chat', { model: 'r1', messages, think: false, options: { temperature: 0, ...options } });
  const decoder = new TextDecoder();
  let buf = '';
  let firstLineAt;
  let lastTokenAt;
  let done;
  for await (const chunk of res.body) {
    const now = performance.now();
    buf += decoder.decode(chunk, { stream: true });
    const lines = buf.split('\n');
    buf = lines.pop();
    for (const line of lines.filter((l) => l.trim())) {
      const msg = JSON.parse(line);
      if (msg.error) throw new Error(msg.error);
      firstLineAt ??= now;
      if (msg.done) done = msg;
      else lastTokenAt = now;
    }
  }
  if (!done) throw new Error('the stream ended without a done line');
  lastTokenAt ??= firstLineAt;
  return { ...done, firstLineAt, lastTokenAt, firstLineMs: firstLineAt - t0, lastTokenMs: lastTokenAt - t0 };
}

const perSecond = (count, ms) => (count * 1e3) / ms;
const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Prompt figures of num_predict-1 requests: the engine's prompt_eval_duration, the client's time to the first line. */
const promptFigures = (runs) => ({
  tokens: runs[0].prompt_eval_count,
  engine: mean(runs.map((r) => perSecond(r.prompt_eval_count, r.prompt_eval_duration / 1e6))),
  http: mean(runs.map((r) => perSecond(r.prompt_eval_count, r.firstLineMs))),
});

/** Generation figures: eval_count - 1 intervals between the first and the last token. */
const generationFigures = (runs) => ({
  tokens: runs[0].eval_count,
  engine: mean(runs.map((r) => perSecond(r.eval_count - 1, r.eval_duration / 1e6))),
  http: mean(runs.map((r) => perSecond(r.eval_count - 1, r.lastTokenMs - r.firstLineMs))),
});

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
    let seed = 10;
    const fresh = (tokens) => [{ role: 'user', content: text(words(tokens), seed++) }];
    // Prompt processing at 512, 2048, 8192 tokens: fresh text each time (nothing cached), one
    // untimed request of the same size first (first copies and graph shapes), then two.
    for (const n of [512, 2048, 8192]) {
      await chat(fresh(n), { num_predict: 1 });
      out[`pp${n}`] = promptFigures([await chat(fresh(n), { num_predict: 1 }), await chat(fresh(n), { num_predict: 1 })]);
    }
    // Generation, one stream: 8 untimed tokens, then 2 x 128.
    await chat(fresh(20), { num_predict: 8 });
    out.tg1 = generationFigures([await chat(fresh(20), { num_predict: 128 }), await chat(fresh(20), { num_predict: 128 })]);
    // A second chat turn over a 4096-token history: only its new tokens are evaluated.
    const history = fresh(4096);
    const first = await chat(history, { num_predict: 8 });
    const reply = { role: 'assistant', content: first.message.content };
    const second = await chat([...history, reply, ...fresh(64)], { num_predict: 8 });
    out.secondTurn = {
      historyTokens: first.prompt_eval_count,
      firstTurn: { engineMs: first.prompt_eval_duration / 1e6, httpMs: first.firstLineMs },
      secondTurn: { engineMs: second.prompt_eval_duration / 1e6, httpMs: second.firstLineMs },
      secondTurnEvaluated: second.prompt_eval_count,
      secondTurnCached: second.prompt_cache_count,
    };
    // Four concurrent streams: every generated token over the time they ran together. Engine: the
    // longest eval_duration (the streams start together); client: first token line to last.
    const streams = (n) => Promise.all([0, 1, 2, 3].map(() => chat(fresh(20), { num_predict: n })));
    await streams(8);
    const four = await streams(96);
    const tokens = four.reduce((s, r) => s + r.eval_count - 1, 0);
    const firstToken = Math.min(...four.map((r) => r.firstLineAt));
    const lastToken = Math.max(...four.map((r) => r.lastTokenAt));
    out.tg4 = {
      tokens,
      engine: perSecond(tokens, Math.max(...four.map((r) => r.eval_duration / 1e6))),
      http: perSecond(tokens, lastToken - firstToken),
    };
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
