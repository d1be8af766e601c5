// Go's time.ParseDuration, which Ollama uses for keep_alive strings ("5m", "1h30m", "-1m", "300ms").

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds; throws Go's message on a bad value. */
export function parseDuration(input: string): number {
  const s = input.trim();
  if (s === '0' || s === '+0' || s === '-0') return 0;
  const m = /^([+-]?)(.*)$/.exec(s)!;
  const sign = m[1] === '-' ? -1 : 1;
  let rest = m[2]!;
  if (rest === '') throw new Error(`time: invalid duration "${input}"`);
  let total = 0;
  while (rest.length > 0) {
    const num = /^(\d*\.?\d*)/.exec(rest)![1]!;
    if (num === '' || num === '.') throw new Error(`time: invalid duration "${input}"`);
    rest = rest.slice(num.length);
    const unit = /^([a-zµμ]+)/.exec(rest)?.[1];
    if (!unit) throw new Error(`time: missing unit in duration "${input}"`);
    const factor = UNITS[unit];
    if (factor === undefined) throw new Error(`time: unknown unit "${unit}" in duration "${input}"`);
    total += Number(num) * factor;
    rest = rest.slice(unit.length);
  }
  return sign * total;
}
