#!/usr/bin/env node
// Builds the native addon (build/Release/moed.node) from native/ and one pinned llama.cpp tree.
//
// The llama.cpp source reaches a fresh machine through the npm registry: the tarball of
// node-llama-cpp@3.22.1 carries it as package/llama/gitRelease.bundle (release v0.5.0,
// commit de3ff81). We fetch that tarball by exact version, check its integrity, clone the bundle
// into build/llama.cpp and build it as a static CMake subproject of native/CMakeLists.txt.
//
// Environment:
//   MOED_CUDA=1|0        force the CUDA build on or off (default: on when nvcc and cuBLAS exist)
//   MOED_CUDA_ARCH=90    CUDA architectures (default: from nvidia-smi, e.g. 9.0 -> 90-real)
//   MOED_NATIVE=0        build ggml without -march=native (portable binary)
//   MOED_REBUILD=1       rebuild even when the stamp says the addon is up to date
//   MOED_JOBS=N          parallel compile jobs (default: number of cores)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PINNED = {
  package: 'node-llama-cpp',
  version: '3.22.1',
  integrity:
    'sha512-bltIipuWmc123H7tMIgDGKSsSrhmhlQYeVUC48XTjVW7XGJJiJJyCdlTMzQ/LiWoPkGDpcL4FviDpgw7qfTiDw==',
  bundle: 'package/llama/gitRelease.bundle',
  commit: 'de3ff81',
};

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(ROOT, 'build');
const DEPS = path.join(BUILD, 'deps');
const LLAMA_DIR = path.join(BUILD, 'llama.cpp');
const CMAKE_OUT = path.join(BUILD, 'native');
const RELEASE = path.join(BUILD, 'Release');
const ADDON = path.join(RELEASE, 'moed.node');
const STAMP = path.join(RELEASE, 'moed.stamp');
const NATIVE = path.join(ROOT, 'native');

const log = (msg) => console.log(`[moed build] ${msg}`);

class BuildError extends Error {}

function fail(msg) {
  throw new BuildError(msg);
}

/** Runs a command; returns stdout (trimmed) or null when it cannot run or exits non-zero. */
function probe(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

/** Runs a command with its output shown; throws a BuildError naming the step on failure. */
function run(step, cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) fail(`${step}: could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${step} failed (${cmd} exited with ${r.status ?? r.signal})`);
}

function which(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Prerequisites: say exactly what is missing instead of failing deep inside cmake.

function checkTools({ needNpm }) {
  const problems = [];
  const cmakeVersion = probe('cmake', ['--version'])?.match(/cmake version (\d+)\.(\d+)/);
  if (!cmakeVersion) {
    problems.push('cmake not found: install cmake >= 3.21 (apt-get install cmake)');
  } else if (+cmakeVersion[1] < 3 || (+cmakeVersion[1] === 3 && +cmakeVersion[2] < 21)) {
    problems.push(`cmake ${cmakeVersion[1]}.${cmakeVersion[2]} is too old: install cmake >= 3.21`);
  }
  const cxx = process.env.CXX || ['c++', 'g++', 'clang++'].find((c) => which(c));
  if (!cxx || probe(cxx, ['--version']) === null) {
    problems.push('C++ compiler not found: install g++ >= 9 or clang++ (apt-get install build-essential)');
  }
  if (!which('git')) problems.push('git not found: install git (apt-get install git)');
  if (!which('tar')) problems.push('tar not found: install tar (apt-get install tar)');
  if (needNpm && !which('npm')) {
    problems.push(`npm not found: it is needed once to fetch ${PINNED.package}@${PINNED.version}`);
  }
  if (problems.length) fail(problems.join('\n'));
}

// ---------------------------------------------------------------------------------------------
// Build options

function findCudaToolkit() {
  // A toolkit root is a folder with bin/nvcc. /usr/local/bin/nvcc may be a wrapper script, so
  // the root is not always dirname(dirname(nvcc)); CMake needs the real one.
  const onPath = which('nvcc');
  const roots = [
    process.env.CUDA_PATH,
    process.env.CUDA_HOME,
    onPath && path.dirname(path.dirname(fs.realpathSync(onPath))),
    '/usr/local/cuda',
  ].filter(Boolean);
  const root = roots.find(
    (r) => fs.existsSync(path.join(r, 'bin', 'nvcc')) && fs.existsSync(path.join(r, 'include', 'cuda_runtime.h')),
  );
  if (!root) return null;
  const libDirs = ['lib64', 'lib', 'targets/x86_64-linux/lib', 'targets/sbsa-linux/lib']
    .map((d) => path.join(root, d))
    .concat(['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu']);
  const cublas = libDirs.map((d) => path.join(d, 'libcublas.so')).find((p) => fs.existsSync(p));
  return { nvcc: path.join(root, 'bin', 'nvcc'), root, cublas: cublas ?? null };
}

function cudaArchitectures() {
  if (process.env.MOED_CUDA_ARCH) return process.env.MOED_CUDA_ARCH;
  const out = probe('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader']);
  if (!out) return null;
  // "9.0" -> "90-real": SASS for exactly the GPUs present, no PTX JIT on first use.
  const archs = [...new Set(out.split('\n').map((l) => l.trim().replace('.', '')).filter((l) => /^\d+$/.test(l)))];
  return archs.length ? archs.map((a) => `${a}-real`).join(';') : null;
}

/** The build's options, and notes worth printing when (and only when) we build. */
function buildOptions(notes) {
  const opts = { cuda: false, cudaArch: null, nvcc: null, native: process.env.MOED_NATIVE !== '0' };
  const want = process.env.MOED_CUDA;
  if (want === '0') return opts;
  const tk = findCudaToolkit();
  if (want === '1') {
    if (!tk) fail('MOED_CUDA=1 but nvcc was not found: install the CUDA toolkit or put nvcc on PATH');
    if (!tk.cublas) notes.push(`warning: no libcublas.so under ${tk.root}; the CUDA configure will likely fail`);
  } else if (!tk || !tk.cublas) {
    if (tk) notes.push(`nvcc found but no cuBLAS under ${tk.root}: building CPU only (MOED_CUDA=1 to force)`);
    return opts;
  }
  opts.cuda = true;
  opts.nvcc = tk.nvcc;
  opts.cudaArch = cudaArchitectures();
  if (!opts.cudaArch) notes.push('warning: no GPU visible and MOED_CUDA_ARCH unset; ggml picks its default architectures');
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Stamp: skip the build when nothing that goes into it changed.

function listFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

function computeStamp(opts) {
  const h = createHash('sha256');
  const require = createRequire(import.meta.url);
  const versions = ['cmake-js', 'node-addon-api', 'node-api-headers'].map((p) => {
    try {
      return `${p}@${require(`${p}/package.json`).version}`;
    } catch {
      return `${p}@?`;
    }
  });
  h.update(JSON.stringify({ pinned: PINNED, opts: { ...opts, nvcc: undefined }, versions, platform: process.platform, arch: process.arch }));
  for (const f of [...listFiles(NATIVE), fileURLToPath(import.meta.url)]) {
    h.update(path.relative(ROOT, f));
    h.update('\0');
    h.update(fs.readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(STAMP, 'utf8')).hash;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Source: the pinned tarball -> the bundle -> build/llama.cpp

function sha512Integrity(file) {
  return 'sha512-' + createHash('sha512').update(fs.readFileSync(file)).digest('base64');
}

function fetchTarball() {
  const tgz = path.join(DEPS, `${PINNED.package}-${PINNED.version}.tgz`);
  if (!fs.existsSync(tgz)) {
    log(`fetching ${PINNED.package}@${PINNED.version} from the npm registry`);
    fs.mkdirSync(DEPS, { recursive: true });
    run('npm pack', 'npm', ['pack', `${PINNED.package}@${PINNED.version}`, '--pack-destination', DEPS, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (!fs.existsSync(tgz)) fail(`npm pack did not produce ${tgz}`);
  }
  const got = sha512Integrity(tgz);
  if (got !== PINNED.integrity) {
    fs.rmSync(tgz, { force: true });
    fail(
      `integrity mismatch for ${path.basename(tgz)} (deleted it):\n  expected ${PINNED.integrity}\n  got      ${got}`,
    );
  }
  return tgz;
}

function headCommit() {
  return probe('git', ['-C', LLAMA_DIR, 'rev-parse', 'HEAD']);
}

function ensureSource() {
  if (headCommit()?.startsWith(PINNED.commit)) {
    log(`llama.cpp source present at ${PINNED.commit}`);
    return;
  }
  const tgz = fetchTarball();
  log(`extracting the llama.cpp bundle (${PINNED.commit})`);
  run('extracting the bundle', 'tar', ['-xzf', tgz, '-C', DEPS, PINNED.bundle]);
  const bundle = path.join(DEPS, PINNED.bundle);
  fs.rmSync(LLAMA_DIR, { recursive: true, force: true });
  run('git clone of the bundle', 'git', ['-c', 'advice.detachedHead=false', 'clone', '--quiet', bundle, LLAMA_DIR]);
  const head = headCommit();
  if (!head?.startsWith(PINNED.commit)) {
    fail(`build/llama.cpp is at ${head ?? 'no commit'}, expected ${PINNED.commit}`);
  }
  fs.rmSync(path.join(DEPS, 'package'), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// cmake-js

function cmakeJs(args) {
  const require = createRequire(import.meta.url);
  const bin = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  run(`cmake-js ${args[0]}`, process.execPath, [bin, ...args, '--directory', NATIVE, '--out', CMAKE_OUT], {
    cwd: ROOT,
  });
}

function build(opts) {
  const jobs = Number(process.env.MOED_JOBS) || os.availableParallelism?.() || os.cpus().length;
  const defs = {
    MOED_LLAMA_DIR: LLAMA_DIR,
    MOED_OUTPUT_DIR: RELEASE,
    GGML_CUDA: opts.cuda ? 'ON' : 'OFF',
    GGML_NATIVE: opts.native ? 'ON' : 'OFF',
  };
  if (opts.cuda) {
    defs.CMAKE_CUDA_COMPILER = opts.nvcc;
    if (opts.cudaArch) defs.CMAKE_CUDA_ARCHITECTURES = opts.cudaArch;
  }
  const cd = Object.entries(defs).map(([k, v]) => `--CD${k}=${v}`);
  log(`configuring (${opts.cuda ? `CUDA ${opts.cudaArch ?? 'default archs'}` : 'CPU'}, native=${opts.native})`);
  cmakeJs(['configure', '--config', 'Release', ...cd]);
  log(`compiling with ${jobs} jobs`);
  cmakeJs(['build', '--config', 'Release', '--target', 'moed', '--parallel', String(jobs)]);
  if (!fs.existsSync(ADDON)) fail(`the build finished but ${ADDON} is missing`);
}

// ---------------------------------------------------------------------------------------------

function main() {
  const started = Date.now();
  const notes = [];
  const opts = buildOptions(notes);
  const hash = computeStamp(opts);
  if (process.env.MOED_REBUILD !== '1' && fs.existsSync(ADDON) && readStamp() === hash) {
    log(`build/Release/moed.node is up to date (${opts.cuda ? 'CUDA' : 'CPU'}); MOED_REBUILD=1 rebuilds`);
    return;
  }
  notes.forEach(log);
  const haveTarball = fs.existsSync(path.join(DEPS, `${PINNED.package}-${PINNED.version}.tgz`));
  checkTools({ needNpm: !haveTarball && !headCommit()?.startsWith(PINNED.commit) });
  ensureSource();
  fs.rmSync(STAMP, { force: true });
  build(opts);
  fs.writeFileSync(
    STAMP,
    JSON.stringify({ hash, llama: PINNED.commit, cuda: opts.cuda, cudaArch: opts.cudaArch, native: opts.native }) + '\n',
  );
  log(`built ${path.relative(ROOT, ADDON)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

try {
  main();
} catch (e) {
  console.error(`[moed build] ${e instanceof BuildError ? e.message : e?.stack ?? e}`);
  process.exit(1);
}
