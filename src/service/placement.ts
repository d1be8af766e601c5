// Placement for a model about to load: its GGUF header, the rule file (the one named by the
// `rules` parameter, else the first built-in that matches), the engine's devices with their free
// memory, and the planner. A plan that does not fit is refused here, before any load, with the plan.
// The file is checked again first (gguf-checks.ts): a GGUF referenced in place may have been
// replaced since it was created, and a bad one must be refused here, not abort a runner.
import { promises as fs } from 'node:fs';
import type { Options } from '../config/options.js';
import type { DeviceSource } from '../engine/devices.js';
import { MoedError } from '../errors/index.js';
import { GgufError, readGgufHeader, readGgufSplitSet, type GgufSplitSet } from '../gguf/index.js';
import { checkLoadable } from './gguf-checks.js';
import { loadRules } from './rule-files.js';
import {
  planPlacement,
  PlanDoesNotFitError,
  RuleFileError,
  selectRuleFile,
  type Plan,
  type RuleFile,
} from '../placement/index.js';
import { checkModelFiles, type StoredModel } from '../store/store.js';

export class PlacementService {
  private readonly headers = new Map<string, { stamp: string; header: Promise<GgufSplitSet> }>();
  /** Verdicts of checkLoadable, per file version (the token list is not kept). */
  private readonly verdicts = new Map<string, { stamp: string; verdict: Promise<void> }>();

  constructor(
    private readonly devices: DeviceSource,
    private readonly numParallel: number,
  ) {}

  /** The header of the model's first file, read once per file version. */
  private header(model: StoredModel): Promise<GgufSplitSet> {
    const first = model.modelFiles[0]!;
    const stamp = model.modelFiles.map((f) => `${f.path}:${f.size}:${f.mtimeMs}`).join('|');
    const hit = this.headers.get(first.path);
    if (hit && hit.stamp === stamp) return hit.header;
    const header = readGgufSplitSet(first.path, { maxArrayLength: 0 }).catch((e) => {
      this.headers.delete(first.path);
      if (e instanceof GgufError) throw new MoedError('INVALID_GGUF', `${first.path} is not a usable GGUF file: ${e.message}`, { cause: e });
      throw e;
    });
    this.headers.set(first.path, { stamp, header });
    return header;
  }

  /**
   * checkLoadable on the first file (it holds all the metadata), once per version of the file on
   * disk (its size and mtime now, not as recorded: a file replaced in place is checked again).
   */
  private async checked(model: StoredModel): Promise<void> {
    await checkModelFiles(model);
    const first = model.modelFiles[0]!;
    const now = await fs.stat(first.path);
    const stamp = `${now.size}:${now.mtimeMs}`;
    const hit = this.verdicts.get(first.path);
    if (hit && hit.stamp === stamp) return hit.verdict;
    const verdict = readGgufHeader(first.path).then(
      (h) => checkLoadable(h.metadata, first.path),
      (e) => {
        if (e instanceof GgufError) throw new MoedError('INVALID_GGUF', `${first.path} is not a usable GGUF file: ${e.message}`, { cause: e });
        throw e;
      },
    );
    // A failure is not cached: the file may be fixed in place.
    verdict.catch(() => this.verdicts.delete(first.path));
    this.verdicts.set(first.path, { stamp, verdict });
    return verdict;
  }

  private async rules(name: string | undefined, header: GgufSplitSet): Promise<RuleFile> {
    if (name) return loadRules(name);
    try {
      return await selectRuleFile(header.metadata);
    } catch (e) {
      if (e instanceof RuleFileError) {
        throw new MoedError(e.code === 'RULES_NOT_FOUND' ? 'RULES_NOT_FOUND' : 'RULES_INVALID', e.message, { cause: e });
      }
      throw e;
    }
  }

  /**
   * The plan under these options. With `throwIfDoesNotFit` (loading), a plan that does not fit
   * fails with PLAN_DOES_NOT_FIT and the plan's table in the message; `moed show --plan` passes false.
   */
  async plan(model: StoredModel, options: Options, throwIfDoesNotFit = true): Promise<Plan> {
    await this.checked(model);
    const header = await this.header(model);
    const [rules, all] = await Promise.all([this.rules(options.rules, header), this.devices()]);
    // num_gpu 0 keeps the whole model off the GPUs, as in Ollama; other values are for llama.cpp's
    // layer split, which the rule files replace.
    const devices = options.num_gpu === 0 ? all.filter((d) => d.type === 'cpu') : all;
    try {
      return planPlacement({
        model: header,
        rules,
        devices,
        numCtx: Math.max(256, options.num_ctx),
        numParallel: this.numParallel,
        throwIfDoesNotFit,
      });
    } catch (e) {
      if (e instanceof PlanDoesNotFitError) throw new MoedError('PLAN_DOES_NOT_FIT', e.message, { cause: e });
      throw e;
    }
  }
}
