//! Elementwise regression losses between an input x and a target t (PyTorch's `mse_loss`, `l1_loss`,
//! `huber_loss`, `smooth_l1_loss`), d = x − t:
//! - MSE d², gradient 2d;
//! - L1 |d|, gradient sign(d) (0 at d = 0, as PyTorch);
//! - Huber(δ) ½d² for |d| < δ, else δ(|d| − ½δ); gradient d clamped to [−δ, δ];
//! - SmoothL1(β) ½d²/β for |d| < β, else |d| − ½β; gradient d/β clamped to [−1, 1]; with β = 0 it is
//!   |d| with gradient −1 for d ≤ 0 and 1 above (PyTorch 1.13's backward tests x ≤ −β first, so at d = 0
//!   it gives −1, unlike L1's 0; checked against it in the goldens).
//!
//! f64 per element, the gradient rounded once; sums in fixed chunks (`optim::reduce::chunked`).

use super::Reduction;
use crate::error::{self, Error, Result};
use crate::optim::reduce::chunked;
use crate::par::SyncPtr;

/// Which elementwise loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Mse,
    L1,
    Huber { delta: f32 },
    SmoothL1 { beta: f32 },
}

/// A validated regression loss over `len` elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Regression {
    len: usize,
    kind: Kind,
    reduction: Reduction,
}

impl Regression {
    /// Refuses an empty input, δ ≤ 0, β < 0 or non-finite parameters (`BadGeometry`), and sizes beyond
    /// wasm32 (`TooLarge`).
    pub fn new(len: usize, kind: Kind, reduction: Reduction) -> Result<Self> {
        let ok = match kind {
            Kind::Huber { delta } => delta.is_finite() && delta > 0.0,
            Kind::SmoothL1 { beta } => beta.is_finite() && beta >= 0.0,
            _ => true,
        };
        if len == 0 || !ok {
            return Err(Error::BadGeometry);
        }
        error::numel(&[len])?;
        Ok(Regression { len, kind, reduction })
    }

    /// (loss, ∂loss/∂d) of one element.
    #[inline(always)]
    fn element(&self, d: f64) -> (f64, f64) {
        match self.kind {
            Kind::Mse => (d * d, 2.0 * d),
            Kind::L1 => (d.abs(), sign(d)),
            Kind::Huber { delta } => {
                let delta = delta as f64;
                if d.abs() < delta { (0.5 * d * d, d) } else { (delta * (d.abs() - 0.5 * delta), delta * sign(d)) }
            }
            Kind::SmoothL1 { beta: 0.0 } => (d.abs(), if d <= 0.0 { -1.0 } else { 1.0 }),
            Kind::SmoothL1 { beta } => {
                let beta = beta as f64;
                if d.abs() < beta { (0.5 * d * d / beta, d / beta) } else { (d.abs() - 0.5 * beta, sign(d)) }
            }
        }
    }

    /// The loss, and ∂loss/∂x into `dx` when given (∂loss/∂t is its negation).
    pub fn forward_backward(&self, x: &[f32], target: &[f32], dx: Option<&mut [f32]>) -> Result<f64> {
        if x.len() != self.len || target.len() != self.len || dx.as_ref().is_some_and(|d| d.len() != self.len) {
            return Err(Error::BadBuffer);
        }
        let k = if self.reduction == Reduction::Mean { 1.0 / self.len as f64 } else { 1.0 };
        let dp = dx.map(|d| SyncPtr(d.as_mut_ptr()));
        let total = chunked(self.len, 0.0, |lo, hi| {
            let mut s = 0.0;
            for i in lo..hi {
                let (l, g) = self.element(x[i] as f64 - target[i] as f64);
                s += l;
                if let Some(dp) = dp {
                    // SAFETY: element i < len lies in this task's chunk alone.
                    unsafe { *dp.get().add(i) = (g * k) as f32 };
                }
            }
            s
        }, |a, b| a + b);
        Ok(total * k)
    }
}

fn sign(d: f64) -> f64 {
    if d > 0.0 { 1.0 } else if d < 0.0 { -1.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fd_grad, max_rel_err, Rng};

    #[test]
    fn losses_match_finite_differences_and_their_kinks_follow_pytorch() {
        let mut rng = Rng::new(12);
        let n = 41;
        let t: Vec<f32> = rng.normal_vec(n);
        for kind in [Kind::Mse, Kind::L1, Kind::Huber { delta: 0.7 }, Kind::SmoothL1 { beta: 0.5 }, Kind::SmoothL1 { beta: 0.0 }] {
            for reduction in [Reduction::Mean, Reduction::Sum] {
                let r = Regression::new(n, kind, reduction).unwrap();
                // Values away from the kinks for the finite differences.
                let x: Vec<f32> = rng.normal_vec(n).iter().zip(&t).map(|(v, t)| t + v * 2.0 + 0.01f32.copysign(*v)).collect();
                let mut d = vec![0.0; n];
                let loss = r.forward_backward(&x, &t, Some(&mut d)).unwrap();
                let f = |v: &[f64]| -> f64 {
                    let s: f64 = v.iter().zip(&t).map(|(&x, &t)| r.element(x - t as f64).0).sum();
                    if reduction == Reduction::Mean { s / n as f64 } else { s }
                };
                let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                assert!((loss - f(&xf)).abs() <= 1e-14 * loss.abs().max(1.0));
                let (e, i) = max_rel_err(&d, &fd_grad(f, &xf, 1e-7), 1e-3);
                assert!(e < 1e-6, "{kind:?} {reduction:?}: grad {e} at {i}");
            }
        }
        // At the kinks: L1's gradient is 0 at d = 0; Huber and SmoothL1 are continuous at |d| = δ, β.
        let r = Regression::new(3, Kind::Huber { delta: 1.0 }, Reduction::Sum).unwrap();
        let mut d = vec![0.0; 3];
        let l = r.forward_backward(&[1.0, -1.0, 0.0], &[0.0; 3], Some(&mut d)).unwrap();
        assert_eq!((l, d.clone()), (1.0, vec![1.0, -1.0, 0.0]));
        let r = Regression::new(2, Kind::L1, Reduction::Mean).unwrap();
        r.forward_backward(&[2.0, 1.0], &[2.0, 0.0], Some(&mut d[..2])).unwrap();
        assert_eq!(&d[..2], &[0.0, 0.5]);
        assert_eq!(Regression::new(3, Kind::Huber { delta: 0.0 }, Reduction::Sum), Err(Error::BadGeometry));
        assert_eq!(Regression::new(3, Kind::SmoothL1 { beta: -1.0 }, Reduction::Sum), Err(Error::BadGeometry));
        assert_eq!(Regression::new(0, Kind::Mse, Reduction::Sum), Err(Error::BadGeometry));
        assert_eq!(Regression::new(3, Kind::Mse, Reduction::Sum).unwrap().forward_backward(&[0.0; 3], &[0.0; 2], None), Err(Error::BadBuffer));
    }
}
