// `moed show MODEL`: the summary `ollama show` prints (Model, Capabilities, Parameters, System,
// License; -v adds Metadata and Tensors), one part alone with --modelfile, --parameters,
// --template, --system or --license, and moed's placement plan with --plan.
import type { ShowResponse } from '../api/types.js';
import type { CommandSpec, Parsed } from './args.js';
import type { Ctx } from './context.js';
import { humanNumber, table } from './format.js';

export const showSpec: CommandSpec = {
  name: 'show',
  usage: 'show MODEL',
  short: 'Show information for a model',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'license', type: 'bool', help: 'Show license of a model' },
    { name: 'modelfile', type: 'bool', help: 'Show Modelfile of a model' },
    { name: 'parameters', type: 'bool', help: 'Show parameters of a model' },
    { name: 'template', type: 'bool', help: 'Show template of a model' },
    { name: 'system', type: 'bool', help: 'Show system message of a model' },
    { name: 'plan', type: 'bool', help: 'Show the placement plan: which tensors go to which device, and whether it fits' },
    { name: 'verbose', short: 'v', type: 'bool', help: 'Show detailed model information' },
  ],
};

/** Go's fmt %v of a JSON value, as ollama prints metadata. */
function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'number') return goG(v);
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'object') return 'map';
  return String(v);
}

/** Go's %v of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6 ("6.710264192e+11"). */
export function goG(n: number): string {
  if (n === 0) return '0';
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  const [mantissa, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return String(n);
}

/** A long list shortened as ollama shortens it: "[a b ...+N more]". */
function shortList(items: unknown[]): string {
  const target = 10;
  let shown = 0;
  let width = 1;
  for (let i = 0; i < items.length; i++) {
    const w = goValue(items[i]).length + (i > 0 ? 2 : 0);
    if (width + w > target && i > 0) break;
    width += w;
    shown++;
  }
  if (shown < items.length) return `[${items.slice(0, shown).map(goValue).join(' ')} ...+${items.length - shown} more]`;
  return goValue(items);
}

/** The first `n` non-empty lines of a text, then "..." if there were more. */
function head(text: string, n: number): string[][] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const rows = lines.slice(0, n).map((l) => ['', l]);
  if (lines.length > n) rows.push(['', '...']);
  return rows;
}

/** ollama's showInfo: sections of indented two-column tables. */
export function formatShowInfo(resp: ShowResponse, verbose: boolean): string {
  const out: string[] = [];
  const section = (title: string, rows: string[][]) => {
    out.push(`  ${title}`);
    if (rows.length) out.push(table(undefined, rows));
    out.push('');
  };
  const info = resp.model_info;
  const model: string[][] = [];
  if (info) {
    const arch = typeof info['general.architecture'] === 'string' ? (info['general.architecture'] as string) : '';
    if (arch) model.push(['', 'architecture', arch]);
    let params = resp.details?.parameter_size ?? '';
    if (!params && typeof info['general.parameter_count'] === 'number') params = humanNumber(info['general.parameter_count'] as number);
    if (params) model.push(['', 'parameters', params]);
    const ctxLen = info[`${arch}.context_length`];
    if (typeof ctxLen === 'number') model.push(['', 'context length', String(ctxLen)]);
    const embLen = info[`${arch}.embedding_length`];
    if (typeof embLen === 'number') model.push(['', 'embedding length', String(embLen)]);
  } else {
    model.push(['', 'architecture', resp.details?.family ?? '']);
    model.push(['', 'parameters', resp.details?.parameter_size ?? '']);
  }
  model.push(['', 'quantization', resp.details?.quantization_level ?? '']);
  if (resp.requires) model.push(['', 'requires', resp.requires]);
  section('Model', model);

  if (resp.capabilities?.length) section('Capabilities', resp.capabilities.map((c) => ['', c]));
  if (resp.parameters) {
    section(
      'Parameters',
      resp.parameters
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          // "stop                           \"<|end|>\"": the name, then the value as written.
          const m = /^(\S+)\s+(.*)$/.exec(l);
          return m ? ['', m[1]!, m[2]!] : ['', l];
        }),
    );
  }
  if (info && verbose) {
    section(
      'Metadata',
      Object.keys(info)
        .sort()
        .map((k) => {
          const v = info[k];
          return ['', k, Array.isArray(v) ? shortList(v) : goValue(v)];
        }),
    );
  }
  if (resp.tensors?.length && verbose) {
    section('Tensors', resp.tensors.map((t) => ['', t.name, t.type, `[${t.shape.join(' ')}]`]));
  }
  if (resp.system) section('System', head(resp.system, 2));
  if (resp.license) section('License', head(resp.license, 2));
  return out.join('\n');
}

/** What `--plan` prints: the daemon's table text when it sends one, else the plan as JSON. */
export function formatPlan(plan: unknown): string {
  if (typeof plan === 'string') return plan;
  if (plan && typeof plan === 'object') {
    const text = (plan as { text?: unknown; table?: unknown }).text ?? (plan as { table?: unknown }).table;
    if (typeof text === 'string') return text;
  }
  return JSON.stringify(plan, null, 2);
}

export async function showCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const name = p.args[0]!;
  const only = (['license', 'modelfile', 'parameters', 'system', 'template', 'plan'] as const).filter((f) => p.flags[f] === true);
  if (only.length > 1) {
    throw new Error("only one of '--license', '--modelfile', '--parameters', '--system', '--template' or '--plan' can be specified");
  }
  const verbose = p.flags.verbose === true;
  const resp = await ctx.client.json<ShowResponse>('POST', '/api/show', { model: name, verbose });
  const out = ctx.io.stdout;
  switch (only[0]) {
    case 'license':
      out.write(`${resp.license ?? ''}\n`);
      return 0;
    case 'modelfile':
      out.write(`${resp.modelfile ?? ''}\n`);
      return 0;
    case 'parameters':
      out.write(`${resp.parameters ?? ''}\n`);
      return 0;
    case 'system':
      out.write(resp.system ?? '');
      return 0;
    case 'template':
      out.write(resp.template ?? '');
      return 0;
    case 'plan':
      if (resp.plan === undefined) {
        throw new Error(`the daemon at ${ctx.client.baseUrl} did not return a placement plan for ${name} (this daemon does not plan placements yet)`);
      }
      out.write(`${formatPlan(resp.plan)}\n`);
      return 0;
  }
  out.write(formatShowInfo(resp, verbose));
  out.write('\n');
  return 0;
}
