// What the CLI prints, checked piece by piece: ollama's number, size and time formats, tables,
// `show` and `ps` columns, progress bars and plain progress lines, and how an answer streams
// (thinking dimmed apart, word wrap, control characters).
import { describe, expect, it } from 'vitest';
import { AnswerWriter } from '../../src/cli/answer.js';
import { goDuration, humanBytes, humanNumber, humanTime, metricsSummary, shortDuration, table, terminalSafe } from '../../src/cli/format.js';
import { processorText, untilText } from '../../src/cli/models.js';
import { Bar, LiveView, Spinner, TransferProgress } from '../../src/cli/progress.js';
import type { Ctx } from '../../src/cli/context.js';
import { loadModel } from '../../src/cli/run.js';
import { formatPlan, formatShowInfo, goG, showCommand } from '../../src/cli/show.js';

/** A writable that keeps what was written. */
function sink(opts: { isTTY?: boolean; columns?: number; rows?: number } = {}) {
  const chunks: string[] = [];
  return {
    ...opts,
    chunks,
    write(s: string) {
      chunks.push(s);
      return true;
    },
    get text() {
      return chunks.join('');
    },
  };
}

/** A tiny terminal: printable characters, \n, cursor-left (CSI n D), erase to end (CSI K); colours ignored. */
function screen(text: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b\[(\d*)([A-Za-z])/.exec(text.slice(i))!;
      if (m[2] === 'D') col = Math.max(0, col - Number(m[1] || 1));
      if (m[2] === 'K') rows[row]!.length = Math.min(rows[row]!.length, col);
      i += m[0].length - 1;
      continue;
    }
    if (ch === '\n') {
      rows.push([]);
      row++;
      col = 0;
      continue;
    }
    while (rows[row]!.length < col) rows[row]!.push(' ');
    rows[row]![col++] = ch;
  }
  return rows.map((r) => r.join(''));
}

describe('formats as the ollama CLI prints them', () => {
  it.each([
    [512, '512 B'],
    [1000, '1 KB'],
    [1500, '1.5 KB'],
    [12_345_678, '12 MB'],
    [4_700_000_000, '4.7 GB'],
    [404_000_000_000, '404 GB'],
    [1_200_000_000_000, '1.2 TB'],
  ])('humanBytes(%d) = %s', (n, text) => expect(humanBytes(n)).toBe(text));

  it.each([
    [671_000_000_000, '671B'],
    [3_210_000_000, '3.2B'],
    [21_040_000, '21.04M'],
    [8000, '8K'],
    [999, '999'],
  ])('humanNumber(%d) = %s', (n, text) => expect(humanNumber(n)).toBe(text));

  it('says times as ollama does, past and future', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    const at = (ms: number) => new Date(now.getTime() + ms);
    expect(humanTime(at(-500), 'Never', now)).toBe('Less than a second ago');
    expect(humanTime(at(-30_000), 'Never', now)).toBe('30 seconds ago');
    expect(humanTime(at(-90_000), 'Never', now)).toBe('About a minute ago');
    expect(humanTime(at(-3 * 86_400_000), 'Never', now)).toBe('3 days ago');
    expect(humanTime(at(-21 * 86_400_000), 'Never', now)).toBe('3 weeks ago');
    expect(humanTime(at(4 * 60_000 + 59_000), 'Never', now)).toBe('4 minutes from now');
    expect(humanTime(new Date('2318-01-01T00:00:00Z'), 'Never', now)).toBe('Forever');
    expect(humanTime(new Date('0001-01-01T00:00:00Z'), 'Never', now)).toBe('Never');
  });

  it.each([
    [0, '0s'],
    [999, '999ns'],
    [12_500, '12.5µs'],
    [53_094_080, '53.09408ms'],
    [1_234_567_891, '1.234567891s'],
    [90e9, '1m30s'],
    [3600e9, '1h0m0s'],
    [3723.5e9, '1h2m3.5s'],
  ])('goDuration(%d) = %s', (ns, text) => expect(goDuration(ns)).toBe(text));

  it('prints the bar time left in two units at most', () => {
    expect(shortDuration(10)).toBe('10s');
    expect(shortDuration(243)).toBe('4m3s');
    expect(shortDuration(7500)).toBe('2h5m');
    expect(shortDuration(400 * 3600)).toBe('99h+');
  });

  it('prints --verbose metrics like ollama', () => {
    expect(
      metricsSummary({
        total_duration: 5_123_456_789,
        load_duration: 12_300_000,
        prompt_eval_count: 26,
        prompt_eval_duration: 130_000_000,
        eval_count: 298,
        eval_duration: 4_500_000_000,
      }),
    ).toBe(
      [
        'total duration:       5.123456789s',
        'load duration:        12.3ms',
        'prompt eval count:    26 token(s)',
        'prompt eval duration: 130ms',
        'prompt eval rate:     200.00 tokens/s',
        'eval count:           298 token(s)',
        'eval duration:        4.5s',
        'eval rate:            66.22 tokens/s',
      ].join('\n'),
    );
  });

  it('lays out tables with four spaces between columns and no trailing spaces', () => {
    expect(table(['NAME', 'ID', 'SIZE'], [['r1:latest', 'abc', '404 GB'], ['x:y', 'defghi', '']])).toBe(
      ['NAME         ID        SIZE', 'r1:latest    abc       404 GB', 'x:y          defghi'].join('\n'),
    );
  });

  it('names the processor of a running model as ollama ps does', () => {
    expect(processorText(1000, 0)).toBe('100% CPU');
    expect(processorText(1000, 1000)).toBe('100% GPU');
    expect(processorText(1000, 520)).toBe('48%/52% CPU/GPU');
    expect(processorText(100, 200)).toBe('Unknown');
  });

  it('says until when a model unloads', () => {
    const now = new Date('2025-06-01T12:00:00Z');
    expect(untilText('2025-06-01T12:04:30Z', now)).toBe('4 minutes from now');
    expect(untilText('2025-06-01T11:59:00Z', now)).toBe('Stopping...');
    expect(untilText('2318-01-01T00:00:00Z', now)).toBe('Forever');
  });
});

describe('moed show', () => {
  const resp = {
    parameters: 'num_ctx                        8192\nstop                           "<｜end▁of▁sentence｜>"\ntemperature                    0.6',
    system: 'You are helpful.\nBe brief.\nThird line.',
    license: 'MIT',
    details: { family: 'deepseek2', parameter_size: '671B', quantization_level: 'Q4_K_M' },
    model_info: {
      'general.architecture': 'deepseek2',
      'general.parameter_count': 671_026_419_200,
      'deepseek2.context_length': 163840,
      'deepseek2.embedding_length': 7168,
      'tokenizer.ggml.tokens': ['a', 'bb', 'ccc', 'dddd', 'e'],
    },
    tensors: [{ name: 'token_embd.weight', type: 'Q4_K', shape: [7168, 129280] }],
    capabilities: ['completion', 'thinking'],
  };

  it('prints the summary of ollama show', () => {
    expect(formatShowInfo(resp, false)).toBe(
      [
        '  Model',
        '    architecture        deepseek2',
        '    parameters          671B',
        '    context length      163840',
        '    embedding length    7168',
        '    quantization        Q4_K_M',
        '',
        '  Capabilities',
        '    completion',
        '    thinking',
        '',
        '  Parameters',
        '    num_ctx        8192',
        '    stop           "<｜end▁of▁sentence｜>"',
        '    temperature    0.6',
        '',
        '  System',
        '    You are helpful.',
        '    Be brief.',
        '    ...',
        '',
        '  License',
        '    MIT',
        '',
      ].join('\n'),
    );
  });

  it('adds metadata and tensors with -v, shortening long lists', () => {
    const text = formatShowInfo(resp, true);
    expect(text).toContain('  Metadata\n');
    expect(text).toMatch(/ {4}tokenizer\.ggml\.tokens {4,}\[a bb \.\.\.\+3 more\]/);
    // Go's %v of a float64, as ollama prints every number of the metadata.
    expect(text).toMatch(/ {4}general\.parameter_count {4,}6\.710264192e\+11\n/);
    expect(text).toMatch(/ {4}deepseek2\.context_length {4,}163840\n/);
    expect(text).toMatch(/ {4}token_embd\.weight {4}Q4_K {4}\[7168 129280\]/);
  });

  it.each([
    [3, '3'],
    [163840, '163840'],
    [1_000_000, '1e+06'],
    [9.999999974752427e-7, '9.999999974752427e-07'],
    [0.0001, '0.0001'],
    [0.6, '0.6'],
    [-2.5e21, '-2.5e+21'],
  ])('prints %d as Go prints a float64: %s', (n, text) => expect(goG(n)).toBe(text));

  it('prints the plan table the daemon sends, or the plan as JSON', () => {
    expect(formatPlan({ fits: true, table: 'DEVICE  WEIGHTS\nCPU     380 GB' })).toBe('DEVICE  WEIGHTS\nCPU     380 GB');
    expect(formatPlan('as text')).toBe('as text');
    expect(formatPlan({ fits: false })).toBe('{\n  "fits": false\n}');
  });
});

describe('progress', () => {
  it('draws a running bar as ollama does: percent, bar, bytes, rate, time left', () => {
    const t0 = 1_000_000;
    const bar = new Bar('pulling 3a4f5c6d7e8f...', 2_600_000_000, 0, t0);
    bar.set(600_000_000, t0 + 5000);
    bar.set(1_200_000_000, t0 + 10_000);
    const line = bar.render(100);
    expect(line).toMatch(/^pulling 3a4f5c6d7e8f\.\.\.  46% ▕█+ +▏ 1\.2 GB\/2\.6 GB  120 MB\/s {5}11s$/);
    expect([...line].length).toBe(99); // the last column stays free, so the terminal never wraps
    const filled = (line.match(/█/g) ?? []).length;
    const cells = filled + (/▕(█*)( *)▏/.exec(line)![2]!.length);
    expect(Math.abs(filled / cells - 0.46)).toBeLessThan(0.03);
  });

  it('draws a finished bar with the size only', () => {
    const bar = new Bar('pushing 3a4f5c6d7e8f...', 5_000_000, 0, 0);
    bar.set(5_000_000, 2000);
    expect(bar.render(80)).toMatch(/^pushing 3a4f5c6d7e8f\.\.\. 100% ▕█+▏ {2}5\.0 MB {25}$|^pushing 3a4f5c6d7e8f\.\.\. 100% ▕█+▏ {3}5 MB {25}$/);
  });

  it('spins, with the time elapsed for a long load', () => {
    const s = new Spinner('loading deepseek-r1:latest', 0, true);
    expect(s.render(80, 50)).toBe('loading deepseek-r1:latest ⠋ ');
    expect(s.render(80, 83_250)).toBe('loading deepseek-r1:latest ⠹ 1m23s');
    s.stop(90_000);
    expect(s.render(80, 90_000)).toBe('loading deepseek-r1:latest ');
  });

  it('redraws its lines in place on a terminal and erases them when cleared', () => {
    const out = sink({ isTTY: true, columns: 60 });
    let now = 0;
    const live = new LiveView(out, () => now);
    live.add(new Spinner('pulling manifest', 0));
    live.add(new Spinner('verifying sha256 digest', 0));
    live.render();
    now = 100;
    live.render();
    expect(out.chunks[1]).toContain('\x1b[1A'); // back up to the first of two lines
    live.stopAndClear();
    expect(out.text.endsWith('\x1b[2K\x1b[1G\x1b[1A\x1b[2K\x1b[1G')).toBe(true);
  });

  it('draws only the lines that fit on the screen', () => {
    const out = sink({ isTTY: true, columns: 60, rows: 3 });
    const live = new LiveView(out, () => 0);
    for (let i = 0; i < 5; i++) live.add(new Spinner(`status ${i}`, 0));
    live.render();
    live.render();
    expect(out.chunks[1]).toContain('\x1b[2A');
    expect(out.chunks[1]).not.toContain('status 1');
    expect(out.chunks[1]).toContain('status 4');
    live.stop();
  });

  it('prints plain lines without a terminal: each status once, layers by tenths', () => {
    const out = sink();
    const p = new TransferProgress(out, { tty: false, skipZero: true });
    p.update({ status: 'pulling manifest' });
    p.update({ status: 'pulling manifest' });
    const digest = `sha256:${'ab'.repeat(32)}`;
    p.update({ status: `pulling ${'ab'.repeat(6)}`, digest, total: 1000, completed: 0 });
    for (const c of [50, 120, 130, 550, 1000]) p.update({ status: `pulling ${'ab'.repeat(6)}`, digest, total: 1000, completed: c });
    p.update({ status: 'success' });
    p.stop();
    expect(out.text).toBe(
      [
        'pulling manifest',
        'pulling abababababab... 5% 50 B/1 KB',
        'pulling abababababab... 12% 120 B/1 KB',
        'pulling abababababab... 55% 550 B/1 KB',
        'pulling abababababab... 100% 1 KB',
        'success',
        '',
      ].join('\n'),
    );
  });

  it('shows a bar per layer and a spinner per status on a terminal', () => {
    const out = sink({ isTTY: true, columns: 80 });
    const p = new TransferProgress(out, { tty: true });
    const digest = `sha256:${'cd'.repeat(32)}`;
    p.update({ status: 'retrieving manifest' });
    p.update({ status: `pushing ${'cd'.repeat(6)}`, digest, total: 2000, completed: 2000 });
    p.update({ status: 'success' });
    p.stop();
    const last = out.chunks.filter((c) => c.includes('retrieving')).at(-1)!;
    expect(last).toContain('retrieving manifest \x1b[K');
    expect(last).toMatch(/pushing cdcdcdcdcdcd\.\.\. 100% ▕█+▏ {3}2 KB/);
    expect(last).toContain('success \x1b[K');
  });
});

describe('answers', () => {
  const opts = { tty: true, wordWrap: false, hideThinking: false };

  it('shows thinking apart and dimmed, then the answer', () => {
    const out = sink({ isTTY: true });
    const w = new AnswerWriter(out, opts);
    w.thinking('Let me');
    w.thinking(' think.');
    w.content('The answer.');
    w.finish('\n\n');
    expect(out.text).toBe('\x1b[2mThinking...\nLet me think.\n...done thinking.\x1b[0m\n\nThe answer.\n\n');
  });

  it('writes plain text to a pipe, and resets the colour when an answer stops while thinking', () => {
    const pipe = sink();
    const w = new AnswerWriter(pipe, { ...opts, tty: false });
    w.thinking('hmm\x1b[2J');
    w.content('ok');
    w.finish('\n');
    expect(pipe.text).toBe('Thinking...\nhmm\x1b[2J\n...done thinking.\n\nok\n');

    const tty = sink({ isTTY: true });
    const t = new AnswerWriter(tty, opts);
    t.thinking('cut short');
    t.finish('\n\n');
    expect(tty.text).toBe('\x1b[2mThinking...\ncut short\x1b[0m\n\n');
  });

  it('hides thinking with --hidethinking', () => {
    const out = sink({ isTTY: true });
    const w = new AnswerWriter(out, { ...opts, hideThinking: true });
    w.thinking('secret');
    w.content('visible');
    w.finish('\n');
    expect(out.text).toBe('visible\n');
  });

  it('shows control characters a model samples as U+FFFD on a terminal', () => {
    expect(terminalSafe('a\x1bc\x07b\r\nc\td\x9b')).toBe('a\uFFFDc\uFFFDb\nc\td\uFFFD');
    const out = sink({ isTTY: true });
    const w = new AnswerWriter(out, opts);
    w.content('x\x1b]0;pwned\x07y');
    expect(out.text).toBe('x\uFFFD]0;pwned\uFFFDy');
  });

  it('wraps words at the terminal width without splitting them', () => {
    const words = 'the quick brown fox jumps over the lazy dog and keeps running through the forest until night falls'.split(' ');
    const out = sink({ isTTY: true });
    const w = new AnswerWriter(out, { ...opts, wordWrap: true, width: () => 30 });
    // Streamed in uneven pieces, as tokens come.
    const text = words.join(' ');
    for (let i = 0; i < text.length; i += 3) w.content(text.slice(i, i + 3));
    const rows = screen(out.text);
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r.length).toBeLessThanOrEqual(25);
    expect(rows.map((r) => r.trim()).join(' ')).toBe(text);
  });

  it('expands tabs while wrapping, so the columns it counts are the columns shown', () => {
    const out = sink({ isTTY: true });
    const w = new AnswerWriter(out, { ...opts, wordWrap: true, width: () => 30 });
    w.content('a\tbb\tccc\tdddd\teeeee\tffffff\tggggggg');
    expect(out.text).not.toContain('\t');
    const rows = screen(out.text);
    for (const r of rows) expect(r.length).toBeLessThanOrEqual(25);
    expect(rows.join(' ').split(/\s+/).filter(Boolean)).toEqual(['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'ggggggg']);
  });
});

describe('commands against a stub daemon', () => {
  function ctx(answer: unknown, stderrTTY = false) {
    const stdout = sink();
    const stderr = sink({ isTTY: stderrTTY, columns: 80 });
    const calls: unknown[][] = [];
    const client = {
      baseUrl: 'http://127.0.0.1:11434',
      async json(...args: unknown[]) {
        calls.push(args);
        return typeof answer === 'function' ? (answer as () => unknown)() : answer;
      },
    };
    return { ctx: { client, io: { stdout, stderr, stdin: process.stdin } } as unknown as Ctx, stdout, stderr, calls };
  }

  it('show --plan says so when the daemon sends no plan', async () => {
    const { ctx: c } = ctx({ details: {} });
    await expect(showCommand({ flags: { plan: true }, args: ['r1'], help: false }, c)).rejects.toThrow(
      'the daemon at http://127.0.0.1:11434 did not return a placement plan for r1',
    );
  });

  it('spins while a model loads, on a terminal only, and erases the spinner after', async () => {
    const slow = () => new Promise((r) => setTimeout(() => r({ done: true, done_reason: 'load' }), 450));
    const tty = ctx(slow, true);
    const opts = { model: 'r1:latest', loadedMessages: [], messages: [], options: {}, thinkExplicit: false, hideThinking: false, wordWrap: true, verbose: false };
    await loadModel(tty.ctx, opts);
    expect(tty.calls).toEqual([['POST', '/api/generate', { model: 'r1:latest', keep_alive: undefined, think: undefined }, { signal: undefined }]]);
    const frames = new Set(tty.stderr.chunks.map((c) => /loading r1:latest ([⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏])/.exec(c)?.[1]).filter(Boolean));
    expect(frames.size).toBeGreaterThanOrEqual(3);
    expect(tty.stderr.chunks.at(-1)).toBe('\x1b[2K\x1b[1G');
    expect(tty.stdout.text).toBe('');

    const pipe = ctx(slow, false);
    await loadModel(pipe.ctx, opts);
    expect(pipe.stderr.text).toBe('');
  });
});
