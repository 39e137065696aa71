//! Cross-entropy over logits (PyTorch's `F.cross_entropy` on (N, C) input) with integer labels or class
//! probabilities, class weights, label smoothing and an ignored label.
//!
//! With labels y and weights w (1 without), smoothing ε, logp = log_softmax(z):
//!   loss = (1 − ε)·Σᵢ −w_yᵢ·logp_{i,yᵢ} / A  +  (ε/C)·Σᵢ Σ_c −w_c·logp_{i,c} / B,
//! ignored rows contributing nothing. Mean: A = B = Σ w_yᵢ over the counted rows (their count without
//! weights), PyTorch 1.13's normalisers (checked against it in the goldens); Sum: A = B = 1. With probabilities t: loss = Σᵢ Σ_c −w_c·t′_{i,c}·logp_{i,c} / (N or 1),
//! t′ = (1 − ε)·t + ε/C. A normaliser of 0 (every row ignored) makes its term 0 (PyTorch gives NaN).
//!
//! Each row is computed in f64 (max-subtracted log-sum-exp, so any finite logits are safe) and its
//! gradient rounded once to f32; rows run in parallel, row losses are added in row order.

use super::Reduction;
use crate::error::{self, Error, Result};
use crate::par::{self, SyncPtr};

/// The targets of a cross-entropy.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// One class index per row (or the ignore index).
    Labels(&'a [i32]),
    /// A distribution over the classes per row (N × C).
    Probabilities(&'a [f32]),
}

/// A validated cross-entropy over `batch × classes` logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropy {
    batch: usize,
    classes: usize,
    reduction: Reduction,
    label_smoothing: f64,
    ignore_index: i32,
}

/// Rows per parallel task.
const ROWS: usize = 16;

impl CrossEntropy {
    /// `ignore_index`: labels equal to it are skipped (PyTorch's default −100). Refuses empty shapes and
    /// smoothing outside [0, 1] (`BadGeometry`), sizes beyond wasm32 (`TooLarge`).
    pub fn new(batch: usize, classes: usize, reduction: Reduction, label_smoothing: f32, ignore_index: i32) -> Result<Self> {
        if batch == 0 || classes == 0 || !(0.0..=1.0).contains(&label_smoothing) {
            return Err(Error::BadGeometry);
        }
        error::numel(&[batch, classes])?;
        Ok(CrossEntropy { batch, classes, reduction, label_smoothing: label_smoothing as f64, ignore_index })
    }

    /// The loss, and its gradient with respect to the logits into `dlogits` when given. Refuses buffers of
    /// the wrong length and labels outside [0, C) other than the ignore index (`BadBuffer`).
    pub fn forward_backward(&self, logits: &[f32], target: Target, weight: Option<&[f32]>, dlogits: Option<&mut [f32]>) -> Result<f64> {
        let (n, c) = (self.batch, self.classes);
        let len = n * c;
        if logits.len() != len || dlogits.as_ref().is_some_and(|d| d.len() != len) || weight.is_some_and(|w| w.len() != c) {
            return Err(Error::BadBuffer);
        }
        let w = |j: usize| weight.map_or(1.0, |w| w[j] as f64);
        let eps = self.label_smoothing;
        // The normalisers A (the hard term) and B (the smoothing term), per the module comment.
        let (a, b) = match target {
            Target::Labels(y) => {
                if y.len() != n || y.iter().any(|&l| l != self.ignore_index && !(0..c as i64).contains(&(l as i64))) {
                    return Err(Error::BadBuffer);
                }
                let counted = y.iter().filter(|&&l| l != self.ignore_index);
                match (self.reduction, weight) {
                    (Reduction::Sum, _) => (1.0, 1.0),
                    (Reduction::Mean, Some(_)) => {
                        let a: f64 = counted.map(|&l| w(l as usize)).sum();
                        (a, a)
                    }
                    (Reduction::Mean, None) => {
                        let a = counted.count() as f64;
                        (a, a)
                    }
                }
            }
            Target::Probabilities(t) => {
                if t.len() != len {
                    return Err(Error::BadBuffer);
                }
                let m = if self.reduction == Reduction::Mean { n as f64 } else { 1.0 };
                (m, m)
            }
        };
        let inv = |v: f64| if v == 0.0 { 0.0 } else { 1.0 / v };
        let (ka, kb) = ((1.0 - eps) * inv(a), eps / c as f64 * inv(b));
        let wsum: f64 = (0..c).map(w).sum();
        let mut row_loss: Vec<f64> = error::zeroed(n)?;
        let (lp, dp) = (SyncPtr(row_loss.as_mut_ptr()), dlogits.map(|d| SyncPtr(d.as_mut_ptr())));
        par::for_each(n.div_ceil(ROWS), |task| {
            for i in task * ROWS..((task + 1) * ROWS).min(n) {
                let z = &logits[i * c..(i + 1) * c];
                // SAFETY: row i of dlogits and row_loss[i] belong to this task alone.
                let d = dp.map(|p| unsafe { std::slice::from_raw_parts_mut(p.get().add(i * c), c) });
                let loss = match target {
                    Target::Labels(y) => self.label_row(z, y[i], &w, wsum, ka, kb, d),
                    Target::Probabilities(t) => prob_row(z, &t[i * c..(i + 1) * c], &w, eps, inv(a), d),
                };
                unsafe { *lp.get().add(i) = loss };
            }
        });
        Ok(row_loss.iter().sum())
    }

    /// Row i's share of the loss with label `y`; its gradient into `d`.
    #[allow(clippy::too_many_arguments)]
    fn label_row(&self, z: &[f32], y: i32, w: &impl Fn(usize) -> f64, wsum: f64, ka: f64, kb: f64, d: Option<&mut [f32]>) -> f64 {
        if y == self.ignore_index {
            if let Some(d) = d {
                d.fill(0.0);
            }
            return 0.0;
        }
        let y = y as usize;
        let lse = log_sum_exp(z);
        let wy = w(y);
        let hard = wy * (lse - z[y] as f64);
        let smooth = if kb != 0.0 { (0..z.len()).map(|j| w(j) * (lse - z[j] as f64)).sum::<f64>() } else { 0.0 };
        if let Some(d) = d {
            for (j, dj) in d.iter_mut().enumerate() {
                let p = (z[j] as f64 - lse).exp();
                let hard_g = (p - if j == y { 1.0 } else { 0.0 }) * (wy * ka);
                *dj = if kb != 0.0 { hard_g + (p * wsum - w(j)) * kb } else { hard_g } as f32;
            }
        }
        hard * ka + smooth * kb
    }
}

/// Row loss and gradient with target distribution `t` (smoothed by ε), scaled by `k` = 1/normaliser.
fn prob_row(z: &[f32], t: &[f32], w: &impl Fn(usize) -> f64, eps: f64, k: f64, d: Option<&mut [f32]>) -> f64 {
    let c = z.len() as f64;
    let lse = log_sum_exp(z);
    let tt = |j: usize| t[j] as f64 * (1.0 - eps) + eps / c;
    let loss: f64 = (0..z.len()).map(|j| w(j) * tt(j) * (lse - z[j] as f64)).sum();
    if let Some(d) = d {
        let wt: f64 = (0..z.len()).map(|j| w(j) * tt(j)).sum();
        for (j, dj) in d.iter_mut().enumerate() {
            let p = (z[j] as f64 - lse).exp();
            *dj = ((p * wt - w(j) * tt(j)) * k) as f32;
        }
    }
    loss * k
}

/// log Σ exp(z) in f64, the maximum subtracted first.
pub(crate) fn log_sum_exp(z: &[f32]) -> f64 {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    max + z.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fd_grad, max_rel_err, Rng};

    /// PyTorch's definition written out in f64 (see the module comment), over logits `z`.
    fn reference(ce: &CrossEntropy, z: &[f64], target: Target, weight: Option<&[f32]>) -> f64 {
        let (n, c, eps) = (ce.batch, ce.classes, ce.label_smoothing);
        let w = |j: usize| weight.map_or(1.0, |w| w[j] as f64);
        let logp = |i: usize, j: usize| {
            let row = &z[i * c..(i + 1) * c];
            let m = row.iter().cloned().fold(f64::MIN, f64::max);
            row[j] - m - row.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
        };
        let mean = ce.reduction == Reduction::Mean;
        match target {
            Target::Labels(y) => {
                let rows: Vec<usize> = (0..n).filter(|&i| y[i] != ce.ignore_index).collect();
                let hard: f64 = rows.iter().map(|&i| -w(y[i] as usize) * logp(i, y[i] as usize)).sum();
                let smooth: f64 = rows.iter().map(|&i| (0..c).map(|j| -w(j) * logp(i, j)).sum::<f64>()).sum();
                let a = if !mean { 1.0 } else if weight.is_some() { rows.iter().map(|&i| w(y[i] as usize)).sum() } else { rows.len() as f64 };
                let b = a;
                (1.0 - eps) * hard / a + eps / c as f64 * smooth / b
            }
            Target::Probabilities(t) => {
                let s: f64 = (0..n).flat_map(|i| (0..c).map(move |j| (i, j)))
                    .map(|(i, j)| -w(j) * (t[i * c + j] as f64 * (1.0 - eps) + eps / c as f64) * logp(i, j)).sum();
                if mean { s / n as f64 } else { s }
            }
        }
    }

    #[test]
    fn loss_and_gradient_match_the_definition_and_finite_differences() {
        let mut rng = Rng::new(4);
        let (n, c) = (7, 5);
        let labels: Vec<i32> = vec![0, 4, -100, 2, 2, 1, 3];
        let probs: Vec<f32> = (0..n).flat_map(|_| {
            let r: Vec<f32> = (0..c).map(|_| rng.uniform() as f32 + 0.05).collect();
            let s: f32 = r.iter().sum();
            r.into_iter().map(move |v| v / s)
        }).collect();
        let weight: Vec<f32> = (0..c).map(|j| 0.5 + j as f32 * 0.3).collect();
        for reduction in [Reduction::Mean, Reduction::Sum] {
            for smoothing in [0.0f32, 0.1] {
                for w in [None, Some(&weight[..])] {
                    for target in [Target::Labels(&labels), Target::Probabilities(&probs)] {
                        let ce = CrossEntropy::new(n, c, reduction, smoothing, -100).unwrap();
                        let z: Vec<f32> = rng.normal_vec(n * c).iter().map(|v| v * 3.0).collect();
                        let mut d = vec![f32::NAN; z.len()];
                        let loss = ce.forward_backward(&z, target, w, Some(&mut d)).unwrap();
                        let zf: Vec<f64> = z.iter().map(|&v| v as f64).collect();
                        let want = reference(&ce, &zf, target, w);
                        assert!((loss - want).abs() <= 1e-12 * want.abs(), "{reduction:?} ε={smoothing} {w:?}: {loss} vs {want}");
                        let fd = fd_grad(|v| reference(&ce, v, target, w), &zf, 1e-6);
                        let (e, i) = max_rel_err(&d, &fd, 1e-3);
                        assert!(e < 1e-6, "{reduction:?} ε={smoothing} {target:?}: grad {e} at {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn plain_case_equals_softmax_cross_entropy_and_large_logits_stay_finite() {
        let mut rng = Rng::new(6);
        let (n, c) = (9, 10);
        let z: Vec<f32> = rng.normal_vec(n * c).iter().map(|v| v * 80.0).collect();
        let labels: Vec<u32> = (0..n).map(|_| rng.below(c) as u32).collect();
        let mut d0 = vec![0.0; z.len()];
        let l0 = super::super::softmax_cross_entropy(n, c, &z, &labels, Some(&mut d0)).unwrap();
        let li: Vec<i32> = labels.iter().map(|&l| l as i32).collect();
        let mut d1 = vec![0.0; z.len()];
        let l1 = CrossEntropy::new(n, c, Reduction::Mean, 0.0, -100).unwrap().forward_backward(&z, Target::Labels(&li), None, Some(&mut d1)).unwrap();
        assert_eq!(d0, d1);
        assert!((l0 - l1).abs() <= 1e-15 * l0 && l1.is_finite());
    }

    #[test]
    fn all_ignored_gives_zero_and_bad_labels_are_refused() {
        let ce = CrossEntropy::new(2, 3, Reduction::Mean, 0.1, -100).unwrap();
        let mut d = vec![1.0; 6];
        assert_eq!(ce.forward_backward(&[0.0; 6], Target::Labels(&[-100, -100]), None, Some(&mut d)), Ok(0.0));
        assert_eq!(d, vec![0.0; 6]);
        assert_eq!(ce.forward_backward(&[0.0; 6], Target::Labels(&[3, 0]), None, None), Err(Error::BadBuffer));
        assert_eq!(ce.forward_backward(&[0.0; 6], Target::Labels(&[-1, 0]), None, None), Err(Error::BadBuffer));
        assert_eq!(ce.forward_backward(&[0.0; 6], Target::Probabilities(&[0.0; 5]), None, None), Err(Error::BadBuffer));
        assert_eq!(ce.forward_backward(&[0.0; 6], Target::Labels(&[0, 0]), Some(&[1.0; 2]), None), Err(Error::BadBuffer));
        assert_eq!(CrossEntropy::new(2, 3, Reduction::Mean, 1.5, -100), Err(Error::BadGeometry));
        assert_eq!(CrossEntropy::new(0, 3, Reduction::Mean, 0.0, -100), Err(Error::BadGeometry));
        assert_eq!(CrossEntropy::new(1 << 20, 1 << 10, Reduction::Mean, 0.0, -100), Err(Error::TooLarge));
    }
}
