// The `fixed` router: each MoE layer always selects the same experts, spread over the groups that
// group routing keeps, so rounding cannot change the routing (bench/hybrid.mjs relies on it).
import { describe, expect, it } from 'vitest';
import { resolveShape } from '../../src/forge/config.js';
import { fixedRouterBias, planTensors } from '../../src/forge/tensors.js';

describe('fixed router', () => {
  it.each(['tiny', 'small', 'r1'] as const)('%s: exactly expertsUsed experts, in expertGroupsUsed groups', (preset) => {
    const shape = resolveShape(preset, {}, preset === 'r1' ? 6 : undefined);
    for (let layer = shape.leadingDense; layer < shape.blocks; layer++) {
      const bias = fixedRouterBias(shape, layer);
      const chosen = bias.flatMap((b, i) => (b === 1 ? [i] : []));
      expect(bias.filter((b) => b !== 0 && b !== 1)).toEqual([]);
      expect(chosen).toHaveLength(shape.expertsUsed);
      const perGroup = shape.experts / shape.expertGroups;
      const groups = new Set(chosen.map((e) => Math.floor(e / perGroup)));
      expect(groups.size).toBe(Math.min(shape.expertGroupsUsed, shape.expertsUsed));
    }
  });

  it('writes the bias into exp_probs_b and shrinks the router logits', () => {
    const shape = resolveShape('tiny');
    const fixed = planTensors(shape, 'q4_k_m', 'fixed');
    const random = planTensors(shape, 'q4_k_m');
    const bias = fixed.find((t) => t.name === `blk.${shape.leadingDense}.exp_probs_b.bias`)!;
    expect(bias.fill).toMatchObject({ kind: 'values', values: fixedRouterBias(shape, shape.leadingDense) });
    const std = (ts: typeof fixed) => (ts.find((t) => t.name.endsWith('ffn_gate_inp.weight'))!.fill as { std: number }).std;
    expect(std(fixed)).toBeLessThan(std(random) / 5);
  });
});
