#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine: the Debian Rust toolchain that targets wasm32, npm
# dependencies, the wasm build(s) and the TypeScript build. A second run with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian's rustc-web 1.96 + rust-web-src + lld-22: the only toolchain here that can build std for wasm32
#    (-Zbuild-std, offline; see ../shared/TOOLCHAIN.md). rustup's toolchains cannot target wasm32 here.
#    chromium: the browser tests drive it with playwright-core (which cannot download a browser here).
APT_PKGS=(rustc-web cargo-web rust-web-src lld-22 chromium)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing Debian packages: ${missing[*]}"
    say "install them as root:  apt-get update && apt-get install -y ${APT_PKGS[*]}"
    exit 1
  fi
fi

# 2. npm dependencies, re-installed only when package-lock.json changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3. The wasm build(s). Cargo is incremental, so this is quick when nothing changed.
bash scripts/build-wasm.sh

# 4. The TypeScript package build (ts/dist), skipped when no source is newer than the last build. Built from
#    scratch, so that no file of a removed source (or an old source map) lingers into `npm pack`.
if [ ! -f ts/dist/index.js ] || [ -n "$(find ts/src tsconfig.build.json -newer ts/dist/index.js -print -quit)" ]; then
  say "tsc (ts/dist)"
  rm -rf ts/dist
  node_modules/.bin/tsc -p tsconfig.build.json
fi
