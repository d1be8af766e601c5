// Streaming GGUF v3 writer. The metadata and the tensor list are known up front, so the header
// (with every tensor's offset) is written first; the tensor data is then streamed in file order
// and never held in memory as a whole. Writes are positional (pwritev) with a bounded number of
// bytes in flight, which is the backpressure: write() resolves once the window has room again.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { GgufError } from './errors.js';
import { DEFAULT_ALIGNMENT, MAX_DIMS, MAX_TENSOR_NAME } from './reader.js';
import { ggmlTypeInfo, KIND_TO_VALUE_TYPE, GgufValueType, tensorBytes, type GgufValue } from './types.js';

export interface GgufTensorSpec {
  name: string;
  /** ggml ne[] order: dims[0] is the row length. */
  dims: readonly number[];
  type: number;
}

export interface GgufTensorLayout extends GgufTensorSpec {
  /** Offset from the start of the data section. */
  offset: number;
  bytes: number;
}

export type GgufMetadataInput = Map<string, GgufValue> | Iterable<readonly [string, GgufValue]> | Record<string, GgufValue>;

export interface GgufWriterOptions {
  metadata: GgufMetadataInput;
  tensors: readonly GgufTensorSpec[];
  /** Data alignment; a value other than 32 is recorded as general.alignment (u32). */
  alignment?: number;
  /** Write to "<path>.partial" and rename on close(), so a crash never leaves a plausible file. Default true. */
  atomic?: boolean;
  /** Bytes handed to the OS but not yet written before write() waits. Default 256 MiB. */
  maxInFlightBytes?: number;
}

const BATCH_BYTES = 16 << 20;
const U32_MAX = 0xffffffff;

function toEntries(metadata: GgufMetadataInput): [string, GgufValue][] {
  if (metadata instanceof Map) return [...metadata.entries()];
  if (Symbol.iterator in metadata) return [...(metadata as Iterable<readonly [string, GgufValue]>)].map(([k, v]) => [k, v]);
  return Object.entries(metadata as Record<string, GgufValue>);
}

/** Growable little-endian byte builder for the header. */
class Bytes {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }
  u8(v: number): void {
    this.room(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.room(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.room(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.room(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.room(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.room(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: number | bigint): void {
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: number | bigint): void {
    this.room(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  str(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    this.room(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }
  zeros(n: number): void {
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function badValue(key: string, why: string): GgufError {
  return new GgufError('GGUF_BAD_KV', `metadata '${key}': ${why}`);
}

function checkInt(key: string, v: unknown, min: number, max: number, kind: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badValue(key, `${String(v)} is not a valid ${kind}`);
  }
  return v;
}

function checkBig(key: string, v: unknown, signed: boolean): bigint {
  const b = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  if (b === undefined || b < min || b > max) throw badValue(key, `${String(v)} is not a valid ${signed ? 'i64' : 'u64'}`);
  return b;
}

function encodeScalar(out: Bytes, key: string, kind: string, v: unknown): void {
  switch (kind) {
    case 'u8':
      return out.u8(checkInt(key, v, 0, 0xff, kind));
    case 'i8':
      return out.i8(checkInt(key, v, -0x80, 0x7f, kind));
    case 'u16':
      return out.u16(checkInt(key, v, 0, 0xffff, kind));
    case 'i16':
      return out.i16(checkInt(key, v, -0x8000, 0x7fff, kind));
    case 'u32':
      return out.u32(checkInt(key, v, 0, U32_MAX, kind));
    case 'i32':
      return out.i32(checkInt(key, v, -0x80000000, 0x7fffffff, kind));
    case 'u64':
      return out.u64(checkBig(key, v, false));
    case 'i64':
      return out.i64(checkBig(key, v, true));
    case 'f32':
    case 'f64':
      if (typeof v !== 'number') throw badValue(key, `${String(v)} is not a number`);
      return kind === 'f32' ? out.f32(v) : out.f64(v);
    case 'bool':
      if (typeof v !== 'boolean') throw badValue(key, `${String(v)} is not a boolean`);
      return out.i8(v ? 1 : 0);
    case 'string':
      if (typeof v !== 'string') throw badValue(key, `${String(v)} is not a string`);
      return out.str(v);
    default:
      throw badValue(key, `unknown value type '${kind}'`);
  }
}

function encodeKv(out: Bytes, key: string, v: GgufValue): void {
  if (key.length === 0) throw new GgufError('GGUF_BAD_KV', 'empty metadata key');
  out.str(key);
  if (v.type === 'array') {
    const items = v.value as unknown[] | undefined;
    if (!items) throw badValue(key, 'array without values (was it read with maxArrayLength?)');
    const itemTypeId = KIND_TO_VALUE_TYPE[v.itemType];
    if (itemTypeId === undefined) throw badValue(key, `unknown array item type '${String(v.itemType)}'`);
    out.i32(GgufValueType.ARRAY);
    out.i32(itemTypeId);
    out.u64(items.length);
    for (const item of items) encodeScalar(out, key, v.itemType, item);
    return;
  }
  const typeId = KIND_TO_VALUE_TYPE[v.type];
  if (typeId === undefined) throw badValue(key, `unknown value type '${String((v as { type: unknown }).type)}'`);
  out.i32(typeId);
  encodeScalar(out, key, v.type, v.value);
}

const padTo = (n: number, align: number): number => Math.ceil(n / align) * align;

/** Validates the tensor list as a reader would, and lays the tensors out (offsets, sizes). */
export function layoutTensors(tensors: readonly GgufTensorSpec[], alignment: number): GgufTensorLayout[] {
  const names = new Set<string>();
  let offset = 0;
  return tensors.map((t) => {
    if (Buffer.byteLength(t.name, 'utf8') > MAX_TENSOR_NAME || t.name.length === 0) {
      throw new GgufError('GGUF_BAD_TENSOR', `tensor name '${t.name}' must be 1..${MAX_TENSOR_NAME} bytes`);
    }
    if (names.has(t.name)) throw new GgufError('GGUF_BAD_TENSOR', `duplicate tensor name '${t.name}'`);
    names.add(t.name);
    if (t.dims.length > MAX_DIMS) throw new GgufError('GGUF_BAD_TENSOR', `tensor '${t.name}' has more than ${MAX_DIMS} dims`);
    for (const d of t.dims) {
      if (!Number.isSafeInteger(d) || d < 0) throw new GgufError('GGUF_BAD_TENSOR', `tensor '${t.name}' has dimension ${d}`);
    }
    if (!ggmlTypeInfo(t.type)) throw new GgufError('GGUF_BAD_TENSOR', `tensor '${t.name}' has unknown ggml type ${t.type}`);
    let bytes: number;
    try {
      bytes = tensorBytes(t.type, t.dims);
    } catch (err) {
      throw new GgufError('GGUF_BAD_TENSOR', `tensor '${t.name}': ${(err as Error).message}`);
    }
    const layout: GgufTensorLayout = { name: t.name, dims: [...t.dims], type: t.type, offset, bytes };
    offset += padTo(bytes, alignment);
    return layout;
  });
}

/** Encodes a complete GGUF v3 header (padded to the alignment when there are tensors). */
export function encodeGgufHeader(
  metadata: GgufMetadataInput,
  tensors: readonly GgufTensorLayout[],
  alignment: number = DEFAULT_ALIGNMENT,
): Buffer {
  const entries = toEntries(metadata);
  const keys = new Set<string>();
  for (const [k] of entries) {
    if (keys.has(k)) throw new GgufError('GGUF_BAD_KV', `duplicate metadata key '${k}'`);
    keys.add(k);
  }
  const out = new Bytes();
  out.u8(0x47); // "GGUF"
  out.u8(0x47);
  out.u8(0x55);
  out.u8(0x46);
  out.u32(3);
  out.u64(tensors.length);
  out.u64(entries.length);
  for (const [k, v] of entries) encodeKv(out, k, v);
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.i32(t.type);
    out.u64(t.offset);
  }
  if (tensors.length > 0) out.zeros(padTo(out.length, alignment) - out.length);
  return out.result();
}

function resolveAlignment(entries: [string, GgufValue][], requested: number | undefined): number {
  const kv = entries.find(([k]) => k === 'general.alignment')?.[1];
  if (kv && kv.type !== 'u32') throw new GgufError('GGUF_BAD_KV', 'general.alignment must be u32');
  const fromMeta = kv?.type === 'u32' ? kv.value : undefined;
  if (requested !== undefined && fromMeta !== undefined && requested !== fromMeta) {
    throw new GgufError('GGUF_BAD_KV', `alignment ${requested} disagrees with general.alignment ${fromMeta}`);
  }
  const alignment = requested ?? fromMeta ?? DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > U32_MAX || (alignment & (alignment - 1)) !== 0) {
    throw new GgufError('GGUF_BAD_KV', `alignment ${alignment} is not a power of 2`);
  }
  if (fromMeta === undefined && alignment !== DEFAULT_ALIGNMENT) {
    entries.push(['general.alignment', { type: 'u32', value: alignment }]);
  }
  return alignment;
}

export class GgufWriter {
  readonly path: string;
  readonly alignment: number;
  readonly tensors: readonly GgufTensorLayout[];
  /** Size of the header including the padding before the data. */
  readonly headerBytes: number;
  /** Size of the finished file. */
  readonly totalBytes: number;

  private readonly tmpPath: string;
  private readonly zeros: Buffer;
  private readonly maxInFlight: number;
  private index = 0; // tensor being written
  private written = 0; // bytes of it so far
  private position = 0; // file position of the next flushed byte
  private batch: Uint8Array[] = [];
  private batchBytes = 0;
  private inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure: unknown;
  private state: 'open' | 'closed' | 'aborted' = 'open';

  private constructor(
    private readonly fh: FileHandle,
    file: string,
    tmpPath: string,
    alignment: number,
    tensors: GgufTensorLayout[],
    header: Buffer,
    maxInFlight: number,
  ) {
    this.path = file;
    this.tmpPath = tmpPath;
    this.alignment = alignment;
    this.tensors = tensors;
    this.headerBytes = header.length;
    const last = tensors[tensors.length - 1];
    this.totalBytes = header.length + (last ? last.offset + padTo(last.bytes, alignment) : 0);
    this.zeros = Buffer.alloc(alignment);
    this.maxInFlight = maxInFlight;
    this.push(header);
  }

  /** Opens the file and queues the header. Validates metadata and tensors before creating anything. */
  static async create(file: string, options: GgufWriterOptions): Promise<GgufWriter> {
    const entries = toEntries(options.metadata);
    const alignment = resolveAlignment(entries, options.alignment);
    const tensors = layoutTensors(options.tensors, alignment);
    const header = encodeGgufHeader(entries, tensors, alignment);
    const atomic = options.atomic ?? true;
    const tmpPath = atomic ? `${file}.partial` : file;
    const fh = await open(tmpPath, 'w');
    const w = new GgufWriter(fh, file, tmpPath, alignment, tensors, header, options.maxInFlightBytes ?? 256 << 20);
    w.skipEmptyTensors();
    return w;
  }

  /** Name of the tensor the next bytes belong to; undefined once all data is written. */
  get currentTensor(): string | undefined {
    return this.tensors[this.index]?.name;
  }

  /** Bytes accepted so far (header, data and padding), written or about to be. */
  get bytesQueued(): number {
    return this.position + this.batchBytes;
  }

  /** Bytes still expected for the current tensor. */
  get currentRemaining(): number {
    const t = this.tensors[this.index];
    return t ? t.bytes - this.written : 0;
  }

  /**
   * Appends bytes of the current tensor. A chunk may finish a tensor but not run into the next
   * one. The chunks are written later, from the caller's memory: do not modify them afterwards.
   */
  async write(chunks: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.checkOpen();
    const list = chunks instanceof Uint8Array ? [chunks] : chunks;
    for (const chunk of list) {
      if (chunk.byteLength === 0) continue;
      const t = this.tensors[this.index];
      if (!t) throw new GgufError('GGUF_WRITE', `${chunk.byteLength} bytes written after the last tensor`);
      if (this.written + chunk.byteLength > t.bytes) {
        throw new GgufError(
          'GGUF_WRITE',
          `tensor '${t.name}' takes ${t.bytes} bytes; ${this.written + chunk.byteLength} were written`,
        );
      }
      this.push(chunk);
      this.written += chunk.byteLength;
      if (this.written === t.bytes) this.finishTensor();
    }
    if (this.batchBytes >= BATCH_BYTES) await this.flush();
  }

  /** Writes one whole tensor, which must be the next one in file order. */
  async writeTensor(name: string, data: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    this.checkOpen();
    const t = this.tensors[this.index];
    if (!t || t.name !== name || this.written !== 0) {
      throw new GgufError('GGUF_WRITE', `tensor '${name}' written out of order (next is '${t?.name ?? '(none)'}')`);
    }
    if (data instanceof Uint8Array) {
      await this.write(data);
    } else {
      for await (const chunk of data as AsyncIterable<Uint8Array>) await this.write(chunk);
    }
    if (this.tensors[this.index] === t) {
      throw new GgufError('GGUF_WRITE', `tensor '${name}' got ${this.written} of its ${t.bytes} bytes`);
    }
  }

  /** Flushes, checks that every tensor is complete, closes and (atomic mode) renames into place. */
  async close(): Promise<{ path: string; bytes: number }> {
    this.checkOpen();
    try {
      if (this.index < this.tensors.length) {
        const t = this.tensors[this.index]!;
        throw new GgufError('GGUF_WRITE', `closed before tensor '${t.name}' was complete (${this.written}/${t.bytes} bytes)`);
      }
      await this.flush();
      await this.drain(0);
      if (this.failure) throw this.failure;
      await this.fh.close();
      this.state = 'closed';
      if (this.tmpPath !== this.path) await rename(this.tmpPath, this.path);
      return { path: this.path, bytes: this.position };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Stops writing and removes the (partial) file. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    await Promise.allSettled([...this.inFlight]);
    if (wasOpen) await this.fh.close().catch(() => undefined);
    await unlink(this.tmpPath).catch(() => undefined);
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') throw new GgufError('GGUF_WRITE', `writer for ${this.path} is ${this.state}`);
  }

  private push(chunk: Uint8Array): void {
    this.batch.push(chunk);
    this.batchBytes += chunk.byteLength;
  }

  private finishTensor(): void {
    const t = this.tensors[this.index]!;
    const pad = padTo(t.bytes, this.alignment) - t.bytes;
    if (pad > 0) this.push(this.zeros.subarray(0, pad));
    this.index++;
    this.written = 0;
    this.skipEmptyTensors();
  }

  /** Zero-element tensors take no bytes; nobody will write them, so move past them. */
  private skipEmptyTensors(): void {
    while (this.index < this.tensors.length && this.tensors[this.index]!.bytes === 0) this.index++;
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const buffers = this.batch;
    const bytes = this.batchBytes;
    const at = this.position;
    this.batch = [];
    this.batchBytes = 0;
    this.position += bytes;
    await this.drain(this.maxInFlight - bytes);
    const p: Promise<void> = this.fh
      .writev(buffers as NodeJS.ArrayBufferView[], at)
      .then(({ bytesWritten }) => {
        if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes at ${at}`);
      })
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => {
        this.inFlight.delete(p);
        this.inFlightBytes -= bytes;
      });
    this.inFlight.add(p);
    this.inFlightBytes += bytes;
  }

  /** Waits until at most `limit` bytes are in flight. */
  private async drain(limit: number): Promise<void> {
    while (this.inFlight.size > 0 && this.inFlightBytes > Math.max(0, limit)) {
      await Promise.race(this.inFlight);
    }
    if (this.failure) throw this.failure;
  }
}
