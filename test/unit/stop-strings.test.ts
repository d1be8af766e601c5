import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../src/runner/stop-strings.js';

describe('StopMatcher', () => {
  it('holds back a possible stop string and cuts at the first match', () => {
    const m = new StopMatcher(['STOP', '\n\n']);
    expect(m.push('hello S')).toEqual({ emit: 'hello ', stopped: false });
    expect(m.push('T')).toEqual({ emit: '', stopped: false });
    expect(m.push('OP and more')).toEqual({ emit: '', stopped: true });
  });

  it('releases held text that turned out not to be a stop string', () => {
    const m = new StopMatcher(['STOP']);
    expect(m.push('ST')).toEqual({ emit: '', stopped: false });
    expect(m.push('AR')).toEqual({ emit: 'STAR', stopped: false });
    expect(m.push('S')).toEqual({ emit: '', stopped: false });
    expect(m.flush()).toBe('S');
  });

  it('passes everything through without stop strings', () => {
    expect(new StopMatcher([]).push('abc')).toEqual({ emit: 'abc', stopped: false });
  });
});
