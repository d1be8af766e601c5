// Command-line options of `moed forge`.

import type { Deepseek2Shape, PresetName } from './config.js';
import type { ForgeOptions } from './forge.js';
import type { ForgeType } from './tensors.js';

export class ForgeUsageError extends Error {
  readonly code = 'FORGE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'ForgeUsageError';
  }
}

/** Shape overrides: --kebab-case flag -> Deepseek2Shape field. */
const SHAPE_FLAGS: Readonly<Record<string, keyof Deepseek2Shape>> = {
  'leading-dense': 'leadingDense',
  hidden: 'hidden',
  'dense-ffn': 'denseFfn',
  heads: 'heads',
  'q-lora-rank': 'qLoraRank',
  'kv-lora-rank': 'kvLoraRank',
  'rope-dim': 'ropeDim',
  'nope-dim': 'nopeDim',
  'v-dim': 'vDim',
  experts: 'experts',
  'experts-used': 'expertsUsed',
  'expert-ffn': 'expertFfn',
  'shared-experts': 'sharedExperts',
  'expert-groups': 'expertGroups',
  'expert-groups-used': 'expertGroupsUsed',
  vocab: 'vocab',
  'context-length': 'contextLength',
  'yarn-factor': 'yarnFactor',
  'yarn-original-context': 'yarnOriginalContext',
};

export const FORGE_USAGE = `Usage: moed forge -o FILE [options]

Writes a DeepSeek-V3/R1-shaped GGUF (llama.cpp architecture deepseek2) with random weights.

  -o, --output FILE     the file to write (required)
  --preset NAME         tiny (a few MB, default), small (tens of MB), r1 (full R1 width)
  --blocks N            number of blocks (26 and 27 are refused: llama.cpp reads them as V2-Lite)
  --type TYPE           q4_k_m (default, llama-quantize's layout), f16 or f32
  --seed N              random seed (default 0); the same options give the same bytes
  --router KIND         random (default: tokens spread over the experts) or fixed (each layer
                        always picks the same experts: routing immune to rounding, for checking
                        that two devices compute the same function)
  --name TEXT           general.name
  -h, --help            this text

Shape overrides: ${Object.keys(SHAPE_FLAGS)
  .map((f) => `--${f}`)
  .join(', ')}
`;

const PRESETS: readonly PresetName[] = ['tiny', 'small', 'r1'];
const TYPES: readonly ForgeType[] = ['q4_k_m', 'f16', 'f32'];

function integer(flag: string, value: string, allowFraction = false): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (!allowFraction && !Number.isInteger(n))) {
    throw new ForgeUsageError(`${flag} needs a non-negative ${allowFraction ? 'number' : 'integer'}, got '${value}'`);
  }
  return n;
}

/**
 * Parses `moed forge` arguments into forgeDeepseek2() options. Returns undefined after printing
 * the usage for -h/--help. Throws ForgeUsageError (code FORGE_USAGE) for bad arguments.
 */
export function parseForgeArgs(argv: readonly string[], print: (text: string) => void = console.log): ForgeOptions | undefined {
  const shape: Partial<Deepseek2Shape> = {};
  const opts: Partial<ForgeOptions> = {};
  const positional: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      print(FORGE_USAGE);
      return undefined;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined) throw new ForgeUsageError(`${flag} needs a value`);
      i++;
      return next;
    };
    const name = flag.replace(/^--?/, '');
    switch (flag) {
      case '-o':
      case '--output':
        opts.path = value();
        break;
      case '--preset': {
        const v = value();
        if (!PRESETS.includes(v as PresetName)) throw new ForgeUsageError(`--preset must be one of ${PRESETS.join(', ')}, got '${v}'`);
        opts.preset = v as PresetName;
        break;
      }
      case '--type': {
        const v = value().toLowerCase();
        if (!TYPES.includes(v as ForgeType)) throw new ForgeUsageError(`--type must be one of ${TYPES.join(', ')}, got '${v}'`);
        opts.type = v as ForgeType;
        break;
      }
      case '--blocks':
        opts.blocks = integer(flag, value());
        break;
      case '--seed':
        opts.seed = integer(flag, value());
        break;
      case '--name':
        opts.name = value();
        break;
      case '--router': {
        const v = value();
        if (v !== 'random' && v !== 'fixed') throw new ForgeUsageError(`--router must be random or fixed, got '${v}'`);
        opts.router = v;
        break;
      }
      default: {
        const field = flag.startsWith('--') ? SHAPE_FLAGS[name] : undefined;
        if (!field) throw new ForgeUsageError(`unknown option '${flag}' (see moed forge --help)`);
        shape[field] = integer(flag, value(), field === 'yarnFactor');
      }
    }
  }

  if (positional.length > 1 || (positional.length === 1 && opts.path !== undefined)) {
    throw new ForgeUsageError(`unexpected argument '${positional[positional.length - 1]}'`);
  }
  const path = opts.path ?? positional[0];
  if (!path) throw new ForgeUsageError('missing the output file (-o FILE)');
  const result: ForgeOptions = { ...opts, path };
  if (Object.keys(shape).length > 0) result.shape = shape;
  return result;
}
