//! Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), as `lion-pytorch` 0.2.5's
//! `Lion` computes it.
//!
//! ```text
//! p ← p·(1 − lr·wd)                 (decoupled_weight_decay: wd/lr₀ in place of wd, lr₀ the initial rate)
//! u = sign(β₁·m + (1−β₁)·g)         (sign(0) = 0)
//! p ← p − lr·u
//! m ← β₂·m + (1−β₂)·g
//! ```
//! lion-pytorch defaults: lr 1e-4, β (0.9, 0.99), wd 0, decoupled_weight_decay false. Slot: `exp_avg`.

use super::table::{check_out, report, slot, slot_at, Flat, Run};
use super::{neg, store_param};
use crate::par;
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct Lion {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    /// The rate the optimizer was built with, when the decay is decoupled from it (`wd / lr₀`).
    pub decoupled_from: Option<f64>,
}

impl Default for Lion {
    /// lion-pytorch's defaults.
    fn default() -> Self {
        Lion { lr: 1e-4, beta1: 0.9, beta2: 0.99, weight_decay: 0.0, decoupled_from: None }
    }
}

/// sign(x) ∈ {−1, ±0, 1} without a compare: x·2¹²⁷·2¹²⁷ is ±∞ or a number ≥ 1 in magnitude for every finite
/// x ≠ 0 (the smallest subnormal becomes 4e31), and clamping that to [−1, 1] is exact.
#[inline(always)]
pub(crate) fn sign_of<L: Lane>(x: L) -> L {
    let big = L::splat(f32::from_bits(0x7f00_0000)); // 2¹²⁷
    let y = x.mul(big).mul(big);
    neg(neg(y.max(L::splat(-1.0))).max(L::splat(-1.0)))
}

/// One step over every run; `out` (optional) receives each run's rate.
pub fn lion_step(cfg: &Lion, runs: &[Run], p: &mut [f32], g: &[f32], exp_avg: &mut [f32], delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>) {
    let f = Flat::new("lion", p, g, delta);
    let ms = slot("lion: exp_avg", f.n, exp_avg);
    check_out("lion", runs, &out);
    let (b1, omb1, b2, omb2) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32);
    for (k, r) in runs.iter().enumerate() {
        let lr = cfg.lr * r.lr_scale;
        report(&mut out, k, lr, 1.0);
        let wd = cfg.weight_decay * r.wd_scale / cfg.decoupled_from.unwrap_or(1.0);
        let (decay, neg_lr) = ((1.0 - lr * wd) as f32, (-lr) as f32);
        let (pp, gp, dp) = f.at(r);
        let mp = slot_at(ms, r);
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe {
                        let p_old = L::load(pp.get().add(i));
                        let gv = L::load(gp.get().add(i));
                        let m = L::load(mp.get().add(i));
                        let u = sign_of(m.mul(L::splat(b1)).add(L::splat(omb1).mul(gv)));
                        store_param(pp.get(), dp, i, p_old, p_old.mul(L::splat(decay)).add(L::splat(neg_lr).mul(u)));
                        m.mul(L::splat(b2)).add(L::splat(omb2).mul(gv)).store(mp.get().add(i));
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
    fn sign_is_exact_for_every_kind_of_value() {
        for x in [0.0f32, -0.0, 1e-45, -1e-45, 1e-38, 0.5, -3.0, f32::MAX, -f32::MAX] {
            let want = if x == 0.0 { 0.0 } else { x.signum() };
            assert_eq!(sign_of::<f32>(x), want, "{x}");
        }
    }

    #[test]
    fn converges_on_a_parabola_to_within_the_step() {
        let cfg = Lion { lr: 1e-3, ..Default::default() };
        let mut m = vec![0.0f32; 13];
        let err = crate::optim::parabola::run(4000, |p, g, _| lion_step(&cfg, &[Run::whole(13)], p, g, &mut m, None, None));
        assert!(err < 2e-2, "ended {err} away");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        let cfg = Lion { lr: 0.01, weight_decay: 0.5, decoupled_from: Some(0.02), ..Default::default() };
        for n in [1, 3, 4, 6, 9] {
            let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n]];
            lanes::body_equals_tail(n, &init, 3, |b, g, _| {
                let [p, m, d] = b else { unreachable!() };
                lion_step(&cfg, &[Run::whole(p.len())], p, g, m, Some(d), None);
            });
        }
    }
}
