// `moed forge`: writes a synthetic DeepSeek-V3/R1-shaped GGUF (random weights) for tests,
// demos and benchmarks.
import { forgeDeepseek2, parseForgeArgs } from '../forge/index.js';

export async function forgeCommand(args: string[]): Promise<number> {
  const options = parseForgeArgs(args);
  if (!options) return 0; // --help was printed
  const started = Date.now();
  const result = await forgeDeepseek2(options);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`forged ${result.path}: ${result.tensors} tensors, ${result.bytes} bytes in ${secs} s`);
  return 0;
}
