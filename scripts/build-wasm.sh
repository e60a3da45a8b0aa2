#!/usr/bin/env bash
# Builds the `stowage` package into www/pkg (wasm-pack, release) and prints its size, raw and
# gzip. No wasm-opt pass: Debian's binaryen 108 breaks this module either way — with
# `--all-features` it emits typed function references browsers refuse ("invalid value type"),
# with the features named one by one the optimised module fails at start in
# `WebAssembly.Table.set` (externref table). A newer binaryen (npm `binaryen`) is the way to try.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm-pack build wasm --target web --release --out-dir ../www/pkg --out-name stowage "$@"
wasm=www/pkg/stowage_bg.wasm
echo "[build-wasm] $wasm: $(wc -c < "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped" >&2
