//! NAdam (Dozat 2016, Adam with Nesterov momentum), as PyTorch 1.13's `torch.optim.NAdam` (single-tensor
//! path) computes it, with its momentum schedule.
//!
//! ```text
//! g ← g + wd·p                                        (coupled L2 decay)
//! μₜ = β₁·(1 − ½·0.96^(t·ψ));   μₜ₊₁ likewise          (ψ: momentum_decay)
//! Πₜ = Πₜ₋₁·μₜ  (a float32 product, as PyTorch keeps it in a 0-dim float tensor);  Πₜ₊₁ = Πₜ·μₜ·μₜ₊₁
//! m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²;   denom = √(v/(1−β₂ᵗ)) + ε
//! p ← p − lr·(1−μₜ)/(1−Πₜ) · g/denom;   p ← p − lr·μₜ₊₁/(1−Πₜ₊₁) · m/denom
//! ```
//! PyTorch defaults: lr 2e-3, β (0.9, 0.999), ε 1e-8, wd 0, momentum_decay 4e-3. Slots: `exp_avg`,
//! `exp_avg_sq`; scalar state: Π (`mu_product`, starts at 1).

use super::table::{check_out, report, slot, slot_at, Flat, Run};
use super::{bias_correction, store_param};
use crate::par;
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct NAdam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum_decay: f64,
}

impl Default for NAdam {
    /// PyTorch's defaults.
    fn default() -> Self {
        NAdam { lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, momentum_decay: 4e-3 }
    }
}

impl NAdam {
    /// μ at step `t`.
    pub fn mu(&self, t: f64) -> f64 {
        self.beta1 * (1.0 - 0.5 * 0.96f64.powf(t * self.momentum_decay))
    }
}

/// One step `t` (1-based) over every run; `mu_product` is the scalar state Π (1 before the first step),
/// updated here; `out` (optional) receives each run's effective rate on the momentum term,
/// lr·μₜ₊₁/(1−Πₜ₊₁).
#[allow(clippy::too_many_arguments)]
pub fn nadam_step(
    cfg: &NAdam, t: u64, mu_product: &mut f64, runs: &[Run], p: &mut [f32], g: &[f32], exp_avg: &mut [f32], exp_avg_sq: &mut [f32],
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("nadam", p, g, delta);
    let (ms, vs) = (slot("nadam: exp_avg", f.n, exp_avg), slot("nadam: exp_avg_sq", f.n, exp_avg_sq));
    check_out("nadam", runs, &out);
    let tf = t.max(1) as f64;
    let (mu, mu_next) = (cfg.mu(tf), cfg.mu(tf + 1.0));
    // PyTorch multiplies its float32 tensor by the Python floats, each rounded to f32 first.
    let prod = *mu_product as f32 * mu as f32;
    let prod_next = prod * mu as f32 * mu_next as f32;
    *mu_product = prod as f64;
    let bc2 = bias_correction(cfg.beta2, t) as f32;
    let (b1, omb1, b2, omb2, eps) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32, cfg.eps as f32);
    for (k, r) in runs.iter().enumerate() {
        let lr = cfg.lr * r.lr_scale;
        let (c_grad, c_mom) = (-lr * (1.0 - mu) / (1.0 - prod as f64), -lr * mu_next / (1.0 - prod_next as f64));
        report(&mut out, k, -c_mom, 1.0);
        let (c_grad, c_mom, wd) = (c_grad as f32, c_mom as f32, (cfg.weight_decay * r.wd_scale) as f32);
        let (pp, gp, dp) = f.at(r);
        let (mp, vp) = (slot_at(ms, r), slot_at(vs, r));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe {
                        let p0 = L::load(pp.get().add(i));
                        let mut gv = L::load(gp.get().add(i));
                        if wd != 0.0 {
                            gv = gv.add(L::splat(wd).mul(p0));
                        }
                        let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
                        mv.store(mp.get().add(i));
                        let vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
                        vv.store(vp.get().add(i));
                        let denom = vv.div(L::splat(bc2)).sqrt().add(L::splat(eps));
                        // addcdiv: p + (value·t₁)/t₂, PyTorch's order.
                        let p1 = p0.add(L::splat(c_grad).mul(gv).div(denom));
                        store_param(pp.get(), dp, i, p0, p1.add(L::splat(c_mom).mul(mv).div(denom)));
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
    fn converges_on_a_parabola() {
        let cfg = NAdam { lr: 0.05, ..Default::default() };
        let (mut m, mut v, mut mp) = (vec![0.0f32; 13], vec![0.0f32; 13], 1.0);
        let err = crate::optim::parabola::run(1500, |p, g, t| nadam_step(&cfg, t, &mut mp, &[Run::whole(13)], p, g, &mut m, &mut v, None, None));
        assert!(err < 1e-2, "ended {err} away");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        let cfg = NAdam { lr: 0.01, weight_decay: 0.1, ..Default::default() };
        for n in [1, 3, 4, 6, 9] {
            let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            let mut mp = 1.0;
            lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                let [p, m, v, d] = b else { unreachable!() };
                if t == 1 {
                    mp = 1.0;
                }
                nadam_step(&cfg, t, &mut mp, &[Run::whole(p.len())], p, g, m, v, Some(d), None);
            });
        }
    }
}
