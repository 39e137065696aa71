//! The only place that knows whether kernels run on a rayon pool. Every helper here splits work the same
//! way with or without the `threads` feature, and never lets the thread count decide how a floating-point
//! sum is grouped: parallel results are bitwise equal to serial ones, whatever the pool size.

#[cfg(feature = "threads")]
use rayon::prelude::*;

/// Calls `f(i, chunk)` for each `size`-element chunk of `data` (the last may be shorter), in parallel
/// when the `threads` feature is on.
pub fn chunks_mut<T: Send, F>(data: &mut [T], size: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let size = size.max(1);
    #[cfg(feature = "threads")]
    data.par_chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
    #[cfg(not(feature = "threads"))]
    data.chunks_mut(size).enumerate().for_each(|(i, c)| f(i, c));
}

/// Like `chunks_mut` over two slices cut into the same number of chunks (`size_a`, `size_b` elements each).
pub fn chunks_mut2<A: Send, B: Send, F>(a: &mut [A], size_a: usize, b: &mut [B], size_b: usize, f: F)
where
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    let (size_a, size_b) = (size_a.max(1), size_b.max(1));
    #[cfg(feature = "threads")]
    a.par_chunks_mut(size_a).zip(b.par_chunks_mut(size_b)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
    #[cfg(not(feature = "threads"))]
    a.chunks_mut(size_a).zip(b.chunks_mut(size_b)).enumerate().for_each(|(i, (x, y))| f(i, x, y));
}

/// Threads in the current pool (1 without the feature).
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "threads"))]
    1
}

/// Calls `f(i)` for `i` in `0..n`, in parallel when the `threads` feature is on.
pub fn for_each(n: usize, f: impl Fn(usize) + Sync + Send) {
    #[cfg(feature = "threads")]
    (0..n).into_par_iter().for_each(f);
    #[cfg(not(feature = "threads"))]
    (0..n).for_each(f);
}

/// A raw pointer that may cross threads: for kernels that hand out provably disjoint ranges of one buffer.
#[derive(Clone, Copy)]
pub struct SyncPtr<T>(pub *mut T);
// SAFETY: users only dereference disjoint ranges per task (stated at each use).
unsafe impl<T> Send for SyncPtr<T> {}
unsafe impl<T> Sync for SyncPtr<T> {}

/// Elementwise kernels split into chunks of this many values: large enough to amortise a task, small
/// enough that 10M parameters make hundreds of them.
pub const ELEMENTWISE_CHUNK: usize = 1 << 15;

impl<T> SyncPtr<T> {
    /// Use the pointer through this method inside closures: a closure that names only the `.0` field
    /// would capture the bare (non-Send) pointer.
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}
