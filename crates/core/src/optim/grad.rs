//! Gradient helpers for clipping and accumulation, fused and parallel like the optimizer steps.
//!
//! `clip_grad_norm_` (PyTorch) is `sum_squares` over every gradient buffer, `total = √Σ`, then
//! `scale(g, min(1, max_norm / (total + 1e-6)))`; `clip_grad_value_` is `clamp(g, -v, v)`; gradient
//! accumulation over micro-batches is `add_into(acc, g)`.

use crate::for_each_lane;
use crate::optim::{check_len, neg};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

pub use super::reduce::sum_squares;

/// `x ← s·x`.
pub fn scale(x: &mut [f32], s: f32) {
    let xp = SyncPtr(x.as_mut_ptr());
    par::for_each_range(x.len(), |lo, hi| {
        for_each_lane!(lo, hi, |i, L| {
            // SAFETY: i + L::WIDTH <= x.len().
            unsafe { L::load(xp.get().add(i)).mul(L::splat(s)).store(xp.get().add(i)) }
        });
    });
}

/// `x ← min(max(x, lo), hi)` (for finite inputs; `lo <= hi`).
pub fn clamp(x: &mut [f32], lo: f32, hi: f32) {
    assert!(lo <= hi, "clamp: lo {lo} > hi {hi}");
    let xp = SyncPtr(x.as_mut_ptr());
    let neg_hi = -hi;
    par::for_each_range(x.len(), |a, b| {
        for_each_lane!(a, b, |i, L| {
            // SAFETY: i + L::WIDTH <= x.len().
            unsafe {
                // min(y, hi) = −max(−y, −hi): Lane has max only, and negation is exact.
                let y = L::load(xp.get().add(i)).max(L::splat(lo));
                neg(neg(y).max(L::splat(neg_hi))).store(xp.get().add(i))
            }
        });
    });
}

/// `acc ← acc + x`.
pub fn add_into(acc: &mut [f32], x: &[f32]) {
    check_len("add_into: x", acc.len(), x.len());
    let (ap, xp) = (SyncPtr(acc.as_mut_ptr()), SyncPtr(x.as_ptr() as *mut f32));
    par::for_each_range(acc.len(), |lo, hi| {
        for_each_lane!(lo, hi, |i, L| {
            // SAFETY: i + L::WIDTH <= acc.len() == x.len().
            unsafe { L::load(ap.get().add(i)).add(L::load(xp.get().add(i))).store(ap.get().add(i)) }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes::data;

    #[test]
    fn helpers_match_their_definitions_on_every_tail() {
        for n in [0, 1, 3, 4, 5, 8, 13, 4099, 9000] {
            let x = data(n, 9);
            let y = data(n, 10);
            let mut s = x.clone();
            scale(&mut s, 0.37);
            assert!(s.iter().zip(&x).all(|(a, b)| a.to_bits() == (b * 0.37).to_bits()));
            let mut c = x.clone();
            clamp(&mut c, -0.25, 0.5);
            assert!(c.iter().zip(&x).all(|(a, b)| *a == b.clamp(-0.25, 0.5)));
            let mut acc = x.clone();
            add_into(&mut acc, &y);
            assert!(acc.iter().zip(x.iter().zip(&y)).all(|(a, (b, c))| a.to_bits() == (b + c).to_bits()));
            let exact: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
            assert!((sum_squares(&x) - exact).abs() <= 1e-12 * exact.max(1e-300), "n {n}");
        }
    }
}
