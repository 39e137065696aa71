//! Adadelta (Zeiler 2012), PyTorch semantics.
//!
//! ```text
//! g ← −g if maximize;  g ← g + wd·p
//! v ← ρ·v + (1-ρ)·g²
//! d ← √(a + ε) / √(v + ε) · g            (ε inside both roots)
//! a ← ρ·a + (1-ρ)·d²
//! p ← p - lr·d
//! ```
//! PyTorch defaults: lr 1.0, ρ 0.9, ε 1e-6, wd 0 (tfjs-core: lr 0.001, ρ 0.95, ε 1e-7, same formula).
//! Slots: `square_avg`, `acc_delta`.

use super::{check_len, load_param_grad, opt_ptr, sign, store_param};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adadelta {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for Adadelta {
    /// PyTorch's defaults.
    fn default() -> Self {
        Adadelta { lr: 1.0, rho: 0.9, eps: 1e-6, weight_decay: 0.0, maximize: false }
    }
}

/// One step over `p`, `g` and the slots `square_avg`, `acc_delta`; `delta` (optional) receives
/// `p_new − p_old`.
pub fn adadelta_step(cfg: &Adadelta, p: &mut [f32], g: &[f32], square_avg: &mut [f32], acc_delta: &mut [f32], delta: Option<&mut [f32]>) {
    let n = p.len();
    check_len("adadelta: grad", n, g.len());
    check_len("adadelta: square_avg", n, square_avg.len());
    check_len("adadelta: acc_delta", n, acc_delta.len());
    let dp = opt_ptr("adadelta: delta", n, delta);
    let (rho, omr, eps) = (cfg.rho as f32, (1.0 - cfg.rho) as f32, cfg.eps as f32);
    let (neg_lr, wd, sgn) = ((-cfg.lr) as f32, cfg.weight_decay as f32, sign(cfg.maximize));
    let (pp, gp, vp, ap) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(square_avg.as_mut_ptr()), SyncPtr(acc_delta.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0, { dp = None, sgn = 1.0 }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
                unsafe {
                    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, sgn);
                    let v = L::load(vp.get().add(i)).mul(L::splat(rho)).add(L::splat(omr).mul(gv).mul(gv));
                    v.store(vp.get().add(i));
                    let a = L::load(ap.get().add(i));
                    let d = a.add(L::splat(eps)).sqrt().div(v.add(L::splat(eps)).sqrt()).mul(gv);
                    a.mul(L::splat(rho)).add(L::splat(omr).mul(d).mul(d)).store(ap.get().add(i));
                    store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_lr).mul(d)));
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
        // Adadelta's effective step starts at √ε·lr and grows: a large lr on this small problem.
        let cfg = Adadelta { lr: 50.0, ..Default::default() };
        let (mut v, mut a) = (vec![0.0f32; 13], vec![0.0f32; 13]);
        let err = crate::optim::parabola::run(3000, |p, g, _| adadelta_step(&cfg, p, g, &mut v, &mut a, None));
        assert!(err < 2e-2, "adadelta ended {err} away");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for maximize in [false, true] {
            let cfg = Adadelta { weight_decay: 0.1, maximize, ..Default::default() };
            for n in [1, 3, 4, 6, 8, 11] {
                let init = [lanes::data(n, 5), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, _| {
                    let [p, v, a, d] = b else { unreachable!() };
                    adadelta_step(&cfg, p, g, v, a, Some(d));
                });
            }
        }
    }
}
