import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/duration.js';
import { clientBaseUrl, parseHost, readDaemonConfig } from '../../src/config/env.js';
import { mergeOptions, parseParameterValue } from '../../src/config/options.js';

describe('parseDuration (Go time.ParseDuration)', () => {
  it.each([
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['0s', 0],
    ['-1m', -60_000],
    ['1.5s', 1500],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('refuses unit-less numbers and unknown units with Go messages', () => {
    expect(() => parseDuration('300')).toThrow('time: missing unit in duration "300"');
    expect(() => parseDuration('5y')).toThrow('unknown unit "y"');
    expect(() => parseDuration('')).toThrow('invalid duration');
  });
});

describe('OLLAMA_HOST', () => {
  it.each([
    [undefined, 'http', '127.0.0.1', 11434],
    ['0.0.0.0', 'http', '0.0.0.0', 11434],
    ['127.0.0.1:8080', 'http', '127.0.0.1', 8080],
    ['http://example.local', 'http', 'example.local', 80],
    ['https://example.local', 'https', 'example.local', 443],
    ['"  localhost:1234 "', 'http', 'localhost', 1234],
    ['[::1]:5000', 'http', '::1', 5000],
    [':9999', 'http', '127.0.0.1', 9999],
  ])('%s', (value, scheme, host, port) => {
    expect(parseHost(value)).toEqual({ scheme, host, port });
  });

  it('clients reach a wildcard bind on loopback', () => {
    expect(clientBaseUrl({ OLLAMA_HOST: '0.0.0.0:1234' })).toBe('http://127.0.0.1:1234');
  });

  it('rejects a bad port', () => expect(() => parseHost('localhost:99999')).toThrow('invalid port'));
});

describe('daemon config', () => {
  it('reads Ollama variables with their defaults', () => {
    const c = readDaemonConfig({ HOME: '/home/u' });
    expect(c.modelsDir).toBe('/home/u/.moed/models');
    expect(c.keepAliveMs).toBe(300_000);
    expect(c.maxQueue).toBe(512);
    const d = readDaemonConfig({ HOME: '/h', OLLAMA_MODELS: '/m', OLLAMA_KEEP_ALIVE: '-1', OLLAMA_NUM_PARALLEL: '2', OLLAMA_CONTEXT_LENGTH: '8192' });
    expect(d).toMatchObject({ modelsDir: '/m', keepAliveMs: -1000, numParallel: 2, contextLength: 8192 });
    expect(readDaemonConfig({ HOME: '/h', OLLAMA_KEEP_ALIVE: '10m' }).keepAliveMs).toBe(600_000);
  });
});

describe('options', () => {
  it('merges defaults < Modelfile parameters < request options', () => {
    const o = mergeOptions(4096, { temperature: 0.5, top_k: 10, stop: ['a'] }, { temperature: 0.2, unknown_option: 1, top_p: null });
    expect(o.temperature).toBe(0.2);
    expect(o.top_k).toBe(10);
    expect(o.top_p).toBe(0.9);
    expect(o.stop).toEqual(['a']);
    expect(o.num_ctx).toBe(4096);
    expect(mergeOptions(4096, {}, { num_predict: 12.9 }).num_predict).toBe(12);
  });

  it('refuses wrong types with Ollama messages', () => {
    expect(() => mergeOptions(4096, {}, { num_ctx: 'x' })).toThrow('option "num_ctx" must be of type integer');
    expect(() => mergeOptions(4096, {}, { stop: [1] })).toThrow('option "stop" must be of an array of strings');
    expect(() => mergeOptions(4096, {}, { use_mmap: 'yes' })).toThrow('must be of type bool');
  });

  it('parses Modelfile parameter text by type', () => {
    expect(parseParameterValue('num_ctx', '8192')).toBe(8192);
    expect(parseParameterValue('temperature', '0.6')).toBe(0.6);
    expect(parseParameterValue('stop', '"<|end|>"')).toEqual(['<|end|>']);
    expect(() => parseParameterValue('num_ctx', 'big')).toThrow('invalid int value');
    expect(() => parseParameterValue('nonsense', '1')).toThrow("unknown parameter 'nonsense'");
  });
});
