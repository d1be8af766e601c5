// Modelfile parsing, done on the client side as Ollama's CLI does (reference §7, M1–M6):
// INSTRUCTION arguments per line, case-insensitive, `#` comments, "..." and """...""" values.
// Every error names its line.
import { parseParameterValue } from '../config/options.js';
import { MoedError } from '../errors/index.js';

export interface Modelfile {
  from: string;
  fromLine: number;
  parameters: Record<string, unknown>;
  template?: string;
  system?: string;
  messages: { role: string; content: string }[];
  license: string[];
}

const INSTRUCTIONS = ['from', 'license', 'template', 'system', 'adapter', 'draft', 'renderer', 'parser', 'parameter', 'message', 'requires'];

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
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return { value: t.slice(1, -1), next: index + 1 };
  return { value: t, next: index + 1 };
}

export function parseModelfile(source: string): Modelfile {
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  const out: Partial<Modelfile> & Pick<Modelfile, 'parameters' | 'messages' | 'license'> = {
    parameters: {},
    messages: [],
    license: [],
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
      default:
        // draft, renderer, parser, requires: accepted by Ollama, nothing for moed to do.
        i = readValue(lines, i, argText).next;
    }
  }
  if (!out.from) throw new MoedError('INVALID_MODELFILE', 'no FROM line');
  return out as Modelfile;
}
