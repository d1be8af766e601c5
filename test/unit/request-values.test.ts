import { describe, expect, it } from 'vitest';
import { parseKeepAlive, parseThink } from '../../src/service/request-values.js';

describe('keep_alive', () => {
  it.each([
    [undefined, 300_000],
    [null, 300_000],
    [30, 30_000],
    [0, 0],
    [-1, -1],
    ['10m', 600_000],
    ['0s', 0],
    ['0', 0],
    ['-5m', -1],
  ])('%j → %d ms', (value, ms) => expect(parseKeepAlive(value, 300_000)).toBe(ms));

  it('refuses unit-less strings and other types', () => {
    expect(() => parseKeepAlive('300', 0)).toThrow('time: missing unit in duration "300"');
    expect(() => parseKeepAlive(true, 0)).toThrow("Unsupported type: 'boolean'");
  });
});

describe('think', () => {
  it('accepts booleans and levels', () => {
    for (const v of [true, false, 'low', 'medium', 'high', 'max']) expect(parseThink(v)).toBe(v);
    expect(parseThink(undefined)).toBeUndefined();
  });

  it('refuses anything else with Ollama message', () => {
    expect(() => parseThink('yes')).toThrow('invalid think value: "yes" (must be "high", "medium", "low", "max", true, or false)');
    expect(() => parseThink(1)).toThrow('invalid think value: 1');
  });
});
