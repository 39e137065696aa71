//! 3×3 stride-1 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms
//! for Convolutional Neural Networks", CVPR 2016). Each 2×2 block of outputs (a tile) is
//! `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` over its 4×4 input patch `d`, summed over input channels. The sum over
//! channels becomes 16 GEMMs, one per position ξ of the 4×4 transform (`M[ξ] = U[ξ] · V[ξ]`, K = input
//! channels), with 16 multiply-adds per tile and channel pair where the direct convolution needs 36: 2.25×
//! fewer, on the same 4×8 microkernel. The input and output transforms are additions only, and the weight
//! transform (halves) is computed in f64, so the error stays of the direct sum's order (tested against f64).
//!
//! The forward runs here, and so does the input gradient, which is the same kind of convolution (the output
//! gradient placed at 2 - padding, the weights flipped and transposed: `Winograd::input_grad`). So does the
//! weight gradient (`WeightGrad`): with `M = Aᵀ(U ⊙ V)A` per tile, `dU = Σ_tiles (A dY Aᵀ) ⊙ V` and
//! `dW = Gᵀ dU G`, 16 GEMMs whose K is the tiles. Each sample (the weight gradient: each fixed group of
//! samples) is computed alone, in a fixed order, so results do not depend on the thread count.

use super::geom::Window;
use crate::error::{self, add, mul, numel, Error, Result};
use crate::simd::F32x4;
use crate::ukernel::f32_gemm_4x8::{f32_gemm_4x8, MR, NR};
use std::cell::RefCell;

thread_local! {
    // Grow-only per-thread scratch: the padded sample, and one band's transformed input V and products M.
    static SCRATCH: RefCell<[Vec<f32>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
    // The weight gradient's: the padded sample and output gradient in 4-channel blocks, a band's V and dM.
    static GRAD: RefCell<[Vec<f32>; 4]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new()]) };
}

/// Fewest input and output channels taken here. The transforms cost per channel and the savings come per
/// channel pair, and K of the forward's GEMMs is the input channels: an RGB first layer (3 in) stays on the
/// implicit GEMM.
const MIN_CHANNELS: usize = 8;

/// Floats of V and M per band of tile rows: 256 KiB, so a band's transforms and products stay in the core's
/// L2. Unit tests use tiny bands so that their shapes cross band boundaries.
const BAND_FLOATS: usize = if cfg!(test) { 1500 } else { 1 << 16 };

/// Positions of the 4×4 transform: one GEMM each.
const XI: usize = 16;

/// Floats added to the stride between the 16 positions' blocks of V and M. A transform writes (or reads)
/// all 16 blocks per tile; at a power-of-two stride (8 KiB for 16 channels) those 16 streams share one L1
/// set, which holds 8.
const SKEW: usize = 16;

/// Smallest input and output side. Below it most of a tile row is padding (a 2×2 map fills a quarter of the
/// four tiles a transform vector holds), and a 1-pixel map has kernel taps that never meet the input: their
/// gradient is exactly zero, where `Gᵀ dU G` would leave rounding noise for an optimizer's sign to amplify.
const MIN_SIDE: usize = 4;

/// True where a convolution (one group's window, `o` output channels) runs here: 3×3, unit strides and
/// dilations, any padding, at least `MIN_CHANNELS` channels in and out, maps of at least `MIN_SIDE`.
pub fn applies(g: &Window, o: usize) -> bool {
    g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.c >= MIN_CHANNELS && o >= MIN_CHANNELS
        && g.h.min(g.w).min(g.oh).min(g.ow) >= MIN_SIDE
}

/// One correlation with a 3×3 kernel: a `c × h × w` input placed at `at` (top, left; negative drops rows or
/// columns no output reads) in a zero-padded buffer, `o × oh × ow` outputs, tiles of 2×2 outputs in rows of
/// `tw4` (a multiple of 4, the transforms' vector width), bands of `band` tile rows.
#[derive(Clone, Copy, Debug)]
struct Geom {
    c: usize,
    h: usize,
    w: usize,
    at: (isize, isize),
    o: usize,
    oh: usize,
    ow: usize,
    th: usize,
    tw4: usize,
    hp: usize,
    wp: usize,
    band: usize,
    /// Columns (tiles) of a band's V and M: `band · tw4` rounded up to the microkernel's NR.
    ncols: usize,
}

impl Geom {
    fn new(c: usize, (h, w): (usize, usize), at: (isize, isize), o: usize, (oh, ow): (usize, usize)) -> Result<Self> {
        if oh == 0 || ow == 0 || c == 0 || o == 0 {
            return Err(Error::BadGeometry);
        }
        let (th, tw4) = (oh.div_ceil(2), ow.div_ceil(2).div_ceil(4) * 4);
        // The last group of four tiles reads padded columns up to 2·tw4 + 1.
        let (hp, wp) = (add(mul(th, 2)?, 2)?, add(mul(tw4, 2)?, 2)?);
        let row = numel(&[XI, add(c, o.div_ceil(MR) * MR)?, tw4])?;
        let band = (BAND_FLOATS / row).clamp(1, th);
        let ncols = mul(band, tw4)?.div_ceil(NR) * NR;
        let g = Self { c, h, w, at, o, oh, ow, th, tw4, hp, wp, band, ncols };
        g.scratch()?;
        Ok(g)
    }

    fn opad(&self) -> usize {
        self.o.div_ceil(MR) * MR
    }

    /// Strides between the positions' blocks of V and M.
    fn v_xi(&self) -> usize {
        self.ncols * self.c + SKEW
    }
    fn m_xi(&self) -> usize {
        self.opad() * self.ncols + SKEW
    }

    /// Floats of the three scratch buffers: padded sample, V, M.
    fn scratch(&self) -> Result<[usize; 3]> {
        Ok([numel(&[self.c, self.hp, self.wp])?, numel(&[XI, self.v_xi()])?, numel(&[XI, self.m_xi()])?])
    }
}

/// The largest per-thread scratch a convolution (one group's window, `o` outputs) takes here, forward,
/// input or weight gradient, in floats (0 where it does not run here); `TooLarge` where it cannot be
/// addressed.
pub fn scratch_floats(g: &Window, o: usize) -> Result<usize> {
    if !applies(g, o) {
        return Ok(0);
    }
    let fwd = forward_geom(g, o)?.scratch()?.iter().sum::<usize>();
    let bwd = input_grad_geom(g, o)?.scratch()?.iter().sum::<usize>();
    let wgt = WeightGrad::new(g, o, 1)?;
    Ok(fwd.max(bwd).max(add(wgt.scratch()?.iter().sum::<usize>(), wgt.du_len())?))
}

fn forward_geom(g: &Window, o: usize) -> Result<Geom> {
    Geom::new(g.c, (g.h, g.w), (g.pt as isize, g.pl as isize), o, (g.oh, g.ow))
}

/// The input gradient's correlation: dY (`o × oh × ow`) placed at (2 - pt, 2 - pl), correlated into `h × w`.
fn input_grad_geom(g: &Window, o: usize) -> Result<Geom> {
    Geom::new(o, (g.oh, g.ow), (2 - g.pt as isize, 2 - g.pl as isize), g.c, (g.h, g.w))
}

/// A convolution ready to run on samples: its geometry and the transformed weights `U[ξ] = (G g Gᵀ)[ξ]`,
/// packed as the microkernel's A panels (`[ξ][o / MR][c][MR]`, zero rows past `o`).
pub struct Winograd {
    g: Geom,
    u: Vec<f32>,
}

impl Winograd {
    /// The forward of one group: weights `o × c × 3 × 3`.
    pub fn forward(g: &Window, o: usize, w: &[f32]) -> Result<Self> {
        let geom = forward_geom(g, o)?;
        Self::new(geom, |oc, c, i, j| w[((oc * g.c + c) * 3 + i) * 3 + j])
    }

    /// The input gradient of one group: output channel `c` of the correlation reads `w[o][c]` flipped.
    pub fn input_grad(g: &Window, o: usize, w: &[f32]) -> Result<Self> {
        let geom = input_grad_geom(g, o)?;
        Self::new(geom, |c, oc, i, j| w[((oc * g.c + c) * 3 + 2 - i) * 3 + 2 - j])
    }

    /// `w(out, in, i, j)` is the correlation's kernel tap.
    fn new(g: Geom, w: impl Fn(usize, usize, usize, usize) -> f32) -> Result<Self> {
        let (opad, c) = (g.opad(), g.c);
        let mut u = error::zeroed(numel(&[XI, opad, c])?)?;
        for oc in 0..g.o {
            for ci in 0..c {
                let k = std::array::from_fn::<_, 3, _>(|i| std::array::from_fn::<_, 3, _>(|j| w(oc, ci, i, j) as f64));
                let t = weight_transform(k);
                for (xi, &v) in t.iter().flatten().enumerate() {
                    u[((xi * (opad / MR) + oc / MR) * c + ci) * MR + oc % MR] = v as f32;
                }
            }
        }
        Ok(Self { g, u })
    }

    /// Input floats of one sample (`c·h·w`) and output floats (`o·oh·ow`).
    fn lens(&self) -> (usize, usize) {
        (self.g.c * self.g.h * self.g.w, self.g.o * self.g.oh * self.g.ow)
    }

    /// One sample: `y` (overwritten) is the correlation of `x`, plus `bias[o]` when given, then `max(·, 0)`
    /// when `relu`.
    pub fn run(&self, x: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
        let g = &self.g;
        let (xl, yl) = self.lens();
        assert!(x.len() == xl && y.len() == yl && bias.is_none_or(|b| b.len() == g.o), "winograd: buffer lengths");
        SCRATCH.with(|cell| {
            // Borrowed already only if an earlier call trapped inside (nothing here re-enters).
            let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
            let [pad, v, m] = &mut *guard;
            let [pl, vl, ml] = g.scratch()?;
            error::grow(pad, pl)?;
            error::grow(v, vl)?;
            error::grow(m, ml)?;
            pad_into(g, x, &mut pad[..pl]);
            for ty0 in (0..g.th).step_by(g.band) {
                let ty1 = (ty0 + g.band).min(g.th);
                // SAFETY: the scratch holds the sizes `Geom::scratch` gives; every index below stays inside
                // them (see each function), and `y` has `o·oh·ow` floats (asserted).
                unsafe {
                    input_transform(g, pad.as_ptr(), ty0, ty1, v.as_mut_ptr());
                    products(g, self.u.as_ptr(), v.as_ptr(), m.as_mut_ptr());
                    output_transform(g, m.as_ptr(), ty0, ty1, bias, relu, y.as_mut_ptr());
                }
            }
            Ok(())
        })
    }
}

/// `G k Gᵀ` with `G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]]`.
fn weight_transform(k: [[f64; 3]; 3]) -> [[f64; 4]; 4] {
    let g = |v: [f64; 3]| [v[0], (v[0] + v[1] + v[2]) / 2.0, (v[0] - v[1] + v[2]) / 2.0, v[2]];
    let rows = k.map(g); // (k Gᵀ): each kernel row transformed, 3 × 4
    let mut out = [[0.0; 4]; 4];
    for j in 0..4 {
        let col = g([rows[0][j], rows[1][j], rows[2][j]]);
        for i in 0..4 {
            out[i][j] = col[i];
        }
    }
    out
}

/// Along one axis, `n` input positions placed at offset `at` in `len` padded ones: the first input position
/// kept, where it lands, and how many are kept (what falls outside is dropped).
fn placement(n: usize, at: isize, len: usize) -> (usize, usize, usize) {
    let src0 = (-at).max(0) as usize;
    let dst0 = (at.max(0) as usize).min(len);
    (src0, dst0, n.saturating_sub(src0).min(len - dst0))
}

/// The sample zero-padded: input row r at padded row `r + at.0`, column s at `s + at.1`, what falls outside
/// the `hp × wp` planes dropped. Only the margins are zeroed (the buffer is reused).
#[inline(never)]
fn pad_into(g: &Geom, x: &[f32], pad: &mut [f32]) {
    let (plane, iplane) = (g.hp * g.wp, g.h * g.w);
    let (col0, dst0, cols) = placement(g.w, g.at.1, g.wp);
    let (row0, r0, rows) = placement(g.h, g.at.0, g.hp);
    for c in 0..g.c {
        let p = &mut pad[c * plane..(c + 1) * plane];
        p[..r0 * g.wp].fill(0.0);
        p[(r0 + rows) * g.wp..].fill(0.0);
        for r in 0..rows {
            let row = &mut p[(r0 + r) * g.wp..(r0 + r + 1) * g.wp];
            let src = c * iplane + (row0 + r) * g.w + col0;
            row[..dst0].fill(0.0);
            row[dst0..dst0 + cols].copy_from_slice(&x[src..src + cols]);
            row[dst0 + cols..].fill(0.0);
        }
    }
}

/// `V[ξ] = (Bᵀ d B)[ξ]` for every tile of tile rows `ty0..ty1` and channel, four tiles per vector, into the
/// microkernel's B panels: `v[ξ·v_xi + (q·c + ci)·NR + l]` for band tile `t = q·NR + l`,
/// `Bᵀ = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`.
///
/// # Safety
/// `pad` holds `c·hp·wp` floats and `v` `16·v_xi`.
#[inline(never)]
unsafe fn input_transform(g: &Geom, pad: *const f32, ty0: usize, ty1: usize, v: *mut f32) {
    let xi_stride = g.v_xi();
    for ci in 0..g.c {
        for tx0 in (0..g.tw4).step_by(4) {
            // Tiles tx0..tx0+4 read padded columns 2tx0..2tx0+10 (≤ wp); tile row ty reads padded rows
            // 2ty..2ty+4, so the rows' transforms (`d B`) of its last two rows are the next tile row's first two.
            let src = pad.add(ci * g.hp * g.wp + 2 * tx0);
            let mut w = [row_transform(src.add(2 * ty0 * g.wp)), row_transform(src.add((2 * ty0 + 1) * g.wp)), [F32x4::zero(); 4], [F32x4::zero(); 4]];
            for ty in ty0..ty1 {
                w[2] = row_transform(src.add((2 * ty + 2) * g.wp));
                w[3] = row_transform(src.add((2 * ty + 3) * g.wp));
                let t = (ty - ty0) * g.tw4 + tx0;
                let dst = v.add((t / NR * g.c + ci) * NR + t % NR);
                for j in 0..4 {
                    for (i, val) in bt([w[0][j], w[1][j], w[2][j], w[3][j]]).into_iter().enumerate() {
                        val.store(dst.add((i * 4 + j) * xi_stride));
                    }
                }
                w[0] = w[2];
                w[1] = w[3];
            }
        }
    }
}

/// `Bᵀ d` for one 4-vector `d` of a patch (a row, or a column of row transforms), lane by lane.
#[inline(always)]
fn bt(d: [F32x4; 4]) -> [F32x4; 4] {
    [d[0].sub(d[2]), d[1].add(d[2]), d[2].sub(d[1]), d[1].sub(d[3])]
}

/// `d B` of one patch row for four tiles two columns apart: column j of each tile's row, transformed.
///
/// # Safety
/// `p..p+10` must be readable.
#[inline(always)]
unsafe fn row_transform(p: *const f32) -> [F32x4; 4] {
    let (d0, d1) = F32x4::deinterleave2(F32x4::load(p), F32x4::load(p.add(4)));
    let (d2, d3) = F32x4::deinterleave2(F32x4::load(p.add(2)), F32x4::load(p.add(6)));
    bt([d0, d1, d2, d3])
}

/// `M[ξ] = U[ξ] · V[ξ]` for the 16 positions: `m[ξ·m_xi + oc·ncols + t]`, each element's sum over input
/// channels in order.
///
/// # Safety
/// `u` holds `16·opad·c` floats, `v` `16·v_xi`, `m` `16·m_xi`.
#[inline(never)]
unsafe fn products(g: &Geom, u: *const f32, v: *const f32, m: *mut f32) {
    let (c, opad, ncols) = (g.c, g.opad(), g.ncols);
    for xi in 0..XI {
        for q in 0..ncols / NR {
            let b = v.add(xi * g.v_xi() + q * c * NR);
            for op in 0..opad / MR {
                let a = u.add((xi * (opad / MR) + op) * c * MR);
                f32_gemm_4x8(c, a, b, m.add(xi * g.m_xi() + op * MR * ncols + q * NR), ncols, false);
            }
        }
    }
}

/// `Y = Aᵀ m A` per tile and output channel, `Aᵀ = [[1, 1, 1, 0], [0, 1, -1, -1]]`, plus bias and ReLU, into
/// the 2×2 outputs inside `oh × ow`.
///
/// # Safety
/// `m` holds `16·m_xi` floats and `y` `o·oh·ow`.
#[inline(never)]
unsafe fn output_transform(g: &Geom, m: *const f32, ty0: usize, ty1: usize, bias: Option<&[f32]>, relu: bool, y: *mut f32) {
    let xi_stride = g.m_xi();
    for oc in 0..g.o {
        let b = F32x4::splat(bias.map_or(0.0, |b| b[oc]));
        for ty in ty0..ty1 {
            let rows = (g.oh - 2 * ty).min(2);
            for tx0 in (0..g.tw4).step_by(4) {
                let x0 = 2 * tx0;
                if x0 >= g.ow {
                    break;
                }
                let src = m.add(oc * g.ncols + (ty - ty0) * g.tw4 + tx0);
                let mut s = [[F32x4::zero(); 2]; 4];
                for (i, si) in s.iter_mut().enumerate() {
                    let r = |j: usize| F32x4::load(src.add((i * 4 + j) * xi_stride));
                    let (m0, m1, m2, m3) = (r(0), r(1), r(2), r(3));
                    *si = [m0.add(m1).add(m2), m1.sub(m2).sub(m3)];
                }
                let cols = (g.ow - x0).min(8);
                for r in 0..rows {
                    let [e, o] = if r == 0 {
                        [s[0][0].add(s[1][0]).add(s[2][0]), s[0][1].add(s[1][1]).add(s[2][1])]
                    } else {
                        [s[1][0].sub(s[2][0]).sub(s[3][0]), s[1][1].sub(s[2][1]).sub(s[3][1])]
                    };
                    let (lo, hi) = F32x4::interleave2(e.add(b), o.add(b));
                    let (lo, hi) = if relu { (lo.max(F32x4::zero()), hi.max(F32x4::zero())) } else { (lo, hi) };
                    let dst = y.add((oc * g.oh + 2 * ty + r) * g.ow + x0);
                    if cols == 8 {
                        lo.store(dst);
                        hi.store(dst.add(4));
                    } else {
                        lo.store_first(dst, cols.min(4));
                        hi.store_first(dst.add(4), cols.saturating_sub(4));
                    }
                }
            }
        }
    }
}

/// The weight gradient of one convolution (all its groups), a sample at a time: `accumulate` adds each
/// sample's `dU[ξ][o][c] = Σ_t dM[ξ][o][t] · V[ξ][c][t]` (tiles in order, bands in order) into a buffer of
/// `du_len` floats the caller keeps over its samples, and `finish` turns it into `dW = Gᵀ dU G`. The
/// transforms run with four channels per vector on 4-channel blocked copies, so that they write the
/// GEMMs' panels (tiles along K, channels across) directly.
pub struct WeightGrad {
    g: Geom,
    groups: usize,
    /// Tile columns (`ceil(ow / 2)`), tile rows per band and channels rounded up to the panels' widths.
    tw: usize,
    band: usize,
    cpad: usize,
    opad: usize,
}

impl WeightGrad {
    /// `g` one group's window, `o` its output channels.
    pub fn new(g: &Window, o: usize, groups: usize) -> Result<Self> {
        let geom = forward_geom(g, o)?;
        let (cpad, opad) = (g.c.div_ceil(NR) * NR, o.div_ceil(MR) * MR);
        let tw = g.ow.div_ceil(2);
        let band = (BAND_FLOATS / numel(&[XI, cpad + opad, tw])?).clamp(1, geom.th);
        let wg = Self { g: geom, groups, tw, band, cpad, opad };
        wg.scratch()?;
        numel(&[wg.du_len(), groups])?;
        Ok(wg)
    }

    /// Floats of one group's dU (`16 · opad · cpad`); the caller's buffer holds `groups` of them.
    pub fn du_len(&self) -> usize {
        XI * self.opad * self.cpad
    }

    /// Blocked padded sample, blocked output gradient, a band's V and dM.
    fn scratch(&self) -> Result<[usize; 4]> {
        let (g, nt) = (&self.g, self.band * self.tw);
        let blocks = |rows: usize| numel(&[XI, add(mul(rows, nt)?, SKEW)?]);
        Ok([numel(&[self.cpad, g.hp, 2 * self.tw + 2])?, numel(&[self.opad, 2 * g.th, 2 * self.tw])?, blocks(self.cpad)?, blocks(self.opad)?])
    }

    /// Adds group `gi` of one sample (`x` its `c·h·w` input, `dy` its `o·oh·ow` output gradient) into
    /// `du[gi · du_len..]`, or overwrites that when `first`.
    pub fn accumulate(&self, gi: usize, x: &[f32], dy: &[f32], du: &mut [f32], first: bool) -> Result {
        let g = &self.g;
        assert!(x.len() == g.c * g.h * g.w && dy.len() == g.o * g.oh * g.ow && du.len() == self.groups * self.du_len(), "winograd: buffer lengths");
        let du = &mut du[gi * self.du_len()..(gi + 1) * self.du_len()];
        GRAD.with(|cell| {
            let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
            let [xb, dyb, v, dm] = &mut *guard;
            let lens = self.scratch()?;
            for (buf, &len) in [&mut *xb, &mut *dyb, &mut *v, &mut *dm].into_iter().zip(&lens) {
                error::grow(buf, len)?;
            }
            let wp = 2 * self.tw + 2;
            blocked(x, g.c, (g.h, g.w), (g.at.0, g.at.1), (g.hp, wp), &mut xb[..lens[0]]);
            blocked(dy, g.o, (g.oh, g.ow), (0, 0), (2 * g.th, 2 * self.tw), &mut dyb[..lens[1]]);
            for ty0 in (0..g.th).step_by(self.band) {
                let ty1 = (ty0 + self.band).min(g.th);
                // SAFETY: the buffers hold the sizes `scratch` gives, `du` `du_len` floats; see each function.
                unsafe {
                    self.input_transform(xb.as_ptr(), ty0, ty1, v.as_mut_ptr());
                    self.grad_transform(dyb.as_ptr(), ty0, ty1, dm.as_mut_ptr());
                    let nt = (ty1 - ty0) * self.tw;
                    for xi in 0..XI {
                        for op in 0..self.opad / MR {
                            let a = dm.as_ptr().add(xi * (self.opad * nt + SKEW) + op * nt * MR);
                            for cq in 0..self.cpad / NR {
                                let b = v.as_ptr().add(xi * (self.cpad * nt + SKEW) + cq * nt * NR);
                                let c = du.as_mut_ptr().add((xi * self.opad + op * MR) * self.cpad + cq * NR);
                                f32_gemm_4x8(nt, a, b, c, self.cpad, !(first && ty0 == 0));
                            }
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// Group `gi`'s weight gradient `dw` (`o × c × 3 × 3`, overwritten) from its summed dU.
    #[inline(never)]
    pub fn finish(&self, gi: usize, du: &[f32], dw: &mut [f32]) {
        let (g, du) = (&self.g, &du[gi * self.du_len()..(gi + 1) * self.du_len()]);
        // Gᵀ = [[1, ½, ½, 0], [0, ½, -½, 0], [0, ½, ½, 1]] on both sides.
        let gt = |v: [f64; 4]| [v[0] + (v[1] + v[2]) / 2.0, (v[1] - v[2]) / 2.0, (v[1] + v[2]) / 2.0 + v[3]];
        for oc in 0..g.o {
            for c in 0..g.c {
                let at = |a: usize, b: usize| du[((a * 4 + b) * self.opad + oc) * self.cpad + c] as f64;
                let rows: [[f64; 3]; 4] = std::array::from_fn(|a| gt([at(a, 0), at(a, 1), at(a, 2), at(a, 3)]));
                for j in 0..3 {
                    let col = gt([rows[0][j], rows[1][j], rows[2][j], rows[3][j]]);
                    for (i, &v) in col.iter().enumerate() {
                        dw[((oc * g.c + c) * 3 + i) * 3 + j] = v as f32;
                    }
                }
            }
        }
    }

    /// `V[ξ]` of tile rows `ty0..ty1`, four channels per vector, as B panels:
    /// `v[ξ·(cpad·nt + SKEW) + (c/8·nt + t)·8 + c%8]` (t the band's tile in row-major order).
    ///
    /// # Safety
    /// `xb` holds the blocked padded sample, `v` `16·(cpad·nt + SKEW)` floats.
    #[inline(never)]
    unsafe fn input_transform(&self, xb: *const f32, ty0: usize, ty1: usize, v: *mut f32) {
        let (g, tw) = (&self.g, self.tw);
        let (wp, nt) = (2 * tw + 2, (ty1 - ty0) * tw);
        let at = |cb: usize, r: usize, col: usize| F32x4::load(xb.add(((cb * g.hp + r) * wp + col) * 4));
        for cb in 0..self.cpad / 4 {
            for tx in 0..tw {
                let row = |r: usize| bt(std::array::from_fn(|j| at(cb, r, 2 * tx + j)));
                let mut w = [row(2 * ty0), row(2 * ty0 + 1), [F32x4::zero(); 4], [F32x4::zero(); 4]];
                for ty in ty0..ty1 {
                    w[2] = row(2 * ty + 2);
                    w[3] = row(2 * ty + 3);
                    let t = (ty - ty0) * tw + tx;
                    for j in 0..4 {
                        for (i, val) in bt([w[0][j], w[1][j], w[2][j], w[3][j]]).into_iter().enumerate() {
                            val.store(v.add((i * 4 + j) * (self.cpad * nt + SKEW) + (cb / 2 * nt + t) * NR + cb % 2 * 4));
                        }
                    }
                    w[0] = w[2];
                    w[1] = w[3];
                }
            }
        }
    }

    /// `dM[ξ] = (A dY Aᵀ)[ξ]` per tile, `A = [[1, 0], [1, 1], [1, -1], [0, -1]]`, four output channels per
    /// vector, as A panels: `dm[ξ·(opad·nt + SKEW) + (o/4·nt + t)·4 + o%4]`.
    ///
    /// # Safety
    /// `dyb` holds the blocked output gradient (`opad × 2th × 2tw`), `dm` `16·(opad·nt + SKEW)` floats.
    #[inline(never)]
    unsafe fn grad_transform(&self, dyb: *const f32, ty0: usize, ty1: usize, dm: *mut f32) {
        let (g, tw) = (&self.g, self.tw);
        let nt = (ty1 - ty0) * tw;
        for ob in 0..self.opad / MR {
            for ty in ty0..ty1 {
                for tx in 0..tw {
                    let d = |r: usize, c: usize| F32x4::load(dyb.add(((ob * 2 * g.th + 2 * ty + r) * 2 * tw + 2 * tx + c) * 4));
                    let (d00, d01, d10, d11) = (d(0, 0), d(0, 1), d(1, 0), d(1, 1));
                    let z = F32x4::zero();
                    let e = [[d00, d01], [d00.add(d10), d01.add(d11)], [d00.sub(d10), d01.sub(d11)], [z.sub(d10), z.sub(d11)]];
                    let t = (ty - ty0) * tw + tx;
                    for (i, [a, b]) in e.into_iter().enumerate() {
                        for (j, val) in [a, a.add(b), a.sub(b), z.sub(b)].into_iter().enumerate() {
                            val.store(dm.add((i * 4 + j) * (self.opad * nt + SKEW) + (ob * nt + t) * MR));
                        }
                    }
                }
            }
        }
    }
}

/// `c` planes of `h × w` into 4-channel blocks of a zero-padded `hp × wp` grid, plane row r at grid row
/// `r + at.0`, column s at `s + at.1` (what falls outside dropped): `dst[((c/4·hp + row)·wp + col)·4 + c%4]`.
#[inline(never)]
fn blocked(x: &[f32], c: usize, (h, w): (usize, usize), at: (isize, isize), (hp, wp): (usize, usize), dst: &mut [f32]) {
    dst.fill(0.0);
    let (col0, dst0, cols) = placement(w, at.1, wp);
    let (row0, r0, rows) = placement(h, at.0, hp);
    for cb in 0..c.div_ceil(4) {
        let lanes = (c - cb * 4).min(4);
        for r in 0..rows {
            let out = &mut dst[((cb * hp + r0 + r) * wp + dst0) * 4..][..cols * 4];
            let src = |l: usize| &x[((cb * 4 + l) * h + row0 + r) * w + col0..][..cols];
            if lanes == 4 {
                let rows = [src(0), src(1), src(2), src(3)];
                let full = cols / 4 * 4;
                for s in (0..full).step_by(4) {
                    // SAFETY: s + 3 < cols, the length of each source row; out holds cols·4 floats.
                    unsafe {
                        let t = F32x4::transpose4(rows.map(|r| F32x4::load(r.as_ptr().add(s))));
                        for (k, v) in t.into_iter().enumerate() {
                            v.store(out.as_mut_ptr().add((s + k) * 4));
                        }
                    }
                }
                for s in full..cols {
                    for (l, r) in rows.iter().enumerate() {
                        out[s * 4 + l] = r[s];
                    }
                }
            } else {
                for l in 0..lanes {
                    for (s, &v) in src(l).iter().enumerate() {
                        out[s * 4 + l] = v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::{for_each_conv_tap, test_window as geom};
    use crate::testutil::{assert_close, Rng};

    fn shapes() -> Vec<(Window, usize)> {
        vec![
            (geom(1, 8, 8, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 8),
            (geom(2, 9, 7, 11, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 13), // odd sizes, o not a multiple of 4
            (geom(1, 10, 9, 6, 3, 3, (1, 1), (0, 0, 0, 0), (1, 1)), 8),  // no padding
            (geom(1, 8, 5, 17, 3, 3, (1, 1), (2, 2, 2, 2), (1, 1)), 9),  // padding 2
            (geom(1, 12, 6, 6, 3, 3, (1, 1), (0, 1, 2, 1), (1, 1)), 10), // asymmetric
            (geom(1, 8, 4, 4, 3, 3, (1, 1), (3, 3, 3, 3), (1, 1)), 8),   // wider than the kernel
            (geom(1, 16, 32, 32, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 16), // a ResNet stage, several bands
        ]
    }

    fn direct(g: &Window, o: usize, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let opl = g.out_plane();
        let mut y: Vec<f64> = (0..g.n * o * opl).map(|yi| b[yi / opl % o] as f64).collect();
        for_each_conv_tap(g, o, 1, |xi, wi, yi| y[yi] += w[wi] as f64 * x[xi] as f64);
        y.iter().map(|&v| v as f32).collect()
    }

    /// Forward, input and weight gradients against the f64 direct sums, at the direct convolution tests'
    /// tolerances.
    #[test]
    fn forward_and_gradients_match_f64_direct_sums() {
        let mut rng = Rng::new(21);
        for (g, o) in shapes() {
            assert!(applies(&g, o));
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            let dy = rng.normal_vec(g.n * o * g.out_plane());
            let tol = 1e-5 * (g.col_rows() as f32).sqrt();
            let (fwd, bwd) = (Winograd::forward(&g, o, &w).unwrap(), Winograd::input_grad(&g, o, &w).unwrap());
            let (xs, ys) = (g.c * g.in_plane(), o * g.out_plane());
            for relu in [false, true] {
                let mut y = vec![f32::NAN; g.n * ys];
                for n in 0..g.n {
                    fwd.run(&x[n * xs..][..xs], Some(&b), relu, &mut y[n * ys..][..ys]).unwrap();
                }
                let want: Vec<f32> = direct(&g, o, &x, &w, &b).into_iter().map(|v| if relu { v.max(0.0) } else { v }).collect();
                assert_close(&y, &want, tol, &format!("forward {g:?} o {o} relu {relu}"));
            }
            // dx[xi] = Σ w[wi] dy[yi] over the same taps.
            let mut want = vec![0.0f64; x.len()];
            for_each_conv_tap(&g, o, 1, |xi, wi, yi| want[xi] += w[wi] as f64 * dy[yi] as f64);
            let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
            let mut dx = vec![f32::NAN; x.len()];
            for n in 0..g.n {
                bwd.run(&dy[n * ys..][..ys], None, false, &mut dx[n * xs..][..xs]).unwrap();
            }
            assert_close(&dx, &want, 1e-5 * ((o * 9) as f32).sqrt(), &format!("input grad {g:?} o {o}"));
            // dw[wi] = Σ x[xi] dy[yi] over the batch, through dU summed over its samples.
            let mut want = vec![0.0f64; w.len()];
            for_each_conv_tap(&g, o, 1, |xi, wi, yi| want[wi] += x[xi] as f64 * dy[yi] as f64);
            let want: Vec<f32> = want.iter().map(|&v| v as f32).collect();
            let wg = WeightGrad::new(&g, o, 1).unwrap();
            let mut du = vec![f32::NAN; wg.du_len()];
            for n in 0..g.n {
                wg.accumulate(0, &x[n * xs..][..xs], &dy[n * ys..][..ys], &mut du, n == 0).unwrap();
            }
            let mut dw = vec![f32::NAN; w.len()];
            wg.finish(0, &du, &mut dw);
            assert_close(&dw, &want, 1e-5 * ((g.n * g.out_plane()) as f32).sqrt(), &format!("weight grad {g:?} o {o}"));
        }
    }

    #[test]
    fn small_channel_counts_and_other_windows_stay_on_the_direct_path() {
        assert!(!applies(&geom(1, 3, 8, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 16));
        assert!(!applies(&geom(1, 16, 8, 8, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1)), 16));
        assert!(!applies(&geom(1, 16, 8, 8, 3, 3, (1, 1), (2, 2, 2, 2), (2, 2)), 16));
        assert!(!applies(&geom(1, 16, 8, 8, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1)), 16));
        assert!(!applies(&geom(1, 16, 2, 8, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 16));
    }
}
