// Values printed the way Ollama's Go code prints them, where clients show the text as is:
// `%v` and `%#v` of JSON-decoded values (numbers are float64 in Go), strconv.Quote, and the
// Modelfile quoting of parser.quote.

/** Go's strconv.FormatFloat(x, 'g', -1, 64), which `%v` of a float64 uses: 0.2, 4096, 1e+06. */
export function goFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, expText] = x.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  // Shortest representation: %e when the exponent is < -4 or >= 6 (Go's eprec for shortest).
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  return String(x);
}

/** Go's strconv.Quote for the characters a Modelfile value or a stop string can hold. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xfeff) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `%v` of a JSON-decoded value. */
export function goV(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goV).join(' ')}]`;
  return JSON.stringify(v);
}

/** `%#v` of a JSON-decoded scalar: strings quoted, numbers as float64. */
export function goSharpV(v: unknown): string {
  if (typeof v === 'string') return goQuote(v);
  return goV(v);
}

/**
 * A Modelfile argument as `ollama show --modelfile` writes it: bare unless it has a newline or
 * spaces at its ends. moed's and Ollama's Modelfile parsers both read `"""…"""` across lines, so
 * a multi-line value always gets triple quotes (Ollama writes `"…"` when it has no `"`).
 */
export function modelfileQuote(s: string): string {
  if (s.includes('\n') || s.startsWith(' ') || s.endsWith(' ')) {
    if (s.includes('"') || s.includes('\n')) return `"""${s}"""`;
    return `"${s}"`;
  }
  return s;
}
