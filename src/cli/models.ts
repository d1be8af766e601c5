// Model management commands, each printing what its ollama counterpart prints: list, ps, rm, cp,
// stop, pull and push.
import { ApiError } from '../client/http.js';
import type { CommandSpec, Parsed } from './args.js';
import { transferProgress, type Ctx } from './context.js';
import { humanBytes, humanTime, table } from './format.js';

interface ListModel {
  name: string;
  digest: string;
  size: number;
  modified_at: string;
}

interface RunningModel {
  name: string;
  digest: string;
  size: number;
  size_vram: number;
  expires_at: string;
  context_length?: number;
}

export const listSpec: CommandSpec = {
  name: 'list',
  aliases: ['ls'],
  usage: 'list [PREFIX]',
  short: 'List models',
  args: { min: 0, max: 1 },
  flags: [],
};

export async function listCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const { models } = await ctx.client.json<{ models: ListModel[] }>('GET', '/api/tags');
  const prefix = p.args[0]?.toLowerCase();
  const rows = models
    .filter((m) => !prefix || m.name.toLowerCase().startsWith(prefix))
    .map((m) => [m.name, m.digest.slice(0, 12), humanBytes(m.size), humanTime(new Date(m.modified_at), 'Never')]);
  ctx.io.stdout.write(`${table(['NAME', 'ID', 'SIZE', 'MODIFIED'], rows)}\n`);
  return 0;
}

export const psSpec: CommandSpec = {
  name: 'ps',
  usage: 'ps [PREFIX]',
  short: 'List running models',
  args: { min: 0, max: 1 },
  flags: [],
};

/** ollama ps's PROCESSOR column: where the model's bytes are. */
export function processorText(size: number, vram: number): string {
  if (vram === 0) return '100% CPU';
  if (vram === size) return '100% GPU';
  if (vram > size || size === 0) return 'Unknown';
  const cpu = Math.round(((size - vram) / size) * 100);
  return `${cpu}%/${100 - cpu}% CPU/GPU`;
}

export function untilText(expiresAt: string, now = new Date()): string {
  const t = new Date(expiresAt);
  if (now.getTime() - t.getTime() > 0 && t.getUTCFullYear() > 1) return 'Stopping...';
  return humanTime(t, 'Never', now);
}

export async function psCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const { models } = await ctx.client.json<{ models: RunningModel[] }>('GET', '/api/ps');
  const prefix = p.args[0];
  const rows = models
    .filter((m) => !prefix || m.name.startsWith(prefix))
    .map((m) => [
      m.name,
      m.digest.slice(0, 12),
      humanBytes(m.size),
      processorText(m.size, m.size_vram),
      String(m.context_length ?? ''),
      untilText(m.expires_at),
    ]);
  ctx.io.stdout.write(`${table(['NAME', 'ID', 'SIZE', 'PROCESSOR', 'CONTEXT', 'UNTIL'], rows)}\n`);
  return 0;
}

export const rmSpec: CommandSpec = {
  name: 'rm',
  usage: 'rm MODEL [MODEL...]',
  short: 'Remove a model',
  args: { min: 1 },
  flags: [],
};

export async function rmCommand(p: Parsed, ctx: Ctx): Promise<number> {
  for (const model of p.args) {
    // The daemon unloads a model it deletes; nothing to stop first.
    await ctx.client.json('DELETE', '/api/delete', { model });
    ctx.io.stdout.write(`deleted '${model}'\n`);
  }
  return 0;
}

export const cpSpec: CommandSpec = {
  name: 'cp',
  usage: 'cp SOURCE DESTINATION',
  short: 'Copy a model',
  args: { min: 2, max: 2 },
  flags: [],
};

export async function cpCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const [source, destination] = p.args as [string, string];
  await ctx.client.json('POST', '/api/copy', { source, destination });
  ctx.io.stdout.write(`copied '${source}' to '${destination}'\n`);
  return 0;
}

export const stopSpec: CommandSpec = {
  name: 'stop',
  usage: 'stop MODEL',
  short: 'Stop a running model',
  args: { min: 1, max: 1 },
  flags: [],
};

export async function stopCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const model = p.args[0]!;
  try {
    await ctx.client.json('POST', '/api/generate', { model, prompt: '', keep_alive: 0 });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || /not found/i.test(e.message))) {
      throw new Error(`couldn't find model "${model}" to stop`);
    }
    throw e;
  }
  return 0;
}

const insecureFlag = { name: 'insecure', type: 'bool' as const, help: 'Use an insecure registry (plain http)' };

export const pullSpec: CommandSpec = {
  name: 'pull',
  usage: 'pull MODEL',
  short: 'Pull a model from a registry',
  args: { min: 1, max: 1 },
  flags: [insecureFlag],
};

/** Pulls with progress (also what `run` does for a model that is not here). */
export async function pull(ctx: Ctx, model: string, insecure: boolean): Promise<void> {
  const progress = transferProgress(ctx, { skipZero: true });
  try {
    for await (const line of ctx.client.stream<{ status: string; digest?: string; total?: number; completed?: number }>('/api/pull', {
      model,
      insecure: insecure || undefined,
      stream: true,
    })) {
      progress.update(line);
    }
  } finally {
    progress.stop();
  }
}

export async function pullCommand(p: Parsed, ctx: Ctx): Promise<number> {
  await pull(ctx, p.args[0]!, p.flags.insecure === true);
  return 0;
}

export const pushSpec: CommandSpec = {
  name: 'push',
  usage: 'push MODEL',
  short: 'Push a model to a registry',
  long: 'Push a model to a registry. The name says where: host[:port]/namespace/model[:tag].',
  args: { min: 1, max: 1 },
  flags: [insecureFlag],
};

export async function pushCommand(p: Parsed, ctx: Ctx): Promise<number> {
  const model = p.args[0]!;
  const progress = transferProgress(ctx);
  try {
    for await (const line of ctx.client.stream<{ status: string; digest?: string; total?: number; completed?: number }>('/api/push', {
      model,
      insecure: p.flags.insecure === true || undefined,
      stream: true,
    })) {
      progress.update(line);
    }
  } catch (e) {
    const text = (e as Error).message.toLowerCase();
    if (text.includes('access denied') || text.includes('unauthorized')) {
      throw new Error('you are not authorized to push to this namespace, create the model under a namespace you own');
    }
    throw e;
  } finally {
    progress.stop();
  }
  ctx.io.stdout.write(`\nYou can find your model at:\n\n\t${model}\n`);
  return 0;
}
