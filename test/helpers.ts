// Shared test helpers: one engine per test file, golden vectors, and closeness checks with stated tolerances.
import { readFileSync } from 'node:fs';
import { init, type Engine, type InitOptions } from '../ts/src/index.js';
import { hasRelaxedSimd } from '../ts/src/runtime/features.js';

/** Whether this runtime accepts relaxed SIMD (vitest runs Node with the flag that enables it). */
export const RELAXED = hasRelaxedSimd();
/** The build `init()` picks here for threads > 1 / for 1 thread. */
export const THREADED_BUILD = RELAXED ? 'relaxed-simd-threads' : 'simd-threads';
export const SINGLE_BUILD = RELAXED ? 'relaxed-simd' : 'simd';

/** The single-threaded builds the numerics suites run on: plain SIMD, and relaxed SIMD where supported. */
export const VARIANTS: { label: string; opts: InitOptions }[] = [
  { label: 'simd', opts: { threads: 1, relaxedSimd: false } },
  ...(RELAXED ? [{ label: 'relaxed-simd', opts: { threads: 1, relaxedSimd: true } }] : []),
];

const engines = new Map<string, Promise<Engine>>();
/** One engine per test file and options (default: what `init()` picks here). */
export function engine(opts: InitOptions = {}): Promise<Engine> {
  const key = JSON.stringify(opts);
  if (!engines.has(key)) engines.set(key, init(opts));
  return engines.get(key)!;
}

export function golden<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`./golden/${file}`, import.meta.url), 'utf8')) as T;
}

export const f32 = (a: number[]) => Float32Array.from(a);

/**
 * Elementwise |got − want| ≤ rtol · max(|want|, floor) (floor: one number, or one per element). Returns the worst relative error seen, so suites can
 * report it; throws naming the first element out of tolerance.
 */
export function expectClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  rtol: number,
  floor: number | ArrayLike<number>,
  what: string,
): number {
  if (got.length !== want.length) throw new Error(`${what}: length ${got.length}, expected ${want.length}`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const scale = Math.max(Math.abs(want[i]), typeof floor === 'number' ? floor : floor[i]);
    const err = Math.abs(got[i] - want[i]) / scale;
    if (!(err <= rtol)) {
      throw new Error(`${what}: element ${i}: got ${got[i]}, expected ${want[i]} (relative error ${err.toExponential(2)} > ${rtol})`);
    }
    worst = Math.max(worst, err);
  }
  return worst;
}

/** Deterministic values in [-1, 1). */
export function noise(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761 + 1) >>> 0;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}
