// GET /v1/models and GET /v1/models/:model (reference OA8, OA9): Ollama's model list entries as
// OpenAI model objects. An empty list is `[]` (Ollama answers null).
import type { ListModelResponse } from '../api/types.js';
import { unixSeconds } from './decode.js';
import type { Model, ModelList } from './types.js';

/**
 * The namespace of a model name (`[host/][namespace/]model[:tag]`): `library` for official
 * models, the user or organisation otherwise.
 */
export function ownedBy(name: string): string {
  const parts = name.split(':')[0]!.split('/');
  if (parts.length >= 3) return parts[parts.length - 2]!;
  if (parts.length === 2) return parts[0]!;
  return 'library';
}

/** One model; `id` is the name as the client asked for it (retrieve) or as listed. */
export function toModel(id: string, modifiedAt: Date | string): Model {
  return { id, object: 'model', created: unixSeconds(modifiedAt), owned_by: ownedBy(id) };
}

export function toModelList(models: ListModelResponse[]): ModelList {
  return { object: 'list', data: models.map((m) => toModel(m.name, m.modified_at)) };
}
