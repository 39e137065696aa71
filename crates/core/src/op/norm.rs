//! Normalisation layers (PyTorch's `BatchNorm1d/2d`, `LayerNorm`, `GroupNorm`) and what they share: the
//! affine parameters, the saved statistics, and the sums behind them.
//!
//! Statistics are two-pass (mean first, then Σ(x − mean)²) with f64 accumulation in a fixed order (f32
//! blocks of 4 interleaved accumulators per contiguous run, runs added in index order), so they are accurate over any
//! number of values and bitwise the same on any thread count: work is split by channel or row, never
//! inside one sum.

pub mod batchnorm;
pub mod groupnorm;
pub mod layernorm;
mod relu_cut;

use crate::error::{Error, Result};
use crate::simd::{F32x4, Lane};
use crate::vmath::Math;

/// The affine parameters γ (weight) and β (bias): both present for an affine layer, both absent otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Affine<'a> {
    pub weight: Option<&'a [f32]>,
    pub bias: Option<&'a [f32]>,
}

/// Where the parameter gradients go (either may be absent, e.g. a frozen γ); `accumulate` adds to them
/// instead of overwriting (a parameter shared between uses).
#[derive(Debug, Default)]
pub struct AffineGrad<'a> {
    pub weight: Option<&'a mut [f32]>,
    pub bias: Option<&'a mut [f32]>,
    pub accumulate: bool,
}

/// Per-group statistics a forward saves for its backward (PyTorch's `save_mean`, `save_invstd`):
/// the mean and 1/√(var + ε), one per channel (BatchNorm) or per normalised row (LayerNorm, GroupNorm).
#[derive(Debug)]
pub struct StatsOut<'a> {
    pub mean: &'a mut [f32],
    pub rstd: &'a mut [f32],
}

/// The statistics a forward saved, read by the backward.
#[derive(Clone, Copy, Debug)]
pub struct Stats<'a> {
    pub mean: &'a [f32],
    pub rstd: &'a [f32],
}

impl<'a> StatsOut<'a> {
    pub fn as_stats(&self) -> Stats<'_> {
        Stats { mean: self.mean, rstd: self.rstd }
    }
}

/// (γ, β), both present or both absent.
pub(crate) type Params<'a> = (Option<&'a [f32]>, Option<&'a [f32]>);

/// `(γ, β)` as slices of `len` (absent when the layer is not affine: γ = 1, β = 0), after checking that the
/// parameters match `affine`.
pub(crate) fn affine_params<'a>(affine: bool, p: &Affine<'a>, len: usize) -> Result<Params<'a>> {
    match (affine, p.weight, p.bias) {
        (true, Some(w), Some(b)) if w.len() == len && b.len() == len => Ok((Some(w), Some(b))),
        (false, None, None) => Ok((None, None)),
        _ => Err(Error::BadBuffer),
    }
}

/// Checks the gradient buffers' lengths and that an unaffine layer is given none.
pub(crate) fn check_grads(affine: bool, g: &AffineGrad, len: usize) -> Result {
    let ok = |b: &Option<&mut [f32]>| b.as_ref().is_none_or(|b| affine && b.len() == len);
    if ok(&g.weight) && ok(&g.bias) { Ok(()) } else { Err(Error::BadBuffer) }
}

pub(crate) fn check_stats(s: &Stats, len: usize) -> Result {
    if s.mean.len() == len && s.rstd.len() == len { Ok(()) } else { Err(Error::BadBuffer) }
}

pub(crate) fn check_eps(eps: f32) -> Result {
    if eps.is_finite() && eps >= 0.0 { Ok(()) } else { Err(Error::BadGeometry) }
}

/// Writes (or adds, with `accumulate`) `v` into `dst[i]`.
#[inline]
pub(crate) fn put(dst: &mut Option<&mut [f32]>, i: usize, v: f64, accumulate: bool) {
    if let Some(d) = dst {
        d[i] = if accumulate { d[i] + v as f32 } else { v as f32 };
    }
}

/// K quantities per element, as lanes: what `blocked_sums` adds up.
pub(crate) trait Summand<const K: usize> {
    /// The quantities at elements `i..i + L::WIDTH`.
    fn at<L: Math>(&self, i: usize) -> [L; K];
}

/// Values per f32 block in `blocked_sums`, and its independent accumulators (one add chain was bound by
/// the add's latency, not by loads): vector j of a block goes to accumulator j mod ACCS, each lane of
/// which adds 8 terms; the accumulators are added pairwise at the block's end (relative error ≤ 10·2⁻²⁴
/// of the block's Σ|term|) before its lanes go into f64.
const BLOCK: usize = 128;
const ACCS: usize = 4;
const _: () = assert!(ACCS == 4, "blocked_sums adds its accumulators pairwise as written for four");

/// Σᵢ f(i) over `0..len` for K quantities at once: `ACCS` sets of four f32 lanes accumulate over blocks of
/// `BLOCK` elements, each block's lanes are added into f64 as ((l0 + l1) + (l2 + l3)), the scalar tail in
/// f64. A fixed order for a given `len`, so the result does not depend on how runs are spread over threads.
#[inline(always)]
pub(crate) fn blocked_sums<const K: usize>(len: usize, f: &impl Summand<K>) -> [f64; K] {
    let mut total = [0.0f64; K];
    let n4 = len / 4 * 4;
    let mut i = 0;
    while i < n4 {
        let end = (i + BLOCK).min(n4);
        let mut acc = [[F32x4::zero(); K]; ACCS];
        while i + 4 * ACCS <= end {
            for (a, acc) in acc.iter_mut().enumerate() {
                let v = f.at::<F32x4>(i + 4 * a);
                for k in 0..K {
                    acc[k] = acc[k].add(v[k]);
                }
            }
            i += 4 * ACCS;
        }
        // A short block's last vectors, one per accumulator.
        for acc in acc.iter_mut().take((end - i) / 4) {
            let v = f.at::<F32x4>(i);
            for k in 0..K {
                acc[k] = acc[k].add(v[k]);
            }
            i += 4;
        }
        for k in 0..K {
            let l = acc[0][k].add(acc[1][k]).add(acc[2][k].add(acc[3][k])).lanes();
            total[k] += (l[0] as f64 + l[1] as f64) + (l[2] as f64 + l[3] as f64);
        }
    }
    for i in n4..len {
        let v = f.at::<f32>(i);
        for k in 0..K {
            total[k] += v[k] as f64;
        }
    }
    total
}

/// The mean and biased variance of the values in `runs` (`count` of them), two-pass: Σx, then
/// Σ(x − mean)², each with `blocked_sums` per run and the runs added in order in f64.
pub(crate) fn mean_var<'a, R: Iterator<Item = &'a [f32]>>(runs: impl Fn() -> R, count: usize) -> (f64, f64) {
    struct Values<'a>(&'a [f32]);
    impl Summand<1> for Values<'_> {
        #[inline(always)]
        fn at<L: Math>(&self, i: usize) -> [L; 1] {
            // SAFETY: blocked_sums asks for i + L::WIDTH <= len.
            [unsafe { L::load(self.0.as_ptr().add(i)) }]
        }
    }
    struct Centered<'a>(&'a [f32], f32);
    impl Summand<1> for Centered<'_> {
        #[inline(always)]
        fn at<L: Math>(&self, i: usize) -> [L; 1] {
            // SAFETY: as above.
            let d = unsafe { L::load(self.0.as_ptr().add(i)) }.sub(L::splat(self.1));
            [d.mul(d)]
        }
    }
    let mean = runs().map(|r| blocked_sums(r.len(), &Values(r))[0]).sum::<f64>() / count as f64;
    let m = mean as f32;
    // Σ(x − m)² about the rounded mean, corrected to the exact one: Σ(x − mean)² = Σ(x − m)² − n(mean − m)².
    let m2 = runs().map(|r| blocked_sums(r.len(), &Centered(r, m))[0]).sum::<f64>();
    let shift = mean - m as f64;
    (mean, (m2 / count as f64 - shift * shift).max(0.0))
}

/// y = (x − mean)·scale + shift over a run, then max(·, 0) with `RELU` (BatchNorm's and GroupNorm's
/// per-channel affine map).
pub(crate) fn normalize_run<const RELU: bool>(x: &[f32], y: &mut [f32], mean: f32, scale: f32, shift: f32) {
    crate::for_each_lane!(0, x.len(), |i, L| {
        // SAFETY: i + L::WIDTH <= len of both runs.
        unsafe {
            let t = L::load(x.as_ptr().add(i)).sub(L::splat(mean)).mul(L::splat(scale)).add(L::splat(shift));
            if RELU { t.pmax(L::splat(0.0)) } else { t }.store(y.as_mut_ptr().add(i))
        }
    });
}

/// γ over a run of a normalised row: none, one value (GroupNorm's channel), or one per element (LayerNorm).
pub(crate) trait Weight: Sync {
    /// v·γ at elements `i..i + L::WIDTH` of the run.
    fn apply<L: Math>(&self, i: usize, v: L) -> L;
}

pub(crate) struct Unit;
impl Weight for Unit {
    #[inline(always)]
    fn apply<L: Math>(&self, _: usize, v: L) -> L {
        v
    }
}

pub(crate) struct Scalar(pub f32);
impl Weight for Scalar {
    #[inline(always)]
    fn apply<L: Math>(&self, _: usize, v: L) -> L {
        v.mul(L::splat(self.0))
    }
}

pub(crate) struct PerElement<'a>(pub &'a [f32]);
impl Weight for PerElement<'_> {
    #[inline(always)]
    fn apply<L: Math>(&self, i: usize, v: L) -> L {
        // SAFETY: the run and its weights have the same length; i + L::WIDTH <= it.
        v.mul(unsafe { L::load(self.0.as_ptr().add(i)) })
    }
}

/// (Σg, Σg·(x − mean)) over a run, g = dy·γ: the row backward's first pass.
pub(crate) fn row_grad_sums<W: Weight>(x: &[f32], dy: &[f32], mean: f32, w: &W) -> [f64; 2] {
    struct S<'a, W>(&'a [f32], &'a [f32], f32, &'a W);
    impl<W: Weight> Summand<2> for S<'_, W> {
        #[inline(always)]
        fn at<L: Math>(&self, i: usize) -> [L; 2] {
            // SAFETY: blocked_sums asks for i + L::WIDTH <= the run's length.
            let (x, dy) = unsafe { (L::load(self.0.as_ptr().add(i)), L::load(self.1.as_ptr().add(i))) };
            let g = self.3.apply(i, dy);
            [g, g.mul(x.sub(L::splat(self.2)))]
        }
    }
    blocked_sums(x.len(), &S(x, dy, mean, w))
}

/// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) over a run of a row of `d` values, given the row's
/// (Σg, Σg·(x − mean)): evaluated as g·rstd − ((x − mean)·c + k) with c = rstd³·Σg(x − mean)/d and
/// k = rstd·Σg/d.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_dx<W: Weight>(x: &[f32], dy: &[f32], dx: &mut [f32], mean: f32, rstd: f32, sums: [f64; 2], d: usize, w: &W) {
    let r = rstd as f64;
    let c = (r * r * r * sums[1] / d as f64) as f32;
    let k = (r * sums[0] / d as f64) as f32;
    crate::for_each_lane!(0, x.len(), |i, L| {
        // SAFETY: i + L::WIDTH <= len of the three runs.
        unsafe {
            let xm = L::load(x.as_ptr().add(i)).sub(L::splat(mean));
            let g = w.apply(i, L::load(dy.as_ptr().add(i)));
            g.mul(L::splat(rstd)).sub(xm.mul(L::splat(c)).add(L::splat(k))).store(dx.as_mut_ptr().add(i))
        }
    });
}

/// Calls `f(row, x row, dy row, dx row, mean, rstd)` for each row of `d` values, in parallel over chunks
/// of rows: the row backward of LayerNorm and GroupNorm.
pub(crate) fn rows_backward(d: usize, x: &[f32], dy: &[f32], saved: &Stats, dx: &mut [f32], f: impl Fn(usize, &[f32], &[f32], &mut [f32], f32, f32) + Sync) {
    let per = (crate::par::ELEMENTWISE_CHUNK / d).max(1);
    crate::par::chunks_mut(dx, per * d, |k, chunk| {
        for (j, dxr) in chunk.chunks_exact_mut(d).enumerate() {
            let r = k * per + j;
            f(r, &x[r * d..][..d], &dy[r * d..][..d], dxr, saved.mean[r], saved.rstd[r]);
        }
    });
}

/// Writes (or adds) the per-parameter sums `[Σdy·x̂, Σdy]` into dγ and dβ.
pub(crate) fn put_grads(grads: &mut AffineGrad, sums: &[[f64; 2]]) {
    for (i, s) in sums.iter().enumerate() {
        put(&mut grads.weight, i, s[0], grads.accumulate);
        put(&mut grads.bias, i, s[1], grads.accumulate);
    }
}

/// Per-row statistics for LayerNorm and GroupNorm: rows of `d` values; writes `saved` and calls
/// `f(row, x row, y row, mean, rstd)` in the same task, in parallel over chunks of rows.
pub(crate) fn rows_forward(d: usize, eps: f32, x: &[f32], saved: StatsOut, y: &mut [f32], f: impl Fn(usize, &[f32], &mut [f32], f32, f32) + Sync) {
    let per = (crate::par::ELEMENTWISE_CHUNK / d).max(1);
    let (mp, rp) = (crate::par::SyncPtr(saved.mean.as_mut_ptr()), crate::par::SyncPtr(saved.rstd.as_mut_ptr()));
    crate::par::chunks_mut(y, per * d, |k, chunk| {
        for (j, yr) in chunk.chunks_exact_mut(d).enumerate() {
            let r = k * per + j;
            let xr = &x[r * d..][..d];
            let (mean, var) = mean_var(|| std::iter::once(xr), d);
            let rstd = (1.0 / (var + eps as f64).sqrt()) as f32;
            // SAFETY: row r < rows, the statistics' length, is this task's alone.
            unsafe {
                *mp.get().add(r) = mean as f32;
                *rp.get().add(r) = rstd;
            }
            f(r, xr, yr, mean as f32, rstd);
        }
    });
}

/// The three layers' test against their f64 definition: `reference(x, γ, β)` (γ, β empty when not affine)
/// is the forward in f64; checks y, then dx, dγ, dβ against f64 central differences of Σ reference·u,
/// all with `max_rel_err` (floor 1%) below 1e-5. Returns (forward error, dx error).
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_against_definition(x: &[f32], w: &[f32], b: &[f32], u: &[f32], y: &[f32], dx: &[f32], dw: &[f32], db: &[f32], reference: impl Fn(&[f64], &[f64], &[f64]) -> Vec<f64>) -> (f64, f64) {
    use crate::testutil::{fd_grad, max_rel_err};
    let f = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
    let (nx, c) = (x.len(), w.len());
    let (e, i) = max_rel_err(y, &reference(&f(x), &f(w), &f(b)), 1e-2);
    assert!(e < 1e-5, "forward rel err {e} at {i}");
    let loss = |v: &[f64]| reference(&v[..nx], &v[nx..nx + c], &v[nx + c..]).iter().zip(u).map(|(a, &g)| a * g as f64).sum::<f64>();
    let at: Vec<f64> = f(x).into_iter().chain(f(w)).chain(f(b)).collect();
    let fd = fd_grad(loss, &at, 1e-6);
    let (ex, i) = max_rel_err(dx, &fd[..nx], 1e-2);
    assert!(ex < 1e-5, "dx rel err {ex} at {i}: {} vs {}", dx[i], fd[i]);
    if c > 0 {
        let (ew, _) = max_rel_err(dw, &fd[nx..nx + c], 1e-2);
        let (eb, _) = max_rel_err(db, &fd[nx + c..], 1e-2);
        assert!(ew < 1e-5 && eb < 1e-5, "dγ {ew} dβ {eb}");
    }
    (e, ex)
}
