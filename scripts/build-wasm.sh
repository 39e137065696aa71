#!/usr/bin/env bash
# Builds the wasm variants of crates/wasm with Debian's rustc-web and writes optimized modules to wasm/.
#   simd: single-threaded, SIMD128.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[build-wasm] %s\n' "$*" >&2; }
mkdir -p wasm

# Debian's cargo/rustc first: rustup's shims on PATH cannot build std for wasm32.
export PATH=/usr/bin:$PATH
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1   # -Zbuild-std on a stable compiler: std is rebuilt with our target features.

build() { # name rustflags
  local name=$1 flags=$2
  local tdir=target/wasm-$name
  local raw=$tdir/wasm32-unknown-unknown/release/wasmcnn_wasm.wasm
  local out=wasm/wasmcnn-$name.wasm
  RUSTFLAGS="$flags" CARGO_TARGET_DIR=$tdir /usr/bin/cargo build --quiet --release \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort -p wasmcnn-wasm
  if [ ! -f "$out" ] || [ "$raw" -nt "$out" ]; then
    say "wasm-opt -O3 -> $out"
    node_modules/.bin/wasm-opt -O3 "$raw" -o "$out.tmp"
    mv "$out.tmp" "$out"
  fi
}

build simd "-C target-feature=+simd128"
