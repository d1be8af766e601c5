// Stop strings over streamed text: text that could still become a stop string is held back,
// so a client never sees the beginning of a stop sequence.

export class StopMatcher {
  private held = '';

  constructor(private readonly stops: string[]) {}

  /** Feeds new text; returns what may be emitted and whether a stop string was hit. */
  push(text: string): { emit: string; stopped: boolean } {
    const buf = this.held + text;
    if (this.stops.length === 0) {
      this.held = '';
      return { emit: buf, stopped: false };
    }
    let first = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      this.held = '';
      return { emit: buf.slice(0, first), stopped: true };
    }
    const keep = this.partialSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Text held back at the end of a generation that did not stop on a stop string. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private partialSuffix(buf: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, buf.length); n > best; n--) {
        if (buf.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
