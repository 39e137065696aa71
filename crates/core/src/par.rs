//! The only place that knows whether kernels run on a rayon pool. Every helper here splits work the same
//! way with or without the `threads` feature, and never lets the thread count decide how a floating-point
//! sum is grouped: parallel results are bitwise equal to serial ones, whatever the pool size.

/// Calls `f(i, chunk)` for each `size`-element chunk of `data` (the last may be shorter), in parallel
/// when the `threads` feature is on.
pub fn chunks_mut<T: Send, F>(data: &mut [T], size: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    let size = size.max(1);
    let (n, p) = (data.len(), SyncPtr(data.as_mut_ptr()));
    for_each(n.div_ceil(size), |i| {
        let lo = i * size;
        // SAFETY: chunk i is [lo, lo + len) with len <= size: disjoint from every other chunk, inside `data`.
        let chunk = unsafe { std::slice::from_raw_parts_mut(p.get().add(lo), size.min(n - lo)) };
        f(i, chunk)
    });
}

/// Like `chunks_mut` over two slices cut into the same number of chunks (`size_a`, `size_b` elements each).
pub fn chunks_mut2<A: Send, B: Send, F>(a: &mut [A], size_a: usize, b: &mut [B], size_b: usize, f: F)
where
    F: Fn(usize, &mut [A], &mut [B]) + Sync + Send,
{
    let (size_a, size_b) = (size_a.max(1), size_b.max(1));
    let chunks = a.len().div_ceil(size_a);
    assert_eq!(chunks, b.len().div_ceil(size_b), "par::chunks_mut2: the slices cut into different chunk counts");
    let (na, pa, nb, pb) = (a.len(), SyncPtr(a.as_mut_ptr()), b.len(), SyncPtr(b.as_mut_ptr()));
    for_each(chunks, |i| {
        let (la, lb) = (i * size_a, i * size_b);
        // SAFETY: as in `chunks_mut`, for each slice.
        let (ca, cb) = unsafe {
            (
                std::slice::from_raw_parts_mut(pa.get().add(la), size_a.min(na - la)),
                std::slice::from_raw_parts_mut(pb.get().add(lb), size_b.min(nb - lb)),
            )
        };
        f(i, ca, cb)
    });
}

/// Threads in the current pool (1 without the feature).
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    return rayon_core::current_num_threads();
    #[cfg(not(feature = "threads"))]
    1
}

/// Calls `f(i)` for `i` in `0..n`, in parallel when the `threads` feature is on.
pub fn for_each(n: usize, f: impl Fn(usize) + Sync + Send) {
    for_each_dyn(n, &f)
}

/// Every parallel loop funnels through this one non-generic function: a recursive halving of the index
/// range over `rayon_core::join` (work-stealing balances it), compiled once rather than once per kernel.
#[inline(never)]
fn for_each_dyn(n: usize, f: &(dyn Fn(usize) + Sync + Send)) {
    #[cfg(feature = "threads")]
    split(0, n, f);
    #[cfg(not(feature = "threads"))]
    (0..n).for_each(f);
}

#[cfg(feature = "threads")]
fn split(lo: usize, hi: usize, f: &(dyn Fn(usize) + Sync + Send)) {
    match hi - lo {
        0 => {}
        1 => f(lo),
        len => {
            let mid = lo + len / 2;
            rayon_core::join(|| split(lo, mid, f), || split(mid, hi, f));
        }
    }
}

/// Calls `f(lo, hi)` for consecutive ranges of at most `ELEMENTWISE_CHUNK` covering `0..n`: the split
/// for elementwise kernels, where chunks are independent and any split gives the same bits.
pub fn for_each_range(n: usize, f: impl Fn(usize, usize) + Sync + Send) {
    for_each(n.div_ceil(ELEMENTWISE_CHUNK), |c| f(c * ELEMENTWISE_CHUNK, ((c + 1) * ELEMENTWISE_CHUNK).min(n)));
}

/// A raw pointer that may cross threads: for kernels that hand out provably disjoint ranges of one buffer.
pub struct SyncPtr<T>(pub *mut T);
// Copy for any T (a derive would demand T: Copy).
impl<T> Clone for SyncPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SyncPtr<T> {}
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
