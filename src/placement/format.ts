// The plan as text: what `moed show --plan MODEL` prints and what PLAN_DOES_NOT_FIT carries.

import { formatBytes } from './sizes.js';
import { RULE_FILL, RULE_INPUT, RULE_NONE, type Plan } from './types.js';

function table(rows: string[][], rightAligned: ReadonlySet<number>): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (rightAligned.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function weightsLabel(plan: Plan): string {
  const e = plan.engine;
  if (e.loadMode === 'mmap') return 'mmap';
  return e.noHost ? 'repacked (load_mode none, no_host)' : 'pinned (load_mode none)';
}

export function formatPlanTable(plan: Plan): string {
  const m = plan.model;
  const out: string[] = [];
  const what = [`${m.layers} layers`, m.experts > 0 ? `${m.experts} experts` : 'dense', formatBytes(m.bytes)].join(', ');
  out.push(`Placement of ${m.name ? `"${m.name}" ` : ''}(${m.architecture}, ${what}) with rule file ${plan.ruleFile.name} (${plan.ruleFile.source})`);
  if (m.path) out.push(`Model file: ${m.path}`);
  out.push('');

  const devRows = [['DEVICE', 'WEIGHTS', 'KV CACHE', 'COMPUTE', 'TOTAL', 'FREE', 'FITS']];
  for (const d of plan.devices) {
    const mmapNote = d.kind === 'cpu' && d.required < d.total ? ' (weights mmap\'d)' : '';
    devRows.push([
      d.device,
      formatBytes(d.weights),
      formatBytes(d.kv),
      formatBytes(d.compute),
      formatBytes(d.total),
      d.free === undefined ? 'unknown' : formatBytes(d.free),
      (d.fits ? 'yes' : `NO, ${formatBytes(d.required - (d.free ?? 0))} over`) + mmapNote,
    ]);
  }
  out.push(table(devRows, new Set([1, 2, 3, 4, 5])));
  out.push('');

  const ruleRows = [['RULE', 'LAYERS', 'TENSORS', 'BYTES', 'DEVICE']];
  for (const r of plan.rules) {
    const dev = r.device === 'CPU' && r.requested !== 'cpu' ? `CPU (asked ${r.requested})` : r.device;
    ruleRows.push([`${r.index + 1}. ${r.name}`, r.layers ?? 'all', String(r.matched), formatBytes(r.bytes), dev]);
  }
  const extra = (rule: number, label: string, layers: string): void => {
    const ts = plan.tensors.filter((t) => t.rule === rule && t.device !== 'unused');
    if (ts.length === 0) return;
    const devs = [...new Set(ts.map((t) => t.device))].join(', ');
    ruleRows.push([label, layers, String(ts.length), formatBytes(ts.reduce((s, t) => s + t.bytes, 0)), devs]);
  };
  if (plan.fill) extra(RULE_FILL, `fill (reserve ${formatBytes(plan.fill.reserve)})`, compact(plan.fill.layers, plan.model.layers));
  extra(RULE_INPUT, 'token_embd (input layer: CPU)', '-');
  extra(RULE_NONE, 'no rule (llama.cpp default)', '-');
  out.push(table(ruleRows, new Set([2, 3])));
  out.push('');

  const kv = plan.kv;
  out.push(
    `KV cache: ${kv.cells} cells x ${formatBytes(kv.bytesPerCell)} (${kv.type}, ${kv.layers} layers${kv.mla ? ', MLA: K only' : ''})`,
  );
  const e = plan.engine;
  const parts = [
    `devices ${e.devices.length > 0 ? e.devices.join(',') : 'CPU only'}`,
    `gpu layers ${e.gpuLayers}`,
    ...(e.tensorSplit ? [`tensor split ${e.tensorSplit.join('/')}`] : []),
    `${e.tensorOverrides.length} overrides`,
    `weights ${weightsLabel(plan)}`,
    `flash attention ${e.flashAttention}`,
    `op_offload ${e.opOffload ? `on${e.env.GGML_OP_OFFLOAD_MIN_BATCH ? ` (from ${e.env.GGML_OP_OFFLOAD_MIN_BATCH} tokens)` : ''}` : 'off'}`,
    `batch ${e.nBatch}/${e.nUbatch}`,
    `ctx ${e.nCtx} x ${e.nSeqMax} seq`,
    `threads ${e.threads}`,
    `numa ${e.numa}`,
  ];
  out.push(`Engine: ${parts.join(', ')}`);
  for (const o of e.tensorOverrides) out.push(`  override ${o.pattern} = ${o.bufferType}`);
  if (plan.notes.length > 0) {
    out.push('Notes:');
    for (const n of plan.notes) out.push(`  - ${n}`);
  }
  return out.join('\n');
}

function compact(layers: number[], outputIndex: number): string {
  if (layers.length === 0) return 'none';
  const parts: string[] = [];
  let i = 0;
  const nums = layers.filter((l) => l !== outputIndex);
  while (i < nums.length) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1) j++;
    parts.push(j > i ? `${nums[i]}-${nums[j]}` : String(nums[i]));
    i = j + 1;
  }
  if (layers.includes(outputIndex)) parts.push('output');
  return parts.join(', ');
}
