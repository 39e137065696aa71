#!/usr/bin/env bash
# The full test suite: the Rust core natively (cargo test), then vitest through the built wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo test (native core) =="
cargo test --release --quiet 2>&1
echo "== vitest (through the built wasm) =="
node_modules/.bin/vitest run
