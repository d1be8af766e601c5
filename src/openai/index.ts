// OpenAI-compatible wire types and their conversion to and from Ollama's (reference §5). Knows
// nothing of HTTP: the server's /v1 routes call these around the same services as /api.
export * from './chat.js';
export * from './completions.js';
export * from './embeddings.js';
export * from './errors.js';
export * from './models.js';
export { nextId, unixSeconds } from './decode.js';
export type * from './types.js';
