// Placement for a model about to load: its GGUF header, the rule file (the one named by the
// `rules` parameter, else the first built-in that matches), the engine's devices with their free
// memory, and the planner. A plan that does not fit is refused here, before any load, with the plan.
import type { Options } from '../config/options.js';
import type { DeviceSource } from '../engine/devices.js';
import { MoedError } from '../errors/index.js';
import { GgufError, readGgufSplitSet, type GgufSplitSet } from '../gguf/index.js';
import {
  loadRuleFile,
  planPlacement,
  PlanDoesNotFitError,
  RuleFileError,
  selectRuleFile,
  type Plan,
  type RuleFile,
} from '../placement/index.js';
import type { StoredModel } from '../store/store.js';

export class PlacementService {
  private readonly headers = new Map<string, { stamp: string; header: Promise<GgufSplitSet> }>();

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

  private async rules(name: string | undefined, header: GgufSplitSet): Promise<RuleFile> {
    try {
      return name ? await loadRuleFile(name) : await selectRuleFile(header.metadata);
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
