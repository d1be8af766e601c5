// The devices the engine sees, with their free memory, asked of a short-lived runner process: the
// daemon never loads the addon itself (a CUDA error in it must not take the daemon down).
import { fork } from 'node:child_process';
import os from 'node:os';
import type { DeviceInfo } from '../binding/types.js';
import { MoedError } from '../errors/index.js';
import type { FromRunner, ToRunner } from './protocol.js';
import { RUNNER_SCRIPT } from './runner-process.js';

export type DeviceSource = () => Promise<DeviceInfo[]>;

/** Asks a fresh runner once; results are reused for `ttlMs` (free memory moves as models load). */
export function probeDevices(ttlMs = 2000, script = RUNNER_SCRIPT): DeviceSource {
  let cached: { at: number; devices: Promise<DeviceInfo[]> } | undefined;
  return () => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.devices;
    const devices = askRunner(script);
    cached = { at: Date.now(), devices };
    devices.catch(() => (cached = undefined));
    return devices;
  };
}

function askRunner(script: string): Promise<DeviceInfo[]> {
  return new Promise((resolve, reject) => {
    const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new MoedError('ENGINE_FAILURE', 'the engine did not report its devices within 60 s'));
    }, 60_000);
    child.on('message', (msg: FromRunner) => {
      if (msg.t !== 'devices' && msg.t !== 'devices_failed') return;
      clearTimeout(timer);
      child.kill();
      if (msg.t === 'devices') resolve(msg.devices);
      else reject(new MoedError('ENGINE_FAILURE', `the engine could not list its devices: ${msg.error.message}`));
    });
    // A failed spawn or send reports here; unheard, it would be thrown and end the daemon.
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new MoedError('ENGINE_FAILURE', `the engine could not be asked for its devices: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new MoedError('ENGINE_FAILURE', `the engine exited while listing devices (${signal ?? `exit code ${code}`})`));
    });
    child.send({ t: 'devices' } satisfies ToRunner);
  });
}

/** This machine's RAM as a CPU-only device list (for engines that are not the real one). */
export const hostDevices: DeviceSource = async () => [
  { name: 'CPU', description: 'host memory', type: 'cpu', memoryFree: os.freemem(), memoryTotal: os.totalmem() },
];
