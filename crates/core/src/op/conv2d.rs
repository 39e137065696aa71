//! 2-D convolution (cross-correlation, like PyTorch's `conv2d`), NCHW activations, OIHW weights.
//! Where the width stride is 1 (nearly every conv), the forward, the weight gradient and (for unit strides)
//! the input gradient multiply straight from a zero-padded copy of each sample (`conv2d_implicit`); other
//! windows go through im2col + GEMM in bands of output rows, and 1×1 unpadded ones multiply the input.

use super::activation::{relu_in_place, relu_mask_into};
use super::conv2d_implicit::{self, Cols, Igemm, Padded};
use super::geom::Window;
use super::im2col::{col2im, im2col};
use crate::error::{self, grow, numel, Error, Result};
use crate::gemm::{sgemm, sgemm_with, Mat};
use crate::par::{self, SyncPtr};
use std::cell::RefCell;

thread_local! {
    // Grow-only column scratch: one im2col matrix (and its gradient) per thread.
    static COLS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    // One sample's ReLU-masked output gradient per thread (the fused ReLU backward).
    static MASKED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

// The scratch is borrowed already only if an earlier call trapped inside (nothing here re-enters).
fn with_cols<R>(len: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> Result<R>) -> Result<R> {
    COLS.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        let (a, b) = &mut *guard;
        grow(a, len)?;
        grow(b, len)?;
        f(&mut a[..len], &mut b[..len])
    })
}

fn with_masked<R>(len: usize, f: impl FnOnce(&mut [f32]) -> Result<R>) -> Result<R> {
    MASKED.with(|cell| {
        let mut v = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        grow(&mut v, len)?;
        f(&mut v[..len])
    })
}

/// The largest per-sample scratch buffer a call on this geometry takes (`n` ignored), in f64 so that it
/// cannot wrap: the padded samples and packed weights of the implicit GEMMs, the im2col band. An operator
/// refuses it once, before any call. (The backward's partial sums grow with the batch; it checks them.)
pub fn scratch_floats(g: &Window, o: usize) -> f64 {
    let band = if g.is_pointwise() { 0.0 } else { g.col_rows() as f64 * band_rows(g) as f64 * g.ow as f64 };
    conv2d_implicit::scratch_floats(g, o).max(band)
}

fn check_lengths(g: &Window, o: usize, x: usize, w: usize, y: usize) {
    assert_eq!(x, g.n * g.c * g.in_plane(), "conv2d: x length");
    assert_eq!(w, o * g.col_rows(), "conv2d: weight length");
    assert_eq!(y, g.n * o * g.out_plane(), "conv2d: output length");
}

/// Samples per unit of parallel work in the backward pass. The weight gradient is summed within each
/// group in sample order, then across groups in group order: a fixed grouping, so the result does not
/// depend on how many threads run the groups.
pub const GROUP: usize = 8;

/// `y[n][o] = bias[o] + Σ_{c,i,j} w[o][c][i][j] · x[n][c][oy·sh + i·dh - pt][ox·sw + j·dw - pl]`, then
/// `max(y, 0)` when `relu` (a following ReLU fused: applied to each output row or band while it is in cache).
/// Samples are independent, so they run in parallel (with the `threads` feature).
pub fn conv2d_forward(g: &Window, o: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
    check_lengths(g, o, x.len(), w.len(), y.len());
    if let Some(b) = bias {
        assert_eq!(b.len(), o, "conv2d: bias length");
    }
    if conv2d_implicit::forward_applies(g) {
        let ig = Igemm::forward(g, o, w)?;
        let xs = g.c * g.in_plane();
        return par::try_chunks_mut(y, o * g.out_plane(), |n, yn| ig.run(&x[n * xs..(n + 1) * xs], bias, relu, yn));
    }
    im2col_forward(g, o, x, w, bias, relu, y)
}

/// The forward through im2col + GEMM: the general path (strided windows), and the reference the implicit
/// path is tested against.
fn im2col_forward(g: &Window, o: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
    let (k, opl) = (g.col_rows(), g.out_plane());
    let (xs, ys) = (g.c * g.in_plane(), o * opl);
    let wm = Mat::row_major(w, k);
    let pointwise = g.is_pointwise();
    par::try_chunks_mut(y, ys, |n, yn| {
        // Bias first, then accumulate the GEMM onto it: one pass over y instead of two.
        if let Some(b) = bias {
            (0..o).for_each(|oc| yn[oc * opl..(oc + 1) * opl].fill(b[oc]));
        }
        let xn = &x[n * xs..(n + 1) * xs];
        if pointwise {
            sgemm(o, opl, k, wm, Mat::row_major(xn, opl), yn, opl, bias.is_some())?;
            if relu {
                relu_in_place(yn);
            }
            Ok(())
        } else {
            let rows = band_rows(g);
            with_cols(k * rows * g.ow, |col, _| {
                for oy0 in (0..g.oh).step_by(rows) {
                    let oy1 = (oy0 + rows).min(g.oh);
                    let nb = (oy1 - oy0) * g.ow;
                    let colb = &mut col[..k * nb];
                    im2col(g, xn, oy0, oy1, colb);
                    sgemm(o, nb, k, wm, Mat::row_major(colb, nb), &mut yn[oy0 * g.ow..], opl, bias.is_some())?;
                    if relu {
                        (0..o).for_each(|oc| relu_in_place(&mut yn[oc * opl + oy0 * g.ow..][..nb]));
                    }
                }
                Ok(())
            })
        }
    })
}

/// Column-matrix floats per band: 256 KiB, so a band's im2col and the GEMM reading it stay in the core's
/// own L2 (1 MiB here) even with two threads' scratch; whole-sample im2col of a 32×32×32 conv is 1.2 MB.
/// Unit tests use tiny bands so that their small shapes cross band boundaries.
const BAND_FLOATS: usize = if cfg!(test) { 48 } else { 1 << 16 };

/// Output rows per band of the im2col matrix (at least one).
fn band_rows(g: &Window) -> usize {
    (BAND_FLOATS / g.col_rows().saturating_mul(g.ow).max(1)).clamp(1, g.oh.max(1))
}

/// Gradients of `conv2d_forward` given `dy`. `dw`/`db` are overwritten, or added to when `accumulate`
/// (gradient accumulation over micro-batches). `dx`, when asked for, is always overwritten; the first
/// layer of a network passes `None` and skips that GEMM entirely. With `relu_y` (the forward's output of a
/// fused ReLU), `dy` is the gradient after the ReLU and is masked by `relu_y > 0` one sample at a time.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_backward(
    g: &Window,
    o: usize,
    x: &[f32],
    w: &[f32],
    relu_y: Option<&[f32]>,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    accumulate: bool,
) -> Result {
    check_lengths(g, o, x.len(), w.len(), dy.len());
    assert_eq!(dw.len(), w.len(), "conv2d: dw length");
    let (k, opl) = (g.col_rows(), g.out_plane());
    let (xs, ys) = (g.c * g.in_plane(), o * opl);
    if let Some(db) = db.as_deref() {
        assert_eq!(db.len(), o, "conv2d: db length");
    }
    if let Some(d) = dx.as_deref() {
        assert_eq!(d.len(), x.len(), "conv2d: dx length");
    }
    if let Some(ry) = relu_y {
        assert_eq!(ry.len(), dy.len(), "conv2d: relu output length");
    }
    let pointwise = g.is_pointwise();
    // The input gradient as a correlation of dY (implicit GEMM) where strides are 1; else dcol + col2im.
    let igx = (dx.is_some() && conv2d_implicit::input_grad_applies(g)).then(|| Igemm::input_grad(g, o, w)).transpose()?;
    // The weight gradient with the column matrix read in place from the padded sample where the width
    // stride is 1; else im2col per band.
    let implicit_w = conv2d_implicit::forward_applies(g)
        .then(|| {
            let pad = Padded::forward(g)?;
            Ok((pad, pad.offsets()?))
        })
        .transpose()?;
    let band_dx = dx.is_some() && igx.is_none();
    let wl = w.len();
    let groups = g.n.div_ceil(GROUP);
    // One partial weight gradient (and f64 bias gradient) per group of samples; `dx` is cut at the same
    // group boundaries.
    let mut partial = error::zeroed::<f32>(numel(&[groups, wl])?)?;
    let mut partial_db = error::zeroed::<f64>(if db.is_some() { numel(&[groups, o])? } else { 0 })?;
    let pdb = SyncPtr(partial_db.as_mut_ptr());
    let want_db = db.is_some();
    let group = |gi: usize, pw: &mut [f32], dxg: Option<&mut [f32]>| {
        // SAFETY: group gi alone writes partial_db[gi·o .. (gi+1)·o], inside the buffer.
        let mut pb = want_db.then(|| unsafe { std::slice::from_raw_parts_mut(pdb.get().add(gi * o), o) });
        let mut dxg = dxg;
        let rows = if pointwise { g.oh } else { band_rows(g) };
        let need_cols = !pointwise && (implicit_w.is_none() || band_dx);
        with_cols(if need_cols { k * rows * g.ow } else { 0 }, |col, dcol| {
            with_masked(if relu_y.is_some() { ys } else { 0 }, |masked| {
                for (j, n) in (gi * GROUP..((gi + 1) * GROUP).min(g.n)).enumerate() {
                    let xn = &x[n * xs..(n + 1) * xs];
                    let dyn_ = match relu_y {
                        Some(ry) => {
                            relu_mask_into(&ry[n * ys..(n + 1) * ys], &dy[n * ys..(n + 1) * ys], masked);
                            &*masked
                        }
                        None => &dy[n * ys..(n + 1) * ys],
                    };
                    // Bias gradient: f64 sums per channel, added sample by sample in order.
                    if let Some(pb) = pb.as_deref_mut() {
                        for (oc, b) in pb.iter_mut().enumerate() {
                            *b += dyn_[oc * opl..(oc + 1) * opl].iter().map(|&v| v as f64).sum::<f64>();
                        }
                    }
                    let mut dxn = dxg.as_deref_mut().map(|d| &mut d[j * xs..(j + 1) * xs]);
                    if let (Some(ig), Some(d)) = (&igx, dxn.as_deref_mut()) {
                        ig.run(dyn_, None, false, d)?;
                    }
                    let mut dxn = if igx.is_some() { None } else { dxn };
                    if let Some(d) = dxn.as_deref_mut() {
                        if !pointwise {
                            d.fill(0.0);
                        }
                    }
                    if let Some((pad, off)) = &implicit_w {
                        // dW_group[o×k] += dY_n[o×opl] · colsᵀ[opl×k], the whole sample at once.
                        pad.with(xn, |xp| sgemm_with(o, k, opl, Mat::row_major(dyn_, opl), &Cols::new(pad, off, xp), pw, k, j > 0))?;
                        if dxn.is_none() {
                            continue;
                        }
                    }
                    for oy0 in (0..g.oh).step_by(rows) {
                        let oy1 = (oy0 + rows).min(g.oh);
                        let nb = (oy1 - oy0) * g.ow;
                        // This band of dY_n: o rows of nb positions, at row stride opl.
                        let dyb = Mat::new(&dyn_[oy0 * g.ow..], opl, 1);
                        if implicit_w.is_none() {
                            let colm: &[f32] = if pointwise {
                                xn
                            } else {
                                im2col(g, xn, oy0, oy1, &mut col[..k * nb]);
                                &col[..k * nb]
                            };
                            // dW_group[o×k] += dY_band[o×nb] · col_bandᵀ[nb×k]
                            sgemm(o, k, nb, dyb, Mat::transposed(colm, nb), pw, k, j > 0 || oy0 > 0)?;
                        }
                        if let Some(dxn) = dxn.as_deref_mut() {
                            // dcol[k×nb] = Wᵀ[k×o] · dY_band[o×nb], then scattered back (col2im).
                            if pointwise {
                                sgemm(k, nb, o, Mat::transposed(w, k), dyb, dxn, opl, false)?;
                            } else {
                                sgemm(k, nb, o, Mat::transposed(w, k), dyb, &mut dcol[..k * nb], nb, false)?;
                                col2im(g, &dcol[..k * nb], oy0, oy1, dxn);
                            }
                        }
                    }
                }
                Ok(())
            })
        })
    };
    match dx {
        Some(dx) => par::try_chunks_mut2(&mut partial, wl, dx, GROUP * xs, |gi, pw, dxg| group(gi, pw, Some(dxg)))?,
        None => par::try_chunks_mut(&mut partial, wl, |gi, pw| group(gi, pw, None))?,
    }
    // Groups in order: the same sums for any thread count. Elementwise, so it runs on the pool too (serial,
    // it was a few percent of a 2-thread CIFAR step).
    let chunk = (par::ELEMENTWISE_CHUNK / groups.max(1)).max(1);
    par::chunks_mut(dw, chunk, |ci, dc| {
        let i0 = ci * chunk;
        for (i, d) in dc.iter_mut().enumerate() {
            let mut s = if accumulate { *d } else { 0.0 };
            for gi in 0..groups {
                s += partial[gi * wl + i0 + i];
            }
            *d = s;
        }
    });
    if let Some(db) = db {
        for (oc, d) in db.iter_mut().enumerate() {
            let mut s = 0.0f64;
            for gi in 0..groups {
                s += partial_db[gi * o + oc];
            }
            *d = if accumulate { *d + s as f32 } else { s as f32 };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::test_window as geom;
    use crate::testutil::{assert_close, Rng};

    /// The definition's seven loops: `f(xi, wi, yi)` for every input element `x[xi]` that weight `w[wi]`
    /// multiplies into output `y[yi]`, outputs in order and each output's taps in (c, i, j) order.
    fn for_each_tap(g: &Window, o: usize, mut f: impl FnMut(usize, usize, usize)) {
        for n in 0..g.n {
            for oc in 0..o {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let yi = ((n * o + oc) * g.oh + oy) * g.ow + ox;
                        for c in 0..g.c {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    if let (Some(iy), Some(ix)) = (g.in_row(oy, i), g.in_col(ox, j)) {
                                        f(((n * g.c + c) * g.h + iy) * g.w + ix, ((oc * g.c + c) * g.kh + i) * g.kw + j, yi);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Direct convolution in f64: the scalar reference.
    fn naive_forward(g: &Window, o: usize, x: &[f32], w: &[f32], b: Option<&[f32]>) -> Vec<f64> {
        let opl = g.out_plane();
        let mut y: Vec<f64> = (0..g.n * o * opl).map(|yi| b.map_or(0.0, |b| b[yi / opl % o] as f64)).collect();
        for_each_tap(g, o, |xi, wi, yi| y[yi] += w[wi] as f64 * x[xi] as f64);
        y
    }

    fn loss(g: &Window, o: usize, x: &[f32], w: &[f32], b: &[f32], dy: &[f32]) -> f64 {
        naive_forward(g, o, x, w, Some(b)).iter().zip(dy).map(|(y, d)| y * *d as f64).sum()
    }

    fn shapes() -> Vec<(Window, usize)> {
        vec![
            (geom(2, 3, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 5),
            (geom(1, 2, 8, 8, 3, 3, (2, 2), (0, 0, 0, 0), (1, 1)), 3),
            (geom(2, 3, 9, 7, 3, 2, (2, 1), (1, 2, 1, 2), (1, 1)), 4),
            (geom(1, 2, 11, 10, 3, 3, (1, 1), (0, 0, 0, 0), (2, 2)), 6),
            (geom(2, 1, 12, 12, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1)), 8),
            (geom(1, 3, 6, 5, 4, 4, (1, 1), (1, 1, 2, 2), (1, 1)), 7), // 'same' with an even kernel
            (geom(2, 4, 5, 6, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 3), // pointwise path
            (geom(1, 2, 5, 5, 1, 1, (2, 2), (1, 1, 1, 1), (1, 1)), 2),
        ]
    }

    #[test]
    fn forward_matches_direct_convolution() {
        let mut rng = Rng::new(11);
        for (g, o) in shapes() {
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            let mut y = vec![f32::NAN; g.n * o * g.out_plane()];
            conv2d_forward(&g, o, &x, &w, Some(&b), false, &mut y).unwrap();
            let want: Vec<f32> = naive_forward(&g, o, &x, &w, Some(&b)).iter().map(|&v| v as f32).collect();
            assert_close(&y, &want, 1e-5 * (g.col_rows() as f32).sqrt(), &format!("{g:?}"));
        }
    }

    /// Central finite differences in f64 of L = Σ y·dy against the analytic gradients.
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(12);
        for (g, o) in shapes() {
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            let dy = rng.normal_vec(g.n * o * g.out_plane());
            let mut dx = vec![f32::NAN; x.len()];
            let mut dw = vec![f32::NAN; w.len()];
            let mut db = vec![f32::NAN; o];
            conv2d_backward(&g, o, &x, &w, None, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            // L is linear in each argument, so a central difference with h = 1 is exact in f64 up to
            // the rounding of the f32 inputs it perturbs; h = 0.5 keeps the perturbed value exact in f32.
            let h = 0.5f32;
            let fd = |f: &dyn Fn(f32) -> f64| (f(h) - f(-h)) / (2.0 * h as f64);
            for _ in 0..12 {
                let i = rng.below(x.len());
                let num = fd(&|d| { let mut xp = x.clone(); xp[i] += d; loss(&g, o, &xp, &w, &b, &dy) });
                assert!((dx[i] as f64 - num).abs() <= 2e-5 * num.abs().max(1.0), "dx[{i}] {} vs {num} {g:?}", dx[i]);
                let i = rng.below(w.len());
                let num = fd(&|d| { let mut wp = w.clone(); wp[i] += d; loss(&g, o, &x, &wp, &b, &dy) });
                assert!((dw[i] as f64 - num).abs() <= 2e-5 * num.abs().max(1.0), "dw[{i}] {} vs {num} {g:?}", dw[i]);
            }
            for i in 0..o {
                let num = fd(&|d| { let mut bp = b.clone(); bp[i] += d; loss(&g, o, &x, &w, &bp, &dy) });
                assert!((db[i] as f64 - num).abs() <= 2e-5 * num.abs().max(1.0), "db[{i}] {} vs {num}", db[i]);
            }
            // Accumulation adds exactly one more copy of the gradient.
            let mut dw2 = dw.clone();
            let mut db2 = db.clone();
            conv2d_backward(&g, o, &x, &w, None, &dy, None, &mut dw2, Some(&mut db2), true).unwrap();
            let twice: Vec<f32> = dw.iter().map(|v| 2.0 * v).collect();
            assert_close(&dw2, &twice, 1e-5, "accumulated dw");
        }
    }

    /// Stride-1 windows with tails everywhere: output widths not a multiple of 8, output channels not a
    /// multiple of 4, depths past one K block (C·KH·KW > 384), dilation, asymmetric and zero padding.
    fn implicit_shapes() -> Vec<(Window, usize)> {
        vec![
            (geom(2, 3, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 5),
            (geom(1, 50, 6, 11, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 9), // K = 450: two blocks
            (geom(1, 2, 11, 10, 3, 3, (1, 1), (0, 0, 0, 0), (2, 2)), 6),
            (geom(2, 1, 12, 12, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1)), 8),
            (geom(1, 3, 6, 5, 4, 4, (1, 1), (1, 1, 2, 2), (1, 1)), 7),
            (geom(1, 4, 9, 17, 3, 1, (2, 1), (1, 0, 1, 0), (1, 1)), 3), // stride 2 in height only
            (geom(2, 5, 4, 20, 2, 3, (1, 1), (0, 2, 1, 2), (1, 2)), 4),
        ]
    }

    /// The implicit-GEMM forward blocks K like `sgemm` and sums in the same order: the same bits as
    /// im2col + GEMM, with and without bias and fused ReLU.
    #[test]
    fn implicit_forward_equals_im2col_bitwise() {
        let mut rng = Rng::new(14);
        for (g, o) in implicit_shapes() {
            assert!(conv2d_implicit::forward_applies(&g));
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            for (bias, relu) in [(Some(&b[..]), false), (None, false), (Some(&b[..]), true)] {
                let mut got = vec![f32::NAN; g.n * o * g.out_plane()];
                let mut want = got.clone();
                conv2d_forward(&g, o, &x, &w, bias, relu, &mut got).unwrap();
                im2col_forward(&g, o, &x, &w, bias, relu, &mut want).unwrap();
                assert_eq!(got, want, "{g:?} bias {} relu {relu}", bias.is_some());
            }
        }
    }

    /// The input gradient (flipped-weight correlation) and the weight gradient (column matrix packed in
    /// place) against their definitions in f64, every element.
    #[test]
    fn implicit_gradients_match_definition() {
        let mut rng = Rng::new(15);
        for (g, o) in implicit_shapes() {
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let dy = rng.normal_vec(g.n * o * g.out_plane());
            let mut dx = vec![f32::NAN; x.len()];
            let mut dw = vec![f32::NAN; w.len()];
            conv2d_backward(&g, o, &x, &w, None, &dy, Some(&mut dx), &mut dw, None, false).unwrap();
            let (mut want_dx, mut want_dw) = (vec![0.0f64; x.len()], vec![0.0f64; w.len()]);
            for_each_tap(&g, o, |xi, wi, yi| {
                want_dx[xi] += dy[yi] as f64 * w[wi] as f64;
                want_dw[wi] += dy[yi] as f64 * x[xi] as f64;
            });
            let f = |v: Vec<f64>| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            assert_close(&dx, &f(want_dx), 1e-5 * ((o * g.kh * g.kw) as f32).sqrt(), &format!("dx {g:?} (implicit {})", conv2d_implicit::input_grad_applies(&g)));
            assert_close(&dw, &f(want_dw), 1e-5 * ((g.n * g.out_plane()) as f32).sqrt(), &format!("dw {g:?}"));
        }
    }

    /// Packing the column matrix in place from the padded sample gives exactly the panels `pack_b` makes
    /// of the im2col matrix's transpose, for blocks that start and end anywhere (row crossings, tails).
    #[test]
    fn implicit_column_pack_equals_im2col_pack() {
        use crate::gemm::PackB;
        let mut rng = Rng::new(16);
        for (g, _) in implicit_shapes() {
            let g = Window { n: 1, ..g };
            let x = rng.normal_vec(g.c * g.in_plane());
            let (k, opl) = (g.col_rows(), g.out_plane());
            let mut col = vec![0.0; k * opl];
            im2col(&g, &x, 0, g.oh, &mut col);
            let pad = Padded::forward(&g).unwrap();
            let off = pad.offsets().unwrap();
            pad.with(&x, |xp| {
                let cols = Cols::new(&pad, &off, xp);
                for (p0, c0) in [(0, 0), (1, 0), (3, 5), (opl / 2, k / 3)] {
                    let (kc, nc) = ((opl - p0).min(37), (k - c0).min(19));
                    let size = nc.div_ceil(8) * 8 * kc;
                    let (mut got, mut want) = (vec![f32::NAN; size], vec![f32::NAN; size]);
                    cols.pack(p0, kc, c0, nc, &mut got);
                    Mat::transposed(&col, opl).pack(p0, kc, c0, nc, &mut want);
                    assert_eq!(got, want, "{g:?} p0 {p0} c0 {c0}");
                }
                Ok(())
            })
            .unwrap();
        }
    }

    /// The fused ReLU gives exactly the bits of conv then a separate ReLU, forward and backward.
    #[test]
    fn fused_relu_equals_separate_relu_bitwise() {
        use crate::op::activation::{relu_backward, relu_forward};
        let mut rng = Rng::new(13);
        for (g, o) in shapes() {
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            let dy = rng.normal_vec(g.n * o * g.out_plane());
            let (mut pre, mut sep, mut fused) = (vec![0.0; dy.len()], vec![0.0; dy.len()], vec![0.0; dy.len()]);
            conv2d_forward(&g, o, &x, &w, Some(&b), false, &mut pre).unwrap();
            relu_forward(&pre, &mut sep).unwrap();
            conv2d_forward(&g, o, &x, &w, Some(&b), true, &mut fused).unwrap();
            assert_eq!(fused, sep, "forward {g:?}");
            assert!(fused.iter().any(|&v| v == 0.0) && fused.iter().any(|&v| v > 0.0));
            let mut dpre = vec![0.0; dy.len()];
            relu_backward(&sep, &dy, &mut dpre).unwrap();
            let (mut dx1, mut dw1, mut db1) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
            let (mut dx2, mut dw2, mut db2) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
            conv2d_backward(&g, o, &x, &w, None, &dpre, Some(&mut dx1), &mut dw1, Some(&mut db1), false).unwrap();
            conv2d_backward(&g, o, &x, &w, Some(&fused), &dy, Some(&mut dx2), &mut dw2, Some(&mut db2), false).unwrap();
            assert_eq!((dx1, dw1, db1), (dx2, dw2, db2), "backward {g:?}");
        }
    }
}
