// `moed list`: the columns of `ollama list`.
import type { ListModelResponse } from '../api/types.js';
import { Client } from '../client/http.js';
import { humanBytes, humanSince, table } from './format.js';

export async function listCommand(): Promise<number> {
  const { models } = await new Client().json<{ models: ListModelResponse[] }>('GET', '/api/tags');
  const rows = models.map((m) => [m.name, m.digest.slice(0, 12), humanBytes(m.size), humanSince(new Date(m.modified_at))]);
  console.log(table(['NAME', 'ID', 'SIZE', 'MODIFIED'], rows));
  return 0;
}
