//! With the `threads` feature: a loop started from outside the pool, whose worker never finishes (as
//! when a wasm worker traps mid-task), returns `PoolDead` once the pool is marked dead, within a bounded
//! time, instead of waiting forever; every later loop refuses at once. Its own process: it kills the pool.
#![cfg(feature = "threads")]

use std::time::{Duration, Instant};
use wasmcnn_core::error::Error;
use wasmcnn_core::par;

#[test]
fn a_dead_worker_wakes_the_waiting_caller_and_later_loops_refuse() {
    // A loop that completes: the normal path.
    assert_eq!(par::try_for_each(8, |_| Ok(())), Ok(()));
    assert_eq!(par::try_for_each(8, |i| if i >= 5 { Err(Error::OutOfMemory) } else { Ok(()) }), Err(Error::OutOfMemory));
    // A task on a pool worker never returns, like a worker whose wasm trapped; its JS then marks the pool
    // dead. The caller takes tasks too: its tasks wait for that, so a worker surely claims one.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(200));
        par::mark_pool_dead();
    });
    let t0 = Instant::now();
    let r = par::try_for_each(4, |_| {
        if rayon_core::current_thread_index().is_some() {
            loop {
                std::thread::park();
            }
        }
        while !par::pool_dead() {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    });
    assert_eq!(r, Err(Error::PoolDead));
    assert!(t0.elapsed() < Duration::from_secs(5), "took {:?}", t0.elapsed());
    assert!(par::pool_dead());
    let t0 = Instant::now();
    assert_eq!(par::try_for_each(4, |_| Ok(())), Err(Error::PoolDead));
    assert!(t0.elapsed() < Duration::from_millis(100));
}
