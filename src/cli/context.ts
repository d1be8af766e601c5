// What every command gets: the daemon client and the terminal's streams, so tests and commands
// agree on where output goes. Results go to stdout; progress, spinners and errors to stderr (as the
// ollama CLI does), except that without a terminal the progress of create/pull/push is printed as
// plain lines on stdout, where a script or a log can read it.
import { Client } from '../client/http.js';
import type { Output } from './progress.js';
import { TransferProgress } from './progress.js';

export interface Streams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  stdin: NodeJS.ReadStream;
}

export interface Ctx {
  client: Client;
  io: Streams;
}

export function defaultCtx(): Ctx {
  return { client: new Client(), io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin } };
}

export function println(out: Output, text = ''): void {
  out.write(`${text}\n`);
}

/** The progress display of create, pull and push. */
export function transferProgress(ctx: Ctx, opts: { skipZero?: boolean } = {}): TransferProgress {
  const tty = ctx.io.stderr.isTTY === true;
  return new TransferProgress(tty ? ctx.io.stderr : ctx.io.stdout, { tty, skipZero: opts.skipZero });
}
