// Small constructors and accessors for typed metadata values. llama.cpp checks a key's GGUF type
// exactly (a u32 key written as i32 fails to load), so writers spell the type at every key.

import type { GgufArray, GgufValue } from './types.js';

export const u8 = (value: number): GgufValue => ({ type: 'u8', value });
export const i8 = (value: number): GgufValue => ({ type: 'i8', value });
export const u16 = (value: number): GgufValue => ({ type: 'u16', value });
export const i16 = (value: number): GgufValue => ({ type: 'i16', value });
export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const i32 = (value: number): GgufValue => ({ type: 'i32', value });
export const u64 = (value: number | bigint): GgufValue => ({ type: 'u64', value });
export const i64 = (value: number | bigint): GgufValue => ({ type: 'i64', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const f64 = (value: number): GgufValue => ({ type: 'f64', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });

type NumKind = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';

export function arr(itemType: NumKind, value: number[]): GgufArray;
export function arr(itemType: 'u64' | 'i64', value: (number | bigint)[]): GgufArray;
export function arr(itemType: 'bool', value: boolean[]): GgufArray;
export function arr(itemType: 'string', value: string[]): GgufArray;
export function arr(itemType: GgufArray['itemType'], value: unknown[]): GgufArray {
  return { type: 'array', itemType, length: value.length, value } as GgufArray;
}

/** The plain JS value of a metadata entry (array values as arrays; undefined if skipped). */
export function plainValue(v: GgufValue | undefined): unknown {
  return v?.value;
}

/** A numeric scalar as a number (64-bit values converted; precision loss above 2^53). */
export function numberValue(v: GgufValue | undefined): number | undefined {
  if (!v || v.type === 'array' || v.type === 'string' || v.type === 'bool') return undefined;
  return typeof v.value === 'bigint' ? Number(v.value) : v.value;
}

export function stringValue(v: GgufValue | undefined): string | undefined {
  return v?.type === 'string' ? v.value : undefined;
}

export function boolValue(v: GgufValue | undefined): boolean | undefined {
  return v?.type === 'bool' ? v.value : undefined;
}
