#!/usr/bin/env bash
# Builds the `stowage` package into www/pkg and prints its size, raw and gzip:
#   1. wasm-pack with the `wasm-release` profile of Cargo.toml (opt-level "z", fat LTO, one
#      codegen unit, panic = "abort"; the server's release profile is untouched);
#   2. wasm-opt -Oz from npm `binaryen`, pinned in package.json (scripts/setup.sh installs it),
#      which also strips the name section and the producers section. Not Debian's binaryen 108: it
#      breaks this module (with `--all-features` it emits typed function references browsers refuse,
#      with the features named one by one the module fails at start in `WebAssembly.Table.set`);
#   3. scripts/package-npm.mjs: the npm package's package.json, README.md and licence files.
# Extra arguments go to wasm-pack.
set -euo pipefail
cd "$(dirname "$0")/.."

wasm_opt=node_modules/.bin/wasm-opt
if [ ! -x "$wasm_opt" ]; then
  echo "[build-wasm] $wasm_opt is missing: run scripts/setup.sh (or npm install)" >&2
  exit 1
fi

wasm-pack build wasm --target web --profile wasm-release --out-dir ../www/pkg --out-name stowage "$@"

wasm=www/pkg/stowage_bg.wasm
js=www/pkg/stowage.js

# The module-level functions (`upload`, `list`, ...) are JS over the configured client, not a
# second set of wasm exports: wasm/js/default-client.js goes at the end of the glue, its
# declarations at the end of stowage.d.ts, and the accessor it calls out of the module's exports.
accessor='function __stowageDefaultClient('
if ! grep -q "^export $accessor" "$js"; then
  echo "[build-wasm] $js does not export $accessor)" >&2
  exit 1
fi
sed -i "s/^export $accessor/$accessor/" "$js"
{ echo; cat wasm/js/default-client.js; } >> "$js"
{ echo; cat wasm/js/default-client.d.ts; } >> www/pkg/stowage.d.ts
before=$(wc -c < "$wasm")
# The features rustc's wasm32-unknown-unknown emits by default (the module's target_features
# section lists the same; `wasm-opt --print-features` shows them).
"$wasm_opt" "$wasm" -o "$wasm.opt" -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-bulk-memory-opt --enable-reference-types --enable-multivalue \
  --enable-call-indirect-overlong
mv "$wasm.opt" "$wasm"
size() { echo "$(wc -c < "$1") bytes, $(gzip -9 -c "$1" | wc -c) gzipped"; }
echo "[build-wasm] $wasm: $(size "$wasm") (wasm-opt: $before bytes before)" >&2
echo "[build-wasm] $js: $(size "$js")" >&2
# npm-ready: package.json with `exports` and `types`, README.md and the licences (`npm pack www/pkg`).
node scripts/package-npm.mjs www/pkg
