#!/usr/bin/env bash
# The full test suite: the Rust core natively (cargo test), then vitest through the built wasm.
# Ends with one plain summary line, "N passed, M failed", over both.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

echo "== cargo test (native core) =="
{ cargo test --release && cargo test --release --features wasmcnn-core/threads; } 2>&1 | tee "$log/cargo.txt"
cargo_rc=${PIPESTATUS[0]}

echo "== vitest (through the built wasm) =="
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile="$log/vitest.json"
vitest_rc=$?

passed=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' "$log/cargo.txt")
failed=$(awk '/^test result:/ { s += $6 } END { print s + 0 }' "$log/cargo.txt")
if [ -f "$log/vitest.json" ]; then
  read -r vp vf < <(node -e 'const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests)' "$log/vitest.json")
  passed=$((passed + vp)); failed=$((failed + vf))
fi
[ "$cargo_rc" = 0 ] && [ "$vitest_rc" = 0 ] || failed=$((failed > 0 ? failed : 1))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
