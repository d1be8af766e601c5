// Byte sizes as rule files write them ("2GiB", "512 MiB", "1.5GB", 1073741824) and as the plan
// table prints them.

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

export const SIZE_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i;

/** Bytes of a size such as "2GiB", "512 MiB", "1.5GB" or a plain number of bytes; undefined if malformed. */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const m = SIZE_PATTERN.exec(value);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? 'b').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** "23.5 GiB", "512 MiB", "0 B": binary units, three significant digits. */
export function formatBytes(bytes: number): string {
  const neg = bytes < 0;
  let v = Math.abs(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = i === 0 ? String(v) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${neg ? '-' : ''}${text} ${units[i]}`;
}
