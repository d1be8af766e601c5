// A small byte-level BPE vocabulary in DeepSeek-V3's layout ("gpt2" model, "deepseek-v3" pre-tokenizer).
//
// llama.cpp's rules (src/llama-vocab.cpp): token strings must be unique (a duplicate aborts the
// process); every one of the 256 byte-level characters must be present or unknown bytes vanish;
// each merge "a b" must join two tokens into a third. The merges here are learnt by a tiny,
// deterministic BPE run over a list of common English words, so ordinary text tokenizes into
// words rather than single bytes.

/** GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 onwards. */
export function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i]!)));
  return table;
}

/** The byte-level characters in GPT-2's vocabulary order (printable bytes first). */
function byteAlphabetInVocabOrder(): string[] {
  const table = byteToUnicode();
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order.map((b) => table[b]!);
}

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export const SPECIAL = {
  bos: '<｜begin▁of▁sentence｜>',
  eos: '<｜end▁of▁sentence｜>',
  user: '<｜User｜>',
  assistant: '<｜Assistant｜>',
  thinkStart: '<think>',
  thinkEnd: '</think>',
  toolCallsBegin: '<｜tool▁calls▁begin｜>',
  toolCallsEnd: '<｜tool▁calls▁end｜>',
  toolCallBegin: '<｜tool▁call▁begin｜>',
  toolCallEnd: '<｜tool▁call▁end｜>',
  toolOutputsBegin: '<｜tool▁outputs▁begin｜>',
  toolOutputsEnd: '<｜tool▁outputs▁end｜>',
  toolOutputBegin: '<｜tool▁output▁begin｜>',
  toolOutputEnd: '<｜tool▁output▁end｜>',
  toolSep: '<｜tool▁sep｜>',
} as const;

/** Tokens after the chat markers, in R1's id order (128806..128814). */
const TOOL_TOKENS = [
  SPECIAL.toolCallsBegin,
  SPECIAL.toolCallsEnd,
  SPECIAL.toolCallBegin,
  SPECIAL.toolCallEnd,
  SPECIAL.toolOutputsBegin,
  SPECIAL.toolOutputsEnd,
  SPECIAL.toolOutputBegin,
  SPECIAL.toolOutputEnd,
  SPECIAL.toolSep,
];

// Common English (and a little chat/programming) vocabulary, most frequent first. The BPE run
// weights each word by its rank, so frequent words become single tokens first.
const WORDS = `the of and to a in is you that it he was for on are as with his they I at be this have from
or one had by word but not what all were we when your can said there use an each which she do how their if
will up other about out many then them these so some her would make like him into time has look two more
write go see number no way could people my than first water been call who oil its now find long down day did
get come made may part hello world model answer question think reason because think step first next then
tool call function result json name value true false null data file code test error help please thank thanks
yes sure here is this what how why where good great new old small large big little very much more most just
only also well even back after before over under again still never always often today tomorrow yesterday
user assistant system message reply chat text token tokens language machine learning deep seek expert experts
mixture layer layers attention memory fast slow speed run running load loading server client request response
stream world wide web open source weight weights random hello friend there their
number numbers one two three four five six seven eight nine ten hundred thousand million
computer science math mathematics physics history music story write writing read reading example examples`
  .split(/\s+/)
  .filter((w) => w.length > 1);

/** Deterministic BPE training: returns merges (as [left, right]) in rank order. */
function learnMerges(maxMerges: number): [string, string][] {
  const table = byteToUnicode();
  const encode = (s: string): string[] => [...Buffer.from(s, 'utf8')].map((b) => table[b]!);
  // each word alone and after a space (the form it has inside a sentence), rank-weighted
  const words = new Map<string, { symbols: string[]; weight: number }>();
  WORDS.forEach((w, rank) => {
    const weight = 1000 / (rank + 10);
    for (const [form, f] of [
      [w, 1],
      [` ${w}`, 3],
    ] as const) {
      const e = words.get(form);
      if (e) e.weight += weight * f;
      else words.set(form, { symbols: encode(form), weight: weight * f });
    }
  });

  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    const counts = new Map<string, number>();
    for (const { symbols, weight } of words.values()) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + weight);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, count] of counts) {
      // ties broken by the pair's text, so the result never depends on Map order
      if (count > bestCount + 1e-9 || (Math.abs(count - bestCount) <= 1e-9 && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const sep = best.indexOf(' ', 1);
    const left = best.slice(0, sep);
    const right = best.slice(sep + 1);
    merges.push([left, right]);
    for (const entry of words.values()) {
      const s = entry.symbols;
      const next: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
          next.push(left + right);
          i++;
        } else {
          next.push(s[i]!);
        }
      }
      entry.symbols = next;
    }
  }
  return merges;
}

let mergeCache: [string, string][] | undefined;
function allMerges(): [string, string][] {
  // the corpus is fixed, so learn every merge once and cut the list to the budget
  mergeCache ??= learnMerges(Number.POSITIVE_INFINITY);
  return mergeCache;
}

export interface ForgedVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  bos: number;
  eos: number;
  pad: number;
  /** Ids of the special tokens by name. */
  ids: Record<keyof typeof SPECIAL, number>;
}

/** R1's vocabulary size; from this size up the real ids of the special tokens are used. */
export const R1_VOCAB = 129280;
const R1_LAYOUT_MIN = 128815;

/**
 * Builds a vocabulary of exactly `size` tokens. bos/eos sit at 0/1 as in DeepSeek's. Large
 * vocabularies (>= 128815) put the chat and tool tokens at R1's ids (User 128803, Assistant
 * 128804, <think> 128798, tool tokens 128806..128814); smaller ones put them at the end.
 *
 * Token types follow what convert_hf_to_gguf.py writes for R1: tokens DeepSeek marks special, or
 * that look like <｜...｜>, are CONTROL; <think> and </think> are added tokens that R1 does not
 * mark special, so they are USER_DEFINED (always parsed as one token, always shown in text).
 */
export function buildVocab(size: number): ForgedVocab {
  const tokens: string[] = [];
  const types: number[] = [];
  const push = (text: string, type: number): void => {
    tokens.push(text);
    types.push(type);
  };
  const full = size >= R1_LAYOUT_MIN;

  push(SPECIAL.bos, TOKEN_TYPE.CONTROL);
  push(SPECIAL.eos, TOKEN_TYPE.CONTROL);
  if (full) push('<｜▁pad▁｜>', TOKEN_TYPE.CONTROL);
  for (const ch of byteAlphabetInVocabOrder()) push(ch, TOKEN_TYPE.NORMAL);

  const tail: [string, number][] = full
    ? [] // placed at fixed ids below
    : [
        [SPECIAL.user, TOKEN_TYPE.CONTROL],
        [SPECIAL.assistant, TOKEN_TYPE.CONTROL],
        [SPECIAL.thinkStart, TOKEN_TYPE.USER_DEFINED],
        [SPECIAL.thinkEnd, TOKEN_TYPE.USER_DEFINED],
        ...TOOL_TOKENS.map((t): [string, number] => [t, TOKEN_TYPE.CONTROL]),
      ];
  const normalEnd = full ? 128000 : size - tail.length;
  if (normalEnd < tokens.length) throw new Error(`a vocabulary of ${size} tokens cannot hold the byte alphabet and special tokens`);

  // Two merge paths can build the same string ("ab c" and "a bc"); the token exists once and
  // both merges point at it.
  const merges: [string, string][] = [];
  const made = new Set<string>();
  for (const [a, b] of allMerges()) {
    const joined = a + b;
    if (!made.has(joined)) {
      if (tokens.length >= normalEnd) break;
      made.add(joined);
      push(joined, TOKEN_TYPE.NORMAL);
    }
    merges.push([a, b]);
  }
  // Filler: unique, plain ASCII (detokenizes to itself), never produced by the merges.
  while (tokens.length < normalEnd) push(`[tok${tokens.length}]`, TOKEN_TYPE.NORMAL);

  if (full) {
    for (let i = 0; i < 798; i++) push(`<｜place▁holder▁no▁${i}｜>`, TOKEN_TYPE.CONTROL);
    push(SPECIAL.thinkStart, TOKEN_TYPE.USER_DEFINED); // 128798
    push(SPECIAL.thinkEnd, TOKEN_TYPE.USER_DEFINED); // 128799
    push('<｜fim▁hole｜>', TOKEN_TYPE.CONTROL);
    push('<｜fim▁begin｜>', TOKEN_TYPE.CONTROL);
    push('<｜fim▁end｜>', TOKEN_TYPE.CONTROL);
    push(SPECIAL.user, TOKEN_TYPE.CONTROL); // 128803
    push(SPECIAL.assistant, TOKEN_TYPE.CONTROL); // 128804
    push('<|EOT|>', TOKEN_TYPE.CONTROL);
    for (const t of TOOL_TOKENS) push(t, TOKEN_TYPE.CONTROL); // 128806..128814
    // ids the tokenizer does not define, padded as convert_hf_to_gguf.py does
    while (tokens.length < size) push(`[PAD${tokens.length}]`, TOKEN_TYPE.UNUSED);
  } else {
    for (const [t, type] of tail) push(t, type);
  }

  const index = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (index.has(t)) throw new Error(`duplicate token '${t}' at ${index.get(t)} and ${i}`);
    index.set(t, i);
  });
  const ids = Object.fromEntries(Object.entries(SPECIAL).map(([k, v]) => [k, index.get(v)!])) as ForgedVocab['ids'];
  return {
    tokens,
    tokenTypes: types,
    merges: merges.map(([a, b]) => `${a} ${b}`),
    bos: 0,
    eos: 1,
    pad: 1,
    ids,
  };
}
