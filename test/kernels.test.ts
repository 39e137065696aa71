// The GEMM microkernel and its driver through the built wasm, on every build this runtime can run: tile
// tails in M and N, K = 1, K across the K block, N across the N block, and the parallel splits (by columns
// and by rows) of the threaded builds, each against a float64 reference.
import { describe, expect, it } from 'vitest';
import { init, type Engine } from '../ts/src/index.js';
import { RELAXED } from './helpers.js';

const BUILDS = [
  { threads: 1, relaxedSimd: false },
  { threads: 2, relaxedSimd: false },
  ...(RELAXED ? [{ threads: 1, relaxedSimd: true }, { threads: 2, relaxedSimd: true }] : []),
];

const EDGE = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 33];
const SHAPES: [number, number, number][] = [
  ...EDGE.flatMap((m) => EDGE.flatMap((n) => [1, 2, 5, 11].map((k): [number, number, number] => [m, n, k]))),
  [73, 67, 259], // K across the 256-deep K block, M across the 72-row M block
  [150, 9, 300],
  [5, 2050, 7], // N across the 2048-wide N block
  [130, 260, 200], // ≥ 4M multiply-adds, wide C: split by columns on the threaded builds
  [67, 20, 4000], // ≥ 4M, narrow C: split by rows
];

/**
 * Max over C of |got − ref| / bound, where bound = (k + 2)·2⁻²⁴·Σ_p |a_ip·b_pj| + 1e-30 is the worst-case
 * rounding of a float32 dot product of k terms (fused or not): an indexing or packing error gives O(1),
 * rounding at most 1.
 */
function gemmError(e: Engine, m: number, n: number, k: number): number {
  const ex = e.exports;
  const a = e.alloc(m * k, 'A');
  const b = e.alloc(k * n, 'B');
  const c = e.alloc(m * n, 'C');
  try {
    const [av, bv] = [a.view(), b.view()];
    for (let i = 0; i < av.length; i++) av[i] = Math.sin(i * 0.7 + m);
    for (let i = 0; i < bv.length; i++) bv[i] = Math.cos(i * 0.3 + n);
    c.view().fill(Number.NaN); // every element must be written
    ex.wcnn_sgemm(m, n, k, a.ptr, b.ptr, c.ptr);
    const [A, B, C] = [a.view(), b.view(), c.view()];
    let worst = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let abs = 0;
        for (let p = 0; p < k; p++) {
          const t = A[i * k + p] * B[p * n + j];
          s += t;
          abs += Math.abs(t);
        }
        const err = Math.abs(C[i * n + j] - s) / ((k + 2) * 2 ** -24 * abs + 1e-30);
        if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
      }
    }
    return worst;
  } finally {
    a.dispose();
    b.dispose();
    c.dispose();
  }
}

for (const opts of BUILDS) {
  describe(`sgemm on the ${opts.relaxedSimd ? 'relaxed-' : ''}simd${opts.threads > 1 ? '-threads' : ''} build`, () => {
    it(`${SHAPES.length} shapes within the float32 rounding bound`, async () => {
      const e = await init(opts);
      try {
        expect(e.info()).toMatchObject({ threads: opts.threads, relaxedSimd: opts.relaxedSimd });
        for (const [m, n, k] of SHAPES) {
          const err = gemmError(e, m, n, k);
          expect(err, `m ${m} n ${n} k ${k}: error ${err} × the rounding bound`).toBeLessThanOrEqual(1);
        }
      } finally {
        await e.terminate();
      }
    });
  });
}
