//! Adamax (Kingma & Ba 2015, §7.1: Adam with the infinity norm), PyTorch semantics.
//!
//! ```text
//! g ← −g if maximize;  g ← g + wd·p
//! m ← β₁·m + (1-β₁)·g
//! u ← max(β₂·u, |g| + ε)                  (ε inside the max, as PyTorch; tfjs adds it after the max)
//! p ← p - (lr / (1-β₁ᵗ)) · m / u
//! ```
//! PyTorch defaults: lr 2e-3, β (0.9, 0.999), ε 1e-8, wd 0.
//! Slots: `exp_avg`, `exp_inf`.

use super::{bias_correction, check_len, load_param_grad, neg, opt_ptr, sign, store_param};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adamax {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for Adamax {
    /// PyTorch's defaults.
    fn default() -> Self {
        Adamax { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, maximize: false }
    }
}

/// One step `t` (1-based) over `p`, `g` and the slots `exp_avg`, `exp_inf`; `delta` (optional) receives
/// `p_new − p_old`.
#[allow(clippy::too_many_arguments)]
pub fn adamax_step(cfg: &Adamax, t: u64, p: &mut [f32], g: &[f32], exp_avg: &mut [f32], exp_inf: &mut [f32], delta: Option<&mut [f32]>) {
    let n = p.len();
    check_len("adamax: grad", n, g.len());
    check_len("adamax: exp_avg", n, exp_avg.len());
    check_len("adamax: exp_inf", n, exp_inf.len());
    let dp = opt_ptr("adamax: delta", n, delta);
    let neg_clr = (-(cfg.lr / bias_correction(cfg.beta1, t))) as f32;
    let (b1, omb1, b2) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32);
    let (eps, wd, sgn) = (cfg.eps as f32, cfg.weight_decay as f32, sign(cfg.maximize));
    let (pp, gp, mp, up) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(exp_avg.as_mut_ptr()), SyncPtr(exp_inf.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0, { dp = None, sgn = 1.0 }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
                unsafe {
                    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, sgn);
                    let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
                    mv.store(mp.get().add(i));
                    // |g| as max(g, −g): exact, and the sign of a zero cannot matter once ε is added.
                    let uv = L::load(up.get().add(i)).mul(L::splat(b2)).max(gv.max(neg(gv)).add(L::splat(eps)));
                    uv.store(up.get().add(i));
                    store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_clr).mul(mv).div(uv)));
                }
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn converges_on_a_parabola() {
        let cfg = Adamax { lr: 0.05, ..Default::default() };
        let (mut m, mut u) = (vec![0.0f32; 13], vec![0.0f32; 13]);
        let err = crate::optim::parabola::run(2000, |p, g, t| adamax_step(&cfg, t, p, g, &mut m, &mut u, None));
        assert!(err < 1e-2, "adamax ended {err} away");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for maximize in [false, true] {
            let cfg = Adamax { lr: 0.01, weight_decay: 0.1, maximize, ..Default::default() };
            for n in [1, 3, 4, 7, 8, 13] {
                let init = [lanes::data(n, 4), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, m, u, d] = b else { unreachable!() };
                    adamax_step(&cfg, t, p, g, m, u, Some(d));
                });
            }
        }
    }
}
