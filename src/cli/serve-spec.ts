// The help and flags of `moed serve`, apart from the daemon's code so the client commands load fast.
import type { CommandSpec } from './args.js';

export const serveSpec: CommandSpec = {
  name: 'serve',
  aliases: ['start'],
  usage: 'serve',
  short: 'Start moed',
  long: 'Start the moed daemon on OLLAMA_HOST; it runs until Ctrl-C (SIGINT) or SIGTERM.',
  args: { min: 0, max: 0 },
  flags: [{ name: 'demo', type: 'bool', help: 'When the store is empty, forge and register a tiny demo model (random weights)' }],
  env: [
    ['OLLAMA_HOST', 'IP Address for the moed server (default 127.0.0.1:11434)'],
    ['OLLAMA_MODELS', 'The path to the models directory (default ~/.moed/models)'],
    ['OLLAMA_KEEP_ALIVE', 'The duration that models stay loaded in memory (default "5m")'],
    ['OLLAMA_NUM_PARALLEL', 'Maximum number of parallel requests per model (default 4)'],
    ['OLLAMA_MAX_QUEUE', 'Maximum number of queued requests (default 512)'],
    ['OLLAMA_MAX_LOADED_MODELS', 'Maximum number of loaded models (default 3)'],
    ['OLLAMA_CONTEXT_LENGTH', 'Context length to use unless otherwise specified (default 4096)'],
    ['OLLAMA_LOAD_TIMEOUT', 'How long to allow model loads to stall before giving up (default "5m")'],
    ['OLLAMA_ORIGINS', 'A comma separated list of allowed origins'],
    ['OLLAMA_DEBUG', 'Show additional debug information (e.g. OLLAMA_DEBUG=1)'],
    ['MOED_ENGINE_LOG', "Show llama.cpp's log from the runners (MOED_ENGINE_LOG=1)"],
    ['MOED_API_KEY', 'Require "Authorization: Bearer <key>" on every route but GET / (unset: no key needed)'],
    ['MOED_DEMO', 'Same as --demo (MOED_DEMO=1)'],
  ],
};
