import { describe, expect, it } from 'vitest';
import { ThinkingSplitter } from '../../src/template/thinking.js';

function run(splitter: ThinkingSplitter, pieces: string[]) {
  let thinking = '';
  let content = '';
  for (const p of [...pieces.map((x) => splitter.push(x)), splitter.flush()]) {
    thinking += p.thinking;
    content += p.content;
  }
  return { thinking, content };
}

describe('ThinkingSplitter', () => {
  it('routes text before the end tag to thinking when the prompt opened the block', () => {
    expect(run(new ThinkingSplitter(true, true), ['\nI should', ' greet.', '</th', 'ink>', '\n\nHello'])).toEqual({
      thinking: 'I should greet.',
      content: 'Hello',
    });
  });

  it('detects an opening tag emitted by the model itself', () => {
    expect(run(new ThinkingSplitter(false, true), ['  <thi', 'nk>a', '</think>b'])).toEqual({ thinking: 'a', content: 'b' });
  });

  it('treats text without a tag as content', () => {
    expect(run(new ThinkingSplitter(false, true), ['<b>bold</b>'])).toEqual({ thinking: '', content: '<b>bold</b>' });
  });

  it('keeps everything in content, tags included, when thinking is off', () => {
    expect(run(new ThinkingSplitter(true, false), ['<think>a</think>b'])).toEqual({ thinking: '', content: '<think>a</think>b' });
  });

  it('ends inside thinking when the block never closes', () => {
    expect(run(new ThinkingSplitter(true, true), ['abc</th'])).toEqual({ thinking: 'abc</th', content: '' });
  });
});
