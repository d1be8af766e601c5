// Pools of valid random blocks. A tensor is filled by copying slices of a pool at random offsets,
// so the cost of a file is the cost of writing it, not of generating it block by block in JS.
//
// Every block is random bits with its scales fixed up: finite f16 super-block scales chosen so the
// dequantized weights have the requested standard deviation, and (for the "x = d*q - m" formats)
// a min chosen so the weights are centred on zero. Layouts: ggml/src/ggml-common.h; dequantization
// formulas: ggml/src/ggml-quants.c (dequantize_row_*).

import { GgmlType, ggmlTypeInfo, ggmlTypeName } from '../gguf/types.js';
import { toHalf } from './half.js';
import type { Rng } from './random.js';

/** How a tensor's values are drawn. */
export type Fill =
  /** Zero-mean values with this standard deviation. */
  | { kind: 'random'; std: number }
  /** Every value equal (norm weights: 1.0). */
  | { kind: 'const'; value: number }
  /** Exactly these values, in order (a tensor of its own, written once: `key` names it). */
  | { kind: 'values'; values: readonly number[]; key: string };

export function fillKey(fill: Fill): string {
  if (fill.kind === 'values') return `values:${fill.key}`;
  return fill.kind === 'const' ? `const:${fill.value}` : `random:${fill.std.toPrecision(6)}`;
}

/** Standard deviation of uniform integers 0..n-1 (the random quants). */
const uniformStd = (n: number): number => Math.sqrt((n * n - 1) / 12);

/** The types the forge can generate: what Q4_K_M picks for deepseek2, its fallbacks, F16, F32. */
export const GENERATED_TYPES: ReadonlySet<number> = new Set([
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
]);

/** Packs eight 6-bit scales and mins the way get_scale_min_k4() unpacks them (Q4_K, Q5_K). */
function packScaleMin(buf: Buffer, o: number, sc: readonly number[], m: readonly number[]): void {
  for (let j = 0; j < 4; j++) {
    buf[o + j] = (sc[j]! & 63) | ((sc[j + 4]! >> 4) << 6);
    buf[o + 4 + j] = (m[j]! & 63) | ((m[j + 4]! >> 4) << 6);
    buf[o + 8 + j] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
}

/**
 * Q4_K: x = d*sc*q - dmin*m with q in 0..15. With dmin = d and m = 7.5*sc (sc even, so m is an
 * integer <= 60) every sub-block is exactly centred: x = d*sc*(q - 7.5).
 */
function fixQ4K(buf: Buffer, nBlocks: number, std: number, rng: Rng): void {
  const meanSc2 = (4 + 16 + 36 + 64) / 4; // sc uniform in {2,4,6,8}
  const dh = toHalf(std / (Math.sqrt(meanSc2) * uniformStd(16)));
  const sc = [0, 0, 0, 0, 0, 0, 0, 0];
  const m = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 144;
    buf.writeUInt16LE(dh, o);
    buf.writeUInt16LE(dh, o + 2);
    const r = rng.u32();
    for (let j = 0; j < 8; j++) {
      sc[j] = 2 * (1 + ((r >>> (2 * j)) & 3));
      m[j] = (sc[j]! * 15) / 2;
    }
    packScaleMin(buf, o + 4, sc, m);
  }
}

/** Q5_K: as Q4_K with q in 0..31, so m = 15.5*sc with sc in {2,4}. */
function fixQ5K(buf: Buffer, nBlocks: number, std: number, rng: Rng): void {
  const meanSc2 = (4 + 16) / 2;
  const dh = toHalf(std / (Math.sqrt(meanSc2) * uniformStd(32)));
  const sc = [0, 0, 0, 0, 0, 0, 0, 0];
  const m = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 176;
    buf.writeUInt16LE(dh, o);
    buf.writeUInt16LE(dh, o + 2);
    const r = rng.u32();
    for (let j = 0; j < 8; j++) {
      sc[j] = 2 * (1 + ((r >>> j) & 1));
      m[j] = (sc[j]! * 31) / 2;
    }
    packScaleMin(buf, o + 4, sc, m);
  }
}

/** Q6_K: x = d*sc*(q - 32), q in 0..63, sixteen int8 scales (random sign, magnitude 2..5), d last. */
function fixQ6K(buf: Buffer, nBlocks: number, std: number, rng: Rng): void {
  const meanSc2 = (4 + 9 + 16 + 25) / 4;
  const dh = toHalf(std / (Math.sqrt(meanSc2) * uniformStd(64)));
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 210;
    let r = rng.u32();
    for (let j = 0; j < 16; j++) {
      if (j === 8) r = rng.u32();
      const mag = 2 + (r & 3);
      buf.writeInt8(r & 4 ? -mag : mag, o + 192 + j);
      r >>>= 4;
    }
    buf.writeUInt16LE(dh, o + 208);
  }
}

/**
 * Q5_0 (x = d*(q - 16)) and Q8_0 (x = d*q, q int8): only d to set. Uniform q is off centre by
 * half a step (q - 16 averages -0.5), so d gets a random sign per block to cancel it.
 */
function fixLeadingD(buf: Buffer, nBlocks: number, blockBytes: number, d: number, rng: Rng): void {
  const pos = toHalf(d);
  const neg = toHalf(-d);
  let r = 0;
  for (let b = 0; b < nBlocks; b++) {
    if (b % 32 === 0) r = rng.u32();
    buf.writeUInt16LE((r >>> b % 32) & 1 ? neg : pos, b * blockBytes);
  }
}

/** Q5_1: x = d*q + m with q in 0..31; m = -15.5*d centres it. */
function fixQ51(buf: Buffer, nBlocks: number, std: number): void {
  const d = std / uniformStd(32);
  const dh = toHalf(d);
  const mh = toHalf(-15.5 * d);
  for (let b = 0; b < nBlocks; b++) {
    buf.writeUInt16LE(dh, b * 24);
    buf.writeUInt16LE(mh, b * 24 + 2);
  }
}

/**
 * A buffer of `nBlocks` valid blocks of `type` drawn from `fill`. Plain types count one element
 * as one block.
 */
export function makePool(type: number, fill: Fill, nBlocks: number, rng: Rng): Buffer {
  const info = ggmlTypeInfo(type);
  if (!info || !GENERATED_TYPES.has(type)) throw new Error(`the forge cannot generate ${ggmlTypeName(type)} data`);
  // allocUnsafeSlow: an own, 4-byte aligned ArrayBuffer (typed-array views need the alignment)
  const buf = Buffer.allocUnsafeSlow(nBlocks * info.typeSize);

  if (type === GgmlType.F32 || type === GgmlType.F16) {
    const n = nBlocks;
    // uniform in [-a, a] has standard deviation a/sqrt(3)
    const a = fill.kind === 'random' ? fill.std * Math.sqrt(3) : 0;
    if (fill.kind === 'values' && fill.values.length !== n) throw new Error(`fill ${fill.key} has ${fill.values.length} values for ${n} elements`);
    const value = (i: number): number =>
      fill.kind === 'const' ? fill.value : fill.kind === 'values' ? fill.values[i]! : (rng.float() * 2 - 1) * a;
    if (type === GgmlType.F32) {
      const out = new Float32Array(buf.buffer, buf.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = value(i);
    } else {
      const out = new Uint16Array(buf.buffer, buf.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = toHalf(value(i));
    }
    return buf;
  }

  if (fill.kind !== 'random') throw new Error(`a ${fill.kind} fill needs F32 or F16, not ${info.name}`);
  rng.fillBytes(buf);
  const std = fill.std;
  switch (type) {
    case GgmlType.Q4_K:
      fixQ4K(buf, nBlocks, std, rng);
      break;
    case GgmlType.Q5_K:
      fixQ5K(buf, nBlocks, std, rng);
      break;
    case GgmlType.Q6_K:
      fixQ6K(buf, nBlocks, std, rng);
      break;
    case GgmlType.Q5_0:
      fixLeadingD(buf, nBlocks, 22, std / uniformStd(32), rng);
      break;
    case GgmlType.Q5_1:
      fixQ51(buf, nBlocks, std);
      break;
    case GgmlType.Q8_0:
      fixLeadingD(buf, nBlocks, 34, std / uniformStd(256), rng);
      break;
  }
  return buf;
}
