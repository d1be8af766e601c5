// `moed create NAME -f Modelfile`: parses the Modelfile here (as the ollama CLI does) and sends
// /api/create. A FROM naming a local GGUF is sent as an absolute path: the daemon references
// the file in place instead of copying hundreds of gigabytes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Client } from '../client/http.js';
import { parseModelfile } from '../client/modelfile.js';

export async function createCommand(args: string[]): Promise<number> {
  const name = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-f' && args[i - 1] !== '--file');
  const fIndex = args.findIndex((a) => a === '-f' || a === '--file');
  const file = fIndex >= 0 ? args[fIndex + 1] : 'Modelfile';
  if (!name) throw new Error('usage: moed create NAME -f Modelfile');
  const source = await fs.readFile(file!, 'utf8').catch(() => {
    throw new Error(`no Modelfile found at ${path.resolve(file!)}`);
  });
  const mf = parseModelfile(source);
  const base = path.dirname(path.resolve(file!));
  const fromPath = path.resolve(base, mf.from.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
  const isFile = await fs.stat(fromPath).then((s) => s.isFile(), () => false);
  const body = {
    model: name,
    from: isFile ? fromPath : mf.from,
    template: mf.template,
    system: mf.system,
    parameters: mf.parameters,
    messages: mf.messages.length ? mf.messages : undefined,
    license: mf.license.length ? mf.license : undefined,
    stream: true,
  };
  for await (const p of new Client().stream<{ status: string }>('/api/create', body)) {
    console.log(p.status);
  }
  return 0;
}
