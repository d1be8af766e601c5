import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseModelfile, resolveFrom } from '../../src/client/modelfile.js';

describe('Modelfile', () => {
  it('parses every instruction, case-insensitively, with quoted and multi-line values', () => {
    const mf = parseModelfile(`# a comment
from ./DeepSeek-R1-Q4_K_M-00001-of-00009.gguf
PARAMETER temperature 0.6
PARAMETER stop "<｜end▁of▁sentence｜>"
parameter stop <｜User｜>
PARAMETER num_ctx 8192
SYSTEM """You are helpful.
Answer briefly."""
TEMPLATE "{{ messages }}"
MESSAGE user hello
MESSAGE assistant "hi there"
LICENSE MIT
`);
    expect(mf.from).toBe('./DeepSeek-R1-Q4_K_M-00001-of-00009.gguf');
    expect(mf.fromLine).toBe(2);
    expect(mf.parameters).toEqual({ temperature: 0.6, stop: ['<｜end▁of▁sentence｜>', '<｜User｜>'], num_ctx: 8192 });
    expect(mf.system).toBe('You are helpful.\nAnswer briefly.');
    expect(mf.template).toBe('{{ messages }}');
    expect(mf.messages).toEqual([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'hi there' },
    ]);
    expect(mf.license).toEqual(['MIT']);
  });

  it.each([
    ['PARAMETER temperature 0.1', 'no FROM line'],
    ['FROM x\nBOGUS y', 'Modelfile line 2: command must be one of'],
    ['FROM x\n\nPARAMETER num_ctx lots', 'Modelfile line 3: invalid int value'],
    ['FROM x\nPARAMETER wibble 1', "Modelfile line 2: unknown parameter 'wibble'"],
    ['FROM x\nMESSAGE tool hi', 'message role must be one of'],
    ['FROM x\nADAPTER ./lora.gguf', 'Modelfile line 2: ADAPTER is not supported'],
    ['FROM x\nSYSTEM """never ends', 'Modelfile line 2: unterminated'],
    ['FROM x\n\nSYSTEM "never\nends', 'Modelfile line 3: unterminated " value'],
  ])('%j fails with %s', (text, message) => {
    expect(() => parseModelfile(text)).toThrow(message);
  });
});

describe('Modelfile instructions beyond the basics', () => {
  it('reads "..." values over several lines, as ollama writes them in show --modelfile', () => {
    const mf = parseModelfile('FROM x\nLICENSE "MIT License\n\nCopyright (c) 2023 DeepSeek"\nSYSTEM "one line"\nMESSAGE user "a\nb"\n');
    expect(mf.license).toEqual(['MIT License\n\nCopyright (c) 2023 DeepSeek']);
    expect(mf.system).toBe('one line');
    expect(mf.messages).toEqual([{ role: 'user', content: 'a\nb' }]);
  });

  it('takes REQUIRES, RENDERER, PARSER and moed\'s rules parameter', () => {
    const mf = parseModelfile('FROM x\nREQUIRES 0.14.0\nRENDERER deepseek\nPARSER deepseek\nPARAMETER rules deepseek-v3\n');
    expect(mf.requires).toBe('0.14.0');
    expect(mf.renderer).toBe('deepseek');
    expect(mf.parser).toBe('deepseek');
    expect(mf.parameters).toEqual({ rules: 'deepseek-v3' });
  });

  it('drops deprecated parameters with a warning, as ollama does', () => {
    const mf = parseModelfile('FROM x\nPARAMETER mirostat 2\nPARAMETER temperature 1\n');
    expect(mf.parameters).toEqual({ temperature: 1 });
    expect(mf.warnings).toEqual(['warning: parameter mirostat is deprecated (Modelfile line 2); it is ignored']);
  });

  it.each([
    ['FROM x\nREQUIRES soon', 'Modelfile line 2: requires must be a valid semver (e.g. 0.14.0)'],
    ['FROM x\n# c\nDRAFT ./small.gguf', 'Modelfile line 3: DRAFT'],
  ])('%j fails with %s', (text, message) => {
    expect(() => parseModelfile(text)).toThrow(message);
  });
});

describe('FROM', () => {
  let dir: string;
  const GGUF = Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(28)]);
  const put = async (rel: string, bytes: Buffer = GGUF) => {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), bytes);
    return path.join(dir, rel);
  };
  const split = async (folder: string, prefix: string, count: number, skip: number[] = []) => {
    for (let i = 1; i <= count; i++) {
      if (!skip.includes(i)) await put(`${folder}/${prefix}-${String(i).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.gguf`);
    }
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-from-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('is a model name when nothing by that name is on disk', async () => {
    expect(await resolveFrom('deepseek-r1:671b', dir, 1)).toEqual({ kind: 'model', name: 'deepseek-r1:671b' });
    expect(await resolveFrom('registry.example.com/ns/model', dir, 1)).toEqual({ kind: 'model', name: 'registry.example.com/ns/model' });
  });

  it('is a GGUF file, relative to the Modelfile, or under ~', async () => {
    const file = await put('models/r1.gguf');
    expect(await resolveFrom('./models/r1.gguf', dir, 1)).toEqual({ kind: 'file', path: file, files: [file] });
    expect(await resolveFrom('models/r1.gguf', dir, 1)).toMatchObject({ kind: 'file', path: file });
    expect(await resolveFrom(file, '/elsewhere', 1)).toMatchObject({ kind: 'file', path: file });
    expect(await resolveFrom('~/models/r1.gguf', '/elsewhere', 1, dir)).toMatchObject({ kind: 'file', path: file });
  });

  it('takes the first file of a split set with every part present', async () => {
    await split('R1', 'DeepSeek-R1-Q4_K_M', 9);
    const first = path.join(dir, 'R1', 'DeepSeek-R1-Q4_K_M-00001-of-00009.gguf');
    const r = await resolveFrom('./R1/DeepSeek-R1-Q4_K_M-00001-of-00009.gguf', dir, 4);
    expect(r).toMatchObject({ kind: 'file', path: first });
    expect(r.kind === 'file' && r.files.length).toBe(9);
    expect(r.kind === 'file' && r.note).toBeUndefined();
  });

  it('uses the first file when FROM names a later part, and says so', async () => {
    await split('R1', 'm', 3);
    const r = await resolveFrom('./R1/m-00002-of-00003.gguf', dir, 1);
    expect(r).toMatchObject({ kind: 'file', path: path.join(dir, 'R1', 'm-00001-of-00003.gguf') });
    expect(r.kind === 'file' && r.note).toBe('FROM names part 2 of 3 of a split set: using its first file, m-00001-of-00003.gguf');
  });

  it('refuses an incomplete split set, naming what is missing', async () => {
    await split('R1', 'm', 9, [4, 7]);
    await expect(resolveFrom('./R1/m-00001-of-00009.gguf', dir, 2)).rejects.toThrow(
      'Modelfile line 2: FROM ./R1/m-00001-of-00009.gguf: the split set is incomplete, 2 of 9 files are missing',
    );
    await expect(resolveFrom('./R1/m-00001-of-00009.gguf', dir, 2)).rejects.toThrow('m-00004-of-00009.gguf, m-00007-of-00009.gguf');
  });

  it('picks the one model of a folder: a single GGUF or the first file of a split set', async () => {
    const single = await put('one/model.gguf');
    await put('one/README.md', Buffer.from('hi'));
    expect(await resolveFrom('./one', dir, 1)).toMatchObject({ kind: 'file', path: single, note: 'FROM ./one: using model.gguf' });
    await split('set', 'DeepSeek-R1-Q4_K_M', 9);
    await put('set/mmproj-f16.gguf');
    expect(await resolveFrom('set', dir, 1)).toMatchObject({ kind: 'file', path: path.join(dir, 'set', 'DeepSeek-R1-Q4_K_M-00001-of-00009.gguf') });
  });

  it.each([
    ['a folder with two models', async () => {
      await put('two/a.gguf');
      await split('two', 'b', 2);
    }, './two', 'Modelfile line 3: FROM ./two: the folder', 'holds several models (a.gguf, b-00001-of-00002.gguf); name one file in FROM'],
    ['a folder without GGUF files', async () => {
      await put('none/notes.txt', Buffer.from('x'));
    }, './none', 'Modelfile line 3: FROM ./none: no GGUF file in the folder', ''],
    ['a path to nothing', async () => {}, './missing.gguf', 'Modelfile line 3: FROM ./missing.gguf: no such file or folder:', 'missing.gguf'],
    ['a file that is not GGUF', async () => {
      await put('weights.safetensors', Buffer.from('{"__metadata__":{}}'));
    }, './weights.safetensors', 'Modelfile line 3: FROM ./weights.safetensors:', 'is not a GGUF file'],
  ])('refuses %s', async (_what, setup, from, start, end) => {
    await setup();
    const err = await resolveFrom(from, dir, 3).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message.startsWith(start)).toBe(true);
    expect(err?.message).toContain(end);
  });
});

describe('Modelfile.example', () => {
  it('parses, and its FROM resolves to all nine files of the R1 release', async () => {
    const mf = parseModelfile(await fs.readFile('Modelfile.example', 'utf8'));
    expect(mf.parameters).toEqual({ rules: 'deepseek-v3', num_ctx: 8192, temperature: 0.6, top_p: 0.95, num_predict: 8192 });
    expect(mf.warnings).toEqual([]);
    expect(mf.license).toHaveLength(1);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'moed-example-'));
    try {
      await fs.mkdir(path.join(dir, 'DeepSeek-R1-Q4_K_M'));
      for (let i = 1; i <= 9; i++) {
        await fs.writeFile(path.join(dir, 'DeepSeek-R1-Q4_K_M', `DeepSeek-R1-Q4_K_M-0000${i}-of-00009.gguf`), 'GGUF');
      }
      const from = await resolveFrom(mf.from, dir, mf.fromLine);
      expect(from.kind === 'file' && from.files.map((f) => path.basename(f))).toEqual(
        Array.from({ length: 9 }, (_, i) => `DeepSeek-R1-Q4_K_M-0000${i + 1}-of-00009.gguf`),
      );
      // The folder form the comment mentions.
      expect(await resolveFrom('./DeepSeek-R1-Q4_K_M', dir, 1)).toMatchObject({ kind: 'file', path: from.kind === 'file' ? from.path : '' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
