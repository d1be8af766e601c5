// Progress output as the ollama CLI draws it (its progress/ package): on a terminal, a block of
// lines redrawn every 100 ms (a spinner per status, a bar per layer digest:
// `pulling 3a4f5c6d7e8f... 45% ▕████       ▏ 1.2 GB/2.6 GB  120 MB/s  10s`); elsewhere (a pipe,
// a log file), plain lines, each printed once.
import { ansi, humanBytes, shortDuration, stringWidth } from './format.js';

export interface State {
  render(width: number, now: number): string;
  stop(now: number): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Spinner implements State {
  stopped?: number;
  constructor(
    public message: string,
    readonly started: number = Date.now(),
    /** Show the time since `started` after the spinner (a model load takes minutes). */
    readonly showElapsed = false,
  ) {}

  render(_width: number, now: number): string {
    let s = this.message.trim() ? `${this.message.trim()} ` : '';
    if (this.stopped === undefined) s += `${FRAMES[Math.floor((now - this.started) / 100) % FRAMES.length]} `;
    if (this.showElapsed && this.stopped === undefined && now - this.started >= 1000) s += shortDuration((now - this.started) / 1000);
    return s;
  }

  stop(now: number): void {
    this.stopped ??= now;
  }
}

/** One layer's transfer: percent, bar, bytes, rate and time left, as ollama's progress.Bar. */
export class Bar implements State {
  current: number;
  stopped?: number;
  private buckets: { at: number; value: number }[] = [];

  constructor(
    readonly message: string,
    readonly total: number,
    readonly initial: number,
    readonly started: number = Date.now(),
  ) {
    this.current = initial;
    if (initial >= total) this.stopped = started;
  }

  set(value: number, now: number = Date.now()): void {
    const v = Math.min(value, this.total);
    this.current = v;
    if (v >= this.total) this.stopped ??= now;
    const last = this.buckets.at(-1);
    if (!last || now - last.at > 1000) {
      this.buckets.push({ at: now, value: v });
      if (this.buckets.length > 10) this.buckets.shift();
    }
  }

  stop(_now: number): void {
    // A bar stops when it is full; an unfinished one keeps its last state.
  }

  percent(): number {
    return this.total > 0 ? (this.current / this.total) * 100 : 0;
  }

  /** Bytes per second over the last ten seconds (ollama's rate buckets). */
  rate(): number {
    const secs = (ms: number) => Math.round(ms / 1000);
    let num = 0;
    let den = 0;
    if (this.stopped !== undefined) {
      num = this.current - this.initial;
      den = secs(this.stopped - this.started);
    } else if (this.buckets.length === 1) {
      num = this.buckets[0]!.value - this.initial;
      den = secs(this.buckets[0]!.at - this.started);
    } else if (this.buckets.length > 1) {
      const first = this.buckets[0]!;
      const last = this.buckets.at(-1)!;
      num = last.value - first.value;
      den = secs(last.at - first.at);
    }
    return den !== 0 ? num / den : 0;
  }

  render(width: number): string {
    const pad = (s: string, n: number) => ' '.repeat(Math.max(0, n - s.length));
    let pre = this.message.trim() ? `${this.message.trim()} ` : '';
    pre += `${Math.floor(this.percent())}%`.padStart(4);
    let suf = '';
    const running = this.stopped === undefined;
    const max = humanBytes(this.total);
    if (running) {
      const cur = humanBytes(this.current);
      suf += pad(cur, 6) + cur + '/' + max + pad(max, 6);
    } else {
      suf += pad(max, 6) + max + ' '.repeat(7);
    }
    const rate = this.rate();
    if (running && rate > 0) {
      const r = humanBytes(rate);
      suf += '  ' + pad(r, 6) + r + '/s';
      const left = shortDuration(Math.trunc((this.total - this.current) / rate));
      suf += '  ' + pad(left, 6) + left;
    } else {
      suf += ' '.repeat(18);
    }
    const f = Math.max(0, width - stringWidth(pre) - suf.length - 5);
    const n = Math.floor((f * this.percent()) / 100);
    return `${pre} ▕${'█'.repeat(n)}${' '.repeat(Math.max(0, f - n))}▏ ${suf}`;
  }
}

export interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** A block of states redrawn in place on a terminal (ollama's progress.Progress). */
export class LiveView {
  private states: State[] = [];
  private lines = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly out: Output,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.render(), 100);
    this.timer.unref?.();
  }

  add(state: State): void {
    this.states.push(state);
  }

  /** Renders once now (also done every 100 ms). */
  render(): void {
    if (this.stopped) return;
    this.draw();
  }

  private draw(): void {
    const width = this.out.columns && this.out.columns > 0 ? this.out.columns : 80;
    let s = ansi.hideCursor;
    if (this.lines > 1) s += ansi.up(this.lines - 1);
    s += ansi.column1;
    const now = this.now();
    // Only what fits on the screen: the cursor cannot go back above its top.
    const height = this.out.rows && this.out.rows > 0 ? this.out.rows : 24;
    const visible = this.states.slice(-height);
    s += visible.map((st) => st.render(width, now) + ansi.clearToEnd).join('\n');
    s += ansi.showCursor;
    this.lines = visible.length;
    this.out.write(s);
  }

  private halt(): boolean {
    if (this.stopped) return false;
    clearInterval(this.timer);
    const now = this.now();
    for (const st of this.states) st.stop(now);
    this.draw();
    this.stopped = true;
    return true;
  }

  /** Stops the spinners and leaves the last frame on screen. */
  stop(): void {
    if (this.halt() && this.lines > 0) this.out.write('\n');
  }

  /** Stops and erases every line drawn. */
  stopAndClear(): void {
    if (!this.halt()) return;
    let s = '';
    for (let i = 0; i < this.lines; i++) s += (i > 0 ? ansi.up(1) : '') + ansi.clearLine + ansi.column1;
    this.out.write(s);
    this.lines = 0;
  }
}

export interface ProgressLine {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

/**
 * Shows the progress stream of create, pull and push. On a terminal: ollama's live view. Otherwise:
 * each status once, and for each layer a line when it starts and at every tenth of its size.
 */
export class TransferProgress {
  private live?: LiveView;
  private bars = new Map<string, Bar>();
  private spinner?: Spinner;
  private status?: string;
  private plainSteps = new Map<string, number>();

  constructor(
    private readonly out: Output,
    private readonly opts: { tty: boolean; skipZero?: boolean; now?: () => number } = { tty: false },
  ) {
    if (opts.tty) this.live = new LiveView(out, opts.now);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  update(p: ProgressLine): void {
    // A layer's bytes: by digest, or by status while the digest is not known yet (a GGUF
    // referenced in place is hashed as it is pushed).
    const key = p.digest ?? (p.total && p.completed !== undefined ? `status:${p.status}` : undefined);
    if (key) {
      const total = p.total ?? 0;
      const completed = p.completed ?? 0;
      // ollama's pull skips the first line of a layer (completed 0) so no 0% bar is left behind.
      if (this.opts.skipZero && completed === 0 && total > 0) return;
      const label = `${p.status || `pulling ${(p.digest ?? '').replace(/^sha256:/, '').slice(0, 12)}`}...`;
      if (this.live) {
        this.spinner?.stop(this.now());
        let bar = this.bars.get(key);
        if (!bar) {
          bar = new Bar(label, total, completed, this.now());
          this.bars.set(key, bar);
          this.live.add(bar);
        }
        bar.set(completed, this.now());
        return;
      }
      const pct = total > 0 ? Math.floor((completed / total) * 100) : 100;
      const step = Math.floor(pct / 10);
      const seen = this.plainSteps.get(key);
      if (seen === undefined || step > seen) {
        this.plainSteps.set(key, step);
        this.out.write(`${label} ${pct}% ${total > 0 && completed < total ? `${humanBytes(completed)}/` : ''}${humanBytes(total)}\n`);
      }
      return;
    }
    if (p.status === this.status) return;
    this.status = p.status;
    if (this.live) {
      this.spinner?.stop(this.now());
      this.spinner = new Spinner(p.status, this.now());
      this.live.add(this.spinner);
      return;
    }
    this.out.write(`${p.status}\n`);
  }

  /** Adds a status line of the client's own ("gathering model components"). */
  note(status: string): void {
    this.update({ status });
  }

  stop(): void {
    this.live?.stop();
  }
}
