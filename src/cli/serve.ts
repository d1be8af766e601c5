// `moed serve`: runs the daemon until SIGINT/SIGTERM, then shuts down gracefully: no new requests,
// requests in flight get MOED_SHUTDOWN_GRACE to finish, the rest end with a final error line, every
// runner stops, and the process exits 0. A second signal stops waiting.
import type { DaemonConfig } from '../config/env.js';
import { startDaemon } from '../server/daemon.js';
import { listensOnLoopback } from '../server/middleware/host-check.js';
import { ModelStore } from '../store/store.js';
import type { Parsed } from './args.js';
import { ensureDemoModel } from './demo.js';

/** The warning for a daemon that anyone on the network may use (null when there is none). */
export function exposureWarning(config: Pick<DaemonConfig, 'listen' | 'apiKey'>): string | null {
  if (config.apiKey || listensOnLoopback(config.listen.host)) return null;
  return (
    `moed: WARNING: listening on ${config.listen.host}, beyond this machine, without MOED_API_KEY: ` +
    'anyone who can reach this port can run, create, pull and delete models. ' +
    'Set MOED_API_KEY to require "Authorization: Bearer <key>", or listen on 127.0.0.1.'
  );
}

export async function serveCommand(config: DaemonConfig, p: Parsed, demoFromEnv: boolean): Promise<number> {
  // A stray rejection somewhere must not take a daemon holding a 400 GB model down with it.
  process.on('unhandledRejection', (reason) => console.error('moed: unhandled rejection (the daemon goes on):', reason));
  if (p.flags.demo === true || demoFromEnv) {
    const demo = await ensureDemoModel(new ModelStore(config.modelsDir));
    if (demo) console.log(`moed: the store was empty, so a tiny demo model was forged: ${demo} (random weights, random replies)`);
  }
  const warning = exposureWarning(config);
  if (warning) console.error(warning);
  const daemon = await startDaemon(config);
  console.log(`moed: listening on ${daemon.url} (models in ${config.modelsDir})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  console.log(`moed: ${signal}: shutting down (requests in flight get ${config.shutdownGraceMs / 1000} s; send it again to stop now)`);
  const again = () => {
    console.log('moed: stopping now');
    daemon.abortInFlight();
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);
  const { aborted } = await daemon.shutdown(config.shutdownGraceMs);
  console.log(aborted > 0 ? `moed: stopped (${aborted} request(s) ended after the grace period)` : 'moed: stopped');
  process.off('SIGINT', again);
  process.off('SIGTERM', again);
  // Everything is closed; should some handle still hold the event loop, do not hang on it.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}
