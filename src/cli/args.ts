// Command-line parsing as the ollama CLI (cobra) does it: flags anywhere among the arguments,
// `--flag value`, `--flag=value`, `-f value`, boolean flags with an optional `=false`, a flag with
// an optional value (`--think`, `--think=high`), `--` to end the flags, and cobra's error texts.

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'bool' | 'string';
  help: string;
  /** Value of a string flag given without `=value` (cobra's NoOptDefVal). */
  noValue?: string;
  /** Shown in help after the flag name, for string flags ("string", "duration"). */
  valueName?: string;
  hidden?: boolean;
}

export interface CommandSpec {
  name: string;
  aliases?: string[];
  /** "run MODEL [PROMPT]" */
  usage: string;
  short: string;
  long?: string;
  /** Positional argument count: exact, or a minimum (cobra's ExactArgs / MinimumNArgs / RangeArgs). */
  args: { min: number; max?: number };
  flags: FlagSpec[];
  /** Environment variables listed under the help. */
  env?: [string, string][];
  examples?: string[];
}

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Parsed {
  flags: Record<string, string | boolean>;
  args: string[];
  help: boolean;
}

const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', type: 'bool', help: 'help for this command' };

function parseBool(flag: string, value: string): boolean {
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new UsageError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parsed {
  try {
    return parse(spec, argv);
  } catch (e) {
    if (e instanceof UsageError && !e.command) throw new UsageError(e.message, spec.name);
    throw e;
  }
}

function parse(spec: CommandSpec, argv: readonly string[]): Parsed {
  const flags: Record<string, string | boolean> = {};
  const args: string[] = [];
  const all = [...spec.flags, HELP_FLAG];
  const byName = new Map(all.map((f) => [f.name, f]));
  const byShort = new Map(all.filter((f) => f.short).map((f) => [f.short!, f]));
  let help = false;

  const set = (f: FlagSpec, shown: string, value: string | undefined, next: () => string | undefined) => {
    if (f.name === 'help') {
      help = value === undefined ? true : parseBool(shown, value);
      return;
    }
    if (f.type === 'bool') {
      flags[f.name] = value === undefined ? true : parseBool(shown, value);
      return;
    }
    if (value !== undefined) {
      flags[f.name] = value;
      return;
    }
    if (f.noValue !== undefined) {
      flags[f.name] = f.noValue;
      return;
    }
    const v = next();
    if (v === undefined) throw new UsageError(`flag needs an argument: ${shown}`);
    flags[f.name] = v;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => (i + 1 < argv.length ? argv[++i] : undefined);
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      const f = byName.get(name);
      if (!f) throw new UsageError(`unknown flag: --${name}`);
      set(f, `--${name}`, eq >= 0 ? a.slice(eq + 1) : undefined, next);
    } else if (a.startsWith('-') && a.length > 1 && a !== '-') {
      // -f value, -f=value, -fvalue, and grouped booleans (-hv)
      let j = 1;
      while (j < a.length) {
        const c = a[j]!;
        const f = byShort.get(c);
        if (!f) throw new UsageError(`unknown shorthand flag: '${c}' in ${a}`);
        const rest = a.slice(j + 1);
        if (f.type === 'string' && f.noValue === undefined) {
          set(f, `-${c}`, rest === '' ? undefined : rest.replace(/^=/, ''), next);
          break;
        }
        if (rest.startsWith('=')) {
          set(f, `-${c}`, rest.slice(1), next);
          break;
        }
        set(f, `-${c}`, undefined, next);
        j++;
      }
    } else {
      args.push(a);
    }
  }
  if (help) return { flags, args, help };
  const { min, max } = spec.args;
  if (max === min && args.length !== min) {
    throw new UsageError(`accepts ${min} arg(s), received ${args.length}`, spec.name);
  }
  if (args.length < min) throw new UsageError(`requires at least ${min} arg(s), only received ${args.length}`, spec.name);
  if (max !== undefined && args.length > max) {
    throw new UsageError(`accepts between ${min} and ${max} arg(s), received ${args.length}`, spec.name);
  }
  return { flags, args, help };
}

/** `moed COMMAND --help`, laid out as cobra lays it out. */
export function commandHelp(spec: CommandSpec, program = 'moed'): string {
  const out: string[] = [spec.long ?? spec.short, '', 'Usage:', `  ${program} ${spec.usage}${spec.flags.length ? ' [flags]' : ''}`];
  if (spec.aliases?.length) out.push('', 'Aliases:', `  ${[spec.name, ...spec.aliases].join(', ')}`);
  if (spec.examples?.length) out.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  const flags = [...spec.flags.filter((f) => !f.hidden), { ...HELP_FLAG, help: `help for ${spec.name}` }];
  const left = flags.map((f) => {
    const short = f.short ? `-${f.short}, ` : '    ';
    let name = `--${f.name}`;
    if (f.type === 'string') name += f.noValue !== undefined ? ` ${f.valueName ?? 'string'}[="${f.noValue}"]` : ` ${f.valueName ?? 'string'}`;
    return `  ${short}${name}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  out.push('', 'Flags:', ...flags.map((f, i) => `${left[i]!.padEnd(width)}${f.help}`));
  if (spec.env?.length) {
    out.push('', 'Environment Variables:');
    const w = Math.max(...spec.env.map(([n]) => n.length)) + 3;
    for (const [name, desc] of spec.env) out.push(`      ${name.padEnd(w)}${desc}`);
  }
  return out.join('\n');
}
