import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, readFile, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  GgmlType,
  GgufError,
  GgufWriter,
  encodeGgufHeader,
  fileTypeFromName,
  fileTypeName,
  ggmlTypeFromName,
  ggmlTypeName,
  readGgufHeader,
  readGgufSplitSet,
  splitFileName,
  tensorBytes,
  arr,
  bool,
  f32,
  f64,
  i16,
  i32,
  i64,
  i8,
  str,
  u16,
  u32,
  u64,
  u8,
  type GgufTensorSpec,
  type GgufValue,
  type GgufErrorCode,
} from '../../src/gguf/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'moed-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ALL_VALUES: [string, GgufValue][] = [
  ['t.u8', u8(255)],
  ['t.i8', i8(-128)],
  ['t.u16', u16(65535)],
  ['t.i16', i16(-32768)],
  ['t.u32', u32(4294967295)],
  ['t.i32', i32(-2147483648)],
  ['t.u64.small', u64(1234567890123)],
  ['t.u64.big', u64(18446744073709551615n)],
  ['t.i64', i64(-9007199254740993n)],
  ['t.f32', f32(0.1)],
  ['t.f64', f64(Math.PI)],
  ['t.bool.true', bool(true)],
  ['t.bool.false', bool(false)],
  ['t.string', str('héllo ｜wörld｜ ▁')],
  ['t.string.empty', str('')],
  ['t.arr.u8', arr('u8', [0, 1, 255])],
  ['t.arr.i8', arr('i8', [-1, 2])],
  ['t.arr.u16', arr('u16', [7])],
  ['t.arr.i16', arr('i16', [-7, 7])],
  ['t.arr.u32', arr('u32', [1, 4294967295])],
  ['t.arr.i32', arr('i32', [-5, 3, 1])],
  ['t.arr.u64', arr('u64', [1, 2n ** 63n])],
  ['t.arr.i64', arr('i64', [-1, 5])],
  ['t.arr.f32', arr('f32', [1.5, -2.25])],
  ['t.arr.f64', arr('f64', [1e-300])],
  ['t.arr.bool', arr('bool', [true, false, true])],
  ['t.arr.string', arr('string', ['a', '', 'Ġthe', '<｜User｜>'])],
  ['t.arr.empty', arr('i32', [])],
];

const TENSORS: GgufTensorSpec[] = [
  { name: 'a.f32', dims: [3], type: GgmlType.F32 },
  { name: 'b.f16', dims: [4, 2], type: GgmlType.F16 },
  { name: 'c.q4k', dims: [256, 2], type: GgmlType.Q4_K },
  { name: 'd.q8_0', dims: [32, 3, 2], type: GgmlType.Q8_0 },
  { name: 'e.q6k', dims: [256, 1, 1, 2], type: GgmlType.Q6_K },
];

/** Distinct bytes per tensor so misplaced data is caught. */
function dataFor(t: GgufTensorSpec, i: number): Buffer {
  const b = Buffer.alloc(tensorBytes(t.type, t.dims));
  for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
}

async function writeFixture(
  name: string,
  opts: { metadata?: [string, GgufValue][]; tensors?: GgufTensorSpec[]; alignment?: number } = {},
): Promise<string> {
  const file = path.join(dir, name);
  const tensors = opts.tensors ?? TENSORS;
  const w = await GgufWriter.create(file, { metadata: opts.metadata ?? ALL_VALUES, tensors, alignment: opts.alignment });
  for (const [i, t] of tensors.entries()) {
    const data = dataFor(t, i);
    // stream in two pieces to exercise partial writes
    const half = Math.floor(data.length / 2);
    await w.write([data.subarray(0, half)]);
    await w.write(data.subarray(half));
  }
  await w.close();
  return file;
}

async function expectCode(p: Promise<unknown>, code: GgufErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(GgufError);
  expect((err as GgufError).code).toBe(code);
}

/** Writes a patched copy of a file. */
async function patched(src: string, name: string, patch: (b: Buffer) => Buffer | void): Promise<string> {
  const buf = await readFile(src);
  const out = patch(buf) ?? buf;
  const file = path.join(dir, name);
  await writeFile(file, out);
  return file;
}

/** Offset of the first byte after a tensor name's string (its n_dims field). */
function tensorInfoAt(buf: Buffer, name: string): number {
  const at = buf.indexOf(Buffer.from(name));
  expect(at).toBeGreaterThan(0);
  return at + Buffer.byteLength(name);
}

describe('types', () => {
  it('computes exact tensor sizes', () => {
    expect(tensorBytes(GgmlType.Q4_K, [7168, 2048, 256])).toBe((7168 / 256) * 144 * 2048 * 256);
    expect(tensorBytes(GgmlType.Q6_K, [256, 10])).toBe(2100);
    expect(tensorBytes(GgmlType.Q5_0, [128, 512, 16])).toBe(4 * 22 * 512 * 16);
    expect(tensorBytes(GgmlType.Q8_0, [64])).toBe(68);
    expect(tensorBytes(GgmlType.F16, [3, 5])).toBe(30);
    expect(tensorBytes(GgmlType.BF16, [7])).toBe(14);
    expect(tensorBytes(GgmlType.IQ4_XS, [256])).toBe(136);
    expect(() => tensorBytes(GgmlType.Q4_K, [128])).toThrow(GgufError);
  });

  it('names ggml types and llama file types as Ollama does', () => {
    expect(ggmlTypeName(12)).toBe('Q4_K');
    expect(ggmlTypeName(4)).toBe('type(4)');
    expect(ggmlTypeFromName('bf16')).toBe(30);
    expect(fileTypeName(15)).toBe('Q4_K_M');
    expect(fileTypeName(1)).toBe('F16');
    expect(fileTypeName(999)).toBe('unknown');
    expect(fileTypeFromName('q4_k_m')).toBe(15);
    expect(fileTypeFromName('Q8_0')).toBe(7);
  });
});

describe('writer and reader round trip', () => {
  it('keeps every value type, the tensor infos and the data', async () => {
    const file = await writeFixture('roundtrip.gguf');
    const h = await readGgufHeader(file);
    expect(h.version).toBe(3);
    expect(h.alignment).toBe(32);
    expect(h.dataOffset % 32).toBe(0);
    expect([...h.metadata.keys()]).toEqual(ALL_VALUES.map(([k]) => k));

    const get = (k: string): GgufValue => h.metadata.get(k)!;
    expect(get('t.u8')).toEqual({ type: 'u8', value: 255 });
    expect(get('t.i8')).toEqual({ type: 'i8', value: -128 });
    expect(get('t.u32')).toEqual({ type: 'u32', value: 4294967295 });
    expect(get('t.i32')).toEqual({ type: 'i32', value: -2147483648 });
    expect(get('t.u64.small')).toEqual({ type: 'u64', value: 1234567890123 });
    expect(get('t.u64.big')).toEqual({ type: 'u64', value: 18446744073709551615n });
    expect(get('t.i64')).toEqual({ type: 'i64', value: -9007199254740993n });
    expect(get('t.f32').type).toBe('f32');
    expect(get('t.f32').value).toBeCloseTo(0.1, 7);
    expect(get('t.f64')).toEqual({ type: 'f64', value: Math.PI });
    expect(get('t.bool.true')).toEqual({ type: 'bool', value: true });
    expect(get('t.bool.false')).toEqual({ type: 'bool', value: false });
    expect(get('t.string')).toEqual({ type: 'string', value: 'héllo ｜wörld｜ ▁' });
    expect(get('t.string.empty')).toEqual({ type: 'string', value: '' });
    for (const [k, v] of ALL_VALUES.filter(([k]) => k.startsWith('t.arr.') && k !== 't.arr.f32')) {
      expect(get(k), k).toEqual(v);
    }
    expect(get('t.arr.u64')).toEqual({ type: 'array', itemType: 'u64', length: 2, value: [1, 2n ** 63n] });
    expect(get('t.arr.f32')).toEqual({ type: 'array', itemType: 'f32', length: 2, value: [1.5, -2.25] });

    expect(h.tensors.map((t) => [t.name, t.dims, t.typeName])).toEqual(
      TENSORS.map((t) => [t.name, [...t.dims], ggmlTypeName(t.type)]),
    );
    const raw = await readFile(file);
    let expectedOffset = 0;
    for (const [i, t] of h.tensors.entries()) {
      expect(t.offset).toBe(expectedOffset);
      expect(t.fileOffset).toBe(h.dataOffset + t.offset);
      expect(t.bytes).toBe(tensorBytes(t.type, t.dims));
      expect(raw.subarray(t.fileOffset, t.fileOffset + t.bytes).equals(dataFor(TENSORS[i]!, i))).toBe(true);
      expectedOffset += Math.ceil(t.bytes / 32) * 32;
    }
    expect(h.dataBytes).toBe(expectedOffset);
    expect(h.fileSize).toBe(raw.length);
    expect(h.fileSize).toBe(h.dataOffset + h.dataBytes);
  });

  it('honours a non-default alignment and records it as general.alignment', async () => {
    const file = await writeFixture('align64.gguf', { metadata: [['x', u32(1)]], alignment: 64 });
    const h = await readGgufHeader(file);
    expect(h.alignment).toBe(64);
    expect(h.metadata.get('general.alignment')).toEqual({ type: 'u32', value: 64 });
    expect(h.dataOffset % 64).toBe(0);
    for (const t of h.tensors) expect(t.offset % 64).toBe(0);
  });

  it('skips arrays above maxArrayLength but keeps their length', async () => {
    const file = await writeFixture('skip.gguf');
    const h = await readGgufHeader(file, { maxArrayLength: 2 });
    expect(h.metadata.get('t.arr.string')).toEqual({ type: 'array', itemType: 'string', length: 4, value: undefined });
    expect(h.metadata.get('t.arr.i32')).toEqual({ type: 'array', itemType: 'i32', length: 3 });
    expect(h.metadata.get('t.arr.u64')).toEqual({ type: 'array', itemType: 'u64', length: 2, value: [1, 2n ** 63n] });
    // what follows a skipped array is still read correctly
    expect(h.metadata.get('t.arr.empty')).toEqual({ type: 'array', itemType: 'i32', length: 0, value: [] });
    expect(h.tensors).toHaveLength(TENSORS.length);
  });

  it('writes a file with no tensors', async () => {
    const file = path.join(dir, 'empty.gguf');
    const w = await GgufWriter.create(file, { metadata: { a: str('b') }, tensors: [] });
    await w.close();
    const h = await readGgufHeader(file);
    expect(h.tensors).toEqual([]);
    expect(h.metadata.get('a')).toEqual({ type: 'string', value: 'b' });
  });
});

describe('writer checks', () => {
  const one: GgufTensorSpec[] = [{ name: 'w', dims: [32, 2], type: GgmlType.Q8_0 }];

  it('rejects more bytes than the tensor takes', async () => {
    const w = await GgufWriter.create(path.join(dir, 'w1.gguf'), { metadata: {}, tensors: one });
    await expectCode(w.write(Buffer.alloc(69)), 'GGUF_WRITE');
    await w.abort();
  });

  it('refuses to close before every tensor is complete, and leaves no file', async () => {
    const file = path.join(dir, 'w2.gguf');
    const w = await GgufWriter.create(file, { metadata: {}, tensors: one });
    await w.write(Buffer.alloc(10));
    await expectCode(w.close(), 'GGUF_WRITE');
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readFile(`${file}.partial`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('checks tensor order in writeTensor', async () => {
    const tensors = [...one, { name: 'v', dims: [4], type: GgmlType.F32 }];
    const w = await GgufWriter.create(path.join(dir, 'w3.gguf'), { metadata: {}, tensors });
    await expectCode(w.writeTensor('v', Buffer.alloc(16)), 'GGUF_WRITE');
    await w.writeTensor('w', Buffer.alloc(68));
    await w.writeTensor('v', Buffer.alloc(16));
    await w.close();
  });

  it('validates tensors and values before creating the file', async () => {
    const mk = (tensors: GgufTensorSpec[], metadata: Record<string, GgufValue> = {}): Promise<unknown> =>
      GgufWriter.create(path.join(dir, 'never.gguf'), { metadata, tensors });
    await expectCode(mk([{ name: 'x'.repeat(64), dims: [4], type: 0 }]), 'GGUF_BAD_TENSOR');
    await expectCode(mk([{ name: 'x', dims: [1, 1, 1, 1, 1], type: 0 }]), 'GGUF_BAD_TENSOR');
    await expectCode(mk([{ name: 'x', dims: [100], type: GgmlType.Q4_K }]), 'GGUF_BAD_TENSOR');
    await expectCode(mk([{ name: 'x', dims: [4], type: 4 }]), 'GGUF_BAD_TENSOR');
    await expectCode(
      mk([
        { name: 'x', dims: [4], type: 0 },
        { name: 'x', dims: [4], type: 0 },
      ]),
      'GGUF_BAD_TENSOR',
    );
    await expectCode(mk([], { k: u32(-1) }), 'GGUF_BAD_KV');
    await expectCode(mk([], { k: u8(256) }), 'GGUF_BAD_KV');
    await expectCode(mk([], { 'general.alignment': i32(32) }), 'GGUF_BAD_KV');
    await expect(readFile(path.join(dir, 'never.gguf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('reader errors', () => {
  let good: string;
  beforeAll(async () => {
    good = await writeFixture('good.gguf', {
      metadata: [
        ['k.aaa', u32(1)],
        ['k.bbb', u32(2)],
        ['k.str', str('text')],
        ['k.arr', arr('i32', [1, 2, 3])],
      ],
    });
  });

  it('bad magic', async () => {
    const f = await patched(good, 'magic.gguf', (b) => void b.write('GGML', 0, 'latin1'));
    await expectCode(readGgufHeader(f), 'GGUF_BAD_MAGIC');
    const txt = path.join(dir, 'text.gguf');
    await writeFile(txt, 'hello');
    await expectCode(readGgufHeader(txt), 'GGUF_BAD_MAGIC');
  });

  it('unsupported versions', async () => {
    for (const v of [0, 1, 4, 0x03000000]) {
      const f = await patched(good, `v${v}.gguf`, (b) => void b.writeUInt32LE(v, 4));
      await expectCode(readGgufHeader(f), 'GGUF_BAD_VERSION');
    }
    const v2 = await patched(good, 'v2.gguf', (b) => void b.writeUInt32LE(2, 4));
    expect((await readGgufHeader(v2)).version).toBe(2);
  });

  it('truncated header', async () => {
    const size = (await readFile(good)).length;
    for (const cut of [2, 10, 30, 60, 120]) {
      const f = await patched(good, `cut${cut}.gguf`, (b) => b.subarray(0, cut));
      await expectCode(readGgufHeader(f), 'GGUF_TRUNCATED');
    }
    expect(size).toBeGreaterThan(120);
  });

  it('tensor data past the end of the file (lying sizes, or a cut file)', async () => {
    // the last tensor's first dimension grows: offsets stay consecutive, the data does not fit
    const lying = await patched(good, 'lying.gguf', (b) => {
      const at = tensorInfoAt(b, 'e.q6k');
      b.writeBigUInt64LE(256n * 4n, at + 4);
    });
    await expectCode(readGgufHeader(lying), 'GGUF_DATA_OUT_OF_BOUNDS');
    const cut = await patched(good, 'cutdata.gguf', (b) => b.subarray(0, b.length - 100));
    await expectCode(readGgufHeader(cut), 'GGUF_DATA_OUT_OF_BOUNDS');
  });

  it('offsets that are not consecutive and aligned', async () => {
    const f = await patched(good, 'offset.gguf', (b) => {
      const at = tensorInfoAt(b, 'b.f16');
      // n_dims(4) + 2 dims(16) + type(4) -> offset
      const off = b.readBigUInt64LE(at + 24);
      b.writeBigUInt64LE(off + 1n, at + 24);
    });
    await expectCode(readGgufHeader(f), 'GGUF_BAD_OFFSET');
  });

  it('tensor names longer than 63 bytes, too many dims, unknown types, partial blocks, duplicates', async () => {
    const craft = async (name: string, tensors: { name: string; dims: number[]; type: number }[]): Promise<string> => {
      let offset = 0;
      const layout = tensors.map((t) => {
        const bytes = t.dims.reduce((a, b) => a * b, 1) * 4;
        const l = { ...t, offset, bytes };
        offset += Math.ceil(bytes / 32) * 32;
        return l;
      });
      const header = encodeGgufHeader({ 'general.architecture': str('test') }, layout);
      const file = path.join(dir, name);
      await writeFile(file, Buffer.concat([header, Buffer.alloc(offset)]));
      return file;
    };
    expect((await readGgufHeader(await craft('ok.gguf', [{ name: 'x'.repeat(63), dims: [4], type: 0 }]))).tensors[0]!.name).toHaveLength(63);
    await expectCode(readGgufHeader(await craft('long.gguf', [{ name: 'x'.repeat(64), dims: [4], type: 0 }])), 'GGUF_BAD_TENSOR');
    await expectCode(readGgufHeader(await craft('dims.gguf', [{ name: 'x', dims: [1, 1, 1, 1, 2], type: 0 }])), 'GGUF_BAD_TENSOR');
    await expectCode(readGgufHeader(await craft('type.gguf', [{ name: 'x', dims: [4], type: 31 }])), 'GGUF_BAD_TENSOR');
    await expectCode(readGgufHeader(await craft('type99.gguf', [{ name: 'x', dims: [4], type: 99 }])), 'GGUF_BAD_TENSOR');
    await expectCode(readGgufHeader(await craft('blocks.gguf', [{ name: 'x', dims: [100], type: GgmlType.Q4_K }])), 'GGUF_BAD_TENSOR');
    await expectCode(
      readGgufHeader(
        await craft('dup.gguf', [
          { name: 'x', dims: [4], type: 0 },
          { name: 'x', dims: [4], type: 0 },
        ]),
      ),
      'GGUF_BAD_TENSOR',
    );
  });

  it('absurd counts and lengths', async () => {
    const kv = await patched(good, 'nkv.gguf', (b) => void b.writeBigUInt64LE(1n << 40n, 16));
    await expectCode(readGgufHeader(kv), 'GGUF_BAD_COUNT');
    const nt = await patched(good, 'nt.gguf', (b) => void b.writeBigInt64LE(-1n, 8));
    await expectCode(readGgufHeader(nt), 'GGUF_BAD_COUNT');
    const strLen = await patched(good, 'strlen.gguf', (b) => {
      const at = b.indexOf(Buffer.from('text')) - 8;
      b.writeBigUInt64LE(1n << 50n, at);
    });
    await expectCode(readGgufHeader(strLen), 'GGUF_BAD_COUNT');
    const arrLen = await patched(good, 'arrlen.gguf', (b) => {
      const at = b.indexOf(Buffer.from('k.arr')) + 5 + 4 + 4;
      b.writeBigUInt64LE(1n << 31n, at);
    });
    await expectCode(readGgufHeader(arrLen), 'GGUF_BAD_COUNT');
    const arrBig = await patched(good, 'arrbig.gguf', (b) => {
      const at = b.indexOf(Buffer.from('k.arr')) + 5 + 4 + 4;
      b.writeBigUInt64LE(1n << 20n, at); // within limits but longer than the file
    });
    await expectCode(readGgufHeader(arrBig), 'GGUF_TRUNCATED');
  });

  it('bad keys: duplicates, invalid value types, nested arrays, bad alignment', async () => {
    const dup = await patched(good, 'dupkey.gguf', (b) => void b.write('k.aaa', b.indexOf(Buffer.from('k.bbb')), 'latin1'));
    await expectCode(readGgufHeader(dup), 'GGUF_BAD_KV');
    const badType = await patched(good, 'badtype.gguf', (b) => void b.writeInt32LE(13, b.indexOf(Buffer.from('k.aaa')) + 5));
    await expectCode(readGgufHeader(badType), 'GGUF_BAD_KV');
    const nested = await patched(good, 'nested.gguf', (b) => void b.writeInt32LE(9, b.indexOf(Buffer.from('k.arr')) + 5 + 4));
    await expectCode(readGgufHeader(nested), 'GGUF_BAD_KV');
    const aligned = await writeFixture('align-src.gguf', { metadata: [['general.alignment', u32(64)]] });
    const bad = await patched(aligned, 'align48.gguf', (b) => {
      b.writeUInt32LE(48, b.indexOf(Buffer.from('general.alignment')) + 17 + 4);
    });
    await expectCode(readGgufHeader(bad), 'GGUF_BAD_KV');
  });

  it('lets file-system errors through', async () => {
    await expect(readGgufHeader(path.join(dir, 'missing.gguf'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('split sets', () => {
  const prefix = (): string => path.join(dir, 'model');
  const parts: GgufTensorSpec[][] = [
    [{ name: 'p0.a', dims: [8], type: GgmlType.F32 }],
    [
      { name: 'p1.a', dims: [32, 2], type: GgmlType.Q8_0 },
      { name: 'p1.b', dims: [4], type: GgmlType.F32 },
    ],
    [{ name: 'p2.a', dims: [2, 2], type: GgmlType.F16 }],
  ];

  async function writeSet(count: number, tensorsCount = 4, tweak?: (i: number) => [string, GgufValue][]): Promise<string[]> {
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const file = splitFileName(prefix(), i + 1, count);
      const meta: [string, GgufValue][] = tweak?.(i) ?? [
        ['split.no', u16(i)],
        ['split.count', u16(count)],
        ['split.tensors.count', i32(tensorsCount)],
      ];
      if (i === 0) meta.unshift(['general.architecture', str('test')]);
      await writeFixture(path.basename(file), { metadata: meta, tensors: parts[i] ?? [] });
      files.push(file);
    }
    return files;
  }

  it('reads all parts from any of them and merges the tensor lists', async () => {
    const files = await writeSet(3);
    expect(path.basename(files[0]!)).toBe('model-00001-of-00003.gguf');
    for (const start of [files[0]!, files[2]!]) {
      const set = await readGgufSplitSet(start);
      expect(set.paths).toEqual(files);
      expect(set.tensors.map((t) => [t.name, t.split])).toEqual([
        ['p0.a', 0],
        ['p1.a', 1],
        ['p1.b', 1],
        ['p2.a', 2],
      ]);
      expect(set.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'test' });
      const sizes = await Promise.all(files.map(async (f) => (await readFile(f)).length));
      expect(set.totalBytes).toBe(sizes.reduce((a, b) => a + b, 0));
    }
  });

  it('reports a missing part, inconsistent split keys and a wrong tensor count', async () => {
    const files = await writeSet(3);
    await rm(files[1]!);
    await expectCode(readGgufSplitSet(files[0]!), 'GGUF_SPLIT');
    await writeSet(3, 4, (i) => [
      ['split.no', u16(i === 2 ? 1 : i)],
      ['split.count', u16(3)],
    ]);
    await expectCode(readGgufSplitSet(files[0]!), 'GGUF_SPLIT');
    await writeSet(3, 7);
    await expectCode(readGgufSplitSet(files[0]!), 'GGUF_SPLIT');
  });

  it('treats a plain file as a set of one', async () => {
    const file = await writeFixture('plain.gguf', { metadata: [['a', u8(1)]] });
    const set = await readGgufSplitSet(file);
    expect(set.paths).toEqual([file]);
    expect(set.tensors).toHaveLength(TENSORS.length);
  });
});

describe('large files', () => {
  it('streams data without holding it and reads only the header', async () => {
    // ~100 MB written from one 1 MiB buffer: the writer never copies it
    const file = path.join(dir, 'big.gguf');
    const chunk = Buffer.alloc(1 << 20, 7);
    const tensors: GgufTensorSpec[] = [
      { name: 'big', dims: [32, 3_000_000], type: GgmlType.Q8_0 },
      { name: 'tail', dims: [3], type: GgmlType.F32 },
    ];
    const w = await GgufWriter.create(file, { metadata: {}, tensors });
    let left = tensorBytes(GgmlType.Q8_0, tensors[0]!.dims);
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      await w.write(chunk.subarray(0, n));
      left -= n;
    }
    await w.write(Buffer.alloc(12));
    const { bytes } = await w.close();
    const h = await readGgufHeader(file);
    expect(h.fileSize).toBe(bytes);
    expect(h.tensors[1]!.fileOffset + 12).toBeLessThanOrEqual(bytes);
    const fh = await open(file, 'r');
    const probe = Buffer.alloc(4);
    await fh.read(probe, 0, 4, h.tensors[0]!.fileOffset + 1000);
    await fh.close();
    expect([...probe]).toEqual([7, 7, 7, 7]);
  });
});
