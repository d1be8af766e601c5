// Loads the native addon built by scripts/build-native.mjs (cmake-js puts it in build/Release).
import { moedSwitches } from '../config/env.js';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Binding } from './types.js';

export type * from './types.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const addonPath = moedSwitches().addonPath ?? path.join(projectRoot, 'build', 'Release', 'moed.node');

let cached: Binding | undefined;

/** The addon, loaded once per process. Only the runner process should call this. */
export function loadBinding(): Binding {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new Error(`native addon not found at ${addonPath}: run "npm install" (or "npm run build") first`);
  }
  const require = createRequire(import.meta.url);
  cached = require(addonPath) as Binding;
  return cached;
}
