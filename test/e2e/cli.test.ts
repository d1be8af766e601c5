// The moed CLI as a user runs it: the built `moed` against a daemon process (`moed serve --demo`
// on a free port, its store in a temporary folder), with a loopback Docker registry for pull and
// push, and a real terminal (tmux) for the interactive chat and the progress bars.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeDeepseek2 } from '../../src/forge/index.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/store.js';

const exec = promisify(execFile);
const CLI = path.resolve('dist/cli/main.js');
const TMUX = ['/usr/bin/tmux', '/usr/local/bin/tmux', '/bin/tmux'].find((p) => existsSync(p));

let dir: string;
let daemon: ChildProcess;
let host: string;
let env: NodeJS.ProcessEnv;
let registry: TestRegistry;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `moed ARGS` with stdin a pipe (not a terminal) holding `input`. */
function moed(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: opts.env ?? env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin!.end(opts.input ?? '');
  });
}

/** A terminal: a tmux session of its own server, 100 columns wide, running one command. */
class Terminal {
  private static n = 0;
  readonly name = `t${Terminal.n++}`;
  constructor(private readonly socket: string) {}

  private tmux(...args: string[]) {
    return exec(TMUX!, ['-S', this.socket, '-f', '/dev/null', ...args], { env: { ...env, TMUX: '' } });
  }

  /** Starts `moed ARGS`; when it ends, the pane says "[exited CODE]". */
  async start(args: string[]): Promise<this> {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const command = `${process.execPath} ${CLI} ${quoted}; echo "[exited $?]"; sleep 600`;
    await this.tmux('new-session', '-d', '-s', this.name, '-x', '100', '-y', '50', command);
    return this;
  }

  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.name, '-l', text);
  }

  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Types a line and presses Enter. */
  async line(text: string): Promise<void> {
    await this.type(text);
    await this.keys('Enter');
  }

  /** The screen and its scrollback, wrapped lines joined; `escapes` keeps colours as SGR codes. */
  async screen(escapes = false): Promise<string> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', this.name, ...(escapes ? ['-e'] : []));
    // -J keeps trailing spaces; a user does not see them.
    return stdout
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .replace(/\s+$/, '');
  }

  async waitFor(test: RegExp | ((s: string) => boolean), ms = 15_000, escapes = false): Promise<string> {
    const ok = typeof test === 'function' ? test : (s: string) => test.test(s);
    const deadline = Date.now() + ms;
    let s = '';
    while (Date.now() < deadline) {
      s = await this.screen(escapes);
      if (ok(s)) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${String(test)}; the screen:\n${s}`);
  }

  /** Waits until the screen's last line is an empty prompt that comes after `marker`. */
  async waitForPrompt(marker: string): Promise<string> {
    return this.waitFor((s) => s.lastIndexOf(marker) >= 0 && /\n>>>( Send a message \(\/\? for help\))?$/.test(s.slice(s.lastIndexOf(marker))));
  }

  async close(): Promise<void> {
    await this.tmux('kill-session', '-t', this.name).catch(() => {});
  }
}

let tmuxSocket: string;

beforeAll(async () => {
  dir = await tempDir('moed-cli-');
  tmuxSocket = path.join(dir, 'tmux.sock');
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  env = { ...process.env, HOME: dir, OLLAMA_HOST: host, OLLAMA_MODELS: path.join(dir, 'models'), MOED_API_KEY: '' };
  daemon = spawn(process.execPath, [CLI, 'serve', '--demo'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const [reg] = await Promise.all([
    startRegistry(),
    (async () => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (daemon.exitCode !== null) throw new Error(`daemon exited with ${daemon.exitCode}`);
        if (await fetch(`http://${host}/`).then((r) => r.ok, () => false)) break;
        if (Date.now() > deadline) throw new Error('daemon did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    })(),
    forgeDeepseek2({ path: path.join(dir, 'custom.gguf'), preset: 'tiny', seed: 9, name: 'custom' }),
  ]);
  registry = reg;
});

afterAll(async () => {
  if (TMUX) await exec(TMUX, ['-S', tmuxSocket, 'kill-server']).catch(() => {});
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  await registry?.stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('moed without a daemon', () => {
  it('says plainly that nothing answers at OLLAMA_HOST, for every command that needs one', async () => {
    const port = await freePort();
    const down = { ...env, OLLAMA_HOST: `127.0.0.1:${port}` };
    for (const args of [['list'], ['ps'], ['show', 'm'], ['run', 'm', 'hi'], ['pull', 'm'], ['rm', 'm'], ['create', 'm']]) {
      const r = await moed(args, { env: down });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toBe(`Error: could not connect to moed at http://127.0.0.1:${port}: run 'moed serve' to start it, or set OLLAMA_HOST to where it listens\n`);
    }
    const v = await moed(['--version'], { env: down });
    expect(v.stdout).toBe('Warning: could not connect to a running moed instance\nWarning: client version is 0.1.0\n');
  });
});

describe('help and version', () => {
  it('prints the version of the daemon', async () => {
    expect(await moed(['-v'])).toMatchObject({ code: 0, stdout: 'moed version is 0.1.0\n' });
    expect((await moed(['--version'])).stdout).toBe('moed version is 0.1.0\n');
  });

  it('lists every command, and each command has its own help', async () => {
    const r = await moed(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['serve', 'create', 'show', 'run', 'stop', 'pull', 'push', 'list', 'ps', 'cp', 'rm']) expect(r.stdout).toMatch(new RegExp(`\\n  ${c} +\\S`));
    const run = await moed(['run', '--help']);
    expect(run.stdout).toContain('Usage:\n  moed run MODEL [PROMPT] [flags]');
    for (const f of ['--keepalive', '--verbose', '--format', '--think', '--hidethinking', '--insecure', '--nowordwrap']) expect(run.stdout).toContain(f);
    expect((await moed(['help', 'show'])).stdout).toContain('--modelfile');
    expect((await moed(['serve', '--help'])).stdout).toContain('OLLAMA_MODELS');
  });

  it('refuses unknown commands, flags and wrong argument counts', async () => {
    expect(await moed(['frobnicate'])).toMatchObject({ code: 1, stderr: expect.stringContaining('Error: unknown command "frobnicate" for "moed"') });
    expect(await moed(['list', '--bogus'])).toMatchObject({ code: 1, stderr: "Error: unknown flag: --bogus\nRun 'moed list --help' for usage.\n" });
    expect(await moed(['cp', 'a'])).toMatchObject({ code: 1, stderr: expect.stringContaining('Error: accepts 2 arg(s), received 1') });
  });
});

describe('create', () => {
  it('creates a model from a Modelfile, showing its progress, the GGUF referenced in place', async () => {
    await fs.writeFile(
      path.join(dir, 'Modelfile'),
      [
        '# the forged model, with settings',
        'FROM ./custom.gguf',
        'PARAMETER seed 42',
        'PARAMETER num_predict 16',
        'PARAMETER mirostat 1',
        'SYSTEM """You are terse.',
        'Very terse."""',
        'LICENSE "Custom License 1.0\nline two\nline three"',
        'MESSAGE user Who are you?',
        'MESSAGE assistant A model.',
        '',
      ].join('\n'),
    );
    const r = await moed(['create', 'custom', '-f', path.join(dir, 'Modelfile')]);
    expect(r.stderr).toBe('warning: parameter mirostat is deprecated (Modelfile line 5); it is ignored\n');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('gathering model components');
    expect(lines).toContain('parsing GGUF');
    expect(lines.some((l) => /^creating new layer sha256:[0-9a-f]{64}$/.test(l))).toBe(true);
    expect(lines.slice(-2)).toEqual(['writing manifest', 'success']);
    const list = await moed(['list']);
    expect(list.stdout).toMatch(/^NAME {16,}ID {14}SIZE {5,}MODIFIED\n/);
    expect(list.stdout).toMatch(/\ncustom:latest {4,}[0-9a-f]{12} {4}\d+(\.\d)? MB {4,}(Less than a second|\d+ seconds) ago\n/);
    // Referenced in place: no GGUF blob in the store but the demo's.
    let ggufBlobs = 0;
    for (const b of await fs.readdir(path.join(dir, 'models', 'blobs'))) {
      const head = Buffer.alloc(4);
      const fh = await fs.open(path.join(dir, 'models', 'blobs', b));
      await fh.read(head, 0, 4, 0);
      await fh.close();
      if (head.toString('latin1') === 'GGUF') ggufBlobs++;
    }
    expect(ggufBlobs).toBe(1);
  });

  it('takes the one GGUF of a folder, and passes --quantize on', async () => {
    await fs.mkdir(path.join(dir, 'folder'), { recursive: true });
    await fs.copyFile(path.join(dir, 'custom.gguf'), path.join(dir, 'folder', 'only.gguf'));
    await fs.writeFile(path.join(dir, 'folder', 'Modelfile'), 'FROM .\n');
    const r = await moed(['create', 'from-folder', '-f', path.join(dir, 'folder', 'Modelfile'), '--quantize', 'q4_K_M']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('FROM .: using only.gguf\n');
    const q = await moed(['create', 'requant', '-f', path.join(dir, 'folder', 'Modelfile'), '-q', 'q8_0']);
    expect(q.code).toBe(1);
    expect(q.stderr).toMatch(/^Error: quantiz/);
  });

  it('uploads the GGUF, with progress, to a daemon on another machine', async () => {
    // A second daemon on this machine's network address: to the CLI, a remote daemon.
    const ip = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!ip) throw new Error('this machine has no non-loopback IPv4 address to test uploads with');
    const remoteHost = `${ip}:${await freePort()}`;
    const remoteEnv = { ...env, OLLAMA_HOST: remoteHost, OLLAMA_MODELS: path.join(dir, 'remote-models') };
    const remote = spawn(process.execPath, [CLI, 'serve'], { env: remoteEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      for (let i = 0; !(await fetch(`http://${remoteHost}/`).then((r) => r.ok, () => false)); i++) {
        if (i > 300 || remote.exitCode !== null) throw new Error('the second daemon did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      await fs.writeFile(path.join(dir, 'Upload'), 'FROM ./custom.gguf\nPARAMETER num_predict 4\n');
      const r = await moed(['create', 'uploaded', '-f', path.join(dir, 'Upload')], { env: remoteEnv });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\nhashing custom\.gguf\.\.\. 100% \d+(\.\d)? MB\n/);
      expect(r.stdout).toMatch(/\ncopying file [0-9a-f]{12}\.\.\. 100% \d+(\.\d)? MB\n/);
      expect(r.stdout.trim().split('\n').at(-1)).toBe('success');
      // The GGUF is a blob of the remote store now, and a second create sends nothing again.
      const blobs = await fs.readdir(path.join(dir, 'remote-models', 'blobs'));
      const sizes = await Promise.all(blobs.map(async (b) => (await fs.stat(path.join(dir, 'remote-models', 'blobs', b))).size));
      expect(sizes).toContain((await fs.stat(path.join(dir, 'custom.gguf'))).size);
      const again = await moed(['create', 'uploaded-2', '-f', path.join(dir, 'Upload')], { env: remoteEnv });
      expect(again.code).toBe(0);
      expect(again.stdout).not.toContain('copying file');
      expect((await moed(['list'], { env: remoteEnv })).stdout).toMatch(/\nuploaded:latest /);
    } finally {
      const exited = new Promise((r) => remote.once('exit', r));
      remote.kill('SIGTERM');
      await exited;
    }
  });

  it('names the line of a bad Modelfile, and a missing file', async () => {
    await fs.writeFile(path.join(dir, 'Bad'), 'FROM ./custom.gguf\n\nPARAMETER num_ctx lots\n');
    expect(await moed(['create', 'bad', '-f', path.join(dir, 'Bad')])).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'Error: Modelfile line 3: invalid int value [lots]\n',
    });
    await fs.writeFile(path.join(dir, 'Missing'), '# comment\nFROM ./nowhere/r1.gguf\n');
    const r = await moed(['create', 'bad', '-f', path.join(dir, 'Missing')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: Modelfile line 2: FROM ./nowhere/r1.gguf: no such file or folder: ${path.join(dir, 'nowhere', 'r1.gguf')}\n`);
    expect(await moed(['create', 'bad', '-f', path.join(dir, 'NoSuchModelfile')])).toMatchObject({ code: 1, stderr: expect.stringContaining("specified Modelfile wasn't found") });
    // No -f: ./Modelfile, or else the GGUF of the current folder, or else a plain word.
    const empty = path.join(dir, 'empty-folder');
    await fs.mkdir(empty, { recursive: true });
    expect(await moed(['create', 'bad'], { cwd: empty })).toMatchObject({
      code: 1,
      stderr: `Error: no Modelfile (${path.join(empty, 'Modelfile')}) and no GGUF model in ${empty}: name a Modelfile with -f FILE\n`,
    });
    expect(await moed(['create', 'from-cwd'], { cwd: path.join(dir, 'folder') })).toMatchObject({ code: 0 });
  });
});

describe('show', () => {
  it('prints the summary', async () => {
    const r = await moed(['show', 'custom']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}Model\n {4}architecture {8}deepseek2\n {4}parameters {10}\d/);
    expect(r.stdout).toMatch(/\n {4}context length {6}\d+\n {4}embedding length {4}\d+\n {4}quantization {8}Q4_K_M\n\n/);
    expect(r.stdout).toContain('  Capabilities\n    completion\n');
    expect(r.stdout).toMatch(/ {2}Parameters\n {4}num_predict {4}16\n {4}seed {11}42\n\n/);
    expect(r.stdout).toContain('  System\n    You are terse.\n    Very terse.\n\n');
    expect(r.stdout).toContain('  License\n    Custom License 1.0\n    line two\n    ...\n\n');
  });

  it('prints one part with a flag', async () => {
    const mf = await moed(['show', 'custom', '--modelfile']);
    expect(mf.stdout).toContain(`FROM ${path.join(dir, 'custom.gguf')}\n`);
    expect(mf.stdout).toContain('PARAMETER seed 42\n');
    expect(mf.stdout).toContain('MESSAGE user Who are you?\n');
    expect((await moed(['show', 'custom', '--parameters'])).stdout).toMatch(/^num_predict +16\nseed +42\n/);
    expect((await moed(['show', 'custom', '--system'])).stdout).toBe('You are terse.\nVery terse.');
    expect((await moed(['show', 'custom', '--license'])).stdout).toBe('Custom License 1.0\nline two\nline three\n');
    expect((await moed(['show', 'custom', '--template'])).stdout).toMatch(/\S/);
    const v = await moed(['show', 'custom', '-v']);
    expect(v.stdout).toMatch(/\n {2}Metadata\n/);
    expect(v.stdout).toMatch(/\n {2}Tensors\n {4}\S+\.weight {4,}[A-Z0-9_]+ {4,}\[\d+( \d+)*\]\n/);
    expect(v.stdout).toMatch(/\n {4}deepseek2\.block_count {4,}3\n/);
    expect(await moed(['show', 'custom', '--system', '--license'])).toMatchObject({ code: 1, stderr: expect.stringContaining('only one of') });
  });

  it('prints the placement plan with --plan', async () => {
    const r = await moed(['show', 'custom', '--plan']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Placement of "custom" \(deepseek2, /);
    expect(r.stdout).toMatch(/\nDEVICE +WEIGHTS +KV CACHE/);
  });

  it('says which model is missing', async () => {
    expect(await moed(['show', 'nothere'])).toMatchObject({ code: 1, stderr: "Error: model 'nothere:latest' not found\n" });
  });

  it('says clearly when a GGUF referenced in place was moved, in show and in run', async () => {
    const file = path.join(dir, 'movable.gguf');
    await fs.copyFile(path.join(dir, 'custom.gguf'), file);
    await fs.writeFile(path.join(dir, 'Movable'), `FROM ${file}\n`);
    expect((await moed(['create', 'movable', '-f', path.join(dir, 'Movable')])).code).toBe(0);
    await fs.rename(file, `${file}.old`);
    const message = `Error: model file ${file} of movable:latest is missing: it was moved or deleted; create the model again with the new path\n`;
    expect(await moed(['show', 'movable'])).toMatchObject({ code: 1, stderr: message });
    expect(await moed(['run', 'movable', 'hi'])).toMatchObject({ code: 1, stderr: message });
  });
});

describe('run, answering once', () => {
  it('answers a prompt given as arguments: thinking apart, plain text in a pipe', async () => {
    const r = await moed(['run', 'custom', 'why', 'is', 'the', 'sky', 'blue?']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(10);
    expect(r.stdout).not.toContain('\x1b[');
    // R1's template opens <think>: what the forged model says is thinking until it samples </think>.
    expect(r.stdout).toMatch(/^Thinking\.\.\.\n/);
  });

  it('reads the prompt from stdin, and prints the metrics with --verbose', async () => {
    const r = await moed(['run', 'custom', '--verbose'], { input: 'Summarize this.\n' });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(10);
    expect(r.stderr).toMatch(/^total duration: {7}[\d.]+(ms|s)\n/m);
    expect(r.stderr).toMatch(/^prompt eval count: {4}\d+ token\(s\)$/m);
    expect(r.stderr).toMatch(/^eval count: {11}\d+ token\(s\)$/m);
    expect(r.stderr).toMatch(/^eval rate: {12}[\d.]+ tokens\/s$/m);
  });

  it('hides thinking with --hidethinking, and keeps the model loaded as long as --keepalive says', async () => {
    const r = await moed(['run', 'custom', '--hidethinking', '--keepalive', '1h', 'hi']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Thinking...');
  });

  it('passes --format on: a JSON schema shapes the answer', async () => {
    const schema = '{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}';
    const r = await moed(['run', 'moed-demo', '--think=false', '--format', schema, 'a number please']);
    expect(r.code).toBe(0);
    expect(Number.isInteger(JSON.parse(r.stdout).n)).toBe(true);
  });

  it('refuses a bad flag value before sending anything', async () => {
    expect(await moed(['run', 'custom', '--think=lots', 'hi'])).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid value for --think: "lots"') });
    expect(await moed(['run', 'custom', '--keepalive', 'soon', 'hi'])).toMatchObject({ code: 1, stderr: expect.stringContaining('time: ') });
  });
});

describe('ps and stop', () => {
  it('lists the running model with its processor, context and keep-alive, and stops it', async () => {
    const r = await moed(['ps']);
    expect(r.stdout).toMatch(/^NAME {13,}ID {14}SIZE {5,}PROCESSOR {4}CONTEXT {4}UNTIL\s*\n/);
    expect(r.stdout).toMatch(/\ncustom:latest {4,}[0-9a-f]{12} {4}\d+(\.\d)? [MG]B {4,}100% CPU {4,}\d+ {4,}(59 minutes|About an hour) from now/);
    expect(await moed(['stop', 'custom'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect((await moed(['ps'])).stdout).not.toContain('custom:latest');
    expect(await moed(['stop', 'nothere'])).toMatchObject({ code: 1, stderr: 'Error: couldn\'t find model "nothere" to stop\n' });
  });
});

describe('cp, rm, push and pull', () => {
  it('copies and removes models', async () => {
    expect(await moed(['cp', 'custom', 'copy-1'])).toMatchObject({ code: 0, stdout: "copied 'custom' to 'copy-1'\n" });
    expect(await moed(['cp', 'custom', 'copy-2'])).toMatchObject({ code: 0 });
    expect(await moed(['rm', 'copy-1', 'copy-2'])).toMatchObject({ code: 0, stdout: "deleted 'copy-1'\ndeleted 'copy-2'\n" });
    expect(await moed(['rm', 'copy-1'])).toMatchObject({ code: 1, stderr: "Error: model 'copy-1' not found\n" });
    expect((await moed(['list'])).stdout).not.toContain('copy-');
  });

  it('pushes to a registry and pulls back, with progress lines', async () => {
    const name = `${registry.host}/test/custom:v1`;
    expect((await moed(['cp', 'custom', name])).code).toBe(0);
    const push = await moed(['push', name, '--insecure']);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    const pushed = push.stdout.split('\n');
    expect(pushed[0]).toBe('retrieving manifest');
    expect(pushed.filter((l) => /^pushing [0-9a-f]{12}\.\.\. 100% \d+(\.\d)? [KMG]?B$/.test(l)).length).toBeGreaterThanOrEqual(3);
    expect(pushed).toContain('pushing manifest');
    expect(push.stdout).toContain(`success\n\nYou can find your model at:\n\n\t${name}\n`);

    expect((await moed(['rm', name])).code).toBe(0);
    const pull = await moed(['pull', name, '--insecure']);
    expect(pull.code).toBe(0);
    const pulled = pull.stdout.trim().split('\n');
    expect(pulled[0]).toBe('pulling manifest');
    expect(pulled.some((l) => /^pulling [0-9a-f]{12}\.\.\. 100% \d+(\.\d)? MB$/.test(l))).toBe(true);
    expect(pulled.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);
    expect((await moed(['list'])).stdout).toContain(`${name}`);
  });

  it('pulls a model that run does not find, then answers', async () => {
    const name = `${registry.host}/test/custom:v1`;
    expect((await moed(['rm', name])).code).toBe(0);
    const r = await moed(['run', name, 'hi']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pulling manifest\n[\s\S]*\nsuccess\n[\s\S]+/);
  });

  it('says what the registry said about a model it does not have', async () => {
    const r = await moed(['pull', `${registry.host}/test/nothing:v1`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: .*(not found|does not exist)/i);
    const run = await moed(['run', `${registry.host}/test/nothing:v1`, 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^Error: model '${registry.host}/test/nothing:v1' is not here, and pulling it failed: .*(not found|does not exist)`, 'i'));
  });
});

describe('in a terminal', () => {
  const needTmux = () => {
    if (!TMUX) throw new Error('tmux is not installed: apt-get install -y tmux');
  };

  it('chats: streamed answers with thinking dimmed, /set, /show, """, /save, /clear, /bye', async () => {
    needTmux();
    const t = await new Terminal(tmuxSocket).start(['run', 'moed-demo']);
    try {
      await t.waitFor(/^>>> Send a message \(\/\? for help\)$/m);

      await t.line('/set parameter seed 7');
      await t.waitFor(/Set parameter 'seed' to '7'/);
      await t.line('/set verbose');
      await t.waitFor(/Set 'verbose' mode\./);

      await t.line('hello');
      const answered = await t.waitForPrompt('>>> hello');
      expect(answered).toMatch(/>>> hello\nThinking\.\.\.\n/);
      expect(answered).toMatch(/\neval rate: +[\d.]+ tokens\/s\n/);
      expect(await t.screen(true)).toContain('\x1b[2mThinking...');

      await t.line('/set parameter num_predict 100');
      await t.line('/show parameters');
      const params = await t.waitFor(/User defined parameters:\n(.*\n)*.*num_predict +100/);
      expect(params).toMatch(/Model defined parameters:\n {2}num_predict +200\n/);
      expect(params).toMatch(/User defined parameters:\n(.*\n)* {2}seed +7/);

      await t.line('/show info');
      await t.waitFor(/ {4}architecture {8}deepseek2/);
      await t.line('/save snap-1');
      await t.waitFor(/Created new model 'snap-1'/);

      await t.line('/set system Talk like a pirate.');
      await t.waitFor(/Set system message\./);
      await t.line('/show system');
      await t.waitFor(/\/show system\nTalk like a pirate\.\n/);
      await t.line('/clear');
      await t.waitFor(/Cleared session context/);
      await t.line('/save snap-2');
      await t.waitFor(/Created new model 'snap-2'/);

      await t.line('/set quiet');
      await t.line('/set parameter num_predict 8');
      await t.line('"""first line');
      await t.waitFor(/\n\.\.\.( Press Enter to send)?$/);
      await t.line('/second line"""');
      await t.waitForPrompt('... /second line"""');

      await t.line('/?');
      await t.waitFor(/Available Commands:\n {2}\/set +Set session variables/);
      await t.line('/bogus');
      await t.waitFor(/Unknown command '\/bogus'\. Type \/\? for help/);
      await t.line('/bye');
      await t.waitFor(/\[exited 0\]$/);
    } finally {
      await t.close();
    }

    // What the session held, as /save stored it.
    const one = (await moed(['show', 'snap-1', '--modelfile'])).stdout;
    expect(one).toContain('MESSAGE user hello\n');
    expect(one).toMatch(/MESSAGE assistant /);
    expect(one).toMatch(/PARAMETER num_predict 100\n/);
    expect(one).toMatch(/PARAMETER seed 7\n/);
    const two = (await moed(['show', 'snap-2', '--modelfile'])).stdout;
    expect(two).not.toContain('MESSAGE user');
    expect(two).toContain('SYSTEM Talk like a pirate.');
  });

  it('stops an answer on Ctrl-C and comes back to the prompt, keeping what was said', async () => {
    needTmux();
    // A JSON schema asking for 1000 numbers: the answer cannot end by itself for a long while.
    const schema = '{"type":"array","items":{"type":"integer"},"minItems":1000}';
    const t = await new Terminal(tmuxSocket).start(['run', 'moed-demo', '--think=false', '--verbose', '--format', schema]);
    try {
      await t.waitFor(/^>>> /m);
      await t.line('/set parameter num_predict 100000');
      await t.waitFor(/Set parameter 'num_predict' to '100000'/);
      for (const question of ['numbers please', 'again']) {
        await t.line(question);
        const begun = await t.waitFor((s) => s.length - s.lastIndexOf(`>>> ${question}`) > 200);
        await new Promise((r) => setTimeout(r, 300));
        expect((await t.screen()).length).toBeGreaterThan(begun.length); // it streams
        await t.keys('C-c');
        const stopped = await t.waitForPrompt(`>>> ${question}`);
        const answer = stopped.slice(stopped.lastIndexOf(`>>> ${question}`));
        expect(answer.startsWith(`>>> ${question}\n[`)).toBe(true);
        // Stopped: nothing more comes, and no metrics (those end an answer that finished).
        expect(answer).not.toContain('eval rate');
        await new Promise((r) => setTimeout(r, 400));
        expect(await t.screen()).toBe(stopped);
      }
      await t.line('/save snap-3');
      await t.waitFor(/Created new model 'snap-3'/);
      await t.line('/bye');
      await t.waitFor(/\[exited 0\]$/);
    } finally {
      await t.close();
    }
    const saved = (await moed(['show', 'snap-3', '--modelfile'])).stdout;
    expect(saved).toMatch(/\nMESSAGE user numbers please\nMESSAGE assistant (""")?\[/);
    expect(saved).toMatch(/\nMESSAGE user again\nMESSAGE assistant (""")?\[/);
  });

  it('leaves on a second Ctrl-C at an empty prompt, and on Ctrl-D', async () => {
    needTmux();
    const a = await new Terminal(tmuxSocket).start(['run', 'moed-demo']);
    const b = await new Terminal(tmuxSocket).start(['run', 'moed-demo']);
    try {
      await a.waitFor(/^>>> /m);
      await a.type('half a thought');
      await a.keys('C-c');
      await a.waitFor(/>>> half a thought\n>>> /);
      await a.keys('C-c');
      await a.waitFor(/\nUse Ctrl \+ d or \/bye to exit\.\n>>> /);
      expect(await a.screen()).not.toContain('[exited');
      await a.keys('C-c');
      await a.waitFor(/\[exited 0\]$/);

      await b.waitFor(/^>>> /m);
      await b.keys('C-d');
      await b.waitFor(/\[exited 0\]$/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('draws progress bars for a pull', async () => {
    needTmux();
    const name = `${registry.host}/test/custom:v1`;
    await moed(['rm', name]);
    const t = await new Terminal(tmuxSocket).start(['pull', name]);
    try {
      const s = await t.waitFor(/\[exited \d+\]$/);
      expect(s).toMatch(/^pulling manifest\n/);
      expect(s).toMatch(/\npulling [0-9a-f]{12}\.\.\. 100% ▕█{20,}▏ +\d+(\.\d)? MB/);
      expect(s).toMatch(/\nsuccess\n\[exited 0\]$/);
    } finally {
      await t.close();
    }
  });
});
