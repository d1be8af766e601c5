// Ollama's model names: [host/][namespace/]model[:tag], tag "latest" and namespace "library" by
// default, host registry.ollama.ai. Matching is case-insensitive (reference G12, G13).
import { MoedError } from '../errors/index.js';

export const DEFAULT_HOST = 'registry.ollama.ai';
export const DEFAULT_NAMESPACE = 'library';
export const DEFAULT_TAG = 'latest';

export interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

const PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$/;
const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,79}$/;
const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}$/;

/** Parses and validates a name; throws INVALID_MODEL_NAME. */
export function parseModelName(input: string): ModelName {
  const name = parseModelNameOrNull(input);
  if (!name) throw new MoedError('INVALID_MODEL_NAME', 'invalid model name');
  return name;
}

export function parseModelNameOrNull(input: string): ModelName | null {
  if (typeof input !== 'string' || input.length === 0 || input.length > 512) return null;
  let rest = input;
  let tag = DEFAULT_TAG;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  if (parts.length > 3) return null;
  const model = parts.pop()!;
  const namespace = parts.pop() ?? DEFAULT_NAMESPACE;
  const host = parts.pop() ?? DEFAULT_HOST;
  if (!PART.test(model) || !PART.test(tag) || !NAMESPACE.test(namespace) || !HOST.test(host)) return null;
  return { host, namespace, model, tag };
}

/** The shortest display form, always with the tag: "llama3.2:latest", "user/model:tag". */
export function displayName(n: ModelName): string {
  if (n.host.toLowerCase() === DEFAULT_HOST) {
    if (n.namespace.toLowerCase() === DEFAULT_NAMESPACE) return `${n.model}:${n.tag}`;
    return `${n.namespace}/${n.model}:${n.tag}`;
  }
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
}

export function fullName(n: ModelName): string {
  return `${n.host}/${n.namespace}/${n.model}:${n.tag}`;
}

export function sameName(a: ModelName, b: ModelName): boolean {
  return fullName(a).toLowerCase() === fullName(b).toLowerCase();
}
