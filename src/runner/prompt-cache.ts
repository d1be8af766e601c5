// Reusable prefixes kept in host RAM beyond the live slots. When a slot is about to be given to a
// different conversation, its KV state (llama_state_seq_get_data) is saved here with its tokens;
// a later request whose prompt extends one of them restores that state instead of evaluating the
// history again. Open WebUI resends the whole history each turn, so with more conversations than
// slots this is what keeps a second turn cheap. Bounded by a byte budget, least recently used out.

export interface CachedPrefix {
  tokens: number[];
  state: Buffer;
  lastUsed: number;
}

export function commonPrefix(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PromptCache {
  private entries: CachedPrefix[] = [];
  private bytes = 0;
  private clock = 0;

  /**
   * @param budgetBytes host RAM the saved states may use; 0 disables the cache
   * @param minTokens prefixes shorter than this are cheaper to evaluate again than to keep
   */
  constructor(
    readonly budgetBytes: number,
    readonly minTokens = 256,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  /** The entry sharing the longest prefix with `prompt`, and that length. */
  best(prompt: ArrayLike<number>): { entry: CachedPrefix; length: number } | undefined {
    let found: { entry: CachedPrefix; length: number } | undefined;
    for (const entry of this.entries) {
      const length = commonPrefix(entry.tokens, prompt);
      if (length > (found?.length ?? 0)) found = { entry, length };
    }
    if (found) found.entry.lastUsed = ++this.clock;
    return found;
  }

  /** Whether tokens are worth saving: long enough, and not already held by a longer entry. */
  wants(tokens: ArrayLike<number>): boolean {
    if (this.budgetBytes <= 0 || tokens.length < this.minTokens) return false;
    return !this.entries.some((e) => e.tokens.length >= tokens.length && commonPrefix(e.tokens, tokens) === tokens.length);
  }

  save(tokens: number[], state: Buffer): void {
    if (!this.wants(tokens) || state.length > this.budgetBytes) return;
    // An entry that is a prefix of the new one is superseded by it.
    this.remove((e) => commonPrefix(e.tokens, tokens) === e.tokens.length);
    this.entries.push({ tokens, state, lastUsed: ++this.clock });
    this.bytes += state.length;
    while (this.bytes > this.budgetBytes) {
      const oldest = this.entries.reduce((a, b) => (a.lastUsed <= b.lastUsed ? a : b));
      this.remove((e) => e === oldest);
    }
  }

  private remove(pred: (e: CachedPrefix) => boolean): void {
    const keep: CachedPrefix[] = [];
    for (const e of this.entries) {
      if (pred(e)) this.bytes -= e.state.length;
      else keep.push(e);
    }
    this.entries = keep;
  }
}
