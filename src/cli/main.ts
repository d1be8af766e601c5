#!/usr/bin/env node
// moed's command line, shaped as the ollama CLI: the same commands, flags, output and messages.
// Every command but `serve` and `forge` talks to the daemon over HTTP at OLLAMA_HOST, and first
// checks that it answers (HEAD /), saying so plainly when it does not.
import { moedSwitches } from '../config/env.js';
import { ConnectError } from '../client/http.js';
import { VERSION } from '../version.js';
import { commandHelp, parseArgs, UsageError, type CommandSpec, type Parsed } from './args.js';
import { defaultCtx, type Ctx } from './context.js';
import { createCommand, createSpec } from './create.js';
import {
  cpCommand,
  cpSpec,
  listCommand,
  listSpec,
  psCommand,
  psSpec,
  pullCommand,
  pullSpec,
  pushCommand,
  pushSpec,
  rmCommand,
  rmSpec,
  stopCommand,
  stopSpec,
} from './models.js';
import { runCommand, runSpec } from './run.js';
import { serveSpec } from './serve-spec.js';
import { showCommand, showSpec } from './show.js';

interface Command {
  spec: CommandSpec;
  run: (p: Parsed, ctx: Ctx) => Promise<number>;
  /** Talks to the daemon: checked with HEAD / first. */
  daemon: boolean;
}

const forgeSpec: CommandSpec = {
  name: 'forge',
  usage: 'forge -o FILE [options]',
  short: 'Write a synthetic DeepSeek-V3/R1-shaped GGUF (random weights) for tests and demos',
  args: { min: 0 },
  flags: [],
};

const COMMANDS: Command[] = [
  { spec: serveSpec, run: (p) => serve(p), daemon: false },
  { spec: createSpec, run: createCommand, daemon: true },
  { spec: showSpec, run: showCommand, daemon: true },
  { spec: runSpec, run: runCommand, daemon: true },
  { spec: stopSpec, run: stopCommand, daemon: true },
  { spec: pullSpec, run: pullCommand, daemon: true },
  { spec: pushSpec, run: pushCommand, daemon: true },
  { spec: listSpec, run: listCommand, daemon: true },
  { spec: psSpec, run: psCommand, daemon: true },
  { spec: cpSpec, run: cpCommand, daemon: true },
  { spec: rmSpec, run: rmCommand, daemon: true },
  { spec: forgeSpec, run: async (p) => (await import('./forge.js')).forgeCommand(p.args), daemon: false },
];

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.spec.name === name || c.spec.aliases?.includes(name));
}

export const HELP = `moed ${VERSION}: an Ollama-compatible daemon for huge mixture-of-experts models

Usage:
  moed [flags]
  moed [command]

Available Commands:
${[...COMMANDS.map((c) => [c.spec.name, c.spec.short]), ['help', 'Help about any command']]
  .map(([n, s]) => `  ${n!.padEnd(10)}  ${s}`)
  .join('\n')}

Flags:
  -h, --help      help for moed
  -v, --version   Show version information

Use "moed [command] --help" for more information about a command.`;

/** The daemon's code is loaded only for `serve`: the client commands start faster without it. */
async function serve(p: Parsed): Promise<number> {
  const { readDaemonConfig } = await import('../config/env.js');
  const { serveCommand } = await import('./serve.js');
  const config = readDaemonConfig();
  try {
    return await serveCommand(config, p, moedSwitches().demo);
  } catch (e) {
    if ((e as { code?: string }).code === 'EADDRINUSE') {
      throw new Error(`listen tcp ${config.listen.host}:${config.listen.port}: bind: address already in use (is moed or ollama already running? set OLLAMA_HOST to use another address)`);
    }
    throw e;
  }
}

/** `moed -v`: the daemon's version, and the client's when they differ or no daemon answers. */
async function version(ctx: Ctx): Promise<number> {
  let server: string | undefined;
  try {
    server = (await ctx.client.json<{ version: string }>('GET', '/api/version')).version;
  } catch {
    console.log('Warning: could not connect to a running moed instance');
  }
  if (server) console.log(`moed version is ${server}`);
  if (server !== VERSION) console.log(`Warning: client version is ${VERSION}`);
  return 0;
}

export async function main(argv: string[], ctx: Ctx = defaultCtx()): Promise<number> {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    case '--version':
    case '-v':
      return version(ctx);
    case 'help': {
      const c = rest[0] ? find(rest[0]) : undefined;
      if (rest[0] && !c) throw new UsageError(`unknown help topic "${rest[0]}"`);
      console.log(c ? (c.spec.name === 'forge' ? (await import('../forge/index.js')).FORGE_USAGE : commandHelp(c.spec)) : HELP);
      return 0;
    }
  }
  const command = find(first);
  if (!command) {
    if (first.startsWith('-')) throw new UsageError(`unknown flag: ${first}`);
    throw new UsageError(`unknown command "${first}" for "moed"`);
  }
  if (command.spec.name === 'forge') return command.run({ flags: {}, args: rest, help: false }, ctx);
  const parsed = parseArgs(command.spec, rest);
  if (parsed.help) {
    console.log(commandHelp(command.spec));
    return 0;
  }
  if (command.daemon) await ctx.client.heartbeat();
  return command.run(parsed, ctx);
}

function report(e: unknown): number {
  const err = e as Error;
  if (err instanceof UsageError) {
    console.error(`Error: ${err.message}`);
    console.error(err.command ? `Run 'moed ${err.command} --help' for usage.` : `Run 'moed --help' for usage.`);
    return 1;
  }
  if (err instanceof ConnectError) {
    console.error(`Error: ${err.message}`);
    return 1;
  }
  console.error(`Error: ${err?.message ?? String(e)}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = report(e);
  },
);
