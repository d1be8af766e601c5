// forgeDeepseek2(): writes a random-weight DeepSeek-V3/R1-shaped GGUF that libllama loads and runs.
//
// Speed: a full-width R1 block is ~6 GB, so the data is never generated value by value. For each
// (type, distribution) pair a pool of valid random blocks (at most POOL_BYTES) is generated once;
// a tensor is then written as a sequence of slices of its pool taken at random block offsets.
// The slices are views, not copies, so the cost is the disk write. Everything random comes from
// seeded streams (one per pool, one per tensor), so the same options give the same bytes.

import { GgufWriter } from '../gguf/writer.js';
import { ggmlTypeInfo, tensorBytes } from '../gguf/types.js';
import { fillKey, makePool } from './blocks.js';
import { resolveShape, type Deepseek2Shape, type PresetName } from './config.js';
import { buildMetadata } from './metadata.js';
import { hash32, Rng } from './random.js';
import { FILE_TYPE, parameterCount, planTensors, type ForgeType, type PlannedTensor, type RouterKind } from './tensors.js';
import { buildVocab } from './tokenizer.js';

export interface ForgeOptions {
  /** Output file. It is written as "<path>.partial" and renamed when complete. */
  path: string;
  preset?: PresetName;
  /** Overrides of the preset's shape. */
  shape?: Partial<Deepseek2Shape>;
  /** Shorthand for shape.blocks. */
  blocks?: number;
  /** q4_k_m (default): the types llama-quantize picks; f16/f32: as convert_hf_to_gguf.py writes. */
  type?: ForgeType;
  seed?: number;
  /** How the routers are forged (see RouterKind); default random. */
  router?: RouterKind;
  /** general.name */
  name?: string;
  /** Called with bytes written so far and the file's total size. */
  onProgress?: (done: number, total: number) => void;
}

export interface ForgeResult {
  path: string;
  bytes: number;
  tensors: number;
  shape: Deepseek2Shape;
}

/** Upper bound of one pool: large enough that repeats are rare, small enough to make in milliseconds. */
const POOL_BYTES = 4 << 20;
/** Size of one slice taken from a pool. */
const SLICE_BYTES = 1 << 20;
/** Bytes handed to the writer per call. */
const BATCH_BYTES = 32 << 20;

/**
 * One pool per (type, distribution). When all tensors drawing from a pool fit in POOL_BYTES the
 * pool holds exactly their data and is handed out sequentially, so no two tensors share bytes
 * (small test models get fully independent weights). Larger demand gets a capped pool and slices
 * at random offsets.
 */
interface Pool {
  buf: Buffer;
  blocks: number;
  sequential: boolean;
  cursor: number;
}

class Pools {
  private readonly pools = new Map<string, Pool>();
  private readonly demand = new Map<string, number>();

  constructor(
    private readonly seed: number,
    plan: readonly PlannedTensor[],
  ) {
    for (const t of plan) {
      const key = Pools.key(t);
      const blocks = tensorBytes(t.type, t.dims) / ggmlTypeInfo(t.type)!.typeSize;
      this.demand.set(key, (this.demand.get(key) ?? 0) + blocks);
    }
  }

  static key(t: PlannedTensor): string {
    return `${t.type}|${fillKey(t.fill)}`;
  }

  get(t: PlannedTensor): Pool {
    const key = Pools.key(t);
    let pool = this.pools.get(key);
    if (!pool) {
      const cap = Math.max(1, Math.floor(POOL_BYTES / ggmlTypeInfo(t.type)!.typeSize));
      const demand = this.demand.get(key)!;
      const blocks = Math.min(demand, cap);
      const buf = makePool(t.type, t.fill, blocks, new Rng(hash32(this.seed, key)));
      pool = { buf, blocks, sequential: demand <= cap, cursor: 0 };
      this.pools.set(key, pool);
    }
    return pool;
  }
}

function defaultName(preset: PresetName, shape: Deepseek2Shape): string {
  return `moed synthetic DeepSeek-R1 (${preset}, ${shape.blocks} blocks)`;
}

export async function forgeDeepseek2(opts: ForgeOptions): Promise<ForgeResult> {
  const preset = opts.preset ?? 'tiny';
  const shape = resolveShape(preset, opts.shape, opts.blocks);
  const type = opts.type ?? 'q4_k_m';
  if (!Object.hasOwn(FILE_TYPE, type)) throw new Error(`unknown forge type '${String(type)}' (q4_k_m, f16, f32)`);
  const seed = (opts.seed ?? 0) >>> 0;

  const plan = planTensors(shape, type, opts.router ?? 'random');
  const vocab = buildVocab(shape.vocab);
  const metadata = buildMetadata({
    shape,
    vocab,
    name: opts.name ?? defaultName(preset, shape),
    fileType: FILE_TYPE[type],
    parameterCount: parameterCount(plan),
  });

  const writer = await GgufWriter.create(opts.path, { metadata, tensors: plan });
  try {
    const pools = new Pools(seed, plan);
    let batch: Buffer[] = [];
    let batchBytes = 0;
    const send = async (): Promise<void> => {
      await writer.write(batch);
      batch = [];
      batchBytes = 0;
      opts.onProgress?.(writer.bytesQueued, writer.totalBytes);
    };

    for (const t of plan) {
      const info = ggmlTypeInfo(t.type)!;
      const blockBytes = info.typeSize;
      const pool = pools.get(t);
      const sliceBlocks = Math.max(1, Math.min(pool.blocks, Math.floor(SLICE_BYTES / blockBytes)));
      const rng = new Rng(hash32(seed, t.name));
      let left = tensorBytes(t.type, t.dims) / blockBytes;
      while (left > 0) {
        const n = Math.min(left, sliceBlocks);
        let start: number;
        if (pool.sequential) {
          start = pool.cursor;
          pool.cursor += n;
        } else {
          start = pool.blocks > n ? rng.int(pool.blocks - n + 1) : 0;
        }
        batch.push(pool.buf.subarray(start * blockBytes, (start + n) * blockBytes));
        batchBytes += n * blockBytes;
        left -= n;
        // a batch may hold the end of one tensor and the start of the next; the writer splits them
        if (batchBytes >= BATCH_BYTES) await send();
      }
    }
    if (batch.length > 0) await send();
    const { bytes } = await writer.close();
    return { path: opts.path, bytes, tensors: plan.length, shape };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
