// The CLI's argument parsing (cobra's rules and error texts), its help, and the input rules of
// `moed run`: flags, multi-line input, /set parameter values.
import { describe, expect, it } from 'vitest';
import { commandHelp, parseArgs, UsageError } from '../../src/cli/args.js';
import { createSpec, isLocalDaemon } from '../../src/cli/create.js';
import { rmSpec, stopSpec } from '../../src/cli/models.js';
import { InputAssembler, parseSetParameter } from '../../src/cli/repl.js';
import { parseFormat, parseKeepAlive, parseThink, runSpec } from '../../src/cli/run.js';
import { showSpec } from '../../src/cli/show.js';

describe('argument parsing', () => {
  it('takes flags anywhere, in every spelling', () => {
    const p = parseArgs(runSpec, ['--verbose', 'r1', '--keepalive', '10m', 'why', '--format=json', 'is', '--hidethinking=false', 'the sky blue']);
    expect(p.args).toEqual(['r1', 'why', 'is', 'the sky blue']);
    expect(p.flags).toEqual({ verbose: true, keepalive: '10m', format: 'json', hidethinking: false });
  });

  it('gives --think its optional value', () => {
    expect(parseArgs(runSpec, ['r1', '--think']).flags.think).toBe('true');
    expect(parseArgs(runSpec, ['r1', '--think=low']).flags.think).toBe('low');
    // Without "=", the next word is the prompt, not the level (cobra's NoOptDefVal).
    expect(parseArgs(runSpec, ['r1', '--think', 'high']).args).toEqual(['r1', 'high']);
  });

  it('reads short flags with or without a space, and stops at --', () => {
    expect(parseArgs(createSpec, ['m', '-f', 'Modelfile', '-q', 'q4_K_M']).flags).toEqual({ file: 'Modelfile', quantize: 'q4_K_M' });
    expect(parseArgs(createSpec, ['m', '-fMy.modelfile']).flags).toEqual({ file: 'My.modelfile' });
    expect(parseArgs(showSpec, ['-v', 'm']).flags).toEqual({ verbose: true });
    expect(parseArgs(runSpec, ['r1', '--', '--not-a-flag']).args).toEqual(['r1', '--not-a-flag']);
    expect(parseArgs(rmSpec, ['a', 'b', 'c']).args).toEqual(['a', 'b', 'c']);
  });

  it.each([
    [runSpec, ['r1', '--bogus'], 'unknown flag: --bogus'],
    [createSpec, ['m', '-x'], "unknown shorthand flag: 'x' in -x"],
    [createSpec, ['m', '-f'], 'flag needs an argument: -f'],
    [runSpec, [], 'requires at least 1 arg(s), only received 0'],
    [stopSpec, ['a', 'b'], 'accepts 1 arg(s), received 2'],
    [runSpec, ['r1', '--verbose=maybe'], 'invalid argument "maybe" for "--verbose" flag'],
  ] as const)('%#: refuses %j with cobra\'s words', (spec, argv, message) => {
    let err: unknown;
    try {
      parseArgs(spec, argv);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toContain(message);
    expect((err as UsageError).command).toBe(spec.name);
  });

  it('answers --help before checking the arguments', () => {
    expect(parseArgs(stopSpec, ['--help']).help).toBe(true);
    expect(parseArgs(runSpec, ['-h']).help).toBe(true);
  });

  it('prints help as cobra does', () => {
    const help = commandHelp(runSpec);
    expect(help).toContain('Usage:\n  moed run MODEL [PROMPT] [flags]');
    expect(help).toMatch(/\n {6}--think string\[="true"\] +Enable thinking mode/);
    expect(help).toMatch(/\n {6}--hidethinking +Hide thinking output/);
    expect(help).toMatch(/\n {2}-h, --help +help for run/);
    expect(help).toContain('Environment Variables:\n      OLLAMA_HOST');
    expect(commandHelp(createSpec)).toMatch(/\n {2}-f, --file string +Name of the Modelfile/);
  });
});

describe('moed run input', () => {
  it('parses --think, --keepalive and --format', () => {
    expect(parseThink('')).toBe(true);
    expect(parseThink('false')).toBe(false);
    expect(parseThink('medium')).toBe('medium');
    expect(() => parseThink('lots')).toThrow('invalid value for --think: "lots" (must be true, false, high, medium, low, or max)');
    expect(parseKeepAlive('10m')).toBe('10m');
    expect(parseKeepAlive('-1')).toBe(-1);
    expect(() => parseKeepAlive('ten minutes')).toThrow(/time: /);
    expect(parseFormat('json')).toBe('json');
    expect(parseFormat('{"type":"object"}')).toEqual({ type: 'object' });
    expect(() => parseFormat('yaml')).toThrow('invalid --format');
  });

  it('assembles """ blocks into one message, as ollama does', () => {
    const a = new InputAssembler();
    expect(a.feed('hello')).toEqual({ kind: 'line', text: 'hello' });
    expect(a.feed('/show info')).toEqual({ kind: 'line', text: '/show info' });
    expect(a.feed('"""one line"""')).toEqual({ kind: 'message', text: 'one line' });
    expect(a.feed('"""first')).toEqual({ kind: 'more' });
    expect(a.continuing).toBe(true);
    expect(a.feed('/not a command')).toEqual({ kind: 'more' });
    expect(a.feed('last"""')).toEqual({ kind: 'message', text: 'first\n/not a command\nlast' });
    expect(a.continuing).toBe(false);
    expect(a.feed('/set system """You are')).toEqual({ kind: 'more' });
    expect(a.feed('a pirate."""')).toEqual({ kind: 'system', text: 'You are\na pirate.' });
    expect(a.feed('"""')).toEqual({ kind: 'more' });
    a.reset();
    expect(a.continuing).toBe(false);
  });

  it('types /set parameter values as the option they set', () => {
    expect(parseSetParameter('temperature', ['0.7'])).toBe(0.7);
    expect(parseSetParameter('NUM_CTX', ['8192'])).toBe(8192);
    expect(parseSetParameter('stop', ['<|a|>', '<|b|>'])).toEqual(['<|a|>', '<|b|>']);
    expect(parseSetParameter('rules', ['deepseek-v3'])).toBe('deepseek-v3');
    expect(() => parseSetParameter('num_ctx', ['big'])).toThrow('invalid int value [big]');
    expect(() => parseSetParameter('wibble', ['1'])).toThrow("unknown parameter 'wibble'");
  });
});

describe('create', () => {
  it('references local files only when the daemon runs on this machine', () => {
    expect(isLocalDaemon('http://127.0.0.1:11434')).toBe(true);
    expect(isLocalDaemon('http://localhost:11434')).toBe(true);
    expect(isLocalDaemon('http://[::1]:11434')).toBe(true);
    expect(isLocalDaemon('http://[::ffff:127.0.0.1]:11434')).toBe(true);
    expect(isLocalDaemon('http://192.168.1.20:11434')).toBe(false);
    expect(isLocalDaemon('https://gpu-box.example.com:443')).toBe(false);
  });
});
