//! The rayon pool of the simd-threads build. rayon cannot spawn threads on wasm32, so its spawn handler
//! queues each thread's `ThreadBuilder`; JS starts one worker per pool thread (shared memory, own stack and
//! TLS), and each worker calls `wcnn_worker_entry`, which takes a builder from the queue and runs it. The
//! thread that calls into the engine is not in the pool but takes a share of every loop (`par`).
//! Order matters: workers first, then `wcnn_pool_build`, which returns once every thread has started.

use rayon_core::ThreadBuilder;
use std::sync::{Condvar, Mutex};

static QUEUE: Mutex<Vec<ThreadBuilder>> = Mutex::new(Vec::new());
static QUEUED: Condvar = Condvar::new();

/// A worker's whole life: wait for a rayon thread to run, run it (returns only when the pool ends).
#[no_mangle]
pub extern "C" fn wcnn_worker_entry() {
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

/// Threads the kernels' loops run on: the pool's workers and the calling thread.
#[no_mangle]
pub extern "C" fn wcnn_pool_threads() -> usize {
    wasmcnn_core::par::threads()
}

/// Called by JS just before it ends the workers (`engine.terminate()`): marks the pool dead, so nothing
/// touches the heap afterwards. A worker is killed wherever it is, possibly holding the allocator's spin
/// lock (it frees a finished job's box after signalling it): a later `wcnn_alloc` / `wcnn_free` on this
/// instance (a finalizer, a late `dispose()`) would spin forever. They are no-ops from now on.
#[no_mangle]
pub extern "C" fn wcnn_pool_retire() {
    wasmcnn_core::par::mark_pool_dead();
}

/// Called by a worker's JS when `wcnn_worker_entry` trapped: marks the pool dead, which wakes a caller
/// waiting for the trapped task with `PoolDead` (rather than leaving it blocked forever) and makes every
/// later parallel loop refuse. Takes no lock.
#[no_mangle]
pub extern "C" fn wcnn_worker_trapped() {
    wasmcnn_core::par::mark_pool_dead();
}

/// `wcnn_debug_trap(1)`: a loop whose tasks trap on the pool workers that run them; the caller's status
/// (`PoolDead` once the worker's JS reported the trap). The caller takes tasks too: its tasks wait for
/// that report, so a worker surely claims one.
pub(crate) fn trap_in_worker() -> i32 {
    crate::exports::status(wasmcnn_core::par::try_for_each(2, |_| {
        if rayon_core::current_thread_index().is_some() {
            panic!("wcnn_debug_trap"); // panics abort: a trap
        }
        while !wasmcnn_core::par::pool_dead() {
            std::hint::spin_loop();
        }
        Ok(())
    }))
}
