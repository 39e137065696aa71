//! 2-D convolution (cross-correlation, like PyTorch's `conv2d`), NCHW activations, OIHW weights, with
//! `groups` (weights `O × C/groups × KH × KW`; group g maps input channels `g·C/G..` to output channels
//! `g·O/G..`, contiguous slabs of each sample, so each group runs the ungrouped machinery on its slabs).
//! Where the width stride is 1 (nearly every conv), the forward, the weight gradient and (for unit strides)
//! the input gradient multiply straight from a zero-padded copy of each sample (`conv2d_implicit`); other
//! windows go through im2col + GEMM in bands of output rows, and 1×1 unpadded ones multiply the input.

use super::activation::{relu_in_place, relu_mask_into};
use super::conv2d_implicit::{self, fill_short, Cols, Igemm, Padded};
use super::conv2d_pointwise;
use super::conv2d_winograd::{self, WeightGrad, Winograd};
use super::geom::Window;
use super::im2col::{col2im, im2col};
use crate::error::{self, Error, Result};
use crate::gemm::{sgemm, sgemm_packed_rows, sgemm_with, Mat, PackedA};
use crate::par::{self, SyncPtr};
use std::cell::RefCell;

thread_local! {
    // Grow-only column scratch: one im2col matrix (and its gradient) per thread.
    static COLS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    // One sample's ReLU-masked output gradient per thread (the fused ReLU backward).
    static MASKED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    // A chunk's Winograd weight-gradient sums (dU), per thread.
    static DU: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

// The scratch is borrowed already only if an earlier call trapped inside (nothing here re-enters).
fn with_cols<R>(len: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> Result<R> {
    COLS.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        let (a, b) = &mut *guard;
        error::grow(a, len)?;
        error::grow(b, len)?;
        Ok(f(&mut a[..len], &mut b[..len]))
    })
}

fn with_masked<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> Result<R> {
    with_scratch(&MASKED, len, f)
}

fn with_scratch<R>(key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>, len: usize, f: impl FnOnce(&mut [f32]) -> R) -> Result<R> {
    key.with(|cell| {
        let mut v = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        error::grow(&mut v, len)?;
        Ok(f(&mut v[..len]))
    })
}

/// `Err(BadBuffer)` unless `got == want`.
pub(crate) fn check_len(got: usize, want: usize) -> Result {
    if got == want {
        Ok(())
    } else {
        Err(Error::BadBuffer)
    }
}

/// Samples per unit of parallel work in the backward pass. The weight gradient is summed within each
/// chunk in sample order, then across chunks in chunk order: a fixed grouping, so the result does not
/// depend on how many threads run the chunks.
pub const GROUP: usize = 8;

/// A grouped 2-D convolution: the window (`c` the input channels), `o` output channels, `groups` dividing
/// both. Built by `new`, which refuses what the kernels cannot run, so its methods only check buffers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d {
    win: Window,
    o: usize,
    groups: usize,
}

impl Conv2d {
    /// Validates the window (`Window::validate`), `groups` ≥ 1 dividing `c` and `o`, and every size the
    /// kernels allocate or address (buffers, the padded sample, the im2col band, the backward's partial
    /// weight gradients) against wasm32's limits.
    pub fn new(win: Window, o: usize, groups: usize) -> Result<Self> {
        win.validate()?;
        Self::adjoint(win, o, groups)
    }

    /// `new` without the output-size rule: the convolution a transposed convolution is the adjoint of,
    /// whose input (the transposed output) may have rows no window reads (output padding ≥ stride).
    pub(crate) fn adjoint(win: Window, o: usize, groups: usize) -> Result<Self> {
        if o == 0 || groups == 0 || !win.c.is_multiple_of(groups) || !o.is_multiple_of(groups) {
            return Err(Error::BadGeometry);
        }
        let conv = Self { win, o, groups };
        let (gw, og) = (conv.group_window(), o / groups);
        error::numel(&[win.n, o, win.oh, win.ow])?;
        let w = error::numel(&[o, gw.c, win.kh, win.kw])?;
        error::numel(&[win.n.div_ceil(GROUP), w])?;
        error::numel(&[gw.col_rows(), win.ow])?;
        Padded::scratch_floats(&gw, og)?;
        if conv2d_pointwise::applies(&gw, groups) {
            // A chunk's inputs and output gradients side by side.
            error::numel(&[error::add(gw.c, og)?, GROUP * win.out_plane()])?;
        }
        conv2d_winograd::scratch_floats(&gw, og)?;
        Ok(conv)
    }

    /// Without validation, for the ungrouped entry points below (which assert lengths instead).
    fn ungrouped(win: &Window, o: usize) -> Self {
        Self { win: *win, o, groups: 1 }
    }

    pub fn window(&self) -> &Window {
        &self.win
    }
    pub fn out_channels(&self) -> usize {
        self.o
    }
    pub fn groups(&self) -> usize {
        self.groups
    }
    /// Floats of x (`N·C·H·W`), y (`N·O·OH·OW`) and the weights (`O·C/groups·KH·KW`).
    pub fn x_len(&self) -> usize {
        self.win.n * self.win.c * self.win.in_plane()
    }
    pub fn y_len(&self) -> usize {
        self.win.n * self.o * self.win.out_plane()
    }
    pub fn w_len(&self) -> usize {
        self.o * self.group_window().col_rows()
    }

    /// One group's window: `C/groups` input channels.
    fn group_window(&self) -> Window {
        Window { c: self.win.c / self.groups, ..self.win }
    }

    /// `y[n][o] = bias[o] + Σ_{c in o's group, i, j} w[o][c][i][j] · x[n][c][oy·sh + i·dh - pt][ox·sw + j·dw - pl]`,
    /// then `max(y, 0)` when `relu` (a following ReLU fused: applied to each output row or band while it is
    /// in cache). Samples are independent, so they run in parallel (with the `threads` feature).
    pub fn forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(w.len(), self.w_len())?;
        check_len(y.len(), self.y_len())?;
        if let Some(b) = bias {
            check_len(b.len(), self.o)?;
        }
        let (gw, og) = (self.group_window(), self.o / self.groups);
        if conv2d_pointwise::applies(&gw, self.groups) {
            return self.pointwise_forward(x, w, bias, relu, y);
        }
        if !conv2d_winograd::applies(&gw, og) && !conv2d_implicit::forward_applies(&gw) {
            return self.im2col_forward(x, w, bias, relu, y);
        }
        let plans = SamplePlan::per_group(self.groups, w, |wg| SamplePlan::forward(&gw, og, wg))?;
        let (xg, yg) = (gw.c * gw.in_plane(), og * gw.out_plane());
        par::try_chunks_mut(y, self.o * gw.out_plane(), |n, yn| {
            for (gi, ig) in plans.iter().enumerate() {
                let xn = &x[(n * self.groups + gi) * xg..][..xg];
                ig.run(xn, bias.map(|b| &b[gi * og..(gi + 1) * og]), relu, &mut yn[gi * yg..(gi + 1) * yg])?;
            }
            Ok(())
        })
    }

    /// The forward of a 1×1 convolution on small maps (`conv2d_pointwise`): `GROUP` samples side by side,
    /// one GEMM.
    fn pointwise_forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        let (k, o, opl) = (self.win.c, self.o, self.win.out_plane());
        let (xs, ys) = (k * opl, o * opl);
        let packed = PackedA::new(o, k, Mat::row_major(w, k))?;
        par::try_chunks_mut(y, GROUP * ys, |ci, yc| {
            let jn = yc.len() / ys;
            let width = jn * opl;
            with_cols(k.max(o) * GROUP * opl, |xcat, ycat| -> Result {
                let (xcat, ycat) = (&mut xcat[..k * width], &mut ycat[..o * width]);
                for j in 0..jn {
                    conv2d_pointwise::place(&x[(ci * GROUP + j) * xs..][..xs], k, opl, j, width, xcat);
                }
                if let Some(b) = bias {
                    (0..o).for_each(|oc| fill_short(&mut ycat[oc * width..(oc + 1) * width], b[oc]));
                }
                sgemm_packed_rows(&packed, width, xcat, width, ycat, width, bias.is_some())?;
                if relu {
                    relu_in_place(ycat);
                }
                for j in 0..jn {
                    conv2d_pointwise::unplace(ycat, o, opl, j, width, &mut yc[j * ys..(j + 1) * ys]);
                }
                Ok(())
            })?
        })
    }

    /// The forward through im2col + GEMM: the general path (strided windows), and the reference the implicit
    /// path is tested against.
    fn im2col_forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        let (g, og) = (self.group_window(), self.o / self.groups);
        let (k, opl) = (g.col_rows(), g.out_plane());
        let (xg, yg, wg) = (g.c * g.in_plane(), og * opl, og * k);
        let pointwise = g.is_pointwise();
        let rows = band_rows(&g);
        // Each group's weights packed once for every sample of the call.
        let packed = (0..self.groups).map(|gi| PackedA::new(og, k, Mat::row_major(&w[gi * wg..(gi + 1) * wg], k))).collect::<Result<Vec<_>>>()?;
        par::try_chunks_mut(y, self.o * opl, |n, yn| {
            with_cols(if pointwise { 0 } else { k * rows * g.ow }, |col, _| -> Result {
                for (gi, wm) in packed.iter().enumerate() {
                    let (xn, yn) = (&x[(n * self.groups + gi) * xg..][..xg], &mut yn[gi * yg..(gi + 1) * yg]);
                    let bias = bias.map(|b| &b[gi * og..(gi + 1) * og]);
                    // Bias first, then accumulate the GEMM onto it: one pass over y instead of two.
                    if let Some(b) = bias {
                        (0..og).for_each(|oc| yn[oc * opl..(oc + 1) * opl].fill(b[oc]));
                    }
                    if pointwise {
                        sgemm_packed_rows(wm, opl, xn, opl, yn, opl, bias.is_some())?;
                        if relu {
                            relu_in_place(yn);
                        }
                        continue;
                    }
                    for oy0 in (0..g.oh).step_by(rows) {
                        let oy1 = (oy0 + rows).min(g.oh);
                        let nb = (oy1 - oy0) * g.ow;
                        let colb = &mut col[..k * nb];
                        im2col(&g, xn, oy0, oy1, colb);
                        sgemm_packed_rows(wm, nb, colb, nb, &mut yn[oy0 * g.ow..], opl, bias.is_some())?;
                        if relu {
                            (0..og).for_each(|oc| relu_in_place(&mut yn[oc * opl + oy0 * g.ow..][..nb]));
                        }
                    }
                }
                Ok(())
            })?
        })
    }

    /// The input gradient alone, `dx = Σ_o wᵀ ⋆ dy` (overwritten), plus `bias[c]` on every element of input
    /// channel c when given: the forward of the transposed convolution.
    pub fn input_grad(&self, w: &[f32], dy: &[f32], bias: Option<&[f32]>, dx: &mut [f32]) -> Result {
        check_len(w.len(), self.w_len())?;
        check_len(dy.len(), self.y_len())?;
        check_len(dx.len(), self.x_len())?;
        if let Some(b) = bias {
            check_len(b.len(), self.win.c)?;
        }
        let dxp = DxPlan::new(self, w)?;
        let (gw, og) = (self.group_window(), self.o / self.groups);
        let (xg, yg) = (gw.c * gw.in_plane(), og * gw.out_plane());
        par::try_chunks_mut(dx, self.win.c * gw.in_plane(), |n, dxn| {
            with_cols(dxp.cols_floats(), |_, dcol| {
                for gi in 0..self.groups {
                    let dyg = &dy[(n * self.groups + gi) * yg..][..yg];
                    let bias = bias.map(|b| &b[gi * gw.c..(gi + 1) * gw.c]);
                    dxp.run(gi, dyg, bias, &mut dxn[gi * xg..(gi + 1) * xg], dcol)?;
                }
                Ok(())
            })?
        })
    }

    /// Gradients of `forward` given `dy`. `dw`/`db` are overwritten, or added to when `accumulate` (gradient
    /// accumulation over micro-batches). `dx`, when asked for, is always overwritten; the first layer of a
    /// network passes `None` and skips that GEMM entirely. With `relu_y` (the forward's output of a fused
    /// ReLU), `dy` is the gradient after the ReLU and is masked by `relu_y > 0` one sample at a time.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, x: &[f32], w: &[f32], relu_y: Option<&[f32]>, dy: &[f32], dx: Option<&mut [f32]>, dw: &mut [f32], db: Option<&mut [f32]>, accumulate: bool) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(w.len(), self.w_len())?;
        check_len(dy.len(), self.y_len())?;
        check_len(dw.len(), w.len())?;
        if let Some(db) = db.as_deref() {
            check_len(db.len(), self.o)?;
        }
        if let Some(d) = dx.as_deref() {
            check_len(d.len(), x.len())?;
        }
        if let Some(ry) = relu_y {
            check_len(ry.len(), dy.len())?;
        }
        let (g, o, og) = (self.group_window(), self.o, self.o / self.groups);
        let (k, opl) = (g.col_rows(), g.out_plane());
        let (xs, ys) = (self.win.c * g.in_plane(), o * opl);
        let (xg, yg, wg) = (g.c * g.in_plane(), og * opl, og * k);
        let pointwise = g.is_pointwise();
        let dxp = dx.is_some().then(|| DxPlan::new(self, w)).transpose()?;
        // The weight gradient by Winograd's transforms where they apply (`WeightGrad`); else with the column
        // matrix read in place from the padded sample where the width stride is 1; else im2col per band.
        let winograd_w = conv2d_winograd::applies(&g, og).then(|| WeightGrad::new(&g, og, self.groups)).transpose()?;
        let du_len = winograd_w.as_ref().map_or(0, |wg| wg.du_len() * self.groups);
        let implicit_w = (winograd_w.is_none() && conv2d_implicit::forward_applies(&g))
            .then(|| {
                let pad = Padded::forward(&g)?;
                Ok((pad, pad.offsets()?))
            })
            .transpose()?;
        let wl = w.len();
        let chunks = g.n.div_ceil(GROUP);
        // One partial weight gradient (and f64 bias gradient) per chunk of samples; `dx` is cut at the same
        // chunk boundaries.
        let mut partial: Vec<f32> = error::zeroed(chunks * wl)?;
        let mut partial_db: Vec<f64> = error::zeroed(if db.is_some() { chunks * o } else { 0 })?;
        let pdb = SyncPtr(partial_db.as_mut_ptr());
        let want_db = db.is_some();
        let rows = if pointwise { g.oh } else { band_rows(&g) };
        let batched = conv2d_pointwise::applies(&g, self.groups);
        let cols = if batched {
            // The chunk's inputs and output gradients side by side (col), its input gradients (dcol).
            (k + og) * GROUP * opl
        } else if !pointwise && implicit_w.is_none() && winograd_w.is_none() {
            k * rows * g.ow
        } else {
            0
        };
        let cols = cols.max(dxp.as_ref().map_or(0, DxPlan::cols_floats));
        let chunk = |ci: usize, pw: &mut [f32], dxc: Option<&mut [f32]>| -> Result {
            // SAFETY: chunk ci alone writes partial_db[ci·o .. (ci+1)·o], inside the buffer.
            let mut pb = want_db.then(|| unsafe { std::slice::from_raw_parts_mut(pdb.get().add(ci * o), o) });
            let mut dxc = dxc;
            let samples = ci * GROUP..((ci + 1) * GROUP).min(g.n);
            with_cols(cols, |col, dcol| {
                with_masked(if relu_y.is_some() { ys } else { 0 }, |masked| with_scratch(&DU, du_len, |du| -> Result {
                    if batched {
                        // The chunk side by side (`conv2d_pointwise`): one GEMM for dx, one for dW.
                        let width = samples.len() * opl;
                        let (xcat, rest) = col.split_at_mut(k * width);
                        let dycat = &mut rest[..o * width];
                        for (j, n) in samples.enumerate() {
                            let dyn_ = sample_dy(relu_y, dy, n, ys, masked);
                            add_bias_grad(dyn_, opl, pb.as_deref_mut());
                            conv2d_pointwise::place(dyn_, o, opl, j, width, dycat);
                            conv2d_pointwise::place(&x[n * xs..(n + 1) * xs], k, opl, j, width, xcat);
                        }
                        if let (Some(dxp), Some(d)) = (&dxp, dxc.as_deref_mut()) {
                            let dxcat = &mut dcol[..k * width];
                            dxp.run_batched(dycat, width, dxcat)?;
                            for j in 0..width / opl {
                                conv2d_pointwise::unplace(dxcat, k, opl, j, width, &mut d[j * xs..(j + 1) * xs]);
                            }
                        }
                        // dW_chunk[o×k] = dY_chunk[o×width] · X_chunkᵀ[width×k]
                        return sgemm(o, k, width, Mat::row_major(dycat, width), Mat::transposed(xcat, width), pw, k, false);
                    }
                    for (j, n) in samples.enumerate() {
                        let xn = &x[n * xs..(n + 1) * xs];
                        let dyn_ = sample_dy(relu_y, dy, n, ys, masked);
                        add_bias_grad(dyn_, opl, pb.as_deref_mut());
                        for gi in 0..self.groups {
                            let (xg_, dyg) = (&xn[gi * xg..(gi + 1) * xg], &dyn_[gi * yg..(gi + 1) * yg]);
                            if let (Some(dxp), Some(d)) = (&dxp, dxc.as_deref_mut()) {
                                dxp.run(gi, dyg, None, &mut d[j * xs + gi * xg..][..xg], dcol)?;
                            }
                            if let Some(wgrad) = &winograd_w {
                                wgrad.accumulate(gi, xg_, dyg, du, j == 0)?;
                                continue;
                            }
                            let pwg = &mut pw[gi * wg..(gi + 1) * wg];
                            if let Some((pad, off)) = &implicit_w {
                                // dW_chunk[og×k] += dY_n[og×opl] · colsᵀ[opl×k], the whole sample at once.
                                pad.with(xg_, |xp| sgemm_with(og, k, opl, Mat::row_major(dyg, opl), &Cols::new(pad, off, xp), pwg, k, j > 0))??;
                                continue;
                            }
                            for oy0 in (0..g.oh).step_by(rows) {
                                let oy1 = (oy0 + rows).min(g.oh);
                                let nb = (oy1 - oy0) * g.ow;
                                let colm: &[f32] = if pointwise {
                                    xg_
                                } else {
                                    im2col(&g, xg_, oy0, oy1, &mut col[..k * nb]);
                                    &col[..k * nb]
                                };
                                // dW_chunk[og×k] += dY_band[og×nb] · col_bandᵀ[nb×k]
                                sgemm(og, k, nb, Mat::new(&dyg[oy0 * g.ow..], opl, 1), Mat::transposed(colm, nb), pwg, k, j > 0 || oy0 > 0)?;
                            }
                        }
                    }
                    if let Some(wgrad) = &winograd_w {
                        (0..self.groups).for_each(|gi| wgrad.finish(gi, du, &mut pw[gi * wg..(gi + 1) * wg]));
                    }
                    Ok(())
                })?)?
            })?
        };
        match dx {
            Some(dx) => par::try_chunks_mut2(&mut partial, wl, dx, GROUP * xs, |ci, pw, dxc| chunk(ci, pw, Some(dxc)))?,
            None => par::try_chunks_mut(&mut partial, wl, |ci, pw| chunk(ci, pw, None))?,
        }
        // Chunks in order: the same sums for any thread count. Elementwise, so it runs on the pool too (serial,
        // it was a few percent of a 2-thread CIFAR step).
        let step = (par::ELEMENTWISE_CHUNK / chunks.max(1)).max(1);
        par::chunks_mut(dw, step, |si, dc| {
            let i0 = si * step;
            for (i, d) in dc.iter_mut().enumerate() {
                let mut s = if accumulate { *d } else { 0.0 };
                for ci in 0..chunks {
                    s += partial[ci * wl + i0 + i];
                }
                *d = s;
            }
        });
        if let Some(db) = db {
            for (oc, d) in db.iter_mut().enumerate() {
                let mut s = 0.0f64;
                for ci in 0..chunks {
                    s += partial_db[ci * o + oc];
                }
                *d = if accumulate { *d + s as f32 } else { s as f32 };
            }
        }
        Ok(())
    }
}

/// Sample `n`'s output gradient (`ys` floats), masked by the fused ReLU's output `relu_y` when there is one.
fn sample_dy<'a>(relu_y: Option<&[f32]>, dy: &'a [f32], n: usize, ys: usize, masked: &'a mut [f32]) -> &'a [f32] {
    match relu_y {
        Some(ry) => {
            relu_mask_into(&ry[n * ys..(n + 1) * ys], &dy[n * ys..(n + 1) * ys], masked);
            masked
        }
        None => &dy[n * ys..(n + 1) * ys],
    }
}

/// Adds one sample's bias gradient to a chunk's: f64 sums per channel of `plane` values, sample by sample in
/// order.
fn add_bias_grad(dyn_: &[f32], plane: usize, pb: Option<&mut [f64]>) {
    if let Some(pb) = pb {
        for (oc, b) in pb.iter_mut().enumerate() {
            *b += dyn_[oc * plane..(oc + 1) * plane].iter().map(|&v| v as f64).sum::<f64>();
        }
    }
}

/// One group's correlation over whole samples, prepared once per call (weights packed or transformed): the
/// implicit GEMM, or Winograd's F(2×2, 3×3) where it applies.
enum SamplePlan {
    Igemm(Igemm),
    Winograd(Winograd),
}

impl SamplePlan {
    /// The forward of one group (weights `wg`): Winograd's where it applies, else the implicit GEMM.
    fn forward(g: &Window, og: usize, wg: &[f32]) -> Result<Self> {
        Ok(if conv2d_winograd::applies(g, og) { Self::Winograd(Winograd::forward(g, og, wg)?) } else { Self::Igemm(Igemm::forward(g, og, wg)?) })
    }

    /// The input gradient of one group, chosen the same way.
    fn input_grad(g: &Window, og: usize, wg: &[f32]) -> Result<Self> {
        Ok(if conv2d_winograd::applies(g, og) { Self::Winograd(Winograd::input_grad(g, og, wg)?) } else { Self::Igemm(Igemm::input_grad(g, og, wg)?) })
    }

    /// `plan` of each group's equal slice of `w`.
    fn per_group(groups: usize, w: &[f32], plan: impl Fn(&[f32]) -> Result<Self>) -> Result<Vec<Self>> {
        w.chunks_exact(w.len() / groups).map(plan).collect()
    }

    fn run(&self, x: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        match self {
            Self::Igemm(p) => p.run(x, bias, relu, y),
            Self::Winograd(p) => p.run(x, bias, relu, y),
        }
    }
}

/// How one call computes input gradients, chosen once: a correlation of the padded dY with the flipped
/// weights (one plan per group: Winograd's where it applies, else the implicit GEMM) where strides are 1,
/// else `dcol = Wᵀ·dY` per band and col2im.
struct DxPlan {
    g: Window,
    implicit: Option<Vec<SamplePlan>>,
    /// Otherwise each group's Wᵀ [k×og], packed once for every sample of the call.
    packed: Vec<PackedA>,
}

impl DxPlan {
    fn new(conv: &Conv2d, w: &[f32]) -> Result<Self> {
        let (g, og) = (conv.group_window(), conv.o / conv.groups);
        let wg = og * g.col_rows();
        let implicit = (conv2d_winograd::applies(&g, og) || conv2d_implicit::input_grad_applies(&g))
            .then(|| SamplePlan::per_group(conv.groups, w, |wg| SamplePlan::input_grad(&g, og, wg)))
            .transpose()?;
        let k = g.col_rows();
        let packed = if implicit.is_some() {
            Vec::new()
        } else {
            (0..conv.groups).map(|gi| PackedA::new(k, og, Mat::transposed(&w[gi * wg..(gi + 1) * wg], k))).collect::<Result<Vec<_>>>()?
        };
        Ok(Self { g, implicit, packed })
    }

    /// Column-gradient scratch the band path needs per thread.
    fn cols_floats(&self) -> usize {
        if self.implicit.is_some() || self.g.is_pointwise() {
            0
        } else {
            self.g.col_rows() * band_rows(&self.g) * self.g.ow
        }
    }

    /// The input gradients of a chunk side by side (`conv2d_pointwise`; one group): `dxcat[k×width]` from
    /// `dycat[og×width]`.
    fn run_batched(&self, dycat: &[f32], width: usize, dxcat: &mut [f32]) -> Result {
        sgemm_packed_rows(&self.packed[0], width, dycat, width, dxcat, width, false)
    }

    /// Group `gi` of one sample: `dx` (overwritten, starting from `bias` per channel when given) from its
    /// output gradient `dy`.
    fn run(&self, gi: usize, dy: &[f32], bias: Option<&[f32]>, dx: &mut [f32], dcol: &mut [f32]) -> Result {
        let g = &self.g;
        if let Some(plans) = &self.implicit {
            return plans[gi].run(dy, bias, false, dx);
        }
        let (k, opl, plane) = (g.col_rows(), g.out_plane(), g.in_plane());
        let wt = &self.packed[gi];
        match bias {
            Some(b) => (0..g.c).for_each(|c| fill_short(&mut dx[c * plane..(c + 1) * plane], b[c])),
            None if !g.is_pointwise() => dx.fill(0.0),
            None => {}
        }
        if g.is_pointwise() {
            // dx[k×opl] (+)= Wᵀ[k×og] · dY[og×opl]
            return sgemm_packed_rows(wt, opl, dy, opl, dx, opl, bias.is_some());
        }
        let rows = band_rows(g);
        for oy0 in (0..g.oh).step_by(rows) {
            let oy1 = (oy0 + rows).min(g.oh);
            let nb = (oy1 - oy0) * g.ow;
            // dcol[k×nb] = Wᵀ[k×og] · dY_band[og×nb], then scattered back (col2im).
            sgemm_packed_rows(wt, nb, &dy[oy0 * g.ow..], opl, &mut dcol[..k * nb], nb, false)?;
            col2im(g, &dcol[..k * nb], oy0, oy1, dx);
        }
        Ok(())
    }
}

/// Column-matrix floats per band: 256 KiB, so a band's im2col and the GEMM reading it stay in the core's
/// own L2 (1 MiB here) even with two threads' scratch; whole-sample im2col of a 32×32×32 conv is 1.2 MB.
/// Unit tests use tiny bands so that their small shapes cross band boundaries.
const BAND_FLOATS: usize = if cfg!(test) { 48 } else { 1 << 16 };

/// Output rows per band of the im2col matrix (at least one).
fn band_rows(g: &Window) -> usize {
    (BAND_FLOATS / (g.col_rows() * g.ow).max(1)).clamp(1, g.oh.max(1))
}

/// The largest per-sample scratch buffer a call on this (ungrouped or one group's) geometry takes (`n`
/// ignored), in f64 so that it cannot wrap: the padded samples and packed weights of the implicit GEMMs, the
/// im2col band. An operator refuses it once, before any call.
pub fn scratch_floats(g: &Window, o: usize) -> f64 {
    let band = if g.is_pointwise() { 0.0 } else { g.col_rows() as f64 * band_rows(g) as f64 * g.ow as f64 };
    let winograd = conv2d_winograd::scratch_floats(g, o).map_or(f64::INFINITY, |f| f as f64);
    conv2d_implicit::scratch_floats(g, o).max(band).max(winograd)
}

/// `Conv2d::forward` of an ungrouped convolution (`o` output channels), unvalidated (lengths are checked).
pub fn conv2d_forward(g: &Window, o: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
    Conv2d::ungrouped(g, o).forward(x, w, bias, relu, y)
}

/// `Conv2d::backward` of an ungrouped convolution, unvalidated (lengths are checked).
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
    Conv2d::ungrouped(g, o).backward(x, w, relu_y, dy, dx, dw, db, accumulate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::{for_each_conv_tap, test_window as geom};
    use crate::testutil::{assert_close, check_linear_grads, Rng};

    /// The definition's seven loops: `f(xi, wi, yi)` for every input element `x[xi]` that weight `w[wi]`
    /// multiplies into output `y[yi]`, outputs in order and each output's taps in (c, i, j) order.
    fn for_each_tap(g: &Window, o: usize, f: impl FnMut(usize, usize, usize)) {
        for_each_conv_tap(g, o, 1, f)
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
            (geom(10, 8, 5, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 9), // Winograd, two backward chunks
            (geom(11, 6, 3, 4, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 9), // pointwise, chunk side by side (2 chunks)
            (geom(9, 400, 2, 2, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 5), // the same, two K blocks
        ]
    }

    /// 1×1 convolutions on small maps run a chunk of samples side by side: the forward and the input
    /// gradient keep the bits of the one-sample-at-a-time path.
    #[test]
    fn pointwise_chunks_keep_per_sample_bits() {
        let mut rng = Rng::new(15);
        for (g, o) in [(geom(11, 6, 3, 4, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 9), (geom(9, 400, 2, 2, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 5), (geom(3, 7, 1, 1, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 13)] {
            assert!(conv2d_pointwise::applies(&g, 1));
            let conv = Conv2d::new(g, o, 1).unwrap();
            let (x, w, b) = (rng.normal_vec(conv.x_len()), rng.normal_vec(conv.w_len()), rng.normal_vec(o));
            for (bias, relu) in [(Some(&b[..]), false), (None, false), (Some(&b[..]), true)] {
                let (mut got, mut want) = (vec![f32::NAN; conv.y_len()], vec![f32::NAN; conv.y_len()]);
                conv.forward(&x, &w, bias, relu, &mut got).unwrap();
                conv.im2col_forward(&x, &w, bias, relu, &mut want).unwrap();
                assert_eq!(got, want, "forward {g:?} bias {} relu {relu}", bias.is_some());
            }
            let dy = rng.normal_vec(conv.y_len());
            let (mut got, mut want) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            let mut dw = vec![0.0; w.len()];
            conv.backward(&x, &w, None, &dy, Some(&mut got), &mut dw, None, false).unwrap();
            conv.input_grad(&w, &dy, None, &mut want).unwrap();
            assert_eq!(got, want, "input gradient {g:?}");
        }
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
                // The implicit GEMM itself, also where Winograd's transforms would take the call.
                let (plan, xs, ys) = (Igemm::forward(&g, o, &w).unwrap(), g.c * g.in_plane(), o * g.out_plane());
                for n in 0..g.n {
                    plan.run(&x[n * xs..][..xs], bias, relu, &mut got[n * ys..][..ys]).unwrap();
                }
                Conv2d::ungrouped(&g, o).im2col_forward(&x, &w, bias, relu, &mut want).unwrap();
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

    /// Grouped shapes with tails: every path (implicit, im2col for width stride 2, pointwise), groups 2, 3
    /// and C, channel multipliers, odd batch sizes crossing the backward's sample chunks.
    fn grouped_shapes() -> Vec<(Window, usize, usize)> {
        vec![
            (geom(3, 4, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 6, 2),
            (geom(2, 6, 8, 7, 3, 3, (2, 2), (1, 0, 1, 1), (1, 1)), 9, 3),
            (geom(9, 4, 6, 6, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2)), 8, 4),
            (geom(2, 6, 5, 6, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 4, 2),
            (geom(1, 3, 9, 5, 3, 2, (2, 1), (1, 1, 0, 1), (1, 1)), 6, 3),
            (geom(10, 16, 6, 7, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 16, 2), // Winograd per group, two chunks
        ]
    }

    /// A grouped convolution is its groups run as separate convolutions on the channel slabs: the same bits,
    /// forward and backward (so groups = 1 is the ungrouped convolution); the definition within float
    /// rounding; finite differences of the definition.
    #[test]
    fn grouped_equals_separate_convs_bitwise_the_definition_and_finite_differences() {
        let mut rng = Rng::new(17);
        for (g, o, groups) in grouped_shapes() {
            let conv = Conv2d::new(g, o, groups).unwrap();
            let (cg, og) = (g.c / groups, o / groups);
            let x = rng.normal_vec(conv.x_len());
            let w = rng.normal_vec(conv.w_len());
            let b = rng.normal_vec(o);
            let dy = rng.normal_vec(conv.y_len());
            let mut y = vec![f32::NAN; conv.y_len()];
            conv.forward(&x, &w, Some(&b), false, &mut y).unwrap();
            let (mut dx, mut dw, mut db) = (vec![f32::NAN; x.len()], vec![f32::NAN; w.len()], vec![f32::NAN; o]);
            conv.backward(&x, &w, None, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let gw = Window { c: cg, ..g };
            let (ipl, opl, wg) = (g.in_plane(), g.out_plane(), og * gw.col_rows());
            for gi in 0..groups {
                let cut = |v: &[f32], ch: usize, plane: usize, per: usize| -> Vec<f32> {
                    (0..g.n).flat_map(|n| v[(n * ch + gi * per) * plane..][..per * plane].to_vec()).collect()
                };
                let (xg, dyg) = (cut(&x, g.c, ipl, cg), cut(&dy, o, opl, og));
                let wgs = &w[gi * wg..(gi + 1) * wg];
                let mut yg = vec![0.0; g.n * og * opl];
                conv2d_forward(&gw, og, &xg, wgs, Some(&b[gi * og..(gi + 1) * og]), false, &mut yg).unwrap();
                assert_eq!(cut(&y, o, opl, og), yg, "forward group {gi} {g:?}");
                let (mut dxg, mut dwg, mut dbg) = (vec![0.0; xg.len()], vec![0.0; wg], vec![0.0; og]);
                conv2d_backward(&gw, og, &xg, wgs, None, &dyg, Some(&mut dxg), &mut dwg, Some(&mut dbg), false).unwrap();
                assert_eq!(cut(&dx, g.c, ipl, cg), dxg, "dx group {gi} {g:?}");
                assert_eq!(&dw[gi * wg..(gi + 1) * wg], &dwg[..], "dw group {gi} {g:?}");
                assert_eq!(&db[gi * og..(gi + 1) * og], &dbg[..], "db group {gi} {g:?}");
            }
            let (mut want_y, mut want_dx, mut want_dw) = (vec![0.0f64; y.len()], vec![0.0f64; x.len()], vec![0.0f64; w.len()]);
            for (yi, v) in want_y.iter_mut().enumerate() {
                *v = b[yi / opl % o] as f64;
            }
            for_each_conv_tap(&g, o, groups, |xi, wi, yi| {
                want_y[yi] += w[wi] as f64 * x[xi] as f64;
                want_dx[xi] += dy[yi] as f64 * w[wi] as f64;
                want_dw[wi] += dy[yi] as f64 * x[xi] as f64;
            });
            // Central differences of the f64 definition's L = Σ y·dy.
            let loss = |x: &[f32], w: &[f32], b: &[f32]| {
                let mut l: f64 = dy.iter().enumerate().map(|(yi, d)| b[yi / opl % o] as f64 * *d as f64).sum();
                for_each_conv_tap(&g, o, groups, |xi, wi, yi| l += w[wi] as f64 * x[xi] as f64 * dy[yi] as f64);
                l
            };
            check_linear_grads(&mut rng, 8, [&x, &w, &b], [&dx, &dw, &db], loss, &format!("{g:?} groups {groups}"));
            let f = |v: Vec<f64>| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            assert_close(&y, &f(want_y), 1e-5 * (gw.col_rows() as f32).sqrt(), &format!("y {g:?}"));
            assert_close(&dx, &f(want_dx), 1e-5 * ((og * g.kh * g.kw) as f32).sqrt(), &format!("dx {g:?}"));
            assert_close(&dw, &f(want_dw), 1e-5 * ((g.n * opl) as f32).sqrt(), &format!("dw {g:?}"));
        }
    }

    /// The transposed convolution's forward: `input_grad` with a bias is `backward`'s dx plus the bias.
    #[test]
    fn input_grad_with_bias_is_backward_dx_plus_bias() {
        let mut rng = Rng::new(18);
        for (g, o, groups) in grouped_shapes() {
            let conv = Conv2d::new(g, o, groups).unwrap();
            let (x, w, dy) = (rng.normal_vec(conv.x_len()), rng.normal_vec(conv.w_len()), rng.normal_vec(conv.y_len()));
            let bias = rng.normal_vec(g.c);
            let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
            conv.backward(&x, &w, None, &dy, Some(&mut dx), &mut dw, None, false).unwrap();
            let mut got = vec![f32::NAN; x.len()];
            conv.input_grad(&w, &dy, None, &mut got).unwrap();
            assert_eq!(got, dx, "{g:?}");
            conv.input_grad(&w, &dy, Some(&bias), &mut got).unwrap();
            let want: Vec<f32> = dx.iter().enumerate().map(|(i, v)| v + bias[i / g.in_plane() % g.c]).collect();
            assert_close(&got, &want, 1e-6, &format!("{g:?}"));
        }
    }

    #[test]
    fn refuses_inconsistent_groups_and_sizes() {
        let g = geom(2, 4, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1));
        assert!(Conv2d::new(g, 6, 2).is_ok());
        assert_eq!(Conv2d::new(g, 6, 3), Err(Error::BadGeometry)); // 3 does not divide C = 4
        assert_eq!(Conv2d::new(g, 6, 4), Err(Error::BadGeometry)); // 4 does not divide O = 6
        assert_eq!(Conv2d::new(g, 6, 0), Err(Error::BadGeometry));
        assert_eq!(Conv2d::new(g, 0, 1), Err(Error::BadGeometry));
        assert!(Conv2d::new(Window { oh: 9, ..g }, 6, 2).is_ok()); // bottom padding 3
        assert_eq!(Conv2d::new(Window { oh: 2, ..g }, 6, 2), Err(Error::BadGeometry)); // 4 rows never read
        assert_eq!(Conv2d::new(Window { sh: 0, ..g }, 6, 2), Err(Error::BadGeometry));
        assert_eq!(Conv2d::new(Window { n: 1 << 20, c: 1 << 10, ..g }, 1 << 10, 1), Err(Error::TooLarge));
        assert_eq!(Conv2d::new(g, 1 << 31, 1), Err(Error::TooLarge));
        let conv = Conv2d::new(g, 6, 2).unwrap();
        let (x, w, mut y) = (vec![0.0; conv.x_len()], vec![0.0; conv.w_len()], vec![0.0; conv.y_len()]);
        assert_eq!(conv.forward(&x[1..], &w, None, false, &mut y), Err(Error::BadBuffer));
        assert_eq!(conv.forward(&x, &w, Some(&[0.0; 5]), false, &mut y), Err(Error::BadBuffer));
        assert_eq!(conv.forward(&x, &w, None, false, &mut y), Ok(()));
        // An empty batch is a valid no-op.
        let empty = Conv2d::new(Window { n: 0, ..g }, 6, 2).unwrap();
        assert_eq!(empty.forward(&[], &w, None, false, &mut []), Ok(()));
        let mut dw = vec![1.0; w.len()];
        assert_eq!(empty.backward(&[], &w, None, &[], Some(&mut []), &mut dw, None, false), Ok(()));
        assert!(dw.iter().all(|&v| v == 0.0));
    }
}
