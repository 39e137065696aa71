//! The only place that knows whether kernels run on a rayon pool. Every helper here splits work the same
//! way with or without the `threads` feature, and never lets the thread count decide how a floating-point
//! sum is grouped: parallel results are bitwise equal to serial ones, whatever the pool size.
//!
//! Loops are fallible (`try_*`): a task's refusal (scratch it could not allocate) comes back as the
//! leftmost task's error, the one a serial run stops at. With the pool, a loop started from outside it (the
//! caller's thread) does not block inside rayon: the caller and the workers claim its tasks from one
//! counter, then the caller waits on its own condition with a timeout, so that a worker thread that
//! trapped (`mark_pool_dead`, called by the worker's JS) wakes it with `Error::PoolDead` instead of
//! leaving it blocked forever. A pool of N workers thus runs loops on N + 1 threads.

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

/// Threads a loop started here runs on: outside the pool, its workers and the calling thread; inside it,
/// its workers; inside a task the caller runs, 1 (1 without the feature).
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    return pool::threads();
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

/// Every parallel loop funnels through this one non-generic function, compiled once rather than once per
/// kernel.
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
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
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
    /// Empty polls of the pool a worker makes after its part of a loop before it lets rayon put it to sleep.
    /// rayon sleeps after 32 polls, microseconds on wasm (`thread::yield_now` does nothing there), and
    /// waking a sleeping wasm worker costs tens of microseconds: a training step runs hundreds of loops,
    /// each with JS between them, and paid that wake-up two or three times per loop (MobileNetV2 and
    /// ResNet-20 at 2 threads: 1.13–1.18× faster without, with the caller computing too). 4096 polls bridge
    /// the JS between one loop and the next; a worker still sleeps once the engine is idle.
    const WARM_POLLS: u32 = 1 << 12;
    /// The caller's polls of a loop's status, once its own tasks are done, before it waits on the condition:
    /// the workers' last tasks are usually nearly done by then.
    const CALLER_POLLS: u32 = 1 << 14;

    thread_local! {
        // True while this worker polls for the next loop (a loop it picks up then does not poll again).
        static WARM: Cell<bool> = const { Cell::new(false) };
        // True while the calling thread runs a loop's tasks.
        static CALLER_IN_LOOP: Cell<bool> = const { Cell::new(false) };
    }

    pub(super) fn mark_dead() {
        DEAD.store(true, Ordering::Release);
        CHANGED.notify_all();
    }

    /// One loop started from outside the pool: its tasks are claimed in index order from `next` by the
    /// calling thread and by one pool job per worker (fewer for a short loop). Every task runs (as in a
    /// serial run that records refusals); `err` keeps the leftmost refusal as (index << 32 | code).
    struct Loop {
        /// The caller's closure: dereferenced only for a claimed task (index < n).
        f: *const (dyn Fn(usize) -> Result + Sync + Send),
        n: usize,
        next: AtomicUsize,
        done: AtomicUsize,
        err: AtomicU64,
        status: AtomicI32,
    }

    // SAFETY: `f` is Sync (the closure is shared by the tasks), the rest are atomics.
    unsafe impl Send for Loop {}
    unsafe impl Sync for Loop {}

    impl Loop {
        fn work(&self) {
            // Once the pool is dead the heap is not to be trusted: claim nothing more.
            while !DEAD.load(Ordering::Relaxed) {
                let i = self.next.fetch_add(1, Ordering::Relaxed);
                if i >= self.n {
                    return;
                }
                // SAFETY: task i is claimed, so the loop has not finished and its caller still holds `f`.
                if let Err(e) = unsafe { (*self.f)(i) } {
                    self.err.fetch_min(((i as u64) << 32) | e.code() as u32 as u64, Ordering::AcqRel);
                }
                if self.done.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
                    let code = match self.err.load(Ordering::Acquire) {
                        u64::MAX => 0,
                        e => e as u32 as i32,
                    };
                    let _held = SIGNAL.lock().unwrap_or_else(|e| e.into_inner());
                    self.status.store(code, Ordering::Release);
                    CHANGED.notify_all();
                }
            }
        }
    }

    /// After its part of a loop, a worker polls the pool for the next one (`WARM_POLLS`), running what it
    /// finds, instead of going to sleep at once.
    fn keep_warm() {
        if WARM.get() {
            return;
        }
        WARM.set(true);
        let mut idle = 0;
        while idle < WARM_POLLS && !DEAD.load(Ordering::Relaxed) {
            match rayon_core::yield_now() {
                Some(rayon_core::Yield::Executed) => idle = 0,
                _ => {
                    idle += 1;
                    std::hint::spin_loop();
                }
            }
        }
        WARM.set(false);
    }

    pub(super) fn threads() -> usize {
        if CALLER_IN_LOOP.get() {
            1
        } else if rayon_core::current_thread_index().is_some() {
            rayon_core::current_num_threads()
        } else {
            rayon_core::current_num_threads() + 1
        }
    }

    pub(super) fn run(n: usize, f: &(dyn Fn(usize) -> Result + Sync + Send)) -> Result {
        if rayon_core::current_thread_index().is_some() {
            // Inside the pool, rayon's own join is the wait.
            return split(0, n, f);
        }
        if n <= 1 || CALLER_IN_LOOP.get() {
            // A loop inside a task the caller runs stays on the caller (the workers hold the other tasks).
            return (0..n).try_for_each(f);
        }
        if DEAD.load(Ordering::Acquire) {
            return Err(Error::PoolDead);
        }
        // SAFETY (of the jobs' use of `f`): it is called only for a claimed task (index < n), and every
        // claimed task has finished before `status` leaves PENDING, which is when this function returns; a
        // job that starts later claims nothing. The one exception, a return before that, happens only once
        // the pool is dead: the engine is then unusable and its workers are ended (TS terminates them on
        // poisoning).
        let f: *const (dyn Fn(usize) -> Result + Sync + Send + '_) = f;
        // SAFETY: only the lifetime is erased (see above).
        let f: *const (dyn Fn(usize) -> Result + Sync + Send) = unsafe { std::mem::transmute(f) };
        let lp = Arc::new(Loop { f, n, next: AtomicUsize::new(0), done: AtomicUsize::new(0), err: AtomicU64::new(u64::MAX), status: AtomicI32::new(PENDING) });
        for _ in 0..rayon_core::current_num_threads().min(n - 1) {
            let lp = Arc::clone(&lp);
            rayon_core::spawn(move || {
                lp.work();
                drop(lp);
                keep_warm();
            });
        }
        // The caller takes tasks too: it would otherwise sleep through the loop, and waking it at the end
        // was one more wake-up per loop.
        CALLER_IN_LOOP.set(true);
        lp.work();
        CALLER_IN_LOOP.set(false);
        let finished = |status: i32| match status {
            PENDING => None,
            0 => Some(Ok(())),
            code => Some(Err(Error::from_code(code).unwrap_or(Error::PoolDead))),
        };
        for _ in 0..CALLER_POLLS {
            if let Some(r) = finished(lp.status.load(Ordering::Acquire)) {
                return r;
            }
            std::hint::spin_loop();
        }
        let mut held = SIGNAL.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = finished(lp.status.load(Ordering::Acquire)) {
                return r;
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
