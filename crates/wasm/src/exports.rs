//! The exported ABI besides operators (`op_exports`) and optimizers (`optim_exports`): allocation, build
//! facts, and the benchmark anchors. Sizes are `usize` (i32 in wasm32), hyper-parameters `f64` (JS numbers).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmcnn_core::error::{numel, Error, Result};
use wasmcnn_core::gemm::Mat;

/// Buffers are 16-byte aligned so a `v128` load never straddles a cache line needlessly.
const ALIGN: usize = 16;
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

pub(crate) unsafe fn sl<'a, T>(p: *const T, n: usize) -> &'a [T] {
    if n == 0 { &[] } else { std::slice::from_raw_parts(p, n) }
}
pub(crate) unsafe fn sl_mut<'a, T>(p: *mut T, n: usize) -> &'a mut [T] {
    if n == 0 { &mut [] } else { std::slice::from_raw_parts_mut(p, n) }
}
pub(crate) unsafe fn opt<'a>(p: *const f32, n: usize) -> Option<&'a [f32]> {
    (!p.is_null()).then(|| sl(p, n))
}
pub(crate) unsafe fn opt_mut<'a>(p: *mut f32, n: usize) -> Option<&'a mut [f32]> {
    (!p.is_null()).then(|| sl_mut(p, n))
}

/// 0 for success, the error's code otherwise: what every fallible export returns.
pub(crate) fn status(r: Result) -> i32 {
    r.map_or_else(|e| e.code(), |()| 0)
}

/// Refuses (`BadBuffer`) a buffer of `bytes` at `p` that is null, misaligned or not inside linear memory.
#[cfg(target_arch = "wasm32")]
pub(crate) fn in_memory(p: *const u8, bytes: usize, align: usize) -> Result {
    wasmcnn_core::operator::Memory::current().check(p as usize, bytes as u64, align).map(|_| ())
}

/// Natively there is no linear memory to check against (the crate builds natively for its tests only).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn in_memory(p: *const u8, bytes: usize, align: usize) -> Result {
    if bytes > 0 && (p.is_null() || !(p as usize).is_multiple_of(align)) {
        return Err(Error::BadBuffer);
    }
    Ok(())
}

/// True when `[a, a + n)` and `[b, b + m)` share a byte.
fn overlap(a: *const u8, n: usize, b: *const u8, m: usize) -> bool {
    n > 0 && m > 0 && (a as usize) < b as usize + m && (b as usize) < a as usize + n
}

/// Zeroed, 16-byte aligned allocation of `bytes` (> 0); 0 when out of memory, and once the thread pool is
/// dead or retired (its heap may be locked by a killed worker: see `wcnn_pool_retire`).
#[no_mangle]
pub extern "C" fn wcnn_alloc(bytes: usize) -> *mut u8 {
    if wasmcnn_core::par::pool_dead() {
        return std::ptr::null_mut();
    }
    let Ok(layout) = Layout::from_size_align(bytes.max(1), ALIGN) else { return std::ptr::null_mut() };
    // SAFETY: layout has non-zero size.
    let p = unsafe { alloc_zeroed(layout) };
    if !p.is_null() {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
    }
    p
}

/// A no-op once the thread pool is dead or retired (as `wcnn_alloc`).
///
/// # Safety
/// `p` must come from `wcnn_alloc(bytes)` with the same `bytes`, and not be freed twice.
#[no_mangle]
pub unsafe extern "C" fn wcnn_free(p: *mut u8, bytes: usize) {
    if p.is_null() || wasmcnn_core::par::pool_dead() {
        return;
    }
    let layout = Layout::from_size_align_unchecked(bytes.max(1), ALIGN);
    LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    dealloc(p, layout);
}

/// Bytes currently allocated through `wcnn_alloc` (for leak tests; kernel scratch is `wcnn_scratch_bytes`).
#[no_mangle]
pub extern "C" fn wcnn_live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Bytes held by the kernels' grow-only scratch (packing buffers, padded samples, im2col bands) of every
/// thread: it grows to what the largest call needed and then stays.
#[no_mangle]
pub extern "C" fn wcnn_scratch_bytes() -> usize {
    wasmcnn_core::error::scratch_bytes()
}

/// The most bytes one buffer may span (Rust's `isize::MAX` on wasm32, less the alignment).
#[no_mangle]
pub extern "C" fn wcnn_max_buffer_bytes() -> usize {
    wasmcnn_core::error::MAX_BUFFER_BYTES
}

/// 1 when this build's kernels run on wasm SIMD128.
#[no_mangle]
pub extern "C" fn wcnn_simd128() -> i32 {
    wasmcnn_core::simd::SIMD128 as i32
}

/// 1 in the relaxed-SIMD builds (the GEMM microkernel fuses multiply-adds), 0 otherwise.
#[no_mangle]
pub extern "C" fn wcnn_relaxed_simd() -> i32 {
    wasmcnn_core::simd::RELAXED_SIMD as i32
}

/// Test hook: a real trap, on the calling thread (`in_worker` = 0) or, in the threaded builds, inside a
/// task on a pool worker (1; returns the waiting caller's status, `PoolDead`). The engine is unusable
/// afterwards by design; only the tests of those paths call it.
#[no_mangle]
pub extern "C" fn wcnn_debug_trap(in_worker: i32) -> i32 {
    #[cfg(all(feature = "threads", target_arch = "wasm32"))]
    if in_worker != 0 {
        return crate::threads::trap_in_worker();
    }
    let _ = in_worker;
    panic!("wcnn_debug_trap"); // panics abort: a trap
}

/// Index of the first non-finite value, or -1 when all `n` are finite; -2 when the buffer is not inside
/// memory.
///
/// # Safety
/// Nothing else writes `p..p+n` during the call.
#[no_mangle]
pub unsafe extern "C" fn wcnn_first_non_finite(p: *const f32, n: usize) -> i32 {
    let Ok(len) = numel(&[n]) else { return -2 };
    if in_memory(p.cast(), 4 * len, 4).is_err() {
        return -2;
    }
    sl(p, n).iter().position(|v| !v.is_finite()).map_or(-1, |i| i as i32)
}

/// `C[m×n] = A[m×k] · B[k×n]`, all row-major (the GEMM the layers use; exported for benchmarks and users).
/// 0, or `TooLarge` / `BadBuffer` (a buffer outside memory, or C overlapping A or B) / `OutOfMemory`.
///
/// # Safety
/// Nothing else accesses the three buffers during the call.
#[no_mangle]
pub unsafe extern "C" fn wcnn_sgemm(m: usize, n: usize, k: usize, a: *const f32, b: *const f32, c: *mut f32) -> i32 {
    let run = || -> Result {
        let (la, lb, lc) = (numel(&[m, k])?, numel(&[k, n])?, numel(&[m, n])?);
        in_memory(a.cast(), 4 * la, 4)?;
        in_memory(b.cast(), 4 * lb, 4)?;
        in_memory(c.cast(), 4 * lc, 4)?;
        if overlap(c.cast(), 4 * lc, a.cast(), 4 * la) || overlap(c.cast(), 4 * lc, b.cast(), 4 * lb) {
            return Err(Error::BadBuffer);
        }
        wasmcnn_core::gemm::sgemm_par(m, n, k, Mat::row_major(sl(a, la), k), Mat::row_major(sl(b, lb), n), sl_mut(c, lc), n, false)
    };
    status(run())
}

/// Copies `bytes` from `src` to `dst` (a `memory.copy`: the bandwidth reference for elementwise kernels).
/// 0, or `BadBuffer` when a range is outside memory or they overlap.
///
/// # Safety
/// Nothing else accesses the two ranges during the call.
#[no_mangle]
pub unsafe extern "C" fn wcnn_copy(dst: *mut u8, src: *const u8, bytes: usize) -> i32 {
    let run = || -> Result {
        in_memory(dst, bytes, 1)?;
        in_memory(src, bytes, 1)?;
        if overlap(dst, bytes, src, bytes) {
            return Err(Error::BadBuffer);
        }
        std::ptr::copy_nonoverlapping(src, dst, bytes);
        Ok(())
    };
    status(run())
}
