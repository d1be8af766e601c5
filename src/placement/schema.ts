// A small validator for the subset of JSON Schema that rules/schema.json uses: type, enum, const,
// pattern, minimum, minLength, minItems, properties, required, additionalProperties: false, items,
// oneOf, local $ref, plus two hooks of our own: `format: "regex"` (checked by the caller) and
// `x-message` (the text of an error at that node). It reports paths, which the rule loader turns
// into YAML line numbers.

export type JsonPath = (string | number)[];

export interface SchemaIssue {
  path: JsonPath;
  message: string;
  /** The issue is about a key itself (unknown key): point at the key, not its value. */
  atKey?: boolean;
}

export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  items?: Schema;
  oneOf?: Schema[];
  $ref?: string;
  $defs?: Record<string, Schema>;
  format?: string;
  'x-message'?: string;
  description?: string;
}

export type FormatCheck = (format: string, value: string) => string | undefined;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

const A: Readonly<Record<string, string>> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'empty',
};

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Closest of `candidates` to `word` (edit distance at most 2), for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

export class SchemaValidator {
  constructor(
    private readonly root: Schema,
    private readonly format: FormatCheck = () => undefined,
  ) {}

  validate(value: unknown): SchemaIssue[] {
    const issues: SchemaIssue[] = [];
    this.check(value, this.root, [], issues);
    return issues;
  }

  private resolve(s: Schema): Schema {
    let cur = s;
    const seen = new Set<string>();
    while (cur.$ref) {
      const ref = cur.$ref;
      if (seen.has(ref) || !ref.startsWith('#/$defs/')) throw new Error(`unsupported $ref ${ref}`);
      seen.add(ref);
      const target = this.root.$defs?.[ref.slice('#/$defs/'.length)];
      if (!target) throw new Error(`unknown $ref ${ref}`);
      // keywords next to $ref (description, x-message) are kept; the target supplies the rest
      const { $ref: _ignored, ...rest } = cur;
      cur = { ...target, ...rest, 'x-message': rest['x-message'] ?? target['x-message'] };
    }
    return cur;
  }

  /** True when `value` passes `schema` (no issues recorded). */
  private passes(value: unknown, schema: Schema, path: JsonPath): boolean {
    const scratch: SchemaIssue[] = [];
    this.check(value, schema, path, scratch);
    return scratch.length === 0;
  }

  private check(value: unknown, raw: Schema, path: JsonPath, issues: SchemaIssue[]): void {
    const s = this.resolve(raw);
    const custom = s['x-message'];
    const fail = (message: string): void => {
      issues.push({ path, message: custom ? `${custom}, not ${show(value)}` : message });
    };

    if (s.oneOf) {
      const passing = s.oneOf.filter((alt) => this.passes(value, alt, path));
      if (passing.length === 1) return;
      if (custom) {
        fail('');
        return;
      }
      // report the alternative of the same type, or a generic message
      const sameType = s.oneOf.find((alt) => {
        const r = this.resolve(alt);
        return r.type !== undefined && [r.type].flat().some((t) => typeMatches(value, t));
      });
      if (sameType) this.check(value, sameType, path, issues);
      else issues.push({ path, message: `has the wrong form: ${show(value)}` });
      return;
    }

    if (s.type !== undefined) {
      const types = [s.type].flat();
      if (!types.some((t) => typeMatches(value, t))) {
        fail(`must be ${types.map((t) => A[t] ?? t).join(' or ')}, not ${show(value)}`);
        return;
      }
    }
    if (s.enum && !s.enum.some((e) => e === value)) {
      fail(`must be one of ${s.enum.map((e) => show(e)).join(', ')}; got ${show(value)}`);
      return;
    }
    if (s.const !== undefined && s.const !== value) {
      fail(`must be ${show(s.const)}`);
      return;
    }
    if (typeof value === 'string') {
      if (s.minLength !== undefined && value.length < s.minLength) {
        fail(s.minLength === 1 ? 'must not be empty' : `must have at least ${s.minLength} characters`);
        return;
      }
      if (s.pattern !== undefined && !new RegExp(s.pattern).test(value)) {
        fail(`has the wrong form: ${show(value)}`);
        return;
      }
      if (s.format) {
        const err = this.format(s.format, value);
        if (err) {
          issues.push({ path, message: err });
          return;
        }
      }
    }
    if (typeof value === 'number') {
      if (s.minimum !== undefined && value < s.minimum) {
        fail(`must be at least ${s.minimum}, not ${value}`);
        return;
      }
      if (s.maximum !== undefined && value > s.maximum) {
        fail(`must be at most ${s.maximum}, not ${value}`);
        return;
      }
    }
    if (Array.isArray(value)) {
      if (s.minItems !== undefined && value.length < s.minItems) {
        fail(s.minItems === 1 ? 'must not be an empty list' : `must have at least ${s.minItems} items`);
        return;
      }
      if (s.items) value.forEach((item, i) => this.check(item, s.items!, [...path, i], issues));
    }
    if (typeOf(value) === 'object') {
      const obj = value as Record<string, unknown>;
      const props = s.properties ?? {};
      for (const key of s.required ?? []) {
        if (!(key in obj) || obj[key] === undefined) issues.push({ path, message: `needs a "${key}" key` });
      }
      for (const [key, v] of Object.entries(obj)) {
        const sub = props[key];
        if (sub) {
          this.check(v, sub, [...path, key], issues);
        } else if (s.additionalProperties === false) {
          const hint = closest(key, Object.keys(props));
          issues.push({
            path: [...path, key],
            atKey: true,
            message: `is not a known key${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${Object.keys(props).join(', ')}`,
          });
        }
      }
    }
  }
}

/** "rules[2].device", "engine.weights", "the file" for the root. */
export function pathText(path: JsonPath): string {
  if (path.length === 0) return 'the file';
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}
