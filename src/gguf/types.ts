// ggml tensor types, GGUF value types and llama file types, as the pinned llama.cpp defines them
// (ggml/include/ggml.h, ggml/include/gguf.h, include/llama.h). Sizes follow ggml's type traits,
// so tensorBytes() is exactly what ggml_nbytes() computes for a contiguous tensor.

import { GgufError } from './errors.js';

/** ggml_type ids. Ids 4, 5, 31-33 and 36-38 were removed from ggml and are not valid in a file. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;
export type GgmlTypeId = (typeof GgmlType)[GgmlTypeName];

export interface GgmlTypeInfo {
  id: number;
  name: GgmlTypeName;
  /** Elements per block (1 for plain types). A row's ne[0] must be a multiple of it. */
  blockSize: number;
  /** Bytes per block. */
  typeSize: number;
  quantized: boolean;
}

const QK_K = 256;

// [name, block size, bytes per block] — ggml/src/ggml.c type_traits, ggml/src/ggml-common.h structs.
const TRAITS: ReadonlyArray<readonly [GgmlTypeName, number, number]> = [
  ['F32', 1, 4],
  ['F16', 1, 2],
  ['Q4_0', 32, 2 + 16],
  ['Q4_1', 32, 2 + 2 + 16],
  ['Q5_0', 32, 2 + 4 + 16],
  ['Q5_1', 32, 2 + 2 + 4 + 16],
  ['Q8_0', 32, 2 + 32],
  ['Q8_1', 32, 2 + 2 + 32],
  ['Q2_K', QK_K, 2 + 2 + QK_K / 16 + QK_K / 4],
  ['Q3_K', QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  ['Q4_K', QK_K, 2 + 2 + QK_K / 2 + 12],
  ['Q5_K', QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12],
  ['Q6_K', QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  ['Q8_K', QK_K, 4 + QK_K + QK_K / 8],
  ['IQ2_XXS', QK_K, 2 + QK_K / 4],
  ['IQ2_XS', QK_K, 2 + QK_K / 4 + QK_K / 32],
  ['IQ3_XXS', QK_K, 2 + QK_K / 4 + QK_K / 8],
  ['IQ1_S', QK_K, 2 + QK_K / 8 + QK_K / 16],
  ['IQ4_NL', 32, 2 + 16],
  ['IQ3_S', QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  ['IQ2_S', QK_K, 2 + QK_K / 4 + QK_K / 16],
  ['IQ4_XS', QK_K, 2 + 2 + QK_K / 2 + QK_K / 64],
  ['I8', 1, 1],
  ['I16', 1, 2],
  ['I32', 1, 4],
  ['I64', 1, 8],
  ['F64', 1, 8],
  ['IQ1_M', QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  ['BF16', 1, 2],
  ['TQ1_0', QK_K, 2 + 4 * 13],
  ['TQ2_0', QK_K, 2 + 64],
  ['MXFP4', 32, 1 + 16],
  ['NVFP4', 64, 4 + 32],
  ['Q1_0', 128, 2 + 16],
  ['Q2_0', 64, 2 + 16],
];

const NOT_QUANTIZED = new Set<GgmlTypeName>(['F32', 'F16', 'BF16', 'F64', 'I8', 'I16', 'I32', 'I64']);

const BY_ID = new Map<number, GgmlTypeInfo>();
const BY_NAME = new Map<string, GgmlTypeInfo>();
for (const [name, blockSize, typeSize] of TRAITS) {
  const info: GgmlTypeInfo = { id: GgmlType[name], name, blockSize, typeSize, quantized: !NOT_QUANTIZED.has(name) };
  BY_ID.set(info.id, info);
  BY_NAME.set(name.toLowerCase(), info);
}

/** The traits of a ggml type id, or undefined for an id that is not (or no longer) valid in a file. */
export function ggmlTypeInfo(type: number): GgmlTypeInfo | undefined {
  return BY_ID.get(type);
}

/** ggml's name for a type ("Q4_K"), or "type(N)" for an unknown id (for messages). */
export function ggmlTypeName(type: number): string {
  return BY_ID.get(type)?.name ?? `type(${type})`;
}

/** A type id from its name, case-insensitive ("q4_k", "F16"). */
export function ggmlTypeFromName(name: string): number | undefined {
  return BY_NAME.get(name.toLowerCase())?.id;
}

function requireInfo(type: number): GgmlTypeInfo {
  const info = BY_ID.get(type);
  if (!info) throw new GgufError('GGUF_BAD_TENSOR', `unknown ggml type ${type}`);
  return info;
}

/** Bytes of one row of `ne0` elements; throws when ne0 is not a whole number of blocks. */
export function rowBytes(type: number, ne0: number): number {
  const info = requireInfo(type);
  if (ne0 % info.blockSize !== 0) {
    throw new GgufError(
      'GGUF_BAD_TENSOR',
      `a row of ${ne0} elements is not a whole number of ${info.name} blocks (${info.blockSize})`,
    );
  }
  return (ne0 / info.blockSize) * info.typeSize;
}

/** Exact byte size of a contiguous tensor (ggml_nbytes). dims are in ggml ne[] order. */
export function tensorBytes(type: number, dims: readonly number[]): number {
  const ne0 = dims.length > 0 ? dims[0]! : 1;
  let rows = 1;
  for (let i = 1; i < dims.length; i++) rows *= dims[i]!;
  const bytes = rowBytes(type, ne0) * rows;
  if (!Number.isSafeInteger(bytes)) throw new GgufError('GGUF_BAD_TENSOR', `tensor of ${dims.join('x')} is too large`);
  return bytes;
}

/** Number of elements of a tensor. */
export function tensorElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** GGUF metadata value types (ggml/include/gguf.h). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** The scalar kinds a metadata value or an array element can have. */
export type GgufScalarKind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string';

export const KIND_TO_VALUE_TYPE: Readonly<Record<GgufScalarKind, number>> = {
  u8: GgufValueType.UINT8,
  i8: GgufValueType.INT8,
  u16: GgufValueType.UINT16,
  i16: GgufValueType.INT16,
  u32: GgufValueType.UINT32,
  i32: GgufValueType.INT32,
  u64: GgufValueType.UINT64,
  i64: GgufValueType.INT64,
  f32: GgufValueType.FLOAT32,
  f64: GgufValueType.FLOAT64,
  bool: GgufValueType.BOOL,
  string: GgufValueType.STRING,
};

export const VALUE_TYPE_TO_KIND: ReadonlyMap<number, GgufScalarKind> = new Map(
  Object.entries(KIND_TO_VALUE_TYPE).map(([k, v]) => [v, k as GgufScalarKind]),
);

/** Encoded size of a fixed-size scalar kind (strings: 0, they are variable). */
export const KIND_SIZE: Readonly<Record<GgufScalarKind, number>> = {
  u8: 1,
  i8: 1,
  bool: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
  string: 0,
};

/**
 * A typed metadata value. 64-bit integers are numbers when they are safe integers and bigints
 * otherwise (readers), and may be either (writers). Arrays carry their element kind; `value` is
 * undefined when a reader skipped an array longer than its maxArrayLength (length stays known).
 */
export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

export type GgufArray =
  | { type: 'array'; itemType: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; length: number; value?: number[] }
  | { type: 'array'; itemType: 'u64' | 'i64'; length: number; value?: (number | bigint)[] }
  | { type: 'array'; itemType: 'bool'; length: number; value?: boolean[] }
  | { type: 'array'; itemType: 'string'; length: number; value?: string[] };

/**
 * llama_ftype ids (include/llama.h) and the names Ollama shows as "quantization_level".
 * 0 and 1 mean "all F32" and "mostly F16"; the rest are "mostly" that type, 1-D tensors staying F32.
 */
const FILE_TYPES: ReadonlyArray<readonly [number, string]> = [
  [0, 'F32'],
  [1, 'F16'],
  [2, 'Q4_0'],
  [3, 'Q4_1'],
  [7, 'Q8_0'],
  [8, 'Q5_0'],
  [9, 'Q5_1'],
  [10, 'Q2_K'],
  [11, 'Q3_K_S'],
  [12, 'Q3_K_M'],
  [13, 'Q3_K_L'],
  [14, 'Q4_K_S'],
  [15, 'Q4_K_M'],
  [16, 'Q5_K_S'],
  [17, 'Q5_K_M'],
  [18, 'Q6_K'],
  [19, 'IQ2_XXS'],
  [20, 'IQ2_XS'],
  [21, 'Q2_K_S'],
  [22, 'IQ3_XS'],
  [23, 'IQ3_XXS'],
  [24, 'IQ1_S'],
  [25, 'IQ4_NL'],
  [26, 'IQ3_S'],
  [27, 'IQ3_M'],
  [28, 'IQ2_S'],
  [29, 'IQ2_M'],
  [30, 'IQ4_XS'],
  [31, 'IQ1_M'],
  [32, 'BF16'],
  [36, 'TQ1_0'],
  [37, 'TQ2_0'],
  [38, 'MXFP4_MOE'],
  [39, 'NVFP4'],
  [40, 'Q1_0'],
  [41, 'Q2_0'],
];

export const LlamaFileType = Object.fromEntries(FILE_TYPES.map(([id, name]) => [name, id])) as Readonly<
  Record<string, number>
>;

const FILE_TYPE_NAMES = new Map<number, string>(FILE_TYPES);
const FILE_TYPE_IDS = new Map<string, number>(FILE_TYPES.map(([id, name]) => [name.toLowerCase(), id]));

/** "Q4_K_M" for 15; "unknown" for an id llama.cpp does not define (as Ollama prints it). */
export function fileTypeName(ftype: number): string {
  return FILE_TYPE_NAMES.get(ftype) ?? 'unknown';
}

/** 15 for "Q4_K_M" / "q4_k_m"; undefined for an unknown name. */
export function fileTypeFromName(name: string): number | undefined {
  return FILE_TYPE_IDS.get(name.toLowerCase());
}
