#!/usr/bin/env bash
# The GPU benchmark, run on the GPU machine (one H100, 16 cores, 125 GiB RAM) from a copy of this
# repository with .device/ packed by bench/device/pack.sh:
#
#   bash bench/gpu.sh start      # unpack, then build + forge + measure in the background (setsid)
#   bash bench/gpu.sh wait 540   # wait up to 540 s; copies the results so far to $OUT
#
# One full run takes about 20 minutes, more than one device command may last, hence the two verbs.
# Results: $OUT/*.json and $OUT/log.txt; bench/report.mjs turns them into docs/BENCHMARKS.md.
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
  echo "build_seconds $((SECONDS - t0))"
  echo "$LLAMA_BENCH" > "$RESULTS/build.done"
}

# Every verb: node on the PATH, output to the log, the build done once.
begin() {
  export PATH="$WORK/node/bin:$PATH"
  exec >>"$RESULTS/log.txt" 2>&1
  build_if_needed
}

forge_depths() {
  echo "== forge (R1 shape at full width, 4 and 6 blocks: 1 and 3 MoE layers)"
  for blocks in 4 6; do
    [ -f "$MODELS/r1-$blocks.gguf" ] || node dist/cli/main.js forge --preset r1 --blocks $blocks --seed 1 -o "$MODELS/r1-$blocks.gguf"
  done
}

measure_membw() {
  echo "== memory bandwidth"
  gcc -O3 -march=native -fopenmp bench/membw.c -o "$WORK/membw" && OMP_NUM_THREADS=$(nproc) "$WORK/membw" 16 > "$RESULTS/membw.json"
  cat "$RESULTS/membw.json"
}

# llama-bench's -t: one thread per physical core, as moed picks.
peer_threads() {
  node -e "import('./dist/runner/threads.js').then(m=>console.log(m.physicalCores()))"
}

run_all() {
  begin
  echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; free -g; date -u
  measure_membw
  forge_depths
  ls -la "$MODELS"
  hybrid_proof
  echo "== engine figures"
  for blocks in 4 6; do
    for placement in hybrid gpu; do
      node bench/engine.mjs "$MODELS/r1-$blocks.gguf" "$RESULTS/engine-$placement-$blocks.json" --placement $placement
    done
  done
  echo "== llama-bench peers (same tree, same files)"
  local T; T=$(peer_threads)
  for blocks in 4 6; do
    local m="$MODELS/r1-$blocks.gguf"
    # llama.cpp as a user runs it with experts on the CPU: --n-cpu-moe for every layer, defaults else.
    "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 2048 -n 128 -r 3 -o json > "$RESULTS/peer-cpumoe-default-$blocks.json"
    # Hand-tuned for prompts: experts in pinned RAM, 2048-token micro-batches, flash attention.
    "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 2048,8192 -n 128 -r 3 -b 2048 -ub 2048 -fa 1 -lm none -o json > "$RESULTS/peer-cpumoe-tuned-$blocks.json"
    # Whole layers, no expert split: what fits a 24 GB card goes to the GPU (R1: 3 of 61 layers,
    # measured here as all layers on the CPU; the report projects the 3 GPU layers).
    "$LLAMA_BENCH" -m "$m" -ngl 0 -t "$T" -p 2048 -n 64 -r 2 -o json > "$RESULTS/peer-layers-cpu-$blocks.json"
  done
  http_figures
  finish
}

run_http() {
  begin
  forge_depths
  http_figures
  finish
}

# The proof of the hybrid engine: every placement of one 6-block file against all-CPU and all-GPU.
hybrid_proof() {
  # The runner gets GGML_OP_OFFLOAD_MIN_BATCH from the plan (rules/deepseek-v3.yaml: 256) when it
  # starts; these scripts load the engine in their own process, so it is set here the same way.
  export GGML_OP_OFFLOAD_MIN_BATCH=256
  echo "== hybrid proof (6 blocks, fixed routers so that rounding cannot change expert choices)"
  [ -f "$MODELS/r1-6-fixed.gguf" ] || node dist/cli/main.js forge --preset r1 --blocks 6 --seed 1 --router fixed -o "$MODELS/r1-6-fixed.gguf"
  node bench/hybrid.mjs "$MODELS/r1-6-fixed.gguf" "$RESULTS/hybrid.json"
}

run_proof() {
  begin
  hybrid_proof
  finish
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
}

# Generation A/B: llama-bench (experts on the CPU, hand-tuned) and the engine alone, alternating in
# fresh processes, two rounds at each depth, then the HTTP figures.
run_ab() {
  begin
  export GGML_OP_OFFLOAD_MIN_BATCH=256
  forge_depths
  measure_membw
  local T; T=$(peer_threads)
  echo "== generation A/B"
  for round in 1 2; do
    for blocks in 4 6; do
      local m="$MODELS/r1-$blocks.gguf"
      "$LLAMA_BENCH" -m "$m" -ngl 99 -ncmoe 99 -t "$T" -p 0 -n 128 -r 3 -b 2048 -ub 2048 -fa 1 -lm none -o json > "$RESULTS/ab-llama-$blocks-$round.json"
      node bench/gen-ab.mjs "$m" | tail -n 1 > "$RESULTS/ab-moed-$blocks-$round.json"
      cat "$RESULTS/ab-moed-$blocks-$round.json"
    done
  done
  http_figures
  finish
}

finish() {
  echo "== done"; date -u
  touch "$RESULTS/DONE"
}

case "${1:-}" in
  start)
    # start [all|proof|http|ab|build]: everything, the build and the hybrid proof, only the HTTP
    # figures, the generation A/B, or only the build.
    setup
    rm -f "$RESULTS/DONE"
    setsid bash "$0" "_${2:-all}" </dev/null >/dev/null 2>&1 &
    echo "started ${2:-all}"
    ;;
  _all) run_all ;;
  _http) run_http ;;
  _ab) run_ab ;;
  _proof) run_proof ;;
  _build) begin; finish ;;
  wait)
    deadline=$((SECONDS + ${2:-540}))
    while [ ! -f "$RESULTS/DONE" ] && [ $SECONDS -lt $deadline ]; do sleep 5; done
    # At most 8 files come back: the log and one JSON holding every result so far.
    "$WORK/node/bin/node" -e '
      const fs = require("fs"), dir = process.argv[1], all = {};
      for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) {
        try { all[f.replace(/\.json$/, "")] = JSON.parse(fs.readFileSync(dir + "/" + f, "utf8")); } catch (e) { all[f] = String(e); }
      }
      fs.writeFileSync(process.argv[2] + "/results.json", JSON.stringify(all, null, 2));' "$RESULTS" "$OUT"
    cp "$RESULTS/log.txt" "$OUT/"
    tail -n 40 "$RESULTS/log.txt"
    ;;
  *) echo "usage: bash bench/gpu.sh start|wait [seconds]" >&2; exit 2 ;;
esac
