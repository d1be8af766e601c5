// The placement plan as /api/show carries it (moed's own `plan` field): per device and per rule
// totals, notes, and the same table `moed show --plan` prints. Per-tensor rows are left out: R1
// has over a thousand tensors.
import type { DaemonConfig } from '../config/env.js';
import { mergeOptions } from '../config/options.js';
import { formatPlanTable } from '../placement/index.js';
import type { StoredModel } from '../store/store.js';
import type { PlacementService } from './placement.js';

export async function showPlan(
  placement: PlacementService,
  config: DaemonConfig,
  model: StoredModel,
  requestOptions: Record<string, unknown> | null | undefined,
): Promise<unknown> {
  const options = mergeOptions(config.contextLength, model.parameters, requestOptions);
  const plan = await placement.plan(model, options, false);
  return {
    rule_file: plan.ruleFile.name,
    fits: plan.fits,
    devices: plan.devices.map((d) => ({
      device: d.device,
      weights: d.weights,
      kv: d.kv,
      compute: d.compute,
      total: d.total,
      free: d.free,
      fits: d.fits,
    })),
    rules: plan.rules.map((r) => ({ name: r.name, device: r.device, tensors: r.matched, bytes: r.bytes })),
    fill: plan.fill && { device: plan.fill.device, layers: plan.fill.layers, bytes: plan.fill.bytes },
    kv: { cells: plan.kv.cells, type: plan.kv.type, bytes_per_cell: plan.kv.bytesPerCell },
    notes: plan.notes,
    table: formatPlanTable(plan),
  };
}
