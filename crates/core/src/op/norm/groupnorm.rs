//! Group normalisation (PyTorch's `GroupNorm`) over (N, C, L): the C channels of each sample are split into
//! `groups` consecutive groups, each group (C/groups·L values, contiguous) is normalised by its own mean
//! and biased variance, then y = x̂·γ_c + β_c per channel (`affine`).
//!
//! Groups run in parallel (one task sums a group in a fixed order); dγ and dβ are summed per channel over
//! the batch in order, in parallel over channels.

use super::{affine_params, check_eps, check_grads, check_stats, normalize_run, put_grads, row_dx, row_grad_sums, rows_backward, rows_forward, Affine, AffineGrad, Scalar, Stats, StatsOut, Unit};
use crate::error::{self, Error, Result};
use crate::par;

/// A validated group norm over `n × c × inner` values in `groups` groups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroupNorm {
    n: usize,
    c: usize,
    inner: usize,
    groups: usize,
    eps: f32,
    affine: bool,
}

impl GroupNorm {
    /// Refuses zero sizes, `groups` not dividing `c`, ε ≤ 0 (`BadGeometry`) and sizes beyond wasm32
    /// (`TooLarge`).
    pub fn new(n: usize, c: usize, inner: usize, groups: usize, eps: f32, affine: bool) -> Result<Self> {
        if n == 0 || c == 0 || inner == 0 || groups == 0 || !c.is_multiple_of(groups) {
            return Err(Error::BadGeometry);
        }
        error::numel(&[n, c, inner])?;
        check_eps(eps)?;
        if eps == 0.0 {
            return Err(Error::BadGeometry);
        }
        Ok(GroupNorm { n, c, inner, groups, eps, affine })
    }

    pub fn numel(&self) -> usize {
        self.n * self.c * self.inner
    }

    /// N·groups: the length of the saved statistics.
    pub fn rows(&self) -> usize {
        self.n * self.groups
    }

    /// Channels per group.
    fn cpg(&self) -> usize {
        self.c / self.groups
    }

    /// Values per group.
    fn row_len(&self) -> usize {
        self.cpg() * self.inner
    }

    fn check(&self, x: &[f32], other: usize, stats: &Stats) -> Result {
        check_stats(stats, self.rows())?;
        if x.len() != self.numel() || other != self.numel() { Err(Error::BadBuffer) } else { Ok(()) }
    }

    /// y = GroupNorm(x); saves each (sample, group)'s mean and 1/√(var + ε).
    pub fn forward(&self, x: &[f32], p: Affine, saved: StatsOut, y: &mut [f32]) -> Result {
        let (w, b) = affine_params(self.affine, &p, self.c)?;
        self.check(x, y.len(), &saved.as_stats())?;
        let (cpg, l) = (self.cpg(), self.inner);
        rows_forward(self.row_len(), self.eps, x, saved, y, |r, xr, yr, mean, rstd| {
            let c0 = (r % self.groups) * cpg;
            for (j, (xs, ys)) in xr.chunks_exact(l).zip(yr.chunks_exact_mut(l)).enumerate() {
                let (scale, shift) = (w.map_or(1.0, |w| w[c0 + j]) * rstd, b.map_or(0.0, |b| b[c0 + j]));
                normalize_run::<false>(xs, ys, mean, scale, shift);
            }
        });
        Ok(())
    }

    /// dx (if asked for) = rstd·(g − mean(g) − x̂·mean(g·x̂)) per group with g = dy·γ_c; dγ_c = Σ dy·x̂ and
    /// dβ_c = Σ dy over the batch and the channel's values.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, x: &[f32], p: Affine, saved: Stats, dy: &[f32], dx: Option<&mut [f32]>, mut grads: AffineGrad) -> Result {
        let (w, _) = affine_params(self.affine, &p, self.c)?;
        check_grads(self.affine, &grads, self.c)?;
        self.check(x, dy.len(), &saved)?;
        if dx.as_ref().is_some_and(|d| d.len() != self.numel()) {
            return Err(Error::BadBuffer);
        }
        let (cpg, l, d) = (self.cpg(), self.inner, self.row_len());
        if let Some(dx) = dx {
            rows_backward(d, x, dy, &saved, dx, |r, xr, dyr, dxr, mean, rstd| {
                let c0 = (r % self.groups) * cpg;
                let runs = || xr.chunks_exact(l).zip(dyr.chunks_exact(l)).enumerate();
                // The group's sums over its channels' runs, in channel order.
                let mut sums = [0.0f64; 2];
                for (j, (xs, ds)) in runs() {
                    let s = match w {
                        Some(w) => row_grad_sums(xs, ds, mean, &Scalar(w[c0 + j])),
                        None => row_grad_sums(xs, ds, mean, &Unit),
                    };
                    sums = [sums[0] + s[0], sums[1] + s[1]];
                }
                for ((j, (xs, ds)), dxs) in runs().zip(dxr.chunks_exact_mut(l)) {
                    match w {
                        Some(w) => row_dx(xs, ds, dxs, mean, rstd, sums, d, &Scalar(w[c0 + j])),
                        None => row_dx(xs, ds, dxs, mean, rstd, sums, d, &Unit),
                    }
                }
            });
        }
        if grads.weight.is_none() && grads.bias.is_none() {
            return Ok(());
        }
        // Per channel over the batch in order: (Σdy·x̂, Σdy).
        let mut acc: Vec<[f64; 2]> = error::zeroed(self.c)?;
        par::chunks_mut(&mut acc, 1, |ch, a| {
            for n in 0..self.n {
                let at = (n * self.c + ch) * l;
                let r = n * self.groups + ch / cpg;
                let [sdy, sdyx] = row_grad_sums(&x[at..at + l], &dy[at..at + l], saved.mean[r], &Unit);
                a[0][0] += sdyx * saved.rstd[r] as f64;
                a[0][1] += sdy;
            }
        });
        put_grads(&mut grads, &acc);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    fn reference(g: &GroupNorm, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
        let (d, cpg, l) = (g.row_len(), g.cpg(), g.inner);
        let mut y = vec![0.0; x.len()];
        for r in 0..g.rows() {
            let xr = &x[r * d..(r + 1) * d];
            let mean = xr.iter().sum::<f64>() / d as f64;
            let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
            for e in 0..d {
                let ch = (r % g.groups) * cpg + e / l;
                let t = (xr[e] - mean) / (var + g.eps as f64).sqrt();
                y[r * d + e] = if w.is_empty() { t } else { t * w[ch] + b[ch] };
            }
        }
        y
    }

    #[test]
    fn forward_and_backward_match_the_f64_definition_and_finite_differences() {
        let mut rng = Rng::new(13);
        for (n, c, l, groups, affine) in [(2, 6, 5, 3, true), (3, 4, 7, 2, false), (2, 5, 3, 1, true), (1, 4, 9, 4, true)] {
            let gn = GroupNorm::new(n, c, l, groups, 1e-5, affine).unwrap();
            let x: Vec<f32> = rng.normal_vec(n * c * l).iter().map(|v| 0.7 * v + 1.0).collect();
            let (w, b) = if affine { (rng.normal_vec(c), rng.normal_vec(c)) } else { (vec![], vec![]) };
            let p = if affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
            let rows = gn.rows();
            let (mut mean, mut rstd, mut y) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; x.len()]);
            gn.forward(&x, p, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
            let u = rng.normal_vec(x.len());
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
            let grads = if affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
            gn.backward(&x, p, Stats { mean: &mean, rstd: &rstd }, &u, Some(&mut dx), grads).unwrap();
            let (e, ex) = super::super::check_against_definition(&x, &w, &b, &u, &y, &dx, &dw, &db, |x, w, b| reference(&gn, x, w, b));
            println!("groupnorm {n}×{c}×{l} groups {groups}: forward {e:.1e}, dx vs f64 FD {ex:.1e}");
        }
    }

    #[test]
    fn refuses_inconsistent_configs() {
        assert_eq!(GroupNorm::new(2, 6, 4, 4, 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(GroupNorm::new(2, 6, 4, 0, 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(GroupNorm::new(2, 6, 0, 3, 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(GroupNorm::new(2, 6, 4, 3, -1.0, true), Err(Error::BadGeometry));
        assert_eq!(GroupNorm::new(1 << 16, 1 << 8, 1 << 8, 1, 1e-5, true), Err(Error::TooLarge));
    }
}
