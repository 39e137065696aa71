//! Fixed-order reductions: the input is cut into chunks of `REDUCE_CHUNK` elements (never by the pool
//! size), each chunk is reduced by one task in a fixed order, and the chunk results are combined in chunk
//! order. So a sum is bitwise the same on 1, 2, … threads and with or without the `threads` feature.
//! Sums accumulate in f64: a product of two f32 values is exact in f64, so sums of squares round only in
//! the additions.

use crate::par::{self, SyncPtr};

/// Elements per reduction chunk (a multiple of every lane width used here).
pub const REDUCE_CHUNK: usize = 1 << 12;

/// Reduces `0..n` chunk by chunk: `chunk(lo, hi)` gives each chunk's partial result, `combine` folds the
/// partials left to right, starting from `init`. Chunks run in parallel with the `threads` feature.
pub fn chunked<T, C, F>(n: usize, init: T, chunk: C, combine: F) -> T
where
    T: Copy + Send + Sync + Default,
    C: Fn(usize, usize) -> T + Sync + Send,
    F: Fn(T, T) -> T,
{
    let chunks = n.div_ceil(REDUCE_CHUNK);
    if chunks <= 1 {
        return combine(init, chunk(0, n));
    }
    let mut partial = vec![T::default(); chunks];
    let out = SyncPtr(partial.as_mut_ptr());
    par::for_each(chunks, |c| {
        let r = chunk(c * REDUCE_CHUNK, ((c + 1) * REDUCE_CHUNK).min(n));
        // SAFETY: each task writes only its own index c < chunks.
        unsafe { *out.get().add(c) = r };
    });
    partial.into_iter().fold(init, combine)
}

/// Σ f(x[i]) over `lo..hi` in f64 with four interleaved accumulators (element i goes to accumulator
/// i mod 4 counted from `lo`), added as ((a0 + a1) + (a2 + a3)): a fixed order that the compiler can keep
/// in two-lane f64 registers.
#[inline(always)]
pub(crate) fn sum4(lo: usize, hi: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut a = [0.0f64; 4];
    let n4 = lo + (hi - lo) / 4 * 4;
    let mut i = lo;
    while i < n4 {
        a[0] += f(i);
        a[1] += f(i + 1);
        a[2] += f(i + 2);
        a[3] += f(i + 3);
        i += 4;
    }
    while i < hi {
        a[i - n4] += f(i);
        i += 1;
    }
    (a[0] + a[1]) + (a[2] + a[3])
}

/// Σ f(v) over the slice, in the same order as `sum4` over its indices (element k to accumulator k mod 4),
/// written over `chunks_exact` so that the compiler sees no bounds checks and keeps two-lane registers.
#[inline(always)]
pub(crate) fn sum4_slice(x: &[f32], f: impl Fn(f32) -> f64) -> f64 {
    let mut a = [0.0f64; 4];
    let mut it = x.chunks_exact(4);
    for c in &mut it {
        a[0] += f(c[0]);
        a[1] += f(c[1]);
        a[2] += f(c[2]);
        a[3] += f(c[3]);
    }
    for (k, &v) in it.remainder().iter().enumerate() {
        a[k] += f(v);
    }
    (a[0] + a[1]) + (a[2] + a[3])
}

/// `x²` in f64 (exact).
#[inline(always)]
pub(crate) fn sq(v: f32) -> f64 {
    v as f64 * v as f64
}

/// Σx² over `x` in f64, fixed-order (see the module comment).
pub fn sum_squares(x: &[f32]) -> f64 {
    chunked(x.len(), 0.0, |lo, hi| sum4_slice(&x[lo..hi], sq), |a, b| a + b)
}
