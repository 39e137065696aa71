//! Layer normalisation (PyTorch's `LayerNorm`): each row of the trailing `normalized_shape` dims is
//! normalised by its own mean and biased variance, y = (x − mean)/√(var + ε)·γ + β with γ, β per element
//! of the row (`elementwise_affine`).
//!
//! Rows run in parallel (each row's statistics are summed by one task in a fixed order); dγ and dβ are
//! summed over rows in row order per column, in parallel over column chunks, so nothing depends on the
//! thread count.

use super::{affine_params, check_eps, check_grads, check_stats, put_grads, row_dx, row_grad_sums, rows_backward, rows_forward, Affine, AffineGrad, PerElement, Stats, StatsOut, Unit};
use crate::error::{self, Error, Result};
use crate::par;
use crate::simd::Lane;

/// A validated layer norm: `rows` rows of `d` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNorm {
    rows: usize,
    d: usize,
    eps: f32,
    affine: bool,
}

impl LayerNorm {
    /// `shape` is the input's, `normalized` its trailing dims (PyTorch's `normalized_shape`). Refuses an
    /// empty or mismatched `normalized`, zero dims or ε ≤ 0 (`BadGeometry`) and sizes beyond wasm32
    /// (`TooLarge`).
    pub fn new(shape: &[usize], normalized: &[usize], eps: f32, elementwise_affine: bool) -> Result<Self> {
        if normalized.is_empty() || !shape.ends_with(normalized) || shape.contains(&0) {
            return Err(Error::BadGeometry);
        }
        error::numel(shape)?;
        check_eps(eps)?;
        if eps == 0.0 {
            return Err(Error::BadGeometry);
        }
        let d = normalized.iter().product();
        Ok(LayerNorm { rows: shape[..shape.len() - normalized.len()].iter().product(), d, eps, affine: elementwise_affine })
    }

    pub fn numel(&self) -> usize {
        self.rows * self.d
    }

    /// Normalised rows (the length of the saved statistics).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row (the length of γ and β).
    pub fn row_len(&self) -> usize {
        self.d
    }

    fn check(&self, x: &[f32], other: usize, stats: &Stats) -> Result {
        check_stats(stats, self.rows)?;
        if x.len() != self.numel() || other != self.numel() { Err(Error::BadBuffer) } else { Ok(()) }
    }

    /// y = LayerNorm(x); saves each row's mean and 1/√(var + ε).
    pub fn forward(&self, x: &[f32], p: Affine, saved: StatsOut, y: &mut [f32]) -> Result {
        let (w, b) = affine_params(self.affine, &p, self.d)?;
        self.check(x, y.len(), &saved.as_stats())?;
        rows_forward(self.d, self.eps, x, saved, y, |_, xr, yr, mean, rstd| match (w, b) {
            (Some(w), Some(b)) => crate::for_each_lane!(0, xr.len(), |i, L| {
                // SAFETY: i + L::WIDTH <= d, the length of the rows, γ and β.
                unsafe {
                    let t = L::load(xr.as_ptr().add(i)).sub(L::splat(mean)).mul(L::splat(rstd));
                    t.mul(L::load(w.as_ptr().add(i))).add(L::load(b.as_ptr().add(i))).store(yr.as_mut_ptr().add(i))
                }
            }),
            _ => super::normalize_run::<false>(xr, yr, mean, rstd, 0.0),
        });
        Ok(())
    }

    /// dx (if asked for) = rstd·(g − mean(g) − x̂·mean(g·x̂)) per row with g = dy·γ; dγ = Σ_rows dy·x̂,
    /// dβ = Σ_rows dy.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, x: &[f32], p: Affine, saved: Stats, dy: &[f32], dx: Option<&mut [f32]>, mut grads: AffineGrad) -> Result {
        let (w, _) = affine_params(self.affine, &p, self.d)?;
        check_grads(self.affine, &grads, self.d)?;
        self.check(x, dy.len(), &saved)?;
        if dx.as_ref().is_some_and(|d| d.len() != self.numel()) {
            return Err(Error::BadBuffer);
        }
        let d = self.d;
        if let Some(dx) = dx {
            rows_backward(d, x, dy, &saved, dx, |_, xr, dyr, dxr, mean, rstd| match w {
                Some(w) => row_dx(xr, dyr, dxr, mean, rstd, row_grad_sums(xr, dyr, mean, &PerElement(w)), d, &PerElement(w)),
                None => row_dx(xr, dyr, dxr, mean, rstd, row_grad_sums(xr, dyr, mean, &Unit), d, &Unit),
            });
        }
        if grads.weight.is_none() && grads.bias.is_none() {
            return Ok(());
        }
        // Per column: Σ over rows, in row order, of (dy·x̂, dy) in f64.
        let mut acc: Vec<[f64; 2]> = error::zeroed(d)?;
        const COLS: usize = 256;
        par::chunks_mut(&mut acc, COLS, |k, cols| {
            let e0 = k * COLS;
            for r in 0..self.rows {
                let (xr, dyr) = (&x[r * d + e0..][..cols.len()], &dy[r * d + e0..][..cols.len()]);
                let (mean, rstd) = (saved.mean[r], saved.rstd[r]);
                for ((a, &xv), &g) in cols.iter_mut().zip(xr).zip(dyr) {
                    a[0] += (g * ((xv - mean) * rstd)) as f64;
                    a[1] += g as f64;
                }
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

    /// y from the definition in f64 (γ = 1, β = 0 when `w`, `b` are empty).
    fn reference(rows: usize, d: usize, eps: f64, x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
        let mut y = vec![0.0; x.len()];
        for r in 0..rows {
            let xr = &x[r * d..(r + 1) * d];
            let mean = xr.iter().sum::<f64>() / d as f64;
            let var = xr.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d as f64;
            for e in 0..d {
                let t = (xr[e] - mean) / (var + eps).sqrt();
                y[r * d + e] = if w.is_empty() { t } else { t * w[e] + b[e] };
            }
        }
        y
    }

    #[test]
    fn forward_and_backward_match_the_f64_definition_and_finite_differences() {
        let mut rng = Rng::new(8);
        for (shape, normalized, affine) in [(&[3usize, 5, 7][..], &[5usize, 7][..], true), (&[4, 6], &[6], false), (&[2, 3, 13], &[13], true)] {
            let ln = LayerNorm::new(shape, normalized, 1e-5, affine).unwrap();
            let (rows, d) = (ln.rows(), ln.row_len());
            let x: Vec<f32> = rng.normal_vec(rows * d).iter().map(|v| 1.5 * v - 2.0).collect();
            let (w, b) = if affine { (rng.normal_vec(d), rng.normal_vec(d)) } else { (vec![], vec![]) };
            let p = if affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
            let (mut mean, mut rstd, mut y) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; x.len()]);
            ln.forward(&x, p, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
            let u = rng.normal_vec(x.len());
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; d], vec![0.0; d]);
            let grads = if affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
            ln.backward(&x, p, Stats { mean: &mean, rstd: &rstd }, &u, Some(&mut dx), grads).unwrap();
            let (e, ex) = super::super::check_against_definition(&x, &w, &b, &u, &y, &dx, &dw, &db, |x, w, b| reference(rows, d, 1e-5, x, w, b));
            println!("layernorm {shape:?} over {normalized:?}: forward {e:.1e}, dx vs f64 FD {ex:.1e}");
        }
    }

    #[test]
    fn refuses_inconsistent_shapes() {
        assert_eq!(LayerNorm::new(&[2, 3], &[2], 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(LayerNorm::new(&[2, 3], &[], 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(LayerNorm::new(&[0, 3], &[3], 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(LayerNorm::new(&[2, 3], &[2, 2, 3], 1e-5, true), Err(Error::BadGeometry));
        assert_eq!(LayerNorm::new(&[2, 3], &[3], 0.0, true), Err(Error::BadGeometry));
        assert_eq!(LayerNorm::new(&[1 << 20, 1 << 11], &[1 << 11], 1e-5, true), Err(Error::TooLarge));
        let ln = LayerNorm::new(&[2, 3], &[3], 1e-5, true).unwrap();
        let (w, x) = (vec![1.0; 3], vec![0.0; 6]);
        let (mut m, mut r, mut y) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; 6]);
        assert_eq!(ln.forward(&x, Affine { weight: Some(&w), bias: None }, StatsOut { mean: &mut m, rstd: &mut r }, &mut y), Err(Error::BadBuffer));
        assert_eq!(ln.forward(&x, Affine { weight: Some(&w), bias: Some(&w) }, StatsOut { mean: &mut m, rstd: &mut r }, &mut y[..5]), Err(Error::BadBuffer));
    }
}
