//! The exported ABI. Sizes are `usize` (i32 in wasm32), hyper-parameters `f64` (JS numbers).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use wasmcnn_core::op::{activation, conv2d, conv2d_nhwc, dense, geom::Window, loss, pool};
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

/// Zeroed, 16-byte aligned allocation of `bytes` (> 0); 0 when out of memory.
#[no_mangle]
pub extern "C" fn wcnn_alloc(bytes: usize) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(bytes.max(1), ALIGN) else { return std::ptr::null_mut() };
    // SAFETY: layout has non-zero size.
    let p = unsafe { alloc_zeroed(layout) };
    if !p.is_null() {
        LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
    }
    p
}

/// # Safety
/// `p` must come from `wcnn_alloc(bytes)` with the same `bytes`, and not be freed twice.
#[no_mangle]
pub unsafe extern "C" fn wcnn_free(p: *mut u8, bytes: usize) {
    if p.is_null() {
        return;
    }
    let layout = Layout::from_size_align_unchecked(bytes.max(1), ALIGN);
    LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    dealloc(p, layout);
}

/// Bytes currently allocated through `wcnn_alloc` (for leak tests; scratch buffers are not counted).
#[no_mangle]
pub extern "C" fn wcnn_live_bytes() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed)
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

/// Index of the first non-finite value, or -1 when all `n` are finite.
///
/// # Safety
/// `p..p+n` readable.
#[no_mangle]
pub unsafe extern "C" fn wcnn_first_non_finite(p: *const f32, n: usize) -> i32 {
    sl(p, n).iter().position(|v| !v.is_finite()).map_or(-1, |i| i as i32)
}

#[allow(clippy::too_many_arguments)]
fn window(n: usize, c: usize, h: usize, w: usize, kh: usize, kw: usize, sh: usize, sw: usize, pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize) -> Window {
    Window { n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow }
}

/// # Safety
/// Buffers sized for the geometry (x: n·c·h·w, weight: o·c·kh·kw, bias: o or null, y: n·o·oh·ow).
/// `relu` ≠ 0 fuses a following ReLU.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_conv2d_forward(
    n: usize, c: usize, h: usize, w: usize, o: usize, kh: usize, kw: usize, sh: usize, sw: usize,
    pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize,
    x: *const f32, weight: *const f32, bias: *const f32, relu: i32, y: *mut f32,
) {
    let g = window(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
    conv2d::conv2d_forward(&g, o, sl(x, n * c * h * w), sl(weight, o * c * kh * kw), opt(bias, o), relu != 0, sl_mut(y, n * o * oh * ow));
}

/// The NHWC layout experiment (issue #4; `conv2d_nhwc`): `wcnn_conv2d_forward` without the fused ReLU, on
/// x as n·h·w·c and y as n·oh·ow·o (weights OIHW as there).
///
/// # Safety
/// As `wcnn_conv2d_forward`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_conv2d_forward_nhwc(
    n: usize, c: usize, h: usize, w: usize, o: usize, kh: usize, kw: usize, sh: usize, sw: usize,
    pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize,
    x: *const f32, weight: *const f32, bias: *const f32, y: *mut f32,
) {
    let g = window(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
    conv2d_nhwc::conv2d_forward_nhwc(&g, o, sl(x, n * c * h * w), sl(weight, o * c * kh * kw), opt(bias, o), sl_mut(y, n * o * oh * ow));
}

/// `y[b][j][i] = x[b][i][j]` for n matrices of rows × cols: NCHW ↔ NHWC conversion, to measure beside
/// `wcnn_conv2d_forward_nhwc`.
///
/// # Safety
/// x and y: n·rows·cols, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn wcnn_transpose_batched(n: usize, rows: usize, cols: usize, x: *const f32, y: *mut f32) {
    conv2d_nhwc::transpose_batched(n, rows, cols, sl(x, n * rows * cols), sl_mut(y, n * rows * cols));
}

/// # Safety
/// As `wcnn_conv2d_forward`; dy like y, dx like x (or null), dweight like weight, dbias o (or null);
/// relu_y: the fused-ReLU forward output (like y), or null without a fused ReLU.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_conv2d_backward(
    n: usize, c: usize, h: usize, w: usize, o: usize, kh: usize, kw: usize, sh: usize, sw: usize,
    pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize,
    x: *const f32, weight: *const f32, relu_y: *const f32, dy: *const f32, dx: *mut f32, dweight: *mut f32, dbias: *mut f32,
    accumulate: i32,
) {
    let g = window(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
    let wl = o * c * kh * kw;
    conv2d::conv2d_backward(
        &g, o, sl(x, n * c * h * w), sl(weight, wl), opt(relu_y, n * o * oh * ow), sl(dy, n * o * oh * ow),
        opt_mut(dx, n * c * h * w), sl_mut(dweight, wl), opt_mut(dbias, o), accumulate != 0,
    );
}

/// # Safety
/// x: n·c·h·w; y and argmax: n·c·oh·ow.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_maxpool2d_forward(
    n: usize, c: usize, h: usize, w: usize, kh: usize, kw: usize, sh: usize, sw: usize,
    pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize,
    x: *const f32, y: *mut f32, argmax: *mut u32,
) {
    let g = window(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
    let out = n * c * oh * ow;
    pool::maxpool2d_forward(&g, sl(x, n * c * h * w), sl_mut(y, out), sl_mut(argmax, out));
}

/// # Safety
/// dy and argmax: n·c·oh·ow; dx: n·c·h·w.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_maxpool2d_backward(
    n: usize, c: usize, h: usize, w: usize, kh: usize, kw: usize, sh: usize, sw: usize,
    pt: usize, pl: usize, dh: usize, dw: usize, oh: usize, ow: usize,
    dy: *const f32, argmax: *const u32, dx: *mut f32,
) {
    let g = window(n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow);
    let out = n * c * oh * ow;
    pool::maxpool2d_backward(&g, sl(dy, out), sl(argmax, out), sl_mut(dx, n * c * h * w));
}

/// # Safety
/// x: batch·inp; weight: out·inp; bias: out or null; y: batch·out. `relu` ≠ 0 fuses a following ReLU.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_dense_forward(batch: usize, inp: usize, out: usize, x: *const f32, weight: *const f32, bias: *const f32, relu: i32, y: *mut f32) {
    dense::dense_forward(batch, inp, out, sl(x, batch * inp), sl(weight, out * inp), opt(bias, out), relu != 0, sl_mut(y, batch * out));
}

/// # Safety
/// As `wcnn_dense_forward`; dy: batch·out, dx: batch·inp or null, dweight: out·inp, dbias: out or null;
/// relu_y: the fused-ReLU forward output (batch·out), or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_dense_backward(
    batch: usize, inp: usize, out: usize, x: *const f32, weight: *const f32, relu_y: *const f32, dy: *const f32,
    dx: *mut f32, dweight: *mut f32, dbias: *mut f32, accumulate: i32,
) {
    dense::dense_backward(
        batch, inp, out, sl(x, batch * inp), sl(weight, out * inp), opt(relu_y, batch * out), sl(dy, batch * out),
        opt_mut(dx, batch * inp), sl_mut(dweight, out * inp), opt_mut(dbias, out), accumulate != 0,
    );
}

/// # Safety
/// x and y: n floats, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn wcnn_relu_forward(x: *const f32, y: *mut f32, n: usize) {
    activation::relu_forward(sl(x, n), sl_mut(y, n));
}

/// # Safety
/// y, dy, dx: n floats; dx overlaps neither.
#[no_mangle]
pub unsafe extern "C" fn wcnn_relu_backward(y: *const f32, dy: *const f32, dx: *mut f32, n: usize) {
    activation::relu_backward(sl(y, n), sl(dy, n), sl_mut(dx, n));
}

/// Mean softmax cross-entropy; writes dlogits. Labels are u32 class indices (< classes).
///
/// # Safety
/// logits, dlogits: batch·classes; labels: batch.
#[no_mangle]
pub unsafe extern "C" fn wcnn_softmax_cross_entropy(batch: usize, classes: usize, logits: *const f32, labels: *const u32, dlogits: *mut f32) -> f64 {
    loss::softmax_cross_entropy(batch, classes, sl(logits, batch * classes), sl(labels, batch), sl_mut(dlogits, batch * classes))
}

/// `C[m×n] = A[m×k] · B[k×n]`, all row-major (the GEMM the layers use; exported for benchmarks and users).
///
/// # Safety
/// a: m·k, b: k·n, c: m·n floats.
#[no_mangle]
pub unsafe extern "C" fn wcnn_sgemm(m: usize, n: usize, k: usize, a: *const f32, b: *const f32, c: *mut f32) {
    wasmcnn_core::gemm::sgemm_par(m, n, k, Mat::row_major(sl(a, m * k), k), Mat::row_major(sl(b, k * n), n), sl_mut(c, m * n), n, false);
}

/// Copies `bytes` from `src` to `dst` (a `memory.copy`: the bandwidth reference for elementwise kernels).
///
/// # Safety
/// Both ranges inside memory, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn wcnn_copy(dst: *mut u8, src: *const u8, bytes: usize) {
    std::ptr::copy_nonoverlapping(src, dst, bytes);
}
