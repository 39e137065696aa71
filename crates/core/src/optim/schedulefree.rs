//! Schedule-Free AdamW and SGD (Defazio et al. 2024, "The Road Less Scheduled"), as `schedulefree` 1.4.1's
//! `AdamWScheduleFree` and `SGDScheduleFree` compute them. The parameters hold y (the point gradients are
//! taken at) in train mode; z is the base sequence and x, the average the model should be evaluated at,
//! is recovered from them by `schedulefree_swap` (the reference's `optimizer.eval()` / `.train()`).
//!
//! ```text
//! sched = (k+1)/warmup_steps while k < warmup_steps, else 1;   lrₖ = lr·sched;   lr_max ← max(lr_max, lrₖ)
//! w = (k+1)^r · lr_max^weight_lr_power;   W ← W + w;   c = w/W
//! AdamW:  v ← β₂·v + (1−β₂)·g²;   u = g/(√(v/(1−β₂ᵏ⁺¹)) + ε)      SGD: u = g   (β = momentum)
//! u ← u + wd·y
//! y ← lerp(y, z, c);   y ← y + lrₖ·(β(1−c) − 1)·u;   z ← z − lrₖ·u
//! eval:  y → x = lerp(y, z, 1 − 1/β);   train:  x → y = lerp(x, z, 1 − β)
//! ```
//! lerp(a, b, w) is PyTorch's: a + w·(b − a) for |w| < 0.5, else b − (b − a)·(1 − w) (PyTorch fuses each
//! into one multiply-add; the simd build rounds the product, ≤ 1 ulp of the term).
//! Defaults: AdamW lr 0.0025, β (0.9, 0.999), ε 1e-8, wd 0, warmup 0, r 0, weight_lr_power 2; SGD lr 1,
//! momentum 0.9, the same others. Slots `z` (= the parameters at the first step) and, AdamW, `exp_avg_sq`.
//! Scalars [k, W (weight_sum), lr_max (−1 before the first step)]. A run's lr scale multiplies lrₖ in its
//! updates; c is the optimizer's (the reference's per-group weights differ only with per-group rates).
//! Telemetry per run: lrₖ·lr scale.

use super::table::{check_out, report, slot, slot_at, Flat, Run};
use super::{check_len, opt_ptr, store_param};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct ScheduleFree {
    pub lr: f64,
    /// β₁ (AdamW) or the momentum (SGD).
    pub beta1: f64,
    /// AdamW's β₂; None for SGD (no second moment).
    pub beta2: Option<f64>,
    pub eps: f64,
    pub weight_decay: f64,
    pub warmup_steps: u64,
    pub r: f64,
    pub weight_lr_power: f64,
}

impl ScheduleFree {
    /// schedulefree's AdamWScheduleFree defaults.
    pub fn adamw() -> Self {
        ScheduleFree { lr: 0.0025, beta1: 0.9, beta2: Some(0.999), eps: 1e-8, weight_decay: 0.0, warmup_steps: 0, r: 0.0, weight_lr_power: 2.0 }
    }
    /// schedulefree's SGDScheduleFree defaults.
    pub fn sgd() -> Self {
        ScheduleFree { lr: 1.0, beta1: 0.9, beta2: None, ..Self::adamw() }
    }
    /// The scalar state before the first step: [k, W, lr_max].
    pub fn initial_scalars() -> [f64; 3] {
        [0.0, 0.0, -1.0]
    }
}

/// PyTorch's lerp(a, b, w) for a weight known per call (the branch is taken once, outside the loop).
#[inline(always)]
fn lerp<L: Lane>(a: L, b: L, w: f32, low: bool) -> L {
    if low {
        a.add(L::splat(w).mul(b.sub(a)))
    } else {
        b.sub(b.sub(a).mul(L::splat(1.0 - w)))
    }
}

/// One step over every run; `exp_avg_sq` exactly for AdamW. On the first step (k = 0) z is set to the
/// parameters.
#[allow(clippy::too_many_arguments)]
pub fn schedulefree_step(
    cfg: &ScheduleFree, scalars: &mut [f64; 3], runs: &[Run], p: &mut [f32], g: &[f32], z: &mut [f32], exp_avg_sq: Option<&mut [f32]>,
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("schedulefree", p, g, delta);
    let zs = slot("schedulefree: z", f.n, z);
    let vs = opt_ptr("schedulefree: exp_avg_sq", f.n, exp_avg_sq);
    assert!(vs.is_some() == cfg.beta2.is_some(), "schedulefree: exp_avg_sq must be given exactly for AdamW");
    check_out("schedulefree", runs, &out);
    let [k, w_sum, lr_max] = *scalars;
    let sched = if (k as u64) < cfg.warmup_steps { (k + 1.0) / cfg.warmup_steps as f64 } else { 1.0 };
    let lr = cfg.lr * sched;
    let lr_max = lr.max(lr_max);
    let w = (k + 1.0).powf(cfg.r) * lr_max.powf(cfg.weight_lr_power);
    let w_sum = w_sum + w;
    let c = if w_sum != 0.0 { w / w_sum } else { 0.0 };
    *scalars = [k + 1.0, w_sum, lr_max];
    let first = k == 0.0;
    let (b2, omb2, bc2, eps) = match cfg.beta2 {
        Some(b2) => (b2 as f32, (1.0 - b2) as f32, (1.0 - b2.powf(k + 1.0)) as f32, cfg.eps as f32),
        None => (0.0, 0.0, 1.0, 0.0),
    };
    let (c32, low) = (c as f32, (c as f32).abs() < 0.5);
    for (j, r) in runs.iter().enumerate() {
        let lr_r = lr * r.lr_scale;
        report(&mut out, j, lr_r, 1.0);
        let (a_y, a_z) = ((lr_r * (cfg.beta1 * (1.0 - c) - 1.0)) as f32, (-lr_r) as f32);
        let wd = (cfg.weight_decay * r.wd_scale) as f32;
        let (pp, gp, dp) = f.at(r);
        let (zp, vp) = (slot_at(zs, r), vs.map(|v| slot_at(v, r)));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                    unsafe {
                        let y0 = L::load(pp.get().add(i));
                        if first {
                            y0.store(zp.get().add(i));
                        }
                        let mut u = L::load(gp.get().add(i));
                        if let Some(vp) = vp {
                            let v = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(u).mul(u));
                            v.store(vp.get().add(i));
                            u = u.div(v.div(L::splat(bc2)).sqrt().add(L::splat(eps)));
                        }
                        if wd != 0.0 {
                            u = u.add(L::splat(wd).mul(y0));
                        }
                        let zv = L::load(zp.get().add(i));
                        let y = lerp(y0, zv, c32, low).add(L::splat(a_y).mul(u));
                        zv.add(L::splat(a_z).mul(u)).store(zp.get().add(i));
                        store_param(pp.get(), dp, i, y0, y);
                    }
                });
            });
        });
    }
}

/// The train/eval weight swap over every run: `p ← lerp(p, z, w)`; w = 1 − 1/β for eval (y → x), 1 − β
/// for train (x → y).
pub fn schedulefree_swap(runs: &[Run], p: &mut [f32], z: &[f32], w: f64) {
    check_len("schedulefree_swap: z", p.len(), z.len());
    let (pp, zp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(z.as_ptr() as *mut f32));
    let (w32, low) = (w as f32, (w as f32).abs() < 0.5);
    for r in runs {
        assert!(r.offset + r.len <= p.len(), "schedulefree_swap: run {r:?} outside {} floats", p.len());
        let (pp, zp) = (slot_at(pp, r), slot_at(zp, r));
        par::for_each_range(r.len, |lo, hi| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: i + L::WIDTH <= r.len inside both buffers.
                unsafe { lerp(L::load(pp.get().add(i)), L::load(zp.get().add(i)), w32, low).store(pp.get().add(i)) }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn both_variants_converge_at_the_averaged_point() {
        for cfg in [ScheduleFree { lr: 0.05, ..ScheduleFree::adamw() }, ScheduleFree { lr: 0.05, ..ScheduleFree::sgd() }] {
            let (mut z, mut v, mut sc) = (vec![0.0f32; 13], vec![0.0f32; 13], ScheduleFree::initial_scalars());
            let mut y = Vec::new();
            let err = crate::optim::parabola::run(2000, |p, g, _| {
                schedulefree_step(&cfg, &mut sc, &[Run::whole(13)], p, g, &mut z, cfg.beta2.is_some().then_some(&mut v[..]), None, None);
                y = p.to_vec();
            });
            assert!(err < 5e-2, "{cfg:?}: y ended {err} away");
            // eval then train gives y back (to rounding).
            let mut p = y.clone();
            schedulefree_swap(&[Run::whole(13)], &mut p, &z, 1.0 - 1.0 / cfg.beta1);
            schedulefree_swap(&[Run::whole(13)], &mut p, &z, 1.0 - cfg.beta1);
            assert!(p.iter().zip(&y).all(|(a, b)| (a - b).abs() <= 1e-5 * b.abs().max(1.0)));
        }
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for cfg in [ScheduleFree { weight_decay: 0.1, warmup_steps: 2, ..ScheduleFree::adamw() }, ScheduleFree { r: 1.0, ..ScheduleFree::sgd() }] {
            for n in [1, 3, 4, 6, 9] {
                let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                let mut sc = ScheduleFree::initial_scalars();
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, z, v, d] = b else { unreachable!() };
                    if t == 1 {
                        sc = ScheduleFree::initial_scalars();
                    }
                    schedulefree_step(&cfg, &mut sc, &[Run::whole(p.len())], p, g, z, cfg.beta2.is_some().then_some(&mut v[..]), Some(d), None);
                });
            }
        }
    }
}
