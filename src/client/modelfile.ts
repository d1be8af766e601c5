// Modelfile parsing, done on the client side as Ollama's CLI does (reference §7, M1–M6):
// INSTRUCTION arguments per line, case-insensitive, `#` comments, "..." and """...""" values.
// Every error names its line. `resolveFrom` decides what FROM names: a model in the store, a GGUF
// file, the first file of a split set, or a folder holding one model's GGUF files.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEPRECATED_PARAMETERS, parseParameterValue } from '../config/options.js';
import { MoedError } from '../errors/index.js';
import { parseSplitName, splitFileName } from '../gguf/split.js';

export interface Modelfile {
  from: string;
  fromLine: number;
  parameters: Record<string, unknown>;
  template?: string;
  system?: string;
  messages: { role: string; content: string }[];
  license: string[];
  requires?: string;
  renderer?: string;
  parser?: string;
  /** Things worth telling the user that are not errors ("warning: parameter mirostat is deprecated"). */
  warnings: string[];
}

const INSTRUCTIONS = ['from', 'license', 'template', 'system', 'adapter', 'draft', 'renderer', 'parser', 'parameter', 'message', 'requires'];

/** golang.org/x/mod/semver without the "v": MAJOR[.MINOR[.PATCH]][-pre][+build]. */
const SEMVER = /^(0|[1-9]\d*)(\.(0|[1-9]\d*)(\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?)?)?$/;

function fail(line: number, message: string): never {
  throw new MoedError('INVALID_MODELFILE', `Modelfile line ${line}: ${message}`);
}

/** Reads one value starting at `text` (rest of the line), possibly spanning lines with """. */
function readValue(lines: string[], index: number, text: string): { value: string; next: number } {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('"""')) {
    const body = trimmed.slice(3);
    const endHere = body.indexOf('"""');
    if (endHere >= 0) return { value: body.slice(0, endHere), next: index + 1 };
    const collected = [body];
    for (let i = index + 1; i < lines.length; i++) {
      const end = lines[i]!.indexOf('"""');
      if (end >= 0) {
        collected.push(lines[i]!.slice(0, end));
        return { value: collected.join('\n'), next: i + 1 };
      }
      collected.push(lines[i]!);
    }
    fail(index + 1, 'unterminated """ value');
  }
  const t = trimmed.trimEnd();
  if (t.startsWith('"')) {
    // "..." may span lines too (Ollama writes multi-line values so): it ends at a line ending in ".
    if (t.length >= 2 && t.endsWith('"')) return { value: t.slice(1, -1), next: index + 1 };
    const collected = [trimmed.slice(1)];
    for (let i = index + 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trimEnd().endsWith('"')) {
        collected.push(line.trimEnd().slice(0, -1));
        return { value: collected.join('\n'), next: i + 1 };
      }
      collected.push(line);
    }
    fail(index + 1, 'unterminated " value');
  }
  return { value: t, next: index + 1 };
}

export function parseModelfile(source: string): Modelfile {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: Partial<Modelfile> & Pick<Modelfile, 'parameters' | 'messages' | 'license' | 'warnings'> = {
    parameters: {},
    messages: [],
    license: [],
    warnings: [],
  };
  let i = 0;
  while (i < lines.length) {
    const lineNo = i + 1;
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i++;
      continue;
    }
    const m = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    const instruction = m[1]!.toLowerCase();
    if (!INSTRUCTIONS.includes(instruction)) {
      fail(
        lineNo,
        'command must be one of "from", "license", "template", "system", "adapter", "draft", "renderer", "parser", "parameter", "message", or "requires"',
      );
    }
    const argText = m[2]!;
    switch (instruction) {
      case 'from': {
        const { value, next } = readValue(lines, i, argText);
        if (!value) fail(lineNo, 'FROM needs a model name or a path');
        out.from = value;
        out.fromLine = lineNo;
        i = next;
        break;
      }
      case 'parameter': {
        const pm = /^(\S+)\s+([\s\S]*)$/.exec(argText.trim());
        if (!pm) fail(lineNo, 'PARAMETER needs a name and a value');
        const key = pm[1]!.toLowerCase();
        const { value, next } = readValue(lines, i, pm[2]!);
        if (DEPRECATED_PARAMETERS.includes(key)) {
          out.warnings.push(`warning: parameter ${key} is deprecated (Modelfile line ${lineNo}); it is ignored`);
          i = next;
          break;
        }
        let parsed: unknown;
        try {
          parsed = parseParameterValue(key, value);
        } catch (e) {
          fail(lineNo, (e as Error).message);
        }
        if (key === 'stop') {
          const prev = (out.parameters.stop as string[] | undefined) ?? [];
          out.parameters.stop = [...prev, ...(parsed as string[])];
        } else {
          out.parameters[key] = parsed;
        }
        i = next;
        break;
      }
      case 'template':
      case 'system':
      case 'license': {
        const { value, next } = readValue(lines, i, argText);
        if (instruction === 'license') out.license.push(value);
        else out[instruction] = value;
        i = next;
        break;
      }
      case 'message': {
        const mm = /^(\S+)\s+([\s\S]*)$/.exec(argText.trim());
        if (!mm) fail(lineNo, 'MESSAGE needs a role and a text');
        const role = mm[1]!.toLowerCase();
        if (!['system', 'user', 'assistant'].includes(role)) {
          fail(lineNo, 'message role must be one of "system", "user", or "assistant"');
        }
        const { value, next } = readValue(lines, i, mm[2]!);
        out.messages.push({ role, content: value });
        i = next;
        break;
      }
      case 'adapter':
        fail(lineNo, 'ADAPTER is not supported by moed: merge the LoRA into the GGUF first');
      case 'draft':
        fail(lineNo, 'DRAFT (speculative decoding with a draft model) is not supported by moed');
      case 'requires': {
        const { value, next } = readValue(lines, i, argText);
        const v = value.trim().replace(/^v/, '');
        if (!SEMVER.test(v)) fail(lineNo, 'requires must be a valid semver (e.g. 0.14.0)');
        out.requires = v;
        i = next;
        break;
      }
      default: {
        // renderer, parser: Ollama's names of built-in prompt renderers and output parsers; passed on.
        const { value, next } = readValue(lines, i, argText);
        out[instruction as 'renderer' | 'parser'] = value;
        i = next;
      }
    }
  }
  if (!out.from) throw new MoedError('INVALID_MODELFILE', 'no FROM line');
  return out as Modelfile;
}

/** What a Modelfile's FROM names. */
export type FromSource =
  | { kind: 'model'; name: string }
  | {
      kind: 'file';
      /** Absolute path of the GGUF file (the first file of a split set). */
      path: string;
      /** Every file of the model, in order (one unless split). */
      files: string[];
      /** Said to the user: which file of a folder or split set was picked. */
      note?: string;
    };

/** Ollama's expandPath: `~` and `~/` are the home folder; a relative path is relative to the Modelfile. */
export function expandPath(p: string, relativeDir: string, home: string = os.homedir()): string {
  if (p === '~' || p.startsWith('~/')) return path.resolve(home, `.${p.slice(1)}`);
  return path.resolve(relativeDir, p);
}

/** A FROM value meant as a path even when nothing is there (a model name never looks like this). */
function looksLikePath(from: string): boolean {
  return /^(\/|\.{1,2}(\/|$)|~)/.test(from) || /\.gguf$/i.test(from) || from.includes('\\');
}

async function isGguf(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'GGUF';
  } finally {
    await fh.close();
  }
}

/** The split set `file` belongs to, checked complete; [file] when it is not split. */
async function splitSet(file: string, line: number, from: string): Promise<{ first: string; files: string[]; note?: string }> {
  const dir = path.dirname(file);
  const split = parseSplitName(path.basename(file));
  if (!split) return { first: file, files: [file] };
  const files = Array.from({ length: split.count }, (_, i) => path.join(dir, splitFileName(split.prefix, i + 1, split.count)));
  const missing: string[] = [];
  for (const f of files) if (!(await fs.stat(f).then((s) => s.isFile(), () => false))) missing.push(path.basename(f));
  if (missing.length > 0) {
    fail(line, `FROM ${from}: the split set is incomplete, ${missing.length} of ${split.count} files are missing in ${dir}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  }
  const note = split.part === 1 ? undefined : `FROM names part ${split.part} of ${split.count} of a split set: using its first file, ${path.basename(files[0]!)}`;
  return { first: files[0]!, files, note };
}

/**
 * Resolves a Modelfile's FROM (`line` is its line number, for errors): an existing file or folder
 * is a local model, anything else that looks like a path is an error, the rest is a model name.
 * A folder must hold one model: a single GGUF file or one split set (its first file is used).
 */
export async function resolveFrom(from: string, relativeDir: string, line: number, home?: string): Promise<FromSource> {
  const full = expandPath(from, relativeDir, home);
  const stat = await fs.stat(full).catch(() => undefined);
  if (!stat) {
    if (looksLikePath(from)) fail(line, `FROM ${from}: no such file or folder: ${full}`);
    return { kind: 'model', name: from };
  }
  let file = full;
  let note: string | undefined;
  if (stat.isDirectory()) {
    const ggufs = (await fs.readdir(full, { withFileTypes: true }))
      .filter((e) => e.isFile() && /\.gguf$/i.test(e.name))
      .map((e) => e.name)
      .sort();
    if (ggufs.length === 0) fail(line, `FROM ${from}: no GGUF file in the folder ${full}`);
    // One model per candidate: a file that is not split, or the first file of a split set.
    const candidates = ggufs.filter((n) => {
      const s = parseSplitName(n);
      return !s || s.part === 1;
    });
    // Multimodal projectors sit beside the model in many releases; they are not a model to run.
    const models = candidates.filter((n) => !/mmproj/i.test(n));
    if (models.length === 0) fail(line, `FROM ${from}: the folder ${full} holds only parts of a split set without its first file (-00001-of-...)`);
    if (models.length > 1) {
      fail(line, `FROM ${from}: the folder ${full} holds several models (${models.join(', ')}); name one file in FROM`);
    }
    file = path.join(full, models[0]!);
    note = `FROM ${from}: using ${models[0]}`;
  } else if (!stat.isFile()) {
    fail(line, `FROM ${from}: ${full} is not a file`);
  }
  if (!(await isGguf(file))) {
    fail(line, `FROM ${from}: ${file} is not a GGUF file (moed serves GGUF models; convert safetensors with llama.cpp's convert_hf_to_gguf.py)`);
  }
  const set = await splitSet(file, line, from);
  return { kind: 'file', path: set.first, files: set.files, note: set.note ?? note };
}
