#!/usr/bin/env node
// moed's command line. Every command but `serve` and `forge` talks to the daemon over HTTP at
// OLLAMA_HOST, as the ollama CLI does.
import { readDaemonConfig } from '../config/env.js';
import { VERSION } from '../version.js';
import { createCommand } from './create.js';
import { forgeCommand } from './forge.js';
import { listCommand } from './list.js';
import { serveCommand } from './serve.js';

const HELP = `moed ${VERSION}: an Ollama-compatible daemon for huge mixture-of-experts models

Usage: moed COMMAND [ARGS]

Commands:
  serve [--demo]            Start the daemon on OLLAMA_HOST (default 127.0.0.1:11434);
                            --demo forges and registers a tiny demo model when the store is empty
  create NAME -f FILE       Create a model from a Modelfile (FROM may name a local GGUF)
  list, ls                  List models
  forge [options]           Write a synthetic DeepSeek-V3/R1-shaped GGUF (see moed forge --help)
  --version, -v             Show the version
  --help, -h                Show this help

Environment: OLLAMA_HOST, OLLAMA_MODELS, OLLAMA_KEEP_ALIVE, OLLAMA_NUM_PARALLEL,
OLLAMA_MAX_QUEUE, OLLAMA_MAX_LOADED_MODELS, OLLAMA_CONTEXT_LENGTH, OLLAMA_ORIGINS`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(HELP);
      return 0;
    case '--version':
    case '-v':
      console.log(`moed version is ${VERSION}`);
      return 0;
    case 'serve':
    case 'start':
      return serveCommand(readDaemonConfig(), args);
    case 'create':
      return createCommand(args);
    case 'list':
    case 'ls':
      return listCommand();
    case 'forge':
      return forgeCommand(args);
    default:
      console.error(`Error: unknown command "${command}" for "moed"\n\n${HELP}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    console.error(`Error: ${e.message}`);
    process.exitCode = 1;
  },
);
