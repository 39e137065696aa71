//! LARS (You, Gitman & Ginsburg 2017, "Large Batch Training of Convolutional Networks"): SGD with a
//! per-tensor rate ‖p‖/‖∇‖, as `torch-optimizer` 0.3.0's `LARS` computes it.
//!
//! ```text
//! wd ≠ 0 and ‖p‖ ≠ 0 and ‖g‖ ≠ 0:  λ = η·‖p‖/(‖g‖ + wd·‖p‖ + ε);   d = (g + wd·p)·λ
//! otherwise:                       d = g                    (no trust ratio and no decay)
//! momentum μ > 0:  b ← d on the first step, else b ← μ·b + (1−τ)·d;   d ← nesterov ? d + μ·b : b
//! p ← p − lr·d
//! ```
//! As in torch-optimizer, the trust ratio is tied to weight decay: a tensor whose decay is 0 (an excluded
//! tensor, `Run::adapt` false, or wd 0 everywhere) takes plain momentum SGD. That is the reference's
//! exclusion mechanism too (a parameter group with weight_decay 0), which the golden generator uses.
//! torch-optimizer defaults: lr 1e-2, μ 0, τ 0, wd 0, nesterov false, η (trust_coefficient) 0.01, ε 1e-8.
//! Two passes per tensor: the norms (f64, fixed chunks), then the update. Slot: `momentum_buffer` when
//! μ > 0. Telemetry per tensor: rate lr·λ (lr without a ratio), and λ (1 without).

use super::table::{add_sq, check_out, report, run_sums, slot_at, Flat, Run};
use super::{opt_ptr, store_param};
use crate::par;
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct Lars {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
    pub trust_coefficient: f64,
    pub eps: f64,
}

impl Default for Lars {
    /// torch-optimizer's defaults.
    fn default() -> Self {
        Lars { lr: 1e-2, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false, trust_coefficient: 0.01, eps: 1e-8 }
    }
}

/// One step `t` (1-based: step 1 fills the momentum buffer) over every run (each run one tensor);
/// `momentum_buf` exactly when μ > 0; `out` (optional) receives each run's rate and trust ratio.
#[allow(clippy::too_many_arguments)]
pub fn lars_step(cfg: &Lars, t: u64, runs: &[Run], p: &mut [f32], g: &[f32], momentum_buf: Option<&mut [f32]>, delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>) {
    let f = Flat::new("lars", p, g, delta);
    let bs = opt_ptr("lars: momentum_buffer", f.n, momentum_buf);
    assert!(bs.is_some() == (cfg.momentum != 0.0), "lars: momentum buffer must be given exactly when momentum > 0");
    check_out("lars", runs, &out);
    let (mu, omd, first, nesterov) = (cfg.momentum as f32, (1.0 - cfg.dampening) as f32, t <= 1, cfg.nesterov);
    for (k, r) in runs.iter().enumerate() {
        let (pp, gp, dp) = f.at(r);
        let wd = if r.adapt { cfg.weight_decay * r.wd_scale } else { 0.0 };
        let lambda = if wd != 0.0 {
            let [p_sq, g_sq] = run_sums::<2>(r.len, |lo, hi, acc| {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: i + L::WIDTH <= r.len.
                    unsafe {
                        add_sq(&mut acc[0], L::load(pp.get().add(i)));
                        add_sq(&mut acc[1], L::load(gp.get().add(i)));
                    }
                });
            });
            let (pn, gn) = (p_sq.sqrt(), g_sq.sqrt());
            (pn != 0.0 && gn != 0.0).then(|| cfg.trust_coefficient * pn / (gn + pn * wd + cfg.eps))
        } else {
            None
        };
        let lr = cfg.lr * r.lr_scale;
        report(&mut out, k, lr * lambda.unwrap_or(1.0), lambda.unwrap_or(1.0));
        let (scaled, lam, wd32, neg_lr) = (lambda.is_some(), lambda.unwrap_or(1.0) as f32, wd as f32, (-lr) as f32);
        let bp = bs.map(|b| slot_at(b, r));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe {
                        let pv = L::load(pp.get().add(i));
                        let mut d = L::load(gp.get().add(i));
                        if scaled {
                            d = d.add(L::splat(wd32).mul(pv)).mul(L::splat(lam));
                        }
                        if let Some(bp) = bp {
                            let b = if first { d } else { L::load(bp.get().add(i)).mul(L::splat(mu)).add(L::splat(omd).mul(d)) };
                            b.store(bp.get().add(i));
                            d = if nesterov { d.add(L::splat(mu).mul(b)) } else { b };
                        }
                        store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_lr).mul(d)));
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
    fn the_trust_ratio_follows_the_formula_and_needs_weight_decay() {
        let n = 10;
        let (p0, g) = (lanes::data(n, 1), lanes::data(n, 2));
        let norm = |x: &[f32]| x.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
        let cfg = Lars { lr: 0.1, weight_decay: 0.01, ..Default::default() };
        let mut out = vec![0.0; 2];
        let mut p = p0.clone();
        lars_step(&cfg, 1, &[Run::whole(n)], &mut p, &g, None, None, Some(&mut out));
        let lam = 0.01 * norm(&p0) / (norm(&g) + 0.01 * norm(&p0) + 1e-8);
        assert!((out[1] - lam).abs() < 1e-12, "{} vs {lam}", out[1]);
        let plain = Lars { weight_decay: 0.0, ..cfg };
        let mut q = p0.clone();
        lars_step(&plain, 1, &[Run::whole(n)], &mut q, &g, None, None, Some(&mut out));
        assert_eq!(out, [0.1, 1.0]);
        assert!(q.iter().zip(&p0).zip(&g).all(|((q, p), g)| *q == p + (-0.1f32) * g));
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise_without_norms() {
        for (momentum, nesterov) in [(0.9, true), (0.9, false), (0.0, false)] {
            let cfg = Lars { lr: 0.01, momentum, nesterov, dampening: 0.0, ..Default::default() };
            for n in [1, 3, 4, 6, 9] {
                let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, mb, d] = b else { unreachable!() };
                    lars_step(&cfg, t, &[Run::whole(p.len())], p, g, (momentum > 0.0).then_some(&mut mb[..]), Some(d), None);
                });
            }
        }
    }
}
