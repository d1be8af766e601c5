// Seeded randomness for the forge. crypto.randomFillSync would be faster to call but cannot be
// seeded, and a forged file must be byte-identical for the same seed (tests, cached fixtures).

/** 32-bit FNV-1a over a string, mixed with a seed: derives independent streams per pool/tensor. */
export function hash32(seed: number, key: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** xoshiro128** seeded through splitmix32: small, fast, good enough for weights and offsets. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n) for n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Fills a byte buffer with random bytes, four at a time. */
  fillBytes(out: Uint8Array): void {
    const words = out.byteLength >>> 2;
    if (out.byteOffset % 4 === 0) {
      const u32 = new Uint32Array(out.buffer, out.byteOffset, words);
      for (let i = 0; i < words; i++) u32[i] = this.u32();
    } else {
      for (let i = 0; i < words; i++) {
        const v = this.u32();
        out[i * 4] = v & 0xff;
        out[i * 4 + 1] = (v >>> 8) & 0xff;
        out[i * 4 + 2] = (v >>> 16) & 0xff;
        out[i * 4 + 3] = v >>> 24;
      }
    }
    for (let i = words * 4; i < out.byteLength; i++) out[i] = this.u32() & 0xff;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
