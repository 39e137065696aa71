//! Adagrad (Duchi et al. 2011), PyTorch semantics.
//!
//! ```text
//! g   ← g + wd·p                     (L2 weight decay, coupled)
//! lrₜ = lr / (1 + (t-1)·lr_decay)
//! s   ← s + g·g                      (s starts at initial_accumulator_value)
//! p   ← p - lrₜ·g / (√s + ε)          (ε outside the square root)
//! ```
//! PyTorch defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, ε 1e-10.

use super::{check_len, load_param_grad};
use crate::for_each_lane;
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adagrad {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
}

/// One step `t` (1-based) over `p`, `g` and the sum-of-squares slot `sum`.
pub fn adagrad_step(cfg: &Adagrad, t: u64, p: &mut [f32], g: &[f32], sum: &mut [f32]) {
    let n = p.len();
    check_len("adagrad: grad", n, g.len());
    check_len("adagrad: sum", n, sum.len());
    let neg_clr = (-(cfg.lr / (1.0 + (t.max(1) - 1) as f64 * cfg.lr_decay))) as f32;
    let (wd, eps) = (cfg.weight_decay as f32, cfg.eps as f32);
    let (pp, gp, sp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(sum.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        for_each_lane!(lo, hi, |i, L| {
            // SAFETY: for_each_lane keeps i + L::WIDTH <= n, the common length checked above.
            unsafe {
                let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd);
                let s = L::load(sp.get().add(i)).add(gv.mul(gv));
                s.store(sp.get().add(i));
                let std = s.sqrt().add(L::splat(eps));
                pv.add(L::splat(neg_clr).mul(gv).div(std)).store(pp.get().add(i));
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_on_a_parabola() {
        let cfg = Adagrad { lr: 0.5, lr_decay: 0.0, weight_decay: 0.0, eps: 1e-10 };
        let mut sum = vec![0.0f32; 13];
        let err = crate::optim::parabola::run(500, |p, g, t| adagrad_step(&cfg, t, p, g, &mut sum));
        assert!(err < 1e-3, "adagrad ended {err} from the minimum");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        // The same element must get the same bits whether it falls in the 4-lane loop or the tail.
        let cfg = Adagrad { lr: 0.1, lr_decay: 0.01, weight_decay: 0.1, eps: 1e-10 };
        let p0: Vec<f32> = (0..7).map(|i| 0.3 * i as f32 - 1.0).collect();
        let g: Vec<f32> = (0..7).map(|i| 0.7 - 0.2 * i as f32).collect();
        let (mut a, mut sa) = (p0.clone(), vec![0.1f32; 7]);
        adagrad_step(&cfg, 3, &mut a, &g, &mut sa);
        for i in 0..7 {
            let (mut b, mut sb) = (vec![p0[i]], vec![0.1f32]);
            adagrad_step(&cfg, 3, &mut b, &g[i..i + 1], &mut sb);
            assert_eq!(a[i].to_bits(), b[0].to_bits());
        }
    }
}
