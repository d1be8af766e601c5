// Tensor-name regexes with llama.cpp's semantics. The loader tests every override pattern with
// std::regex (ECMAScript grammar) and std::regex_search: a match anywhere in the name, first pattern
// wins (src/llama-model-loader.cpp, create_tensor). JavaScript's RegExp without flags runs the same
// grammar, except for the constructs below, which std::regex rejects (the loader would throw).

const UNSUPPORTED: ReadonlyArray<readonly [RegExp, string]> = [
  [/\(\?<[=!]/, 'lookbehind ((?<=...) or (?<!...))'],
  [/\(\?<[A-Za-z_]/, 'named groups ((?<name>...))'],
  [/\\k</, 'named back-references (\\k<name>)'],
  [/\\[pP]\{/, 'Unicode property escapes (\\p{...})'],
  [/\\u\{/, 'code point escapes (\\u{...})'],
  [/\(\?[a-zA-Z]/, 'inline flags ((?i) ...)'],
];

/** Strips escaped characters so that `\(` is not taken for a group. */
function unescaped(source: string): string {
  return source.replace(/\\\\/g, '').replace(/\\\(/g, '').replace(/\\\[/g, '');
}

/**
 * Compiles a rule regex. Returns the RegExp, or an error text that says why llama.cpp could not use
 * it: a JavaScript syntax error, or a construct outside std::regex's ECMAScript grammar.
 */
export function compileTensorRegex(source: string): RegExp | string {
  let re: RegExp;
  try {
    re = new RegExp(source);
  } catch (e) {
    return `is not a valid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
  const plain = unescaped(source);
  for (const [probe, what] of UNSUPPORTED) {
    if (probe.test(plain)) return `uses ${what}, which llama.cpp's std::regex (ECMAScript) does not support`;
  }
  return re;
}

/** Number of capturing groups in a regex source (for `fill.tensors`, which needs one for the layer). */
export function captureGroups(source: string): number {
  return new RegExp(`(?:${source})|`).exec('')!.length - 1;
}

/** llama.cpp's test: std::regex_search, i.e. a match anywhere in the name. */
export function searches(re: RegExp, name: string): boolean {
  re.lastIndex = 0;
  return re.test(name);
}

/**
 * A compact regex alternative matching exactly the given non-negative integers, grouped by decade:
 * [0,1,2,...,29] -> "[0-9]|1[0-9]|2[0-9]".
 */
export function numbersRegex(values: Iterable<number>): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const byDecade = new Map<number, number[]>();
  for (const v of sorted) {
    const d = Math.floor(v / 10);
    const list = byDecade.get(d) ?? [];
    list.push(v % 10);
    byDecade.set(d, list);
  }
  const parts: string[] = [];
  for (const [d, digits] of byDecade) {
    const prefix = d === 0 ? '' : String(d);
    if (digits.length === 1) {
      parts.push(`${prefix}${digits[0]}`);
      continue;
    }
    // runs of consecutive digits as character-class ranges
    const runs: string[] = [];
    let start = digits[0]!;
    let prev = start;
    for (const digit of [...digits.slice(1), Infinity]) {
      if (digit === prev + 1) {
        prev = digit;
        continue;
      }
      runs.push(start === prev ? String(start) : prev === start + 1 ? `${start}${prev}` : `${start}-${prev}`);
      start = prev = digit;
    }
    parts.push(`${prefix}[${runs.join('')}]`);
  }
  return parts.join('|');
}

/**
 * A pattern that matches what `source` matches, restricted to the tensors of the given blocks:
 * a lookahead for the `blk.N.` prefix, then `source` searched anywhere after it. No capturing group
 * is added, so back-references in `source` keep their numbers.
 */
export function restrictToLayers(source: string, layers: Iterable<number>): string {
  const prefix = `^(?=blk\\.(?:${numbersRegex(layers)})\\.)`;
  return source === '.*' || source === '' ? prefix : `${prefix}[\\s\\S]*?(?:${source})`;
}

/** Escapes a literal for use in a regex. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
