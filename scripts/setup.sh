#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need on a fresh Debian machine with Rust and Node.
# Each step checks first and does nothing when the tool is already there.
#   scripts/setup.sh          everything for the server, the wasm build and Chromium (`npm start`)
#   scripts/setup.sh --all    also Firefox ESR + geckodriver and WebKitGTK's WebDriver + Xvfb
#                             (`npm test`, which runs the browser tests in all three engines)
#   scripts/setup.sh --postgres  also Debian's postgresql, unless initdb is already there
#                             (`npm test` runs the server's tests against a throwaway cluster too)
#   scripts/setup.sh --vips      also Debian's libvips-tools (`vipsthumbnail`, the reference of the
#                             image benchmark; `--all` includes it, as `npm test` runs that benchmark)
#   scripts/setup.sh --garage    also Garage 2.5.0 (an S3-compatible object store) with cargo install,
#                             unless garage is already there (it compiles for about 13 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p; s/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
want_all=0
want_postgres=0
want_garage=0
want_vips=0
for arg in "$@"; do
  [ "$arg" = "--vips" ] && want_vips=1
  [ "$arg" = "--all" ] && want_all=1
  [ "$arg" = "--postgres" ] && want_postgres=1
  [ "$arg" = "--garage" ] && want_garage=1
done

say() { echo "[setup] $*" >&2; }
sudo_if() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# A native tool on PATH or in ~/.cargo/bin. PATH entries under node_modules do not count: under
# `npm test` npm puts node_modules/.bin first, and npm's `geckodriver` package (a dependency of
# `webdriver`) installs a wrapper there that downloads the real driver on first use, which a
# machine without network cannot do.
have_native() {
  local dir
  local IFS=:
  for dir in $PATH "$HOME/.cargo/bin"; do
    case "$dir" in *node_modules*) continue ;; esac
    [ -n "$dir" ] && [ -x "$dir/$1" ] && return 0
  done
  return 1
}

apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} = 0 ] && return 0
  if [ $apt_updated = 0 ]; then say "apt-get update"; sudo_if apt-get update -qq; apt_updated=1; fi
  say "apt-get install ${missing[*]}"
  sudo_if env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if ! have_native wasm-pack; then
  say "cargo install wasm-pack"; cargo install -q wasm-pack --locked || cargo install -q wasm-pack
fi
apt_install chromium chromium-driver
# The devserver's image codecs: libjpeg-turbo (the turbojpeg crate links Debian's, found by
# pkg-config) and nasm for rav1e's assembly (AVIF output).
apt_install pkg-config libturbojpeg0-dev nasm
if [ $want_all = 1 ]; then
  # xvfb-run needs xauth, which xvfb only recommends.
  apt_install firefox-esr webkit2gtk-driver xvfb xauth
  # tests/proxy.test.mjs runs its own nginx (TLS on a self-signed certificate from openssl) on a
  # free loopback port; it never uses the system's nginx service, which it neither needs nor stops.
  apt_install nginx openssl
  want_vips=1
  if ! have_native geckodriver; then
    say "cargo install geckodriver"; cargo install -q geckodriver --locked || cargo install -q geckodriver
  fi
fi
if [ $want_vips = 1 ]; then
  apt_install libvips-tools
fi
if [ $want_postgres = 1 ]; then
  # tests/postgres.mjs looks in the same places (and installs the same package if setup did not).
  if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
fi
if [ $want_garage = 1 ]; then
  # tests/garage.mjs looks in the same places.
  if ! command -v garage >/dev/null && [ ! -x "$HOME/.cargo/bin/garage" ]; then
    say "cargo install garage 2.5.0 (about 13 minutes on 2 cores)"
    cargo install -q garage --locked --version 2.5.0
  fi
fi
# Every package the tests import (vite: tests/vite-app.test.mjs), and binaryen's wasm-opt for
# scripts/build-wasm.sh; a checkout that predates one of them installs again. autocannon is the
# bench's load generator (bench/loadgen.mjs), where oha was cargo-installed before; webdriver
# is tests/webdriver.mjs's client for geckodriver and WebKitWebDriver.
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@cognite/sdk ] || [ ! -d node_modules/backendless ] ||
  [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/vite ] || [ ! -d node_modules/autocannon ] ||
  [ ! -d node_modules/webdriver ]; then
  say "npm install"; npm install --no-audit --no-fund --loglevel=error
fi
say "ready"
