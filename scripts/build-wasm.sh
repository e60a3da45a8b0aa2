#!/usr/bin/env bash
# Builds the `stowage` package into www/pkg: wasm-pack (release), then `wasm-opt -Oz` when
# binaryen is installed (scripts/setup.sh installs Debian's 108). The features are named one by
# one: `--all-features` makes binaryen 108 emit typed function references, which browsers refuse
# ("invalid value type"). The result is compiled once with Node's WebAssembly to catch that.
# Prints the package size, raw and gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm-pack build wasm --target web --release --out-dir ../www/pkg --out-name stowage "$@"
wasm=www/pkg/stowage_bg.wasm
if command -v wasm-opt >/dev/null; then
  wasm-opt -Oz --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-reference-types --enable-multivalue "$wasm" -o "$wasm.opt"
  node -e "WebAssembly.compile(require('fs').readFileSync(process.argv[1])).catch((e) => { console.error(e.message); process.exit(1); })" "$wasm.opt"
  mv "$wasm.opt" "$wasm"
else
  echo "[build-wasm] wasm-opt not found: the package is not size-optimised" >&2
fi
echo "[build-wasm] $wasm: $(wc -c < "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped" >&2
