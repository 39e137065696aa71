//! Binary cross-entropy on logits (PyTorch's `F.binary_cross_entropy_with_logits`) over `rows × cols`
//! values, with optional per-column `weight` and `pos_weight` (PyTorch broadcasts both over the last dim):
//!   l = w·[(1 − t)·x + (1 + (pw − 1)·t)·softplus(−x)],   ∂l/∂x = w·[(1 + (pw − 1)·t)·σ(x) − pw·t],
//! softplus(−x) = max(−x, 0) + log1p(e^−|x|), so no exp overflows. f64 per element, the gradient rounded
//! once; elements are summed in fixed chunks (`optim::reduce::chunked`), the same on any thread count.

use super::Reduction;
use crate::error::{self, Error, Result};
use crate::optim::reduce::chunked;
use crate::par::SyncPtr;

/// A validated BCE-with-logits over `rows × cols` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BceWithLogits {
    rows: usize,
    cols: usize,
    reduction: Reduction,
}

impl BceWithLogits {
    pub fn new(rows: usize, cols: usize, reduction: Reduction) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(Error::BadGeometry);
        }
        error::numel(&[rows, cols])?;
        Ok(BceWithLogits { rows, cols, reduction })
    }

    /// The loss, and ∂loss/∂x into `dx` when given. `target` in [0, 1] per element; `weight` and
    /// `pos_weight` of length `cols`.
    pub fn forward_backward(&self, x: &[f32], target: &[f32], weight: Option<&[f32]>, pos_weight: Option<&[f32]>, dx: Option<&mut [f32]>) -> Result<f64> {
        let (len, cols) = (self.rows * self.cols, self.cols);
        let bad = |b: Option<&[f32]>| b.is_some_and(|b| b.len() != cols);
        if x.len() != len || target.len() != len || bad(weight) || bad(pos_weight) || dx.as_ref().is_some_and(|d| d.len() != len) {
            return Err(Error::BadBuffer);
        }
        let k = if self.reduction == Reduction::Mean { 1.0 / len as f64 } else { 1.0 };
        let dp = dx.map(|d| SyncPtr(d.as_mut_ptr()));
        let total = chunked(len, 0.0, |lo, hi| {
            let mut s = 0.0;
            for i in lo..hi {
                let (xv, t, j) = (x[i] as f64, target[i] as f64, i % cols);
                let (w, pw) = (weight.map_or(1.0, |w| w[j] as f64), pos_weight.map_or(1.0, |p| p[j] as f64));
                let lw = 1.0 + (pw - 1.0) * t;
                let softplus_neg = (-xv).max(0.0) + (-xv.abs()).exp().ln_1p();
                s += w * ((1.0 - t) * xv + lw * softplus_neg);
                if let Some(dp) = dp {
                    let sig = if xv >= 0.0 { 1.0 / (1.0 + (-xv).exp()) } else { xv.exp() / (1.0 + xv.exp()) };
                    // SAFETY: element i < len lies in this task's chunk alone.
                    unsafe { *dp.get().add(i) = (w * (lw * sig - pw * t) * k) as f32 };
                }
            }
            s
        }, |a, b| a + b);
        Ok(total * k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fd_grad, max_rel_err, Rng};

    /// −w·[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))], the textbook form, in f64.
    fn reference(b: &BceWithLogits, x: &[f64], t: &[f32], w: Option<&[f32]>, pw: Option<&[f32]>) -> f64 {
        let s: f64 = (0..x.len()).map(|i| {
            let j = i % b.cols;
            let (w, pw, t) = (w.map_or(1.0, |w| w[j] as f64), pw.map_or(1.0, |p| p[j] as f64), t[i] as f64);
            let sig = 1.0 / (1.0 + (-x[i]).exp());
            -w * (pw * t * sig.ln() + (1.0 - t) * (1.0 - sig).ln())
        }).sum();
        if b.reduction == Reduction::Mean { s / x.len() as f64 } else { s }
    }

    #[test]
    fn matches_the_definition_and_finite_differences_and_is_stable() {
        let mut rng = Rng::new(10);
        let (rows, cols) = (5, 4);
        let t: Vec<f32> = (0..rows * cols).map(|i| if i % 3 == 0 { 0.3 } else { (i % 2) as f32 }).collect();
        let (w, pw) = (vec![0.5f32, 1.0, 2.0, 1.5], vec![3.0f32, 1.0, 0.5, 2.0]);
        for reduction in [Reduction::Mean, Reduction::Sum] {
            for (wt, p) in [(None, None), (Some(&w[..]), Some(&pw[..]))] {
                let b = BceWithLogits::new(rows, cols, reduction).unwrap();
                let x: Vec<f32> = rng.normal_vec(rows * cols).iter().map(|v| v * 4.0).collect();
                let mut d = vec![0.0; x.len()];
                let loss = b.forward_backward(&x, &t, wt, p, Some(&mut d)).unwrap();
                let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                let want = reference(&b, &xf, &t, wt, p);
                assert!((loss - want).abs() <= 1e-12 * want, "{loss} vs {want}");
                let fd = fd_grad(|v| reference(&b, v, &t, wt, p), &xf, 1e-6);
                let (e, i) = max_rel_err(&d, &fd, 1e-3);
                assert!(e < 1e-6, "grad {e} at {i}");
            }
        }
        // |x| = 200: the textbook form overflows; the stable one gives |x| for the wrong sign.
        let b = BceWithLogits::new(1, 2, Reduction::Sum).unwrap();
        let mut d = vec![0.0; 2];
        let l = b.forward_backward(&[200.0, -200.0], &[0.0, 1.0], None, None, Some(&mut d)).unwrap();
        assert_eq!((l, d[0], d[1]), (400.0, 1.0, -1.0));
        assert_eq!(b.forward_backward(&[0.0; 2], &[0.0; 2], Some(&[1.0; 3]), None, None), Err(Error::BadBuffer));
        assert_eq!(b.forward_backward(&[0.0; 2], &[0.0; 1], None, None, None), Err(Error::BadBuffer));
        assert_eq!(BceWithLogits::new(0, 2, Reduction::Sum), Err(Error::BadGeometry));
        assert_eq!(BceWithLogits::new(1 << 20, 1 << 10, Reduction::Sum), Err(Error::TooLarge));
    }
}
