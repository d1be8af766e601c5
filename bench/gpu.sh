#!/usr/bin/env bash
# The GPU benchmark, run on the GPU machine (one H100, 16 cores, 125 GiB RAM) from a copy of this
# repository with .device/ packed by bench/device/pack.sh:
#
#   bash bench/gpu.sh start [all|proof|ab] # unpack, then run in the background (setsid)
#   bash bench/gpu.sh wait 570            # wait up to 570 s; copies the results so far to $OUT
#
# `all` builds llama.cpp with CUDA (the addon and llama-bench from one tree) while it forges the
# models, then measures the hybrid proof, llama-bench peers and moed over HTTP, and writes
# results.json, report.md (bench/report.mjs) and the seconds each phase took: under 10 minutes.
# `proof` is the build and bench/hybrid.mjs alone; `ab` the build and a generation A/B against
# llama-bench in three rounds (run_ab). The device tool ends a command after 10
# minutes, hence the background run and `wait`.
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=/tmp/moed-bench
RESULTS=$WORK/results
MODELS=${MOED_BENCH_MODELS:-/dev/shm/moed-models}

setup() {
  mkdir -p "$WORK/node/bin" "$RESULTS" "$MODELS" build
  [ -x "$WORK/node/bin/node" ] || xz -dc .device/node.xz > "$WORK/node/bin/node" && chmod +x "$WORK/node/bin/node"
  tar -xJf .device/node_modules.tar.xz
  rm -rf dist && tar -xJf .device/dist.tar.xz
  [ -f build/llama.cpp/CMakeLists.txt ] || { mkdir -p build/llama.cpp && tar -xJf .device/llama-src.tar.xz -C build/llama.cpp; }
}

# Seconds per phase, written to phases.json by finish() with the total since `start`.
mark() { echo "$1 $((SECONDS - ${2:-$PHASE_START}))" >> "$RESULTS/phases.txt"; PHASE_START=$SECONDS; }

build_if_needed() {
  if [ -f "$RESULTS/build.done" ]; then LLAMA_BENCH=$(cat "$RESULTS/build.done"); return 0; fi
  echo "== build (CUDA, sm_90, with llama-bench from the same tree)"
  local t0=$SECONDS
  local dir=build/cuda
  # A CUDA build left by `npm install` on this machine (build/native) is reused: only llama-bench
  # and the link are left to do.
  if grep -q '^GGML_CUDA:BOOL=ON' build/native/CMakeCache.txt 2>/dev/null; then dir=build/native; fi
  echo "build dir $dir"
  cmake -S native -B $dir -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" \
    -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90-real -DGGML_NATIVE=ON -DMOED_PEER_TOOLS=ON \
    -DMOED_OUTPUT_DIR="$PWD/build/Release" $([ $dir = build/cuda ] && echo -G Ninja) >/dev/null || { echo "configure failed"; exit 1; }
  cmake --build $dir --target moed llama-bench -j 16 | tail -n 3
  LLAMA_BENCH=$(find $dir -name llama-bench -type f -perm -u+x | head -n 1)
  [ -f build/Release/moed.node ] || { echo "build failed"; exit 1; }
  echo "$LLAMA_BENCH" > "$RESULTS/build.done"
  mark build $t0
}

# Every verb: node on the PATH, output to the log.
begin() {
  export PATH="$WORK/node/bin:$PATH"
  exec >>"$RESULTS/log.txt" 2>&1
  PHASE_START=$SECONDS
}

# R1 shape at full width: 4 and 6 blocks (1 and 3 MoE layers) with random routers for speed, and 6
# blocks with fixed routers for the proof. One thread of the CPU; it runs beside the build.
forge_models() {
  local t0=$SECONDS
  for f in r1-4:4:random r1-6:6:random r1-6-fixed:6:fixed; do
    IFS=: read -r name blocks router <<< "$f"
    [ -f "$MODELS/$name.gguf" ] || node dist/cli/main.js forge --preset r1 --blocks "$blocks" --seed 1 --router "$router" -o "$MODELS/$name.gguf"
  done
  mark forge $t0
}

# Build and forge at once; nothing is timed while they run.
build_and_forge() {
  forge_models &
  local forging=$!
  build_if_needed
  wait $forging || { echo "forge failed"; exit 1; }
  PHASE_START=$SECONDS
}

measure_membw() {
  echo "== memory bandwidth"
  gcc -O3 -march=native -fopenmp bench/membw.c -o "$WORK/membw" && OMP_NUM_THREADS=$(nproc) "$WORK/membw" 16 > "$RESULTS/membw.json"
  cat "$RESULTS/membw.json"
  mark membw
}

# The proof of the hybrid engine: every placement of one 6-block file against all-CPU and all-GPU.
hybrid_proof() {
  # The runner gets GGML_OP_OFFLOAD_MIN_BATCH from the plan (rules/deepseek-v3.yaml: 256) when it
  # starts; this script loads the engine in its own process, so it is set here the same way.
  echo "== hybrid proof (6 blocks, fixed routers so that rounding cannot change expert choices)"
  GGML_OP_OFFLOAD_MIN_BATCH=256 node bench/hybrid.mjs "$MODELS/r1-6-fixed.gguf" "$RESULTS/hybrid.json"
  mark proof
}

# llama.cpp's llama-bench from the same tree on the same files, one thread per physical core as
# moed picks. Prompt sizes and repetitions are cut to what the report compares: each prompt size
# runs once untimed (llama-bench's warm-up) and then -r times.
peers() {
  echo "== llama-bench peers (same tree, same files)"
  local T; T=$(node -e "import('./dist/runner/threads.js').then(m=>console.log(m.physicalCores()))")
  for blocks in 4 6; do
    local m="$MODELS/r1-$blocks.gguf"
    # Experts on the CPU as a user runs it: --n-cpu-moe for every layer, defaults otherwise.
    "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 512 -n 128 -r 2 -o json > "$RESULTS/peer-cpumoe-default-$blocks.json"
    # Hand-tuned for prompts: experts in pinned RAM, 2048-token micro-batches, flash attention.
    "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 2048,8192 -n 128 -r 2 -b 2048 -ub 2048 -fa 1 -lm none -o json > "$RESULTS/peer-cpumoe-tuned-$blocks.json"
    # Whole layers, no expert split: what fits a 24 GB card goes to the GPU (R1: 3 of 61 layers,
    # measured here as all layers on the CPU; the report projects the 3 GPU layers).
    "$LLAMA_BENCH" -m "$m" -ngl 0 -t "$T" -p 512 -n 32 -r 1 -o json > "$RESULTS/peer-layers-cpu-$blocks.json"
  done
  mark peers
}

# moed over HTTP at two depths, with R1's placement of every routed expert in RAM: the deepseek-v3
# rules without `fill` (on these small files fill would put every expert on the GPU).
http_figures() {
  echo "== moed over HTTP (4 and 6 blocks, experts in RAM)"
  sed '/^fill:/,/^[a-z]/{/^fill:/d;/^  /d}' rules/deepseek-v3.yaml > "$WORK/deepseek-v3-nofill.yaml"
  grep -q '^fill' "$WORK/deepseek-v3-nofill.yaml" && { echo "fill still in the rules copy"; return 1; }
  for blocks in 4 6; do
    node bench/http.mjs "$MODELS/r1-$blocks.gguf" "$RESULTS/http-$blocks.json" --rules "$WORK/deepseek-v3-nofill.yaml"
  done
  mark http
}

run_all() {
  begin
  echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; free -g; date -u
  measure_membw
  build_and_forge
  hybrid_proof
  peers
  http_figures
  finish
}

# Generation A/B: generation alone changes from minute to minute on the GPU machine (the same
# llama-bench differed by 15% within one run), more than moed and llama.cpp differ. So each round
# runs llama-bench (experts on the CPU, defaults and hand-tuned) and moed's engine (gen-ab.mjs) in
# fresh processes, one after the other at both depths; then all on the GPU, for what an expert
# layer costs there (the saving of `fill`).
run_ab() {
  begin
  measure_membw
  build_and_forge
  export GGML_OP_OFFLOAD_MIN_BATCH=256
  local T; T=$(node -e "import('./dist/runner/threads.js').then(m=>console.log(m.physicalCores()))")
  echo "== generation A/B"
  for round in 1 2 3; do
    for blocks in 4 6; do
      local m="$MODELS/r1-$blocks.gguf"
      "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 0 -n 128 -r 3 -o json > "$RESULTS/ab-default-$blocks-$round.json"
      "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 0 -n 128 -r 3 -b 2048 -ub 2048 -fa 1 -lm none -o json > "$RESULTS/ab-tuned-$blocks-$round.json"
      node bench/gen-ab.mjs "$m" | tail -n 1 > "$RESULTS/ab-moed-$blocks-$round.json"
      cat "$RESULTS/ab-moed-$blocks-$round.json"
    done
  done
  for blocks in 4 6; do node bench/gen-ab.mjs "$MODELS/r1-$blocks.gguf" --placement gpu | tail -n 1 > "$RESULTS/ab-gpu-$blocks.json"; done
  mark ab
  finish
}

run_proof() {
  begin
  build_and_forge
  hybrid_proof
  finish
}

finish() {
  node -e '
    const fs = require("fs"), rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
    fs.writeFileSync(process.argv[2], JSON.stringify({ ...Object.fromEntries(rows.map(([k, v]) => [k, Number(v)])), total: Number(process.argv[3]) }));' \
    "$RESULTS/phases.txt" "$RESULTS/phases.json" "$(($(date +%s) - $(cat "$RESULTS/started")))"
  echo "== phases (seconds)"; cat "$RESULTS/phases.json"; echo
  collect "$WORK"
  node bench/report.mjs "$WORK/results.json" > "$RESULTS/report.md" || echo "report failed"
  echo "== done"; date -u
  touch "$RESULTS/DONE"
}

# Every result so far in one JSON (the device tool brings back few files).
collect() {
  node -e '
    const fs = require("fs"), dir = process.argv[1], all = {};
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      try { all[f.replace(/\.json$/, "")] = JSON.parse(fs.readFileSync(dir + "/" + f, "utf8")); } catch (e) { all[f] = String(e); }
    }
    fs.writeFileSync(process.argv[2] + "/results.json", JSON.stringify(all, null, 2));' "$RESULTS" "$1"
}

case "${1:-}" in
  start)
    mkdir -p "$RESULTS" && rm -f "$RESULTS/DONE" "$RESULTS/phases.txt"
    date +%s > "$RESULTS/started"
    setup
    echo "setup $(($(date +%s) - $(cat "$RESULTS/started")))" >> "$RESULTS/phases.txt"
    setsid bash "$0" "_${2:-all}" </dev/null >/dev/null 2>&1 &
    echo "started ${2:-all}"
    ;;
  _all) run_all ;;
  _proof) run_proof ;;
  _ab) run_ab ;;
  wait)
    deadline=$((SECONDS + ${2:-540}))
    while [ ! -f "$RESULTS/DONE" ] && [ $SECONDS -lt $deadline ]; do sleep 5; done
    export PATH="$WORK/node/bin:$PATH"
    collect "$OUT"
    cp "$RESULTS/log.txt" "$OUT/"
    [ -f "$RESULTS/report.md" ] && cp "$RESULTS/report.md" "$OUT/"
    tail -n 40 "$RESULTS/log.txt"
    ;;
  *) echo "usage: bash bench/gpu.sh start [all|proof|ab] | wait [seconds]" >&2; exit 2 ;;
esac
