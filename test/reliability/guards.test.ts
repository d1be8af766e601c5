// The guards as units, with no process or engine: the heartbeat's judgement, the settings that
// tune the guards, and the metadata checks that keep llama.cpp from aborting (those a forged file
// cannot easily show, such as expert groups).
import { describe, expect, it } from 'vitest';
import { readDaemonConfig } from '../../src/config/env.js';
import { Heartbeat } from '../../src/engine/heartbeat.js';
import { arr, bool, str, u32, type GgufValue } from '../../src/gguf/index.js';
import type { EngineRunner, StartOptions } from '../../src/engine/runner.js';
import type { LoadParams } from '../../src/engine/types.js';
import { fixedLoad, Scheduler } from '../../src/scheduler/scheduler.js';
import { checkLoadable, KNOWN_ARCHITECTURES } from '../../src/service/gguf-checks.js';

describe('heartbeat', () => {
  function rig(timeoutMs = 1000) {
    let now = 0;
    let busy = false;
    const pings: number[] = [];
    const fired: number[] = [];
    const hb = new Heartbeat({ timeoutMs, now: () => now, busy: () => busy, ping: (s) => pings.push(s), onTimeout: (ms) => fired.push(ms) });
    return {
      hb,
      pings,
      fired,
      /** Advances the clock, ticking at the heartbeat's interval as its timer would. */
      advance(ms: number, answer: boolean) {
        for (let t = 0; t < ms; t += hb.intervalMs) {
          now += hb.intervalMs;
          hb.tick();
          if (answer) hb.seen();
        }
      },
      setBusy: (b: boolean) => (busy = b),
    };
  }

  it('pings a busy runner a few times per timeout and never judges an idle one', () => {
    const r = rig(1000);
    expect(r.hb.intervalMs).toBe(250);
    r.advance(10_000, false);
    expect(r.pings).toEqual([]);
    expect(r.fired).toEqual([]);
    r.setBusy(true);
    r.advance(5000, true);
    expect(r.pings.length).toBe(20);
    expect(r.fired).toEqual([]);
  });

  it('declares a busy runner hung once, after the timeout of silence', () => {
    const r = rig(1000);
    r.setBusy(true);
    r.advance(1000, false);
    expect(r.fired).toEqual([]);
    r.advance(500, false);
    expect(r.fired).toEqual([1250]);
    r.advance(5000, false);
    expect(r.fired).toHaveLength(1);
  });

  it('does not blame the runner for a stall of the daemon itself', () => {
    let now = 0;
    const fired: number[] = [];
    const hb = new Heartbeat({ timeoutMs: 1000, now: () => now, busy: () => true, ping: () => {}, onTimeout: (ms) => fired.push(ms) });
    hb.tick();
    now += 60_000; // the daemon's event loop was blocked for a minute: the pongs wait unread
    hb.tick();
    expect(fired).toEqual([]);
    now += 1500; // then real silence
    hb.tick();
    expect(fired).toEqual([1500]);
  });

  it('caps the ping interval at 5 s for long timeouts', () => {
    expect(new Heartbeat({ timeoutMs: 60_000, busy: () => false, ping: () => {}, onTimeout: () => {} }).intervalMs).toBe(5000);
  });
});

describe('settings of the guards', () => {
  const config = (env: Record<string, string>) => readDaemonConfig({ HOME: '/tmp', ...env });

  it('defaults: 60 s runner timeout, 10 s shutdown grace, 64 MiB bodies', () => {
    const c = config({});
    expect(c.runnerTimeoutMs).toBe(60_000);
    expect(c.shutdownGraceMs).toBe(10_000);
    expect(c.maxBodyBytes).toBe(64 * 2 ** 20);
  });

  it('reads seconds or durations, and sizes', () => {
    const c = config({ MOED_RUNNER_TIMEOUT: '90', MOED_SHUTDOWN_GRACE: '1m30s', MOED_MAX_BODY: '8MiB' });
    expect(c.runnerTimeoutMs).toBe(90_000);
    expect(c.shutdownGraceMs).toBe(90_000);
    expect(c.maxBodyBytes).toBe(8 * 2 ** 20);
  });

  it('refuses values that would switch a guard off or make no sense', () => {
    expect(() => config({ MOED_RUNNER_TIMEOUT: '0' })).toThrow(/MOED_RUNNER_TIMEOUT must be positive/);
    expect(() => config({ MOED_RUNNER_TIMEOUT: 'soon' })).toThrow(/MOED_RUNNER_TIMEOUT must be a number of seconds or a duration/);
    expect(() => config({ MOED_SHUTDOWN_GRACE: '-5' })).toThrow(/MOED_SHUTDOWN_GRACE must be positive/);
    expect(() => config({ MOED_MAX_BODY: 'lots' })).toThrow(/MOED_MAX_BODY must be a size/);
  });
});

describe('metadata that would make llama.cpp abort', () => {
  /** A minimal metadata map that passes, with deepseek2 keys. */
  function base(): Map<string, GgufValue> {
    return new Map<string, GgufValue>([
      ['general.architecture', str('deepseek2')],
      ['deepseek2.block_count', u32(4)],
      ['deepseek2.expert_count', u32(64)],
      ['deepseek2.expert_used_count', u32(8)],
      ['deepseek2.expert_group_count', u32(8)],
      ['deepseek2.expert_group_used_count', u32(4)],
      ['tokenizer.ggml.model', str('gpt2')],
      ['tokenizer.ggml.tokens', arr('string', ['a', 'b', 'c', '<｜begin▁of▁sentence｜>'])],
      ['tokenizer.ggml.token_type', arr('i32', [1, 1, 1, 3])],
      ['tokenizer.ggml.bos_token_id', u32(3)],
      ['tokenizer.ggml.add_bos_token', bool(true)],
    ]);
  }
  const check = (edit: (m: Map<string, GgufValue>) => void) => () => {
    const m = base();
    edit(m);
    checkLoadable(m, 'x.gguf');
  };

  it('passes a sound file, and knows the architectures of the pinned llama.cpp', () => {
    expect(check(() => {})).not.toThrow();
    for (const arch of ['llama', 'deepseek2', 'qwen3moe', 'glm4moe', 'gpt-oss']) expect(KNOWN_ARCHITECTURES.has(arch)).toBe(true);
    expect(KNOWN_ARCHITECTURES.has('clip')).toBe(false);
  });

  it.each([
    ['more than 1024 experts', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_count', u32(2048)), /above llama.cpp's limit of 1024/],
    ['experts but none used', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_used_count', u32(0)), /expert_count is 64 but deepseek2.expert_used_count is 0/],
    ['as many groups as experts', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_group_count', u32(64)), /expert_group_count \(64\) is not less than/],
    ['experts not a multiple of the groups', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_group_count', u32(7)), /is not a multiple of deepseek2.expert_group_count \(7\)/],
    ['all groups used', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_group_used_count', u32(8)), /expert_group_used_count is 8; it must be between 1 and 7/],
    ['no experts but some used', (m: Map<string, GgufValue>) => {
      m.set('deepseek2.expert_count', u32(0));
      m.delete('deepseek2.expert_group_count');
    }, /expert_used_count \(8\) is more than deepseek2.expert_count \(0\)/],
    ['no experts but expert groups', (m: Map<string, GgufValue>) => {
      m.set('deepseek2.expert_count', u32(0));
      m.delete('deepseek2.expert_used_count');
    }, /has no experts but deepseek2.expert_group_count is set/],
    ['a per-layer expert count longer than the layers', (m: Map<string, GgufValue>) => m.set('deepseek2.expert_used_count', arr('u32', [8, 8, 8, 8, 8, 8])), /has 6 entries for 4 layers/],
    ['more than 512 layers', (m: Map<string, GgufValue>) => m.set('deepseek2.block_count', u32(513)), /block_count is 513; llama.cpp accepts 1 to 512/],
    ['more MTP layers than layers', (m: Map<string, GgufValue>) => m.set('deepseek2.nextn_predict_layers', u32(5)), /nextn_predict_layers \(5\) is more than/],
    ['no token list', (m: Map<string, GgufValue>) => m.delete('tokenizer.ggml.tokens'), /has no tokenizer.ggml.tokens/],
    ['token types shorter than the tokens', (m: Map<string, GgufValue>) => m.set('tokenizer.ggml.token_type', arr('i32', [1])), /token_type has 1 entries for 4 tokens/],
    ['no tokenizer model', (m: Map<string, GgufValue>) => m.delete('tokenizer.ggml.model'), /has no tokenizer.ggml.model/],
    ['add_eos with no EOS at all (rwkv has no default)', (m: Map<string, GgufValue>) => {
      m.set('tokenizer.ggml.model', str('rwkv'));
      m.set('tokenizer.ggml.add_eos_token', bool(true));
    }, /add_eos_token is true but there is no tokenizer.ggml.eos_token_id/],
  ])('refuses %s', (_what, edit, message) => {
    expect(check(edit)).toThrow(message);
  });

  it('accepts an out-of-range BOS id when the tokenizer\u2019s default BOS is valid (llama.cpp falls back to it)', () => {
    const m = base();
    m.set('tokenizer.ggml.tokens', arr('string', Array.from({ length: 20 }, (_, i) => `t${i}`)));
    m.delete('tokenizer.ggml.token_type');
    m.set('tokenizer.ggml.bos_token_id', u32(99));
    expect(() => checkLoadable(m, 'x.gguf')).not.toThrow();
  });
});

describe('scheduler on shutdown', () => {
  it('stops a load in progress instead of waiting for it (a 400 GB load takes minutes)', async () => {
    let seen: StartOptions | undefined;
    // A load that only ends when it is told to stop.
    const factory = (_p: LoadParams, o: StartOptions) =>
      new Promise<EngineRunner>((_resolve, reject) => {
        seen = o;
        o.signal?.addEventListener('abort', () => reject(o.signal!.reason));
      });
    const scheduler = new Scheduler({ maxLoadedModels: 1, maxQueue: 4, loadTimeoutMs: 600_000, runnerTimeoutMs: 30_000 }, factory);
    const params = { modelPath: '/m.gguf', numCtx: 256, numParallel: 1, numBatch: 8, numUbatch: 8, numThreads: 1, gpuLayers: 0 };
    const acquired = scheduler.acquire('k', 'big', fixedLoad(params), 60_000);
    await new Promise((r) => setTimeout(r, 10));
    expect(seen?.runnerTimeoutMs).toBe(30_000);
    const t0 = Date.now();
    await scheduler.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(acquired).rejects.toMatchObject({ code: 'SHUTTING_DOWN', message: 'moed is shutting down: the model load was stopped' });
    expect(scheduler.stats()).toEqual({ leases: 0, pending: 0, queuedForSlots: 0 });
  });
});
