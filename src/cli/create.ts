// `moed create NAME [-f Modelfile] [-q TYPE]`: parses the Modelfile here (as the ollama CLI does)
// and sends /api/create, showing its progress. A FROM naming a local GGUF (a file, the first file
// of a split set, or a folder) is sent as an absolute path when the daemon runs on this machine:
// the daemon references the file in place instead of copying hundreds of gigabytes. A daemon on
// another machine gets the file uploaded (/api/blobs), as ollama does.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Client } from '../client/http.js';
import { parseModelfile, resolveFrom } from '../client/modelfile.js';
import type { CommandSpec, Parsed } from './args.js';
import { transferProgress, type Ctx } from './context.js';
import type { TransferProgress } from './progress.js';

export const createSpec: CommandSpec = {
  name: 'create',
  usage: 'create MODEL',
  short: 'Create a model',
  long: `Create a model from a Modelfile.

FROM may name a model, a GGUF file, the first file of a split set (-00001-of-00009.gguf) or a
folder holding one model's GGUF files. Local GGUF files are referenced in place, not copied.
Without -f, ./Modelfile is used; without a Modelfile, the GGUF file(s) in the current folder.`,
  args: { min: 1, max: 1 },
  flags: [
    { name: 'file', short: 'f', type: 'string', help: 'Name of the Modelfile (default "Modelfile")' },
    { name: 'quantize', short: 'q', type: 'string', help: 'Quantize model to this level (e.g. q4_K_M)' },
  ],
  examples: ['moed create deepseek-r1 -f Modelfile.example'],
};

/** True when OLLAMA_HOST points at this machine, so the daemon can open local paths itself. */
export function isLocalDaemon(baseUrl: string): boolean {
  const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '::1' ||
    host === '0.0.0.0' ||
    host === '::' ||
    /^127\./.test(host) ||
    /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host)
  );
}

async function readModelfile(flag: string | undefined): Promise<{ source: string; dir: string; implicit?: string }> {
  const file = path.resolve(flag ?? 'Modelfile');
  try {
    return { source: await fs.readFile(file, 'utf8'), dir: path.dirname(file) };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' && flag === undefined) {
      // As ollama: no Modelfile means the model files in the current folder.
      return { source: 'FROM .\n', dir: process.cwd(), implicit: file };
    }
    if (code === 'ENOENT') throw new Error(`specified Modelfile wasn't found: ${file}`);
    if (code === 'EISDIR') throw new Error(`${file} is a folder; -f takes a Modelfile`);
    throw e;
  }
}

/** Hashes and uploads a GGUF to a daemon on another machine; returns its digest. */
async function uploadFile(client: Client, file: string, progress: TransferProgress): Promise<string> {
  const { size } = await fs.stat(file);
  const hash = createHash('sha256');
  let seen = 0;
  const label = `hashing ${path.basename(file)}`;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    seen += (chunk as Buffer).length;
    progress.update({ status: label, digest: `hash:${file}`, total: size, completed: seen });
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (await client.hasBlob(digest)) return digest;
  let sent = 0;
  const status = `copying file ${digest.slice(7, 19)}`;
  const source = createReadStream(file);
  source.on('data', (chunk) => {
    sent += (chunk as Buffer).length;
    progress.update({ status, digest, total: size, completed: sent });
  });
  await client.uploadBlob(digest, Readable.toWeb(source) as ReadableStream<Uint8Array>);
  return digest;
}

export async function createCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const name = p.args[0]!;
  const { source, dir, implicit } = await readModelfile(p.flags.file as string | undefined);
  const mf = parseModelfile(source);
  for (const w of mf.warnings) ctx.io.stderr.write(`${w}\n`);

  const progress = transferProgress(ctx);
  try {
    progress.note('gathering model components');
    const from = await resolveFrom(mf.from, dir, mf.fromLine).catch((e: Error) => {
      if (implicit) throw new Error(`no Modelfile (${implicit}) and no GGUF model in ${dir}: name a Modelfile with -f FILE`);
      throw e;
    });
    if (from.kind === 'file' && from.note) progress.note(from.note);
    const body: Record<string, unknown> = {
      model: name,
      template: mf.template,
      system: mf.system,
      parameters: Object.keys(mf.parameters).length ? mf.parameters : undefined,
      messages: mf.messages.length ? mf.messages : undefined,
      license: mf.license.length ? mf.license : undefined,
      requires: mf.requires,
      renderer: mf.renderer,
      parser: mf.parser,
      quantize: (p.flags.quantize as string | undefined) || undefined,
      stream: true,
    };
    if (from.kind === 'model') {
      body.from = from.name;
    } else if (isLocalDaemon(ctx.client.baseUrl)) {
      body.from = from.path;
    } else {
      if (from.files.length > 1) {
        throw new Error(
          `${path.basename(from.path)} is one file of a ${from.files.length}-part split set, which moed references in place: run moed create on the daemon's machine (OLLAMA_HOST is ${ctx.client.baseUrl})`,
        );
      }
      body.files = { [path.basename(from.path)]: await uploadFile(ctx.client, from.path, progress) };
    }
    for await (const line of ctx.client.stream<{ status: string; digest?: string; total?: number; completed?: number }>('/api/create', body)) {
      progress.update(line);
    }
  } finally {
    progress.stop();
  }
  return 0;
}
