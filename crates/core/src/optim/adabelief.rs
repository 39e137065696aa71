//! AdaBelief (Zhuang et al. 2020): Adam whose second moment tracks the gradient's deviation from its
//! average, as `torch-optimizer` 0.3.0's `AdaBelief` computes it.
//!
//! ```text
//! decoupled: p ← p·(1 − lr·wd)   (fixed_decay: p ← p·(1 − wd))      else: g ← g + wd·p
//! m ← β₁·m + (1−β₁)·g
//! s ← β₂·s + (1−β₂)·(g − m)²;   s ← s + ε          (ε added to the state itself, every step, as the reference)
//! amsgrad: ŝ ← max(ŝ, s);  ŝ ← ŝ + ε, used instead of s
//! denom = √s / √(1−β₂ᵗ) + ε
//! p ← p − (lr/(1−β₁ᵗ))·m/denom
//! rectify (RAdam's rule, threshold ρₜ > 4):  p ← p − (rₜ·lr/(1−β₁ᵗ))·m/denom,   else p ← p − lr·m
//! ```
//! torch-optimizer defaults: lr 1e-3, β (0.9, 0.999), ε 1e-8, wd 0, amsgrad, weight_decouple, fixed_decay
//! and rectify false. Slots: `exp_avg`, `exp_avg_var`, and `max_exp_avg_var` when amsgrad.

use super::table::{check_out, report, slot, slot_at, Flat, Run};
use super::{bias_correction, check_len, store_param};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct AdaBelief {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub weight_decouple: bool,
    pub fixed_decay: bool,
    pub rectify: bool,
}

impl Default for AdaBelief {
    /// torch-optimizer's defaults.
    fn default() -> Self {
        AdaBelief { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, amsgrad: false, weight_decouple: false, fixed_decay: false, rectify: false }
    }
}

impl AdaBelief {
    /// With rectify: Some(rₜ) when ρₜ > 4, None for the SGD-style step; without: Some(1).
    pub fn rectification(&self, t: u64) -> Option<f64> {
        if !self.rectify {
            return Some(1.0);
        }
        let (b2, tf) = (self.beta2, t.max(1) as f64);
        let rho_inf = 2.0 / (1.0 - b2) - 1.0;
        let rho_t = rho_inf - 2.0 * tf * b2.powf(tf) / (1.0 - b2.powf(tf));
        (rho_t > 4.0).then(|| ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / (rho_inf - 4.0) / (rho_inf - 2.0) / rho_t).sqrt())
    }
}

/// One step `t` (1-based) over every run; `max_exp_avg_var` exactly when amsgrad; `out` (optional)
/// receives each run's effective rate (lr·rₜ/(1−β₁ᵗ) on m̂'s scale: lr·rₜ).
#[allow(clippy::too_many_arguments)]
pub fn adabelief_step(
    cfg: &AdaBelief, t: u64, runs: &[Run], p: &mut [f32], g: &[f32], exp_avg: &mut [f32], exp_avg_var: &mut [f32],
    max_exp_avg_var: Option<&mut [f32]>, delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("adabelief", p, g, delta);
    let (ms, ss) = (slot("adabelief: exp_avg", f.n, exp_avg), slot("adabelief: exp_avg_var", f.n, exp_avg_var));
    let mx = max_exp_avg_var.map(|s| {
        check_len("adabelief: max_exp_avg_var", f.n, s.len());
        SyncPtr(s.as_mut_ptr())
    });
    assert!(mx.is_some() == cfg.amsgrad, "adabelief: max_exp_avg_var must be given exactly when amsgrad");
    check_out("adabelief", runs, &out);
    let bc1 = bias_correction(cfg.beta1, t);
    let bc2_sqrt = bias_correction(cfg.beta2, t).sqrt() as f32;
    let rect = cfg.rectification(t);
    let (b1, omb1, b2, omb2, eps) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32, cfg.eps as f32);
    for (k, r) in runs.iter().enumerate() {
        let lr = cfg.lr * r.lr_scale;
        let wd = cfg.weight_decay * r.wd_scale;
        report(&mut out, k, lr * rect.unwrap_or(1.0), 1.0);
        let (coupled, decay) = match (cfg.weight_decouple, cfg.fixed_decay) {
            (false, _) => (wd as f32, 1.0f32),
            (true, false) => (0.0, (1.0 - lr * wd) as f32),
            (true, true) => (0.0, (1.0 - wd) as f32),
        };
        // Adapted: p + (−step·m)/denom; the rectified SGD-style step: p + (−lr)·m.
        let (adapted, neg_step) = match rect {
            Some(rt) => (true, (-(rt * lr / bc1)) as f32),
            None => (false, (-lr) as f32),
        };
        let (pp, gp, dp) = f.at(r);
        let (mp, sp, xp) = (slot_at(ms, r), slot_at(ss, r), mx.map(|x| slot_at(x, r)));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none() && decay == 1.0, { dp = None, decay = 1.0 }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe {
                        let p_old = L::load(pp.get().add(i));
                        let pv = p_old.mul(L::splat(decay));
                        let mut gv = L::load(gp.get().add(i));
                        if coupled != 0.0 {
                            gv = gv.add(L::splat(coupled).mul(p_old));
                        }
                        let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
                        mv.store(mp.get().add(i));
                        let res = gv.sub(mv);
                        let mut sv = L::load(sp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(res).mul(res));
                        if let Some(xp) = xp {
                            sv.store(sp.get().add(i));
                            sv = L::load(xp.get().add(i)).max(sv).add(L::splat(eps));
                            sv.store(xp.get().add(i));
                        } else {
                            sv = sv.add(L::splat(eps));
                            sv.store(sp.get().add(i));
                        }
                        let new = if adapted {
                            let denom = sv.sqrt().div(L::splat(bc2_sqrt)).add(L::splat(eps));
                            pv.add(L::splat(neg_step).mul(mv).div(denom))
                        } else {
                            pv.add(L::splat(neg_step).mul(mv))
                        };
                        store_param(pp.get(), dp, i, p_old, new);
                    }
                });
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn converges_on_a_parabola_in_every_variant() {
        for (amsgrad, weight_decouple, rectify) in [(false, false, false), (true, false, false), (false, true, true)] {
            let cfg = AdaBelief { lr: 0.05, amsgrad, weight_decouple, rectify, ..Default::default() };
            let (mut m, mut s, mut x) = (vec![0.0f32; 13], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(1500, |p, g, t| {
                adabelief_step(&cfg, t, &[Run::whole(13)], p, g, &mut m, &mut s, amsgrad.then_some(&mut x[..]), None, None)
            });
            assert!(err < 2e-2, "{cfg:?} ended {err} away");
        }
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for (amsgrad, weight_decouple, fixed_decay, rectify) in [(true, false, false, false), (false, true, true, true), (false, true, false, false)] {
            let cfg = AdaBelief { lr: 0.01, weight_decay: 0.1, amsgrad, weight_decouple, fixed_decay, rectify, beta2: 0.9, ..Default::default() };
            for n in [1, 3, 4, 6, 9] {
                let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 7, |b, g, t| {
                    let [p, m, s, x, d] = b else { unreachable!() };
                    adabelief_step(&cfg, t, &[Run::whole(p.len())], p, g, m, s, amsgrad.then_some(&mut x[..]), Some(d), None);
                });
            }
        }
    }
}
