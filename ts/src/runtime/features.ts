// Capability probes: tiny modules checked with WebAssembly.validate, never platform names.

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt drop i32.const 0 i8x16.splat))
// A function that uses v128: valid only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function hasSimd128(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

// (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd)): valid only where
// relaxed SIMD is supported (Chromium ≥ 114, Deno, Node ≥ 22; Node 20 with --experimental-wasm-relaxed-simd).
const V128_ZERO = [253, 12, ...new Array<number>(16).fill(0)];
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 253, 133, 2, 11,
]);

export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

// (module (memory 1 1 shared) (func i32.const 0 i32.atomic.load drop)): valid only with the threads proposal.
const SHARED_MEMORY_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16, 2, 0, 26, 11,
]);

/** Why this runtime cannot run the threaded build, or null when it can. */
export function threadsUnavailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  try {
    if (!WebAssembly.validate(SHARED_MEMORY_PROBE)) return 'WebAssembly threads (shared memory, atomics) are not supported';
  } catch {
    return 'WebAssembly threads (shared memory, atomics) are not supported';
  }
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated (needs COOP same-origin + COEP require-corp)';
  return null;
}

/**
 * Whether this thread may block (Atomics.wait): the caller of a threaded kernel waits for the pool. A
 * browser page's main thread may not, so there the threaded build cannot be driven directly.
 */
export function canBlock(): boolean {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
