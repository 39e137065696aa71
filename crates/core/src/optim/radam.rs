//! RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond"), as PyTorch 1.13's
//! `torch.optim.RAdam` (single-tensor path) computes it.
//!
//! ```text
//! g ← g + wd·p                                        (coupled L2 decay)
//! m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²
//! ρ∞ = 2/(1−β₂) − 1;   ρₜ = ρ∞ − 2t·β₂ᵗ/(1−β₂ᵗ)
//! ρₜ > 5:  r = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ));  p ← p − (m/(1−β₁ᵗ))·lr·(√(1−β₂ᵗ)/(√v + ε))·r
//! else:    p ← p − (m/(1−β₁ᵗ))·lr                      (un-adapted momentum SGD while the variance is wild)
//! ```
//! PyTorch defaults: lr 1e-3, β (0.9, 0.999), ε 1e-8 (outside the root), wd 0. Slots: `exp_avg`, `exp_avg_sq`.
//! Effective rate reported: lr·r in the adapted phase, lr before.

use super::table::{check_out, report, slot, slot_at, Flat, Run};
use super::{bias_correction, store_param};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct RAdam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for RAdam {
    /// PyTorch's defaults.
    fn default() -> Self {
        RAdam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

impl RAdam {
    /// The rectification r at step `t`, or None while ρₜ ≤ 5 (PyTorch's threshold).
    pub fn rectification(&self, t: u64) -> Option<f64> {
        let (b2, tf) = (self.beta2, t.max(1) as f64);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * tf * b2.powf(tf) / bias_correction(b2, t);
        (rho_t > 5.0).then(|| ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t)).sqrt())
    }
}

/// One step `t` (1-based) over every run; `exp_avg`, `exp_avg_sq` parallel to `p`; `out` (optional)
/// receives each run's effective rate.
#[allow(clippy::too_many_arguments)]
pub fn radam_step(
    cfg: &RAdam, t: u64, runs: &[Run], p: &mut [f32], g: &[f32], exp_avg: &mut [f32], exp_avg_sq: &mut [f32],
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("radam", p, g, delta);
    let (ms, vs) = (slot("radam: exp_avg", f.n, exp_avg), slot("radam: exp_avg_sq", f.n, exp_avg_sq));
    check_out("radam", runs, &out);
    let bc1 = bias_correction(cfg.beta1, t) as f32;
    let bc2_sqrt = bias_correction(cfg.beta2, t).sqrt() as f32;
    let rect = cfg.rectification(t);
    let (b1, omb1, b2, omb2, eps) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32, cfg.eps as f32);
    for (k, r) in runs.iter().enumerate() {
        let lr = cfg.lr * r.lr_scale;
        report(&mut out, k, lr * rect.unwrap_or(1.0), 1.0);
        let (pp, gp, dp) = f.at(r);
        let (mp, vp) = (slot_at(ms, r), slot_at(vs, r));
        let (lr32, rect32, wd) = (lr as f32, rect.unwrap_or(1.0) as f32, (cfg.weight_decay * r.wd_scale) as f32);
        let adapted = rect.is_some();
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe { element::<L>(pp, gp, mp, vp, dp, i, [wd, b1, omb1, b2, omb2, bc1, lr32, bc2_sqrt, eps, rect32], adapted) }
                });
            });
        });
    }
}

/// One lane group of a run: PyTorch's operation order, `k` = [wd, β₁, 1−β₁, β₂, 1−β₂, 1−β₁ᵗ, lr, √(1−β₂ᵗ), ε, r].
///
/// # Safety
/// Every pointer readable (and p, m, v, delta writable) at `i..i + L::WIDTH`.
#[inline(always)]
unsafe fn element<L: Lane>(
    pp: SyncPtr<f32>, gp: SyncPtr<f32>, mp: SyncPtr<f32>, vp: SyncPtr<f32>, dp: Option<SyncPtr<f32>>, i: usize, k: [f32; 10], adapted: bool,
) {
    let [wd, b1, omb1, b2, omb2, bc1, lr, bc2_sqrt, eps, rect] = k;
    let pv = L::load(pp.get().add(i));
    let mut gv = L::load(gp.get().add(i));
    if wd != 0.0 {
        gv = gv.add(L::splat(wd).mul(pv));
    }
    let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
    mv.store(mp.get().add(i));
    let vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
    vv.store(vp.get().add(i));
    let mut u = mv.div(L::splat(bc1)).mul(L::splat(lr));
    if adapted {
        // `√(1−β₂ᵗ) / tensor` is Python's __rtruediv__: reciprocal, then times the scalar.
        u = u.mul(L::splat(1.0).div(vv.sqrt().add(L::splat(eps))).mul(L::splat(bc2_sqrt))).mul(L::splat(rect));
    }
    store_param(pp.get(), dp, i, pv, pv.sub(u));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn rectification_starts_after_step_5_with_pytorch_betas() {
        let cfg = RAdam::default();
        assert!((1..=5).all(|t| cfg.rectification(t).is_none()));
        let r = cfg.rectification(6).unwrap();
        assert!(r > 0.0 && r < 1.0, "{r}");
        assert!(cfg.rectification(1_000_000).unwrap() > 0.999);
    }

    #[test]
    fn converges_on_a_parabola() {
        let cfg = RAdam { lr: 0.05, ..Default::default() };
        let (mut m, mut v) = (vec![0.0f32; 13], vec![0.0f32; 13]);
        let err = crate::optim::parabola::run(1500, |p, g, t| radam_step(&cfg, t, &[Run::whole(13)], p, g, &mut m, &mut v, None, None));
        assert!(err < 1e-2, "ended {err} away");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        let cfg = RAdam { lr: 0.01, weight_decay: 0.1, beta2: 0.9, ..Default::default() };
        for n in [1, 3, 4, 6, 9] {
            let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            lanes::body_equals_tail(n, &init, 8, |b, g, t| {
                let [p, m, v, d] = b else { unreachable!() };
                radam_step(&cfg, t, &[Run::whole(p.len())], p, g, m, v, Some(d), None);
            });
        }
    }
}
