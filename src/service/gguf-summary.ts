// What the store records about a GGUF when a model is created: its files (a split set in order),
// family, size class, quantization and capabilities. Reading the header in TypeScript first means
// a bad file is refused with a clear message instead of aborting the engine later: the reader
// checks the file's structure (magic, counts, tensor data inside the file), gguf-checks.ts what
// llama.cpp would refuse or abort on (architecture, layer and expert counts, the vocabulary).
import { promises as fs } from 'node:fs';
import {
  fileTypeName,
  GgufError,
  numberValue,
  readGgufSplitSet,
  stringValue,
  tensorElements,
  type GgufSplitSet,
} from '../gguf/index.js';
import { MoedError } from '../errors/index.js';
import { checkLoadable } from './gguf-checks.js';
import type { ModelConfig, ModelFileRef } from '../store/store.js';

export interface GgufSummary {
  files: ModelFileRef[];
  config: ModelConfig;
  chatTemplate?: string;
}

/** Ollama's format.HumanNumber: 671.0B, 7B, 135M. */
export function humanParameterCount(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) {
    if (n >= size) {
      const v = n / size;
      return Number.isInteger(v) ? `${v}${suffix}` : `${v.toFixed(1)}${suffix}`;
    }
  }
  return String(n);
}

/** Capabilities as Ollama derives them: embedding models pool, templates reveal thinking and tools. */
export function capabilitiesOf(set: Pick<GgufSplitSet, 'metadata'>, arch: string, template: string | undefined): string[] {
  const caps: string[] = [];
  caps.push(set.metadata.has(`${arch}.pooling_type`) ? 'embedding' : 'completion');
  if (template && /\btools?\b/.test(template)) caps.push('tools');
  if (template && /<think>/.test(template)) caps.push('thinking');
  return caps;
}

export async function summarizeGguf(file: string): Promise<GgufSummary> {
  let set: GgufSplitSet;
  try {
    // Arrays are read whole (the token list is checked for duplicates): a few MB, once per create.
    set = await readGgufSplitSet(file);
  } catch (e) {
    if (e instanceof GgufError) throw new MoedError('INVALID_GGUF', `${file} is not a usable GGUF file: ${e.message}`, { cause: e });
    throw e;
  }
  const meta = set.metadata;
  checkLoadable(meta, file);
  const arch = stringValue(meta.get('general.architecture'))!;
  const params = numberValue(meta.get('general.parameter_count')) ?? set.tensors.reduce((s, t) => s + tensorElements(t.dims), 0);
  const ftype = numberValue(meta.get('general.file_type'));
  const template = stringValue(meta.get('tokenizer.chat_template'));
  const files: ModelFileRef[] = [];
  for (const p of set.paths) {
    const stat = await fs.stat(p);
    files.push({ path: p, size: stat.size, mtimeMs: stat.mtimeMs });
  }
  return {
    files,
    chatTemplate: template,
    config: {
      model_format: 'gguf',
      model_family: arch,
      model_families: [arch],
      model_type: humanParameterCount(params),
      file_type: ftype === undefined ? 'unknown' : fileTypeName(ftype),
      architecture: arch,
      context_length: numberValue(meta.get(`${arch}.context_length`)),
      embedding_length: numberValue(meta.get(`${arch}.embedding_length`)),
      capabilities: capabilitiesOf(set, arch, template),
    },
  };
}
