#!/usr/bin/env bash
# Builds the `stowage` package into www/pkg: wasm-pack (release), then `wasm-opt -Oz` when
# binaryen is installed (scripts/setup.sh installs Debian's; it needs --all-features for the
# current Rust output). Prints the package size, raw and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm-pack build wasm --target web --release --out-dir ../www/pkg --out-name stowage "$@"
wasm=www/pkg/stowage_bg.wasm
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --all-features "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
else
  echo "[build-wasm] wasm-opt not found: the package is not size-optimised" >&2
fi
echo "[build-wasm] $wasm: $(wc -c < "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped" >&2
