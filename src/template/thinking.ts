// Splits a streamed answer into thinking and content at the model's thinking tags, as Ollama's
// thinking parser does: the tags are removed, leading whitespace of each part is dropped, and a
// partial tag at the end of a chunk is held back until the next chunk decides it.

export interface Split {
  thinking: string;
  content: string;
}

type State = 'start' | 'thinking' | 'content';

export class ThinkingSplitter {
  private state: State;
  private held = '';
  private atPartStart = true;

  /**
   * @param open the prompt already opened a thinking block (R1's generation prompt ends in `<think>\n`)
   * @param enabled thinking was asked for; when false everything is content, tags and all
   */
  constructor(
    open: boolean,
    private readonly enabled: boolean,
    private readonly startTag = '<think>',
    private readonly endTag = '</think>',
  ) {
    this.state = !enabled ? 'content' : open ? 'thinking' : 'start';
  }

  push(text: string): Split {
    const out: Split = { thinking: '', content: '' };
    if (!this.enabled) {
      out.content = text;
      return out;
    }
    let buf = this.held + text;
    this.held = '';
    for (;;) {
      if (this.state === 'start') {
        const trimmed = buf.trimStart();
        if (trimmed.startsWith(this.startTag)) {
          buf = trimmed.slice(this.startTag.length);
          this.state = 'thinking';
          this.atPartStart = true;
          continue;
        }
        if (trimmed.length < this.startTag.length && this.startTag.startsWith(trimmed)) {
          this.held = buf;
          return out;
        }
        this.state = 'content';
        this.atPartStart = false;
        continue;
      }
      if (this.state === 'thinking') {
        if (this.atPartStart) {
          buf = buf.trimStart();
          if (buf === '') return out;
          this.atPartStart = false;
        }
        const end = buf.indexOf(this.endTag);
        if (end >= 0) {
          out.thinking += buf.slice(0, end);
          buf = buf.slice(end + this.endTag.length);
          this.state = 'content';
          this.atPartStart = true;
          continue;
        }
        const keep = partialTagSuffix(buf, this.endTag);
        out.thinking += buf.slice(0, buf.length - keep);
        this.held = buf.slice(buf.length - keep);
        return out;
      }
      // content
      if (this.atPartStart) {
        buf = buf.trimStart();
        if (buf === '') return out;
        this.atPartStart = false;
      }
      out.content += buf;
      return out;
    }
  }

  /** Whatever was held back when the stream ends. */
  flush(): Split {
    const rest = this.held;
    this.held = '';
    if (this.state === 'thinking') return { thinking: rest, content: '' };
    return { thinking: '', content: this.state === 'start' ? rest.trimStart() : rest };
  }
}

function partialTagSuffix(buf: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, buf.length); n > 0; n--) {
    if (buf.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
