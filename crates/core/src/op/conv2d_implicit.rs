//! Convolution as an implicit GEMM, for windows with unit stride along the width: the forward, and the
//! input gradient of a stride-1 convolution (itself a correlation of the padded output gradient with the
//! flipped, transposed weights).
//!
//! Each sample is copied once into a zero-padded buffer; then eight neighbouring outputs of one output row
//! read eight neighbouring floats of that buffer for every kernel tap, at an offset that depends only on
//! the tap (channel, kernel row, kernel column). The microkernel gathers B's rows through that offset table
//! (`f32_igemm_4x8`), so neither an im2col matrix nor packed B panels are written (those two copies were a
//! fifth of a 3×3 conv's time), and no col2im scatter is needed for the input gradient. The weights are
//! packed once per call. K is blocked exactly as `sgemm` blocks it, so the forward has the bits of the
//! im2col + GEMM path.

use super::activation::relu_in_place;
use super::geom::Window;
use crate::error::{self, add, mul, numel, Error, Result};
use crate::gemm::{k_block, Mat, PackB};
use crate::simd::F32x4;
use crate::ukernel::f32_gemm_4x8::{edge_tile, MR, NR};
use crate::ukernel::f32_igemm_4x8::f32_igemm_4x8;
use crate::ukernel::pack::pack_a;
use std::cell::RefCell;

thread_local! {
    // Grow-only padded copy of one sample, per thread.
    static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// True where the forward runs here: unit stride along the width (not the 1×1 unpadded case, which
/// multiplies the input directly).
pub fn forward_applies(g: &Window) -> bool {
    g.sw == 1 && !g.is_pointwise()
}

/// The largest per-sample scratch of the implicit paths this window takes (padded samples, packed
/// weights), in f64 so that it cannot wrap.
pub fn scratch_floats(g: &Window, o: usize) -> f64 {
    let f = |v: usize| v as f64;
    // A padded buffer of `c` planes holding `out` positions of a window with `span` rows / columns.
    let padded = |c: usize, (oh, ow): (usize, usize), sh: usize| {
        f(c) * (f(oh - 1) * f(sh) + f(g.kh - 1) * f(g.dh) + 1.0) * (f(ow - 1) + f(g.kw - 1) * f(g.dw) + 1.0) + f(NR)
    };
    let mut most = 0.0f64;
    if forward_applies(g) {
        most = most.max(padded(g.c, (g.oh, g.ow), g.sh)).max(f(o.div_ceil(MR) * MR) * f(g.col_rows()));
    }
    if input_grad_applies(g) {
        most = most.max(padded(o, (g.h, g.w), 1)).max(f(g.c.div_ceil(MR) * MR) * f(o) * f(g.kh * g.kw));
    }
    most
}

/// True where the input gradient runs here: unit strides, and padding no wider than the dilated kernel
/// (so the padded output gradient needs no negative margin).
pub fn input_grad_applies(g: &Window) -> bool {
    g.sh == 1 && g.sw == 1 && !g.is_pointwise() && g.pt <= (g.kh - 1) * g.dh && g.pl <= (g.kw - 1) * g.dw
}

/// The geometry of one correlation over a padded sample: an `in_c × in_h × in_w` sample placed at
/// (`top`, `left`) in a zero-padded `in_c × hp × wp` buffer, a `kh × kw` kernel with dilation, output row
/// `oy` starting at padded row `oy·sh`, `oh × ow` outputs. The buffer holds what the outputs read, and
/// nothing more.
#[derive(Clone, Copy)]
pub struct Padded {
    in_shape: (usize, usize, usize),
    at: (usize, usize),
    kernel: (usize, usize),
    dil: (usize, usize),
    sh: usize,
    out: (usize, usize),
    hp: usize,
    wp: usize,
    /// Floats of the padded buffer, with `NR` of slack: a tail tile of an output row reads (and discards)
    /// up to NR - 1 floats past the row's end.
    len: usize,
}

impl Padded {
    /// Refuses (`TooLarge`) a buffer beyond one wasm32 buffer: a padding far wider than the input makes
    /// one, even where the output is small (a large stride).
    fn new(in_shape: (usize, usize, usize), kernel: (usize, usize), dil: (usize, usize), sh: usize, out: (usize, usize), at: (usize, usize)) -> Result<Self> {
        let ((kh, kw), (dh, dw), (oh, ow)) = (kernel, dil, out);
        if oh == 0 || ow == 0 || kh == 0 || kw == 0 {
            return Err(Error::BadGeometry);
        }
        let hp = add(add(mul(oh - 1, sh)?, mul(kh - 1, dh)?)?, 1)?;
        let wp = add(add(ow - 1, mul(kw - 1, dw)?)?, 1)?;
        let len = add(numel(&[in_shape.0, hp, wp])?, NR)?;
        Ok(Self { in_shape, at, kernel, dil, sh, out, hp, wp, len })
    }

    /// The forward's input: `g.c × h × w` at (pt, pl).
    pub fn forward(g: &Window) -> Result<Self> {
        Self::new((g.c, g.h, g.w), (g.kh, g.kw), (g.dh, g.dw), g.sh, (g.oh, g.ow), (g.pt, g.pl))
    }

    /// The input gradient's padded output gradient (unit strides; `input_grad_applies`): `o × oh × ow`
    /// placed at ((KH-1)·dh - pt, (KW-1)·dw - pl), correlated into `h × w`.
    pub fn input_grad(g: &Window, o: usize) -> Result<Self> {
        debug_assert!(input_grad_applies(g));
        let at = ((g.kh - 1) * g.dh - g.pt, (g.kw - 1) * g.dw - g.pl);
        Self::new((o, g.oh, g.ow), (g.kh, g.kw), (g.dh, g.dw), 1, (g.h, g.w), at)
    }

    /// Offset of tap (c, i, j) from an output's top-left padded position, in tap order (c, i, j):
    /// increasing, so the last is the largest.
    pub fn offsets(&self) -> Result<Vec<usize>> {
        let ((kh, kw), (dh, dw), (wp, plane)) = (self.kernel, self.dil, (self.wp, self.hp * self.wp));
        let mut off = Vec::new();
        off.try_reserve_exact(self.in_shape.0 * kh * kw).map_err(|_| Error::OutOfMemory)?;
        off.extend((0..self.in_shape.0).flat_map(|c| (0..kh).flat_map(move |i| (0..kw).map(move |j| c * plane + i * dh * wp + j * dw))));
        Ok(off)
    }

    /// Calls `f` with `x` padded, in this thread's grow-only scratch (not re-entrant).
    pub fn with<R>(&self, x: &[f32], f: impl FnOnce(&[f32]) -> R) -> Result<R> {
        let ((c, h, w), (top, left), (hp, wp)) = (self.in_shape, self.at, (self.hp, self.wp));
        assert_eq!(x.len(), c * h * w, "conv2d: sample length");
        PADDED.with(|cell| {
            // Borrowed already only if an earlier call trapped inside (nothing here re-enters).
            let mut buf = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
            let len = self.len;
            error::grow(&mut buf, len)?;
            let xp = &mut buf[..len];
            xp.fill(0.0);
            let cols = w.min(wp.saturating_sub(left));
            for ci in 0..c {
                for iy in 0..h.min(hp.saturating_sub(top)) {
                    copy_short(&x[(ci * h + iy) * w..][..cols], &mut xp[(ci * hp + iy + top) * wp + left..][..cols]);
                }
            }
            Ok(f(xp))
        })
    }

    /// Floats of the padded buffer for `g`'s forward and for its input gradient, whichever is larger: the
    /// scratch a conv's constructor checks against wasm32's limits.
    pub fn scratch_floats(g: &Window, o: usize) -> Result<usize> {
        let fwd = if forward_applies(g) { error::numel(&[g.c, g.reach_h()?, g.reach_w()?])? } else { 0 };
        let back = if input_grad_applies(g) { error::numel(&[o, error::add(g.h, (g.kh - 1) * g.dh)?, error::add(g.w, (g.kw - 1) * g.dw)?])? } else { 0 };
        error::add(fwd.max(back), NR)
    }
}

/// One correlation of a padded sample (`Padded`) with `m` filters of `in_c × kh × kw` taps (row-major
/// `m × k`, packed here once) into an `m × oh × ow` output.
pub struct Igemm {
    m: usize,
    k: usize,
    kb: usize,
    panels: usize,
    pa: Vec<f32>,
    off: Vec<usize>,
    pad: Padded,
}

impl Igemm {
    fn new(a: &[f32], m: usize, pad: Padded) -> Result<Self> {
        let k = pad.in_shape.0 * pad.kernel.0 * pad.kernel.1;
        assert_eq!(a.len(), m * k, "conv2d: weight length");
        let off = pad.offsets()?;
        let (kb, panels) = (k_block(k), m.div_ceil(MR));
        let mut pa = error::zeroed(panels * MR * k)?;
        for pc in (0..k).step_by(kb) {
            pack_a(Mat::row_major(a, k), 0, m, pc, kb.min(k - pc), MR, &mut pa[pc * panels * MR..]);
        }
        Ok(Self { m, k, kb, panels, pa, off, pad })
    }

    /// The forward's correlation: input `g.c × h × w` at (pt, pl), weights `o × C·KH·KW`.
    pub fn forward(g: &Window, o: usize, w: &[f32]) -> Result<Self> {
        Self::new(w, o, Padded::forward(g)?)
    }

    /// The input gradient's correlation (unit strides): `dx[c][iy][ix] = Σ_{o,i,j} w[o][c][i][j] ·
    /// dy[o][iy + pt - i·dh][ix + pl - j·dw]`, i.e. the output gradient placed at
    /// ((KH-1)·dh - pt, (KW-1)·dw - pl) and correlated with `w'[c][o][KH-1-i][KW-1-j]`.
    pub fn input_grad(g: &Window, o: usize, w: &[f32]) -> Result<Self> {
        debug_assert!(input_grad_applies(g));
        let (kh, kw, c) = (g.kh, g.kw, g.c);
        let mut wt = error::zeroed(w.len())?;
        for oc in 0..o {
            for ci in 0..c {
                for i in 0..kh {
                    for j in 0..kw {
                        wt[((ci * o + oc) * kh + kh - 1 - i) * kw + kw - 1 - j] = w[((oc * c + ci) * kh + i) * kw + j];
                    }
                }
            }
        }
        Self::new(&wt, c, Padded::input_grad(g, o)?)
    }

    /// `y = bias + correlation(x)` for one sample (`y` overwritten), then `max(y, 0)` when `relu`.
    pub fn run(&self, x: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        let (m, k, kb, wp, sh, (oh, ow)) = (self.m, self.k, self.kb, self.pad.wp, self.pad.sh, self.pad.out);
        let opl = oh * ow;
        assert_eq!(y.len(), m * opl, "conv2d: output sample length");
        self.pad.with(x, |xp| {
            for pc in (0..k).step_by(kb) {
                let kc = kb.min(k - pc);
                let acc = bias.is_some() || pc > 0;
                let ob = &self.off[pc..pc + kc];
                for oy in 0..oh {
                    if let (0, Some(b)) = (pc, bias) {
                        (0..m).for_each(|oc| fill_short(&mut y[oc * opl + oy * ow..][..ow], b[oc]));
                    }
                    for ox0 in (0..ow).step_by(NR) {
                        let nr = NR.min(ow - ox0);
                        let base = oy * sh * wp + ox0;
                        // Every offset plus base plus 8 stays inside xp: the largest is
                        // (in_c-1)·plane + (hp-1)·wp + wp - 1 + 7 < len.
                        assert!(base + ob[kc - 1] + NR <= xp.len());
                        for q in 0..self.panels {
                            let mr = MR.min(m - q * MR);
                            // SAFETY: the A panel holds MR·kc floats of block pc; offsets are increasing, so
                            // the assert above bounds every B row; C's tile (rows q·MR.., stride opl) lies in
                            // y (edge tiles go through a temporary).
                            unsafe {
                                let ap = self.pa.as_ptr().add(pc * self.panels * MR + q * MR * kc);
                                let bp = xp.as_ptr().add(base);
                                let c0 = y.as_mut_ptr().add(q * MR * opl + oy * ow + ox0);
                                if mr == MR && nr == NR {
                                    f32_igemm_4x8(kc, ap, bp, ob.as_ptr(), c0, opl, acc);
                                } else {
                                    edge_tile(mr, nr, c0, opl, acc, |t| f32_igemm_4x8(kc, ap, bp, ob.as_ptr(), t, NR, acc));
                                }
                            }
                        }
                    }
                    if relu && pc + kc == k {
                        (0..m).for_each(|oc| relu_in_place(&mut y[oc * opl + oy * ow..][..ow]));
                    }
                }
            }
        })
    }
}

/// The transpose of a sample's im2col matrix, read in place from its padded copy: element (q, j) — output
/// position q, tap j — is `xp[row(q) + off[j]]`. The weight gradient's B operand (`dW += dY · colsᵀ`):
/// packing it straight from `xp` skips writing and re-reading the column matrix.
pub struct Cols<'a> {
    xp: &'a [f32],
    off: &'a [usize],
    ow: usize,
    row_step: usize,
}

impl<'a> Cols<'a> {
    /// The column matrix of a sample padded by `pad` (`xp`), with `pad.offsets()` as `off`.
    pub fn new(pad: &Padded, off: &'a [usize], xp: &'a [f32]) -> Self {
        Self { xp, off, ow: pad.out.1, row_step: pad.sh * pad.wp }
    }
}

impl PackB for Cols<'_> {
    fn pack(&self, p0: usize, kc: usize, c0: usize, nc: usize, dst: &mut [f32]) {
        let panels = nc.div_ceil(NR);
        assert!(dst.len() >= panels * NR * kc && c0 + nc <= self.off.len(), "conv2d: column pack bounds");
        for q in 0..panels {
            let panel = &mut dst[q * NR * kc..(q + 1) * NR * kc];
            let (j0, cols) = (c0 + q * NR, NR.min(nc - q * NR));
            let off = &self.off[j0..j0 + cols];
            let mut p = 0;
            while p < kc {
                let (oy, ox) = ((p0 + p) / self.ow, (p0 + p) % self.ow);
                let base = oy * self.row_step + ox;
                if ox + 4 <= self.ow && p + 4 <= kc {
                    // Four positions of one output row are four neighbouring floats for every tap: load them
                    // per tap and transpose 4×4 in registers into four panel rows.
                    assert!(base + off[cols - 1] + 4 <= self.xp.len(), "conv2d: column pack reads past the sample");
                    let full = cols / 4 * 4;
                    for t in (0..full).step_by(4) {
                        // SAFETY: offsets increase, so base + off[t + r] + 4 <= xp.len() (asserted for the last);
                        // panel rows p..p+4 hold NR floats each and t + 4 <= NR.
                        unsafe {
                            let rows = [0, 1, 2, 3].map(|r| F32x4::load(self.xp.as_ptr().add(base + off[t + r])));
                            for (s, v) in F32x4::transpose4(rows).into_iter().enumerate() {
                                v.store(panel.as_mut_ptr().add((p + s) * NR + t));
                            }
                        }
                    }
                    for s in 0..4 {
                        let row = &mut panel[(p + s) * NR..(p + s + 1) * NR];
                        for (t, v) in row.iter_mut().enumerate().skip(full) {
                            *v = if t < cols { self.xp[base + s + off[t]] } else { 0.0 };
                        }
                    }
                    p += 4;
                } else {
                    for (t, v) in panel[p * NR..(p + 1) * NR].iter_mut().enumerate() {
                        *v = if t < cols { self.xp[base + off[t]] } else { 0.0 };
                    }
                    p += 1;
                }
            }
        }
    }
}

/// A copy of a short row with vector moves: `copy_from_slice` becomes a `memory.copy` call, which costs more
/// than copying a few dozen floats.
pub(super) fn copy_short(src: &[f32], dst: &mut [f32]) {
    assert_eq!(dst.len(), src.len());
    let n4 = src.len() / 4 * 4;
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= the length of both slices.
        unsafe { F32x4::load(src.as_ptr().add(i)).store(dst.as_mut_ptr().add(i)) };
    }
    for (d, s) in dst[n4..].iter_mut().zip(&src[n4..]) {
        *d = *s;
    }
}

/// `fill` with vector stores, for the same reason as `copy_short`.
pub(super) fn fill_short(dst: &mut [f32], v: f32) {
    let n4 = dst.len() / 4 * 4;
    let vv = F32x4::splat(v);
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= dst.len().
        unsafe { vv.store(dst.as_mut_ptr().add(i)) };
    }
    for d in &mut dst[n4..] {
        *d = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::test_window;

    /// A trap inside `with` would leave the scratch borrowed: the next call says so instead of trapping.
    #[test]
    fn scratch_left_borrowed_is_reported_not_a_trap() {
        let g = test_window(1, 2, 5, 5, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1));
        let pad = Padded::forward(&g).unwrap();
        let x = vec![1.0f32; 50];
        PADDED.with(|cell| {
            let _stale = cell.borrow_mut();
            assert_eq!(pad.with(&x, |_| ()), Err(Error::Trapped));
        });
        assert_eq!(pad.with(&x, |xp| xp.iter().sum::<f32>()), Ok(50.0));
    }
}
