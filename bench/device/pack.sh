#!/usr/bin/env bash
# Packs what the GPU machine needs into .device/ (ignored by git, sent with the device tool's
# `carry`): a Node binary, the pinned llama.cpp sources (only the parts we build), the compiled
# JavaScript and the runtime node_modules. The GPU machine has no Node and reaches no registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device
mkdir -p "$out"
[ -f build/llama.cpp/CMakeLists.txt ] || { echo "build/llama.cpp is missing: run npm install first" >&2; exit 1; }
npx tsc -p tsconfig.json
if [ ! -f "$out/node.xz" ] || [ "$(command -v node)" -nt "$out/node.xz" ]; then
  xz -T0 -6 -c "$(command -v node)" > "$out/node.xz"
fi
git -C build/llama.cpp archive --format=tar HEAD CMakeLists.txt cmake ggml src include common vendor \
  tools/llama-bench LICENSE | xz -T0 -6 > "$out/llama-src.tar.xz"
# Runtime dependencies and the headers the addon compiles against; no TypeScript, no cmake-js.
deps=$(npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2 | sed "s|^$PWD/||" \
  | grep -v -E '^node_modules/(typescript|cmake-js)(/|$)' || true)
tar -cf - $deps node_modules/node-api-headers package.json | xz -T0 -6 > "$out/node_modules.tar.xz"
tar -cf - dist | xz -T0 -6 > "$out/dist.tar.xz"
du -ch "$out"/* | tail -n 1
