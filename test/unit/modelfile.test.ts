import { describe, expect, it } from 'vitest';
import { parseModelfile } from '../../src/client/modelfile.js';

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
  ])('%j fails with %s', (text, message) => {
    expect(() => parseModelfile(text)).toThrow(message);
  });
});
