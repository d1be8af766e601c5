// GGUF library: types and sizes, typed values, a header reader (single files and split sets) and
// a streaming writer. A leaf module: it imports nothing from the rest of moed.
export * from './errors.js';
export * from './types.js';
export * from './values.js';
export * from './reader.js';
export * from './split.js';
export * from './writer.js';
