// The rule file a model's `rules` parameter (or a request's options.rules) names, loaded for a
// create or a load, with its errors as the API reports them: 404 for a file that is not there,
// 400 with the YAML line for one that is wrong.
//
// A request can name any path on the daemon's machine, and a rule file's errors quote its values,
// so only what can be a rule file is read: a regular `.yaml`/`.yml` file of at most 1 MiB whose
// top level is a mapping with a `rules` or `match` key. Anything else is refused without quoting
// it: "/dev/zero" must not exhaust memory, and "/proc/self/environ" or "~/.ssh/config" must not
// come back in an error message.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MoedError } from '../errors/index.js';
import { DEFAULT_RULES_DIR, loadRuleFile, RuleFileError, type RuleFile } from '../placement/index.js';

/** No rule file is anywhere near this (the built-ins are a few KB). */
export const MAX_RULE_FILE_BYTES = 1024 * 1024;

const looksLikePath = (name: string) => /[\\/]/.test(name) || /\.ya?ml$/i.test(name);

/** Refuses, without quoting it, a file that cannot be a rule file. */
async function checkCandidate(name: string): Promise<void> {
  const file = path.resolve(name);
  if (!/\.ya?ml$/i.test(file)) throw new MoedError('RULES_INVALID', `rule file ${file} must be a .yaml or .yml file`);
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat) return; // loadRuleFile reports it as not found
  if (!stat.isFile()) throw new MoedError('RULES_INVALID', `rule file ${file} is not a regular file`);
  if (stat.size > MAX_RULE_FILE_BYTES) {
    throw new MoedError('RULES_INVALID', `rule file ${file} is ${stat.size} bytes; a rule file is at most ${MAX_RULE_FILE_BYTES}`);
  }
  let top: unknown;
  try {
    top = parseYaml(await fs.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EACCES' || code === 'EPERM') throw new MoedError('RULES_INVALID', `rule file ${file} cannot be read (${code})`);
    return; // not valid YAML: loadRuleFile names the line
  }
  const keys = top !== null && typeof top === 'object' && !Array.isArray(top) ? Object.keys(top) : [];
  if (!keys.includes('rules') && !keys.includes('match')) {
    throw new MoedError('RULES_INVALID', `${file} is not a rule file: it has no "match" or "rules" key at the top`);
  }
}

export async function loadRules(name: string): Promise<RuleFile> {
  if (name.includes('\0')) throw new MoedError('RULES_NOT_FOUND', `rule file ${JSON.stringify(name)} not found`);
  const isPath = looksLikePath(name);
  if (isPath) await checkCandidate(name);
  try {
    // A bare name is a built-in one: it must not fall back to a file of that name in the
    // daemon's working folder (so the fallback is pointed at the built-ins' folder).
    return await loadRuleFile(name, isPath ? {} : { baseDir: DEFAULT_RULES_DIR });
  } catch (e) {
    if (e instanceof RuleFileError) {
      throw new MoedError(e.code === 'RULES_NOT_FOUND' ? 'RULES_NOT_FOUND' : 'RULES_INVALID', e.message, { cause: e });
    }
    const code = (e as { code?: string }).code;
    if (code === 'EACCES' || code === 'EPERM') throw new MoedError('RULES_INVALID', `rule file "${name}" cannot be read (${code})`);
    throw e;
  }
}
