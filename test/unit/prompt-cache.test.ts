import { describe, expect, it } from 'vitest';
import { PromptCache } from '../../src/runner/prompt-cache.js';

const seq = (n: number, start = 0) => Array.from({ length: n }, (_, i) => start + i);

describe('PromptCache', () => {
  it('finds the entry sharing the longest prefix', () => {
    const c = new PromptCache(1 << 20, 4);
    c.save(seq(10), Buffer.alloc(100));
    c.save([...seq(5), 99, 98, 97], Buffer.alloc(100));
    expect(c.best([...seq(8), 1])?.length).toBe(8);
    expect(c.best([0, 1, 2, 3, 4, 99, 98])?.length).toBe(7);
    expect(c.best([7, 7, 7])).toBeUndefined();
  });

  it('skips short prefixes and prefixes already held by a longer entry; a longer one supersedes', () => {
    const c = new PromptCache(1 << 20, 4);
    expect(c.wants(seq(3))).toBe(false);
    c.save(seq(6), Buffer.alloc(10));
    expect(c.wants(seq(5))).toBe(false);
    c.save(seq(12), Buffer.alloc(10));
    expect(c.size).toBe(1);
    expect(c.usedBytes).toBe(10);
  });

  it('keeps within its byte budget, dropping the least recently used', () => {
    const c = new PromptCache(250, 4);
    c.save(seq(10, 0), Buffer.alloc(100));
    c.save(seq(10, 100), Buffer.alloc(100));
    c.best(seq(10, 0)); // touch the first
    c.save(seq(10, 200), Buffer.alloc(100));
    expect(c.size).toBe(2);
    expect(c.usedBytes).toBe(200);
    expect(c.best(seq(10, 100))).toBeUndefined();
    expect(c.best(seq(10, 0))?.length).toBe(10);
  });

  it('is off with a zero budget', () => {
    const c = new PromptCache(0);
    c.save(seq(1000), Buffer.alloc(10));
    expect(c.size).toBe(0);
  });
});
