//! The rayon pool of the simd-threads build. rayon cannot spawn threads on wasm32, so its spawn handler
//! queues each thread's `ThreadBuilder`; JS starts one worker per thread (shared memory, own stack and
//! TLS), and each worker calls `wcnn_worker_entry`, which takes a builder from the queue and runs it.
//! Order matters: workers first, then `wcnn_pool_build`, which returns once every thread has started.

use rayon_core::ThreadBuilder;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};

static QUEUE: Mutex<Vec<ThreadBuilder>> = Mutex::new(Vec::new());
static QUEUED: Condvar = Condvar::new();

/// The system allocator (dlmalloc behind a spin lock), counting the workers inside it. JS ends a worker
/// wherever it is; one ended while holding the lock would leave every later allocation spinning forever
/// (a worker frees a finished job's box after signalling the caller, so this is not rare). Retiring the
/// pool (`wcnn_pool_retire`) therefore stops workers at the allocator's door and waits for those inside.
struct Counted;

#[global_allocator]
static ALLOC: Counted = Counted;

/// Workers inside the allocator.
static INSIDE: AtomicU32 = AtomicU32::new(0);
/// 1 once `wcnn_pool_retire` ran: workers may not enter the allocator any more (they are about to be ended).
static RETIRING: AtomicU32 = AtomicU32::new(0);

static PARKED: Mutex<()> = Mutex::new(());
static NEVER: Condvar = Condvar::new();

thread_local! {
    static WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Enters the allocator: the calling thread always; a worker unless the pool is retiring (then it waits
/// to be ended, holding nothing).
fn enter() -> bool {
    if !WORKER.with(Cell::get) {
        return false;
    }
    INSIDE.fetch_add(1, SeqCst);
    while RETIRING.load(SeqCst) != 0 {
        INSIDE.fetch_sub(1, SeqCst);
        // Wait to be ended: a futex wait never woken (std's Mutex and Condvar allocate nothing).
        let mut held = PARKED.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            held = NEVER.wait(held).unwrap_or_else(|e| e.into_inner());
        }
    }
    true
}

fn leave(worker: bool) {
    if worker {
        INSIDE.fetch_sub(1, SeqCst);
    }
}

// SAFETY: every call is the system allocator's, bracketed by the count.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let w = enter();
        let p = System.alloc(layout);
        leave(w);
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let w = enter();
        let p = System.alloc_zeroed(layout);
        leave(w);
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let w = enter();
        System.dealloc(p, layout);
        leave(w);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let w = enter();
        let q = System.realloc(p, layout, new_size);
        leave(w);
        q
    }
}

/// A worker's whole life: wait for a rayon thread to run, run it (returns only when the pool ends).
#[no_mangle]
pub extern "C" fn wcnn_worker_entry() {
    WORKER.with(|w| w.set(true));
    let builder = {
        let mut q = QUEUE.lock().unwrap();
        loop {
            if let Some(b) = q.pop() {
                break b;
            }
            q = QUEUED.wait(q).unwrap();
        }
    };
    builder.run();
}

/// Builds the global pool with `threads` threads; 0 on success, -1 if a pool already exists.
#[no_mangle]
pub extern "C" fn wcnn_pool_build(threads: usize) -> i32 {
    rayon_core::ThreadPoolBuilder::new()
        .num_threads(threads)
        .spawn_handler(|builder| {
            QUEUE.lock().unwrap().push(builder);
            QUEUED.notify_all();
            Ok(())
        })
        .build_global()
        .map_or(-1, |_| 0)
}

/// Threads in the pool that the kernels use.
#[no_mangle]
pub extern "C" fn wcnn_pool_threads() -> usize {
    rayon_core::current_num_threads()
}

/// Called by JS just before it ends the workers (`engine.terminate()`): no worker may enter the allocator
/// from now on, and this waits (a bounded while) for those inside to leave, so that none is ended holding
/// its lock and the heap stays usable from this thread (a late `dispose()`, a finalizer). Parallel loops
/// refuse from now on (`PoolDead`): there is no pool to run them.
#[no_mangle]
pub extern "C" fn wcnn_pool_retire() {
    RETIRING.store(1, SeqCst);
    wasmcnn_core::par::mark_pool_dead();
    // A worker leaves the allocator within microseconds of running (a loaded machine may deschedule it for
    // longer); one that trapped inside it never does (its engine is poisoned then, and nothing frees into
    // it), hence the bound: 1 ms steps, 2 s in all.
    let mut held = PARKED.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..2000 {
        if INSIDE.load(SeqCst) == 0 {
            return;
        }
        held = NEVER.wait_timeout(held, std::time::Duration::from_millis(1)).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// Called by a worker's JS when `wcnn_worker_entry` trapped: marks the pool dead, which wakes a caller
/// waiting for the trapped task with `PoolDead` (rather than leaving it blocked forever) and makes every
/// later parallel loop refuse. Takes no lock.
#[no_mangle]
pub extern "C" fn wcnn_worker_trapped() {
    wasmcnn_core::par::mark_pool_dead();
}

/// `wcnn_debug_trap(1)`: two tasks on the pool, the second trapping on the worker that runs it; the
/// caller's status (`PoolDead` once the worker's JS reported the trap).
pub(crate) fn trap_in_worker() -> i32 {
    crate::exports::status(wasmcnn_core::par::try_for_each(2, |i| {
        if i == 1 {
            panic!("wcnn_debug_trap"); // panics abort: a trap
        }
        Ok(())
    }))
}
