// GGUF v2/v3 header reader. Reads the metadata and the tensor infos with positional reads and never
// touches the tensor data, so a 400 GB model costs a few MB of reads. It applies the checks of
// ggml/src/gguf.cpp (gguf_init_from_reader) and the loader's file-bounds check, and reports each
// failure as a GgufError with its own code instead of letting libllama reject (or abort on) the file.

import { open, type FileHandle } from 'node:fs/promises';
import { GgufError } from './errors.js';
import {
  ggmlTypeInfo,
  KIND_SIZE,
  VALUE_TYPE_TO_KIND,
  GgufValueType,
  type GgufArray,
  type GgufScalarKind,
  type GgufValue,
} from './types.js';

/** Limits from gguf.cpp: longer strings and arrays are rejected there, so they are here. */
const MAX_STRING_LENGTH = 1024 * 1024 * 1024;
const MAX_ARRAY_ELEMENTS = 1024 * 1024 * 1024;
/** GGML_MAX_NAME is 64 including the terminating NUL. */
export const MAX_TENSOR_NAME = 63;
export const MAX_DIMS = 4;
export const DEFAULT_ALIGNMENT = 32;
const MAGIC = Buffer.from('GGUF', 'latin1');
/** The smallest encodings of one KV pair and one tensor info, to reject absurd counts up front. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;
/** No real model has 16M tensors or keys; anything above is a corrupt header. */
const MAX_COUNT = 1 << 24;

export interface GgufTensorInfo {
  name: string;
  /** ggml ne[] order: dims[0] is the row length. */
  dims: number[];
  type: number;
  typeName: string;
  /** Offset from the start of the data section, as stored. */
  offset: number;
  /** Absolute offset in the file. */
  fileOffset: number;
  /** Exact size of the data (without alignment padding). */
  bytes: number;
}

export interface GgufHeader {
  path: string;
  version: number;
  fileSize: number;
  alignment: number;
  /** Absolute offset of the data section (end of the header, padded to the alignment). */
  dataOffset: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** Size of the data section as gguf.cpp computes it: every tensor padded to the alignment. */
  dataBytes: number;
}

export interface ReadOptions {
  /**
   * Arrays longer than this are skipped (their `value` is undefined, `length` is kept). The
   * placement planner does not need the 129k-entry token list. Default: read everything.
   */
  maxArrayLength?: number;
}

const padTo = (n: number, align: number): number => Math.ceil(n / align) * align;

/** Buffered positional reader. Parsing is synchronous on the buffer; only refills await. */
class Cursor {
  private buf = Buffer.allocUnsafe(1 << 20);
  private bufStart = 0; // file offset of buf[0]
  private pos = 0; // read position inside buf
  private end = 0; // valid bytes in buf

  constructor(
    private readonly fh: FileHandle,
    readonly fileSize: number,
    private readonly file: string,
  ) {}

  get offset(): number {
    return this.bufStart + this.pos;
  }
  get avail(): number {
    return this.end - this.pos;
  }
  get remaining(): number {
    return this.fileSize - this.offset;
  }

  truncated(what: string): GgufError {
    return new GgufError('GGUF_TRUNCATED', `file ends inside ${what} (offset ${this.offset}, size ${this.fileSize})`, {
      path: this.file,
    });
  }

  /** Makes n bytes available in the buffer or throws GGUF_TRUNCATED. */
  async need(n: number, what: string): Promise<void> {
    if (this.avail >= n) return;
    if (n > this.remaining) throw this.truncated(what);
    const keep = this.avail;
    if (n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(grown, 0, this.pos, this.end);
      this.buf = grown;
    } else {
      this.buf.copy(this.buf, 0, this.pos, this.end);
    }
    this.bufStart += this.pos;
    this.pos = 0;
    this.end = keep;
    while (this.end < n) {
      const want = Math.min(this.buf.length - this.end, this.fileSize - (this.bufStart + this.end));
      const { bytesRead } = await this.fh.read(this.buf, this.end, want, this.bufStart + this.end);
      if (bytesRead === 0) throw this.truncated(what);
      this.end += bytesRead;
    }
  }

  /** Moves forward n bytes without reading them (callers check n against `remaining`). */
  skip(n: number): void {
    if (n <= this.avail) {
      this.pos += n;
    } else {
      this.bufStart = this.offset + n;
      this.pos = 0;
      this.end = 0;
    }
  }

  u8(): number {
    return this.buf[this.pos++]!;
  }
  i8(): number {
    return this.buf.readInt8(this.pos++);
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i16(): number {
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f32(): number {
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  utf8(n: number): string {
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(n: number): Buffer {
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
}

const toNumberIfSafe = (v: bigint): number | bigint =>
  v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;

/** Reads a string's length and checks it against gguf.cpp's limit and the bytes left. */
function stringLength(c: Cursor, what: string): number {
  const len = c.u64();
  if (len > BigInt(MAX_STRING_LENGTH)) {
    throw new GgufError('GGUF_BAD_COUNT', `${what} has length ${len}, above the ${MAX_STRING_LENGTH} limit`);
  }
  const n = Number(len);
  if (n > c.remaining) throw c.truncated(what);
  return n;
}

async function readString(c: Cursor, what: string): Promise<string> {
  if (c.avail < 8) await c.need(8, what);
  const n = stringLength(c, what);
  if (c.avail < n) await c.need(n, what);
  return c.utf8(n);
}

function readScalar(c: Cursor, kind: Exclude<GgufScalarKind, 'string'>): number | bigint | boolean {
  switch (kind) {
    case 'u8':
      return c.u8();
    case 'i8':
      return c.i8();
    case 'u16':
      return c.u16();
    case 'i16':
      return c.i16();
    case 'u32':
      return c.u32();
    case 'i32':
      return c.i32();
    case 'f32':
      return c.f32();
    case 'f64':
      return c.f64();
    case 'u64':
      return toNumberIfSafe(c.u64());
    case 'i64':
      return toNumberIfSafe(c.i64());
    case 'bool':
      // gguf.cpp reads an int8 and treats any non-zero value as true
      return c.i8() !== 0;
  }
}

async function readArray(c: Cursor, key: string, maxArrayLength: number): Promise<GgufArray> {
  await c.need(12, `array header of '${key}'`);
  const itemTypeId = c.i32();
  const lenBig = c.u64();
  if (itemTypeId === GgufValueType.ARRAY) {
    throw new GgufError('GGUF_BAD_KV', `key '${key}' is an array of arrays, which GGUF readers reject`);
  }
  const kind = VALUE_TYPE_TO_KIND.get(itemTypeId);
  if (!kind) throw new GgufError('GGUF_BAD_KV', `key '${key}' has an array of invalid GGUF type ${itemTypeId}`);
  if (lenBig > BigInt(MAX_ARRAY_ELEMENTS)) {
    throw new GgufError('GGUF_BAD_COUNT', `array '${key}' claims ${lenBig} elements`);
  }
  const length = Number(lenBig);
  const what = `array '${key}'`;
  // Every element takes at least its size (8 bytes of length prefix for strings).
  const minElem = kind === 'string' ? 8 : KIND_SIZE[kind];
  if (length * minElem > c.remaining) throw c.truncated(what);
  const keep = length <= maxArrayLength;
  // Arrays grow as elements are read (no up-front allocation from the claimed length), so a lying
  // length costs memory only for bytes that really parse.
  if (kind === 'string') {
    const out: string[] | undefined = keep ? [] : undefined;
    for (let i = 0; i < length; i++) {
      if (c.avail < 8) await c.need(8, what);
      const n = stringLength(c, what);
      if (out) {
        if (c.avail < n) await c.need(n, what);
        out.push(c.utf8(n));
      } else {
        c.skip(n);
      }
    }
    return { type: 'array', itemType: 'string', length, value: out };
  }

  const size = KIND_SIZE[kind];
  if (!keep) {
    c.skip(length * size);
    return { type: 'array', itemType: kind, length } as GgufArray;
  }
  const out: (number | bigint | boolean)[] = [];
  for (let i = 0; i < length; i++) {
    if (c.avail < size) await c.need(size, what);
    out.push(readScalar(c, kind));
  }
  return { type: 'array', itemType: kind, length, value: out } as GgufArray;
}

async function readValue(c: Cursor, key: string, typeId: number, maxArrayLength: number): Promise<GgufValue> {
  if (typeId === GgufValueType.ARRAY) return readArray(c, key, maxArrayLength);
  const kind = VALUE_TYPE_TO_KIND.get(typeId);
  if (!kind) throw new GgufError('GGUF_BAD_KV', `key '${key}' has invalid GGUF type ${typeId}`);
  if (kind === 'string') return { type: 'string', value: await readString(c, `value of '${key}'`) };
  await c.need(KIND_SIZE[kind], `value of '${key}'`);
  return { type: kind, value: readScalar(c, kind) } as GgufValue;
}

function checkVersion(version: number): void {
  if (version === 0) throw new GgufError('GGUF_BAD_VERSION', 'GGUF version 0 is invalid');
  if ((version & 0xffff) === 0) {
    throw new GgufError('GGUF_BAD_VERSION', `GGUF version ${version} looks byte-swapped (a big-endian file?)`);
  }
  if (version === 1) throw new GgufError('GGUF_BAD_VERSION', 'GGUF version 1 is no longer supported');
  if (version > 3) throw new GgufError('GGUF_BAD_VERSION', `GGUF version ${version} is newer than 3`);
}

async function readTensorInfo(c: Cursor, index: number, names: Set<string>): Promise<GgufTensorInfo> {
  const where = `tensor info ${index}`;
  if (c.avail < 8) await c.need(8, where);
  const nameLen = stringLength(c, `name of ${where}`);
  if (nameLen > MAX_TENSOR_NAME) {
    throw new GgufError('GGUF_BAD_TENSOR', `tensor ${index} has a name of ${nameLen} bytes (at most ${MAX_TENSOR_NAME})`);
  }
  await c.need(nameLen + 4, where);
  const name = c.utf8(nameLen);
  if (names.has(name)) throw new GgufError('GGUF_BAD_TENSOR', `duplicate tensor name '${name}'`);
  names.add(name);

  const nDims = c.u32();
  if (nDims > MAX_DIMS) {
    throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' has ${nDims} dimensions (at most ${MAX_DIMS})`);
  }
  await c.need(nDims * 8 + 4 + 8, `tensor info '${name}'`);
  const dims: number[] = [];
  let elements = 1;
  for (let j = 0; j < nDims; j++) {
    const d = c.i64();
    if (d < 0n) throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' has a negative dimension ${d}`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' has an absurd dimension ${d}`);
    }
    dims.push(Number(d));
    elements *= Number(d);
  }
  if (!Number.isSafeInteger(elements)) {
    throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' has too many elements (${dims.join('x')})`);
  }
  const type = c.i32();
  const info = ggmlTypeInfo(type);
  if (!info) throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' has unknown ggml type ${type}`);
  const ne0 = nDims > 0 ? dims[0]! : 1;
  if (ne0 % info.blockSize !== 0) {
    throw new GgufError(
      'GGUF_BAD_TENSOR',
      `tensor '${name}' of type ${info.name} has rows of ${ne0} elements, not a multiple of its block size ${info.blockSize}`,
    );
  }
  const bytes = (elements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(bytes)) {
    throw new GgufError('GGUF_BAD_TENSOR', `tensor '${name}' is too large (${dims.join('x')} ${info.name})`);
  }
  const offsetBig = c.u64();
  if (offsetBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new GgufError('GGUF_BAD_OFFSET', `tensor '${name}' has an absurd offset ${offsetBig}`);
  }
  const offset = Number(offsetBig);
  // fileOffset is completed once the data section's start is known
  return { name, dims, type, typeName: info.name, offset, fileOffset: 0, bytes };
}

/**
 * Reads and validates the header of one GGUF file: metadata, tensor infos, alignment, data offset.
 * Throws GgufError (with `code`) for a malformed file; file-system errors (ENOENT...) pass through.
 */
export async function readGgufHeader(file: string, options: ReadOptions = {}): Promise<GgufHeader> {
  const maxArrayLength = options.maxArrayLength ?? Number.POSITIVE_INFINITY;
  const fh = await open(file, 'r');
  try {
    const { size: fileSize } = await fh.stat();
    const c = new Cursor(fh, fileSize, file);
    return await parseHeader(c, file, fileSize, maxArrayLength);
  } catch (err) {
    if (err instanceof GgufError && !err.path) {
      err.path = file;
      err.message = `${file}: ${err.message}`;
    }
    throw err;
  } finally {
    await fh.close();
  }
}

async function parseHeader(c: Cursor, file: string, fileSize: number, maxArrayLength: number): Promise<GgufHeader> {
  // magic: a short file that starts like "GGUF" is truncated, anything else is not GGUF at all
  const head = Math.min(4, fileSize);
  if (head > 0) await c.need(head, 'magic');
  const magic = c.bytes(head);
  if (!magic.equals(MAGIC.subarray(0, head))) {
    const shown = magic.toString('latin1').replace(/[^\x20-\x7e]/g, '?');
    throw new GgufError('GGUF_BAD_MAGIC', `not a GGUF file (magic '${shown}')`);
  }
  if (head < 4) throw c.truncated('magic');

  await c.need(4 + 8 + 8, 'header');
  const version = c.u32();
  checkVersion(version);
  const nTensorsBig = c.i64();
  const nKvBig = c.i64();
  // A count above MAX_COUNT is garbage; a plausible count that cannot fit in the bytes left means
  // the file was cut short (an interrupted download), which is worth telling apart.
  for (const [what, n, minBytes] of [
    ['tensor', nTensorsBig, MIN_TENSOR_INFO_BYTES],
    ['key', nKvBig, MIN_KV_BYTES],
  ] as const) {
    if (n < 0n || n > BigInt(MAX_COUNT)) throw new GgufError('GGUF_BAD_COUNT', `${what} count ${n} is not plausible`);
    if (n * BigInt(minBytes) > BigInt(c.remaining)) throw c.truncated(`the ${n} ${what} entries`);
  }
  const nTensors = Number(nTensorsBig);
  const nKv = Number(nKvBig);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = await readString(c, `key ${i}`);
    if (key.length === 0) throw new GgufError('GGUF_BAD_KV', `key ${i} is empty`);
    if (metadata.has(key)) throw new GgufError('GGUF_BAD_KV', `duplicate key '${key}'`);
    await c.need(4, `type of '${key}'`);
    const typeId = c.i32();
    metadata.set(key, await readValue(c, key, typeId, maxArrayLength));
  }

  let alignment = DEFAULT_ALIGNMENT;
  const alignKv = metadata.get('general.alignment');
  if (alignKv) {
    if (alignKv.type !== 'u32') {
      throw new GgufError('GGUF_BAD_KV', `general.alignment must be u32, not ${alignKv.type}`);
    }
    alignment = alignKv.value;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
      throw new GgufError('GGUF_BAD_KV', `general.alignment ${alignment} is not a power of 2`);
    }
  }

  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) tensors.push(await readTensorInfo(c, i, names));

  // The data section starts at the next multiple of the alignment (only when there are tensors).
  const dataOffset = nTensors > 0 ? padTo(c.offset, alignment) : c.offset;
  if (dataOffset > fileSize) throw c.truncated('padding before the tensor data');

  let expected = 0;
  for (const t of tensors) {
    if (t.offset !== expected) {
      throw new GgufError(
        'GGUF_BAD_OFFSET',
        `tensor '${t.name}' has offset ${t.offset}, expected ${expected} (offsets must be consecutive, padded to ${alignment})`,
      );
    }
    t.fileOffset = dataOffset + t.offset;
    if (t.fileOffset + t.bytes > fileSize) {
      throw new GgufError(
        'GGUF_DATA_OUT_OF_BOUNDS',
        `tensor '${t.name}' data (${t.bytes} bytes at ${t.fileOffset}) extends past the end of the file (${fileSize} bytes)`,
      );
    }
    expected += padTo(t.bytes, alignment);
  }

  return { path: file, version, fileSize, alignment, dataOffset, metadata, tensors, dataBytes: expected };
}
