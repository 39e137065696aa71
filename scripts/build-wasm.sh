#!/usr/bin/env bash
# Builds the wasm variants of crates/wasm with Debian's rustc-web and writes optimized modules to wasm/.
#   simd:          single-threaded, SIMD128.
#   simd-threads:  SIMD128 + atomics, shared imported memory, a rayon pool over JS workers (std rebuilt
#                  with atomics; the exports JS needs to give each worker its stack and TLS).
#   relaxed-simd, relaxed-simd-threads: the same two with relaxed SIMD (fused multiply-add in the GEMM
#                  microkernel), for runtimes whose WebAssembly.validate accepts it.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[build-wasm] %s\n' "$*" >&2; }
mkdir -p wasm

# Debian's cargo/rustc first: rustup's shims on PATH cannot build std for wasm32.
export PATH=/usr/bin:$PATH
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1   # -Zbuild-std on a stable compiler: std is rebuilt with our target features.

# Panics abort without formatting a message: wasm32-unknown-unknown has nowhere to print one, and the
# formatting machinery was a fifth of the module. (The TS layer validates inputs, so a panic is a bug.)
PANIC="-Zunstable-options -Cpanic=immediate-abort"

build() { # name rustflags [cargo args...]
  local name=$1 flags="$2 $PANIC"
  shift 2
  local tdir=target/wasm-$name
  local raw=$tdir/wasm32-unknown-unknown/release/wasmcnn_wasm.wasm
  local out=wasm/wasmcnn-$name.wasm
  RUSTFLAGS="$flags" CARGO_TARGET_DIR=$tdir /usr/bin/cargo build --quiet --release \
    --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort -p wasmcnn-wasm "$@"
  if [ ! -f "$out" ] || [ "$raw" -nt "$out" ]; then
    say "wasm-opt -O3 -> $out"
    node_modules/.bin/wasm-opt -O3 "$raw" -o "$out.tmp"
    mv "$out.tmp" "$out"
  fi
}

build simd "-C target-feature=+simd128"
build relaxed-simd "-C target-feature=+simd128,+relaxed-simd"

# 32 MiB initial (JS creates the shared memory with this size), 2 GiB maximum.
THREAD_LINK="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--initial-memory=33554432 \
  -C link-arg=--max-memory=2147483648 -C link-arg=--export=__stack_pointer -C link-arg=--export=__wasm_init_tls \
  -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base \
  -C link-arg=--export=__heap_base"
build simd-threads "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 $THREAD_LINK" --features threads
build relaxed-simd-threads "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128,+relaxed-simd $THREAD_LINK" --features threads
