import { describe, expect, it } from 'vitest';
import { displayName, parseModelName, parseModelNameOrNull } from '../../src/store/names.js';

describe('model names', () => {
  it('fills host, namespace and tag defaults and shows the shortest form', () => {
    expect(parseModelName('llama3.2')).toEqual({ host: 'registry.ollama.ai', namespace: 'library', model: 'llama3.2', tag: 'latest' });
    expect(displayName(parseModelName('llama3.2'))).toBe('llama3.2:latest');
    expect(displayName(parseModelName('user/model:q4'))).toBe('user/model:q4');
    expect(displayName(parseModelName('hf.co/org/repo:Q4_K_M'))).toBe('hf.co/org/repo:Q4_K_M');
  });

  it.each(['', '../etc/passwd', '/abs/path', 'a/b/c/d', 'bad name', 'x'.repeat(81), 'ns.dot/model', 'a:', 'nul\u0000byte', ':tag'])(
    'rejects %j',
    (name) => {
      expect(parseModelNameOrNull(name)).toBeNull();
      expect(() => parseModelName(name)).toThrow('invalid model name');
    },
  );
});
