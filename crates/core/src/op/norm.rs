//! Normalisation layers (PyTorch's `BatchNorm1d/2d`, `LayerNorm`, `GroupNorm`) and what they share: the
//! affine parameters, the saved statistics, and the sums behind them.
//!
//! Statistics are two-pass (mean first, then Σ(x − mean)²) with f64 accumulation in a fixed order (4
//! interleaved accumulators per contiguous run, runs added in index order), so they are accurate over any
//! number of values and bitwise the same on any thread count: work is split by channel or row, never
//! inside one sum.

pub mod batchnorm;
pub mod groupnorm;
pub mod layernorm;

use crate::error::{Error, Result};
use crate::optim::reduce::sum4_slice;

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

/// `(γ, β)` as slices of `len` (γ = 1, β = 0 when the layer is not affine), after checking that the
/// parameters match `affine`.
pub(crate) fn affine_params<'a>(affine: bool, p: &Affine<'a>, len: usize) -> Result<(Option<&'a [f32]>, Option<&'a [f32]>)> {
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

/// Σx over runs, in f64 (runs in order, each summed as `sum4_slice`).
#[inline]
pub(crate) fn sum<'a>(runs: impl Iterator<Item = &'a [f32]>) -> f64 {
    runs.map(|r| sum4_slice(r, |v| v as f64)).sum()
}

/// Σ(x − mean)² over runs, in f64.
#[inline]
pub(crate) fn centered_squares<'a>(runs: impl Iterator<Item = &'a [f32]>, mean: f64) -> f64 {
    runs.map(|r| sum4_slice(r, |v| (v as f64 - mean) * (v as f64 - mean))).sum()
}

/// (Σg, Σg·(x − mean)) over one run of `x`, `g(i)` the gradient at element i, in f64 (4 interleaved
/// accumulators each, as `sum4_slice`).
#[inline]
pub(crate) fn grad_sums(x: &[f32], mean: f64, g: impl Fn(usize) -> f32) -> (f64, f64) {
    let (mut s, mut t) = ([0.0f64; 4], [0.0f64; 4]);
    for (i, &v) in x.iter().enumerate() {
        let gv = g(i) as f64;
        s[i % 4] += gv;
        t[i % 4] += gv * (v as f64 - mean);
    }
    ((s[0] + s[1]) + (s[2] + s[3]), (t[0] + t[1]) + (t[2] + t[3]))
}
