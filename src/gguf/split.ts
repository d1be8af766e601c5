// Split GGUF sets: "<prefix>-00001-of-00009.gguf" ... as llama.cpp's llama_split_path names them
// (gguf-split). The model's metadata is in the first part; every part has split.no/split.count.

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { GgufError } from './errors.js';
import { readGgufHeader, type GgufHeader, type GgufTensorInfo, type ReadOptions } from './reader.js';
import type { GgufValue } from './types.js';

const SPLIT_RE = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

export interface SplitName {
  prefix: string;
  /** 1-based part number, as in the file name. */
  part: number;
  count: number;
}

/** Parses "<prefix>-0000N-of-0000M.gguf"; undefined for any other name. */
export function parseSplitName(file: string): SplitName | undefined {
  const m = SPLIT_RE.exec(file);
  if (!m) return undefined;
  const part = Number(m[2]);
  const count = Number(m[3]);
  if (part < 1 || count < 1 || part > count) return undefined;
  return { prefix: m[1]!, part, count };
}

/** The file name of part `part` (1-based) of a split set. */
export function splitFileName(prefix: string, part: number, count: number): string {
  const pad = (n: number): string => String(n).padStart(5, '0');
  return `${prefix}-${pad(part)}-of-${pad(count)}.gguf`;
}

export interface GgufSplitTensor extends GgufTensorInfo {
  /** 0-based index of the part holding this tensor. */
  split: number;
  path: string;
}

export interface GgufSplitSet {
  /** All parts in order; paths[0] is the file to hand to llama.cpp. */
  paths: string[];
  headers: GgufHeader[];
  /** The first part's metadata (the model's metadata lives there). */
  metadata: Map<string, GgufValue>;
  /** Tensors of all parts, in part order. */
  tensors: GgufSplitTensor[];
  /** Sum of the parts' file sizes. */
  totalBytes: number;
}

function numericKv(h: GgufHeader, key: string): number | undefined {
  const v = h.metadata.get(key);
  if (!v || v.type === 'array' || v.type === 'string' || v.type === 'bool') return undefined;
  return Number(v.value);
}

/**
 * Reads a model that may be split into several files. Given any part of a "-0000N-of-0000M.gguf"
 * set it reads all parts, checks their split.* keys and merges the tensor lists; given a plain
 * file it returns a set of one. Later parts are read without their large arrays.
 */
export async function readGgufSplitSet(file: string, options: ReadOptions = {}): Promise<GgufSplitSet> {
  const name = parseSplitName(file);
  if (!name) {
    const h = await readGgufHeader(file, options);
    const count = numericKv(h, 'split.count');
    if (count !== undefined && count > 1) {
      throw new GgufError('GGUF_SPLIT', `file is part of a ${count}-part split set but is not named -0000N-of-0000M.gguf`, {
        path: file,
      });
    }
    return {
      paths: [file],
      headers: [h],
      metadata: h.metadata,
      tensors: h.tensors.map((t) => ({ ...t, split: 0, path: file })),
      totalBytes: h.fileSize,
    };
  }

  const paths: string[] = [];
  for (let part = 1; part <= name.count; part++) paths.push(splitFileName(name.prefix, part, name.count));
  for (const p of paths) {
    try {
      await stat(p);
    } catch (err) {
      throw new GgufError('GGUF_SPLIT', `part ${path.basename(p)} of the split set is missing`, { path: file, cause: err });
    }
  }

  const headers: GgufHeader[] = [];
  for (let i = 0; i < paths.length; i++) {
    headers.push(await readGgufHeader(paths[i]!, i === 0 ? options : { maxArrayLength: 0 }));
  }

  const tensors: GgufSplitTensor[] = [];
  const seen = new Set<string>();
  let totalBytes = 0;
  headers.forEach((h, i) => {
    const no = numericKv(h, 'split.no');
    const count = numericKv(h, 'split.count');
    if (name.count > 1 && (no !== i || count !== name.count)) {
      throw new GgufError(
        'GGUF_SPLIT',
        `split.no/split.count are ${no}/${count}, expected ${i}/${name.count} from the file name`,
        { path: h.path },
      );
    }
    for (const t of h.tensors) {
      if (seen.has(t.name)) {
        throw new GgufError('GGUF_SPLIT', `tensor '${t.name}' appears in more than one part`, { path: h.path });
      }
      seen.add(t.name);
      tensors.push({ ...t, split: i, path: h.path });
    }
    totalBytes += h.fileSize;
  });

  const declared = numericKv(headers[0]!, 'split.tensors.count');
  if (declared !== undefined && declared !== tensors.length) {
    throw new GgufError('GGUF_SPLIT', `split.tensors.count is ${declared} but the parts hold ${tensors.length} tensors`, {
      path: paths[0]!,
    });
  }
  return { paths, headers, metadata: headers[0]!.metadata, tensors, totalBytes };
}
