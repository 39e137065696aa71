//! The only place that knows whether kernels run on a rayon pool. Every helper here splits work the same
//! way with or without the `threads` feature, and never lets the thread count decide how a floating-point
//! sum is grouped: parallel results are bitwise equal to serial ones, whatever the pool size.
//!
//! Loops are fallible (`try_*`): a task's refusal (scratch it could not allocate) comes back as the
//! leftmost task's error, the one a serial run stops at. With the pool, a loop started from outside it (the
//! caller's thread) does not block inside rayon: it hands the loop to the pool and waits on its own
//! condition with a timeout, so that a worker thread that trapped (`mark_pool_dead`, called by the
//! worker's JS) wakes it with `Error::PoolDead` instead of leaving it blocked forever.

use crate::error::Result;
#[cfg(feature = "threads")]
use crate::error::Error;

/// Calls `f(i, chunk)` for each `size`-element chunk of `data` (the last may be shorter), in parallel
/// when the `threads` feature is on.
pub fn chunks_mut<T: Send, F>(data: &mut [T], size: usize, f: F)
where
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    infallible(try_chunks_mut(data, size, |i, c| {
        f(i, c);
        Ok(())
    }))
}

/// `chunks_mut` with tasks that may refuse: the leftmost refusal is returned.
pub fn try_chunks_mut<T: Send, F>(data: &mut [T], size: usize, f: F) -> Result
where
    F: Fn(usize, &mut [T]) -> Result + Sync + Send,
{
    let size = size.max(1);
    let (n, p) = (data.len(), SyncPtr(data.as_mut_ptr()));
    try_for_each(n.div_ceil(size), |i| {
        let lo = i * size;
        // SAFETY: chunk i is [lo, lo + len) with len <= size: disjoint from every other chunk, inside `data`.
        let chunk = unsafe { std::slice::from_raw_parts_mut(p.get().add(lo), size.min(n - lo)) };
        f(i, chunk)
    })
}

/// Like `try_chunks_mut` over two slices cut into the same number of chunks (`size_a`, `size_b` elements
/// each).
pub fn try_chunks_mut2<A: Send, B: Send, F>(a: &mut [A], size_a: usize, b: &mut [B], size_b: usize, f: F) -> Result
where
    F: Fn(usize, &mut [A], &mut [B]) -> Result + Sync + Send,
{
    let (size_a, size_b) = (size_a.max(1), size_b.max(1));
    let chunks = a.len().div_ceil(size_a);
    assert_eq!(chunks, b.len().div_ceil(size_b), "par::chunks_mut2: the slices cut into different chunk counts");
    let (na, pa, nb, pb) = (a.len(), SyncPtr(a.as_mut_ptr()), b.len(), SyncPtr(b.as_mut_ptr()));
    try_for_each(chunks, |i| {
        let (la, lb) = (i * size_a, i * size_b);
        // SAFETY: as in `try_chunks_mut`, for each slice.
        let (ca, cb) = unsafe {
            (
                std::slice::from_raw_parts_mut(pa.get().add(la), size_a.min(na - la)),
                std::slice::from_raw_parts_mut(pb.get().add(lb), size_b.min(nb - lb)),
            )
        };
        f(i, ca, cb)
    })
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
    infallible(try_for_each(n, |i| {
        f(i);
        Ok(())
    }))
}

/// `for_each` with tasks that may refuse: the leftmost refusal is returned.
pub fn try_for_each(n: usize, f: impl Fn(usize) -> Result + Sync + Send) -> Result {
    for_each_dyn(n, &f)
}

/// An infallible loop can fail only when the pool is dead (`PoolDead`). Its caller cannot report that, so
/// it traps: the engine is known to be unusable by then, and a trap is what the TS guard turns into that.
fn infallible(r: Result) {
    if let Err(e) = r {
        panic!("par: a parallel loop failed: {e:?}");
    }
}

/// Every parallel loop funnels through this one non-generic function: a recursive halving of the index
/// range over `rayon_core::join` (work-stealing balances it), compiled once rather than once per kernel.
#[inline(never)]
fn for_each_dyn(n: usize, f: &(dyn Fn(usize) -> Result + Sync + Send)) -> Result {
    #[cfg(feature = "threads")]
    return pool::run(n, f);
    #[cfg(not(feature = "threads"))]
    (0..n).try_for_each(f)
}

/// Marks the pool dead: a worker thread trapped, so a loop waiting for it would wait forever. Every waiting
/// and every later parallel loop then returns `Error::PoolDead`. Takes no lock (its caller is a thread
/// whose last call trapped, possibly inside one).
pub fn mark_pool_dead() {
    #[cfg(feature = "threads")]
    pool::mark_dead();
}

/// True once `mark_pool_dead` was called.
pub fn pool_dead() -> bool {
    #[cfg(feature = "threads")]
    return pool::DEAD.load(std::sync::atomic::Ordering::Acquire);
    #[cfg(not(feature = "threads"))]
    false
}

#[cfg(feature = "threads")]
mod pool {
    use super::{Error, Result};
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    pub(super) static DEAD: AtomicBool = AtomicBool::new(false);
    /// Held while a finished loop signals and while a caller checks before waiting (no missed wake-up).
    static SIGNAL: Mutex<()> = Mutex::new(());
    static CHANGED: Condvar = Condvar::new();
    /// A dead worker's wake-up takes no lock, so it can fall between a caller's check and its wait; the
    /// caller then sees it at its next timeout. Finished loops always wake the caller at once.
    const RECHECK: Duration = Duration::from_millis(50);
    const PENDING: i32 = -1;

    pub(super) fn mark_dead() {
        DEAD.store(true, Ordering::Release);
        CHANGED.notify_all();
    }

    pub(super) fn run(n: usize, f: &(dyn Fn(usize) -> Result + Sync + Send)) -> Result {
        if n <= 1 || rayon_core::current_thread_index().is_some() {
            // One task runs on the calling thread; inside the pool, rayon's own join is the wait.
            return split(0, n, f);
        }
        if DEAD.load(Ordering::Acquire) {
            return Err(Error::PoolDead);
        }
        let status = Arc::new(AtomicI32::new(PENDING));
        // SAFETY: the job borrows `f` beyond this frame only if this function returns before the job has
        // finished, which it does only once the pool is dead: the engine is then unusable and its workers
        // are ended (TS terminates them on poisoning).
        let job: &'static (dyn Fn(usize) -> Result + Sync + Send) = unsafe { std::mem::transmute(f) };
        let done = Arc::clone(&status);
        rayon_core::spawn(move || {
            let code = match split(0, n, job) {
                Ok(()) => 0,
                Err(e) => e.code(),
            };
            let _held = SIGNAL.lock().unwrap_or_else(|e| e.into_inner());
            done.store(code, Ordering::Release);
            CHANGED.notify_all();
        });
        let mut held = SIGNAL.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match status.load(Ordering::Acquire) {
                PENDING => {}
                0 => return Ok(()),
                code => return Err(Error::from_code(code).unwrap_or(Error::PoolDead)),
            }
            if DEAD.load(Ordering::Acquire) {
                return Err(Error::PoolDead);
            }
            held = CHANGED.wait_timeout(held, RECHECK).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn split(lo: usize, hi: usize, f: &(dyn Fn(usize) -> Result + Sync + Send)) -> Result {
        match hi - lo {
            0 => Ok(()),
            1 => f(lo),
            len => {
                let mid = lo + len / 2;
                let (a, b) = rayon_core::join(|| split(lo, mid, f), || split(mid, hi, f));
                a.and(b)
            }
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
