// Physical core count: with experts on the CPU, one thread per physical core beats one per
// hyper-thread (both threads of a core compete for the same memory bandwidth).
import { readFileSync } from 'node:fs';
import os from 'node:os';

export function physicalCores(): number {
  try {
    const cores = new Set<string>();
    let physical = '0';
    for (const line of readFileSync('/proc/cpuinfo', 'utf8').split('\n')) {
      const [key, value] = line.split(':').map((s) => s?.trim());
      if (key === 'physical id') physical = value ?? '0';
      if (key === 'core id') cores.add(`${physical}:${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux: fall through
  }
  return Math.max(1, os.availableParallelism());
}
