// `moed serve`: runs the daemon until SIGINT/SIGTERM, then stops every runner.
import type { DaemonConfig } from '../config/env.js';
import { startDaemon } from '../server/daemon.js';
import { ModelStore } from '../store/store.js';
import { ensureDemoModel } from './demo.js';

export async function serveCommand(config: DaemonConfig, args: string[]): Promise<number> {
  if (args.includes('--demo') || process.env.MOED_DEMO === '1') {
    const demo = await ensureDemoModel(new ModelStore(config.modelsDir));
    if (demo) console.log(`moed: the store was empty, so a tiny demo model was forged: ${demo} (random weights, random replies)`);
  }
  const daemon = await startDaemon(config);
  console.log(`moed: listening on ${daemon.url} (models in ${config.modelsDir})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('moed: shutting down');
  await daemon.close();
  return 0;
}
