// Terminal formatting shared by the CLI commands, written to print what the ollama CLI prints
// (its format/ and progress/ packages): sizes, relative times, Go durations, tables.

import type { Metrics } from '../api/types.js';

/** Ollama's format.HumanBytes: decimal units, "4.7 GB", "404 GB", "512 B". */
export function humanBytes(b: number): string {
  const units: [number, string][] = [
    [1e12, 'TB'],
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'KB'],
  ];
  for (const [size, unit] of units) {
    if (b >= size) {
      const value = b / size;
      if (value >= 10) return `${Math.trunc(value)} ${unit}`;
      if (value !== Math.trunc(value)) return `${value.toFixed(1)} ${unit}`;
      return `${value} ${unit}`;
    }
  }
  return `${Math.trunc(b)} B`;
}

/** Ollama's format.HumanNumber: 671B, 3.2B, 15.73M, 8K. */
export function humanNumber(n: number): string {
  const whole = (v: number) => v === Math.floor(v);
  if (n >= 1e12) return whole(n / 1e12) ? `${(n / 1e12).toFixed(0)}T` : `${(n / 1e12).toFixed(1)}T`;
  if (n >= 1e9) return whole(n / 1e9) ? `${(n / 1e9).toFixed(0)}B` : `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return whole(n / 1e6) ? `${(n / 1e6).toFixed(0)}M` : `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}K`;
  return String(n);
}

/** Ollama's format.humanDuration: "Less than a second", "4 minutes", "About an hour", "3 days". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** Ollama's format.HumanTime: "2 weeks ago", "4 minutes from now", "Forever", or `zero` for no time. */
export function humanTime(t: Date | undefined, zero: string, now = new Date()): string {
  if (!t || Number.isNaN(t.getTime()) || t.getTime() <= 0 || t.getUTCFullYear() <= 1) return zero;
  const delta = now.getTime() - t.getTime();
  if (Math.trunc(delta / 3_600_000 / 24 / 365) < -20) return 'Forever';
  if (delta < 0) return `${humanDuration(-delta)} from now`;
  return `${humanDuration(delta)} ago`;
}

/** `units` whole units of 10^-digits, as Go prints a fraction: trailing zeros dropped. */
function goFraction(value: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(value / scale);
  const frac = String(value % scale)
    .padStart(digits, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Go's time.Duration.String() of a nanosecond count: "1.234567891s", "12.5ms", "2m3.5s", "1h0m0s". */
export function goDuration(nanoseconds: number): string {
  let ns = Math.round(Math.abs(nanoseconds));
  const sign = nanoseconds < 0 && ns > 0 ? '-' : '';
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${goFraction(ns, 3)}µs`;
  if (ns < 1e9) return `${sign}${goFraction(ns, 6)}ms`;
  const h = Math.floor(ns / 3.6e12);
  ns -= h * 3.6e12;
  const m = Math.floor(ns / 6e10);
  ns -= m * 6e10;
  const s = `${goFraction(ns, 9)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

/** The progress bar's time left (ollama's progress.formatDuration): "10s", "4m3s", "2h5m", "99h+". */
export function shortDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 100 * 3600) return '99h+';
  if (s >= 3600) return `${Math.floor(s / 3600)}h${Math.floor(s / 60) % 60}m`;
  return goDuration(s * 1e9);
}

/** Columns of a terminal cell: 2 for wide East Asian characters and emoji, 0 for combining marks. */
export function charWidth(cp: number): number {
  if (cp === 0) return 0;
  if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

export function stringWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch.codePointAt(0)!);
  return w;
}

function padEnd(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - stringWidth(s)));
}

/**
 * A borderless table as the ollama CLI's tablewriter prints it: left-aligned cells padded to the
 * column's width, four spaces between columns, no trailing spaces.
 */
export function table(header: string[] | undefined, rows: string[][]): string {
  const all = header ? [header, ...rows] : rows;
  if (all.length === 0) return '';
  const columns = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, i) => Math.max(0, ...all.map((r) => stringWidth(r[i] ?? ''))));
  const line = (cells: string[]) =>
    Array.from({ length: columns }, (_, i) => padEnd(cells[i] ?? '', widths[i]!))
      .join('    ')
      .trimEnd();
  return all.map(line).join('\n');
}


/** What `ollama run --verbose` prints after an answer (api.Metrics.Summary). */
export function metricsSummary(m: Metrics): string {
  const lines: string[] = [];
  const rate = (count: number, ns: number) => `${((count / ns) * 1e9).toFixed(2)} tokens/s`;
  if (m.total_duration) lines.push(`total duration:       ${goDuration(m.total_duration)}`);
  if (m.load_duration) lines.push(`load duration:        ${goDuration(m.load_duration)}`);
  if (m.prompt_eval_count) lines.push(`prompt eval count:    ${m.prompt_eval_count} token(s)`);
  if (m.prompt_eval_duration) {
    lines.push(`prompt eval duration: ${goDuration(m.prompt_eval_duration)}`);
    lines.push(`prompt eval rate:     ${rate(m.prompt_eval_count ?? 0, m.prompt_eval_duration)}`);
  }
  if (m.eval_count) lines.push(`eval count:           ${m.eval_count} token(s)`);
  if (m.eval_duration) {
    lines.push(`eval duration:        ${goDuration(m.eval_duration)}`);
    lines.push(`eval rate:            ${rate(m.eval_count ?? 0, m.eval_duration)}`);
  }
  return lines.join('\n');
}

/** ANSI styles; the CLI uses them only when writing to a terminal. */
export const ansi = {
  dim: '\x1b[2m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
  clearLine: '\x1b[2K',
  clearToEnd: '\x1b[K',
  up: (n: number) => (n > 0 ? `\x1b[${n}A` : ''),
  column1: '\x1b[1G',
  hideCursor: '\x1b[?25l',
  showCursor: '\x1b[?25h',
};

/**
 * Model output made safe for a terminal: C0 and C1 control characters other than newline and tab
 * (an escape sequence sampled by a model could reprogram the terminal) become U+FFFD.
 */
export function terminalSafe(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r\n/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '\uFFFD');
}
