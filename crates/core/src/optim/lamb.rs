//! LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning"): Adam's direction scaled per tensor
//! by a trust ratio, as `torch-optimizer` 0.3.0's `Lamb` computes it.
//!
//! ```text
//! m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²
//! u = m/(√v + ε) + wd·p                         (per tensor)
//! trust = min(‖p‖, clamp)/‖u‖   (1 when either norm is 0, when `adam` is set, or for an excluded tensor)
//! p ← p − lr·c·trust·u           c = √(1−β₂ᵗ)/(1−β₁ᵗ) with debias, else 1 (paper v3)
//! ```
//! torch-optimizer defaults: lr 1e-3, β (0.9, 0.999), ε 1e-6, wd 0, clamp_value 10, adam false, debias
//! false. Excluded tensors (`Run::adapt` false: biases and normalisation parameters) take the plain
//! Adam-direction step with trust 1 and no weight decay, as the LAMB paper excludes them; the reference
//! does the same with a second `Lamb(adam=True, weight_decay=0)` over them (the golden generator).
//!
//! Two passes per tensor: the first updates the moments and sums ‖p‖² and ‖u‖² in f64 (fixed chunks), the
//! second recomputes u from the stored moments (the same operations, so the same bits) and applies it.
//! Slots: `exp_avg`, `exp_avg_sq`. Telemetry per tensor: rate lr·c·trust, and the trust ratio.

use super::table::{add_sq, check_out, report, run_sums, slot, slot_at, Flat, LaneSum, Run};
use super::{bias_correction, store_param};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct Lamb {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub clamp_value: f64,
    /// Trust ratio 1 everywhere (Adam with LAMB's ε and decay placement).
    pub adam: bool,
    pub debias: bool,
}

impl Default for Lamb {
    /// torch-optimizer's defaults.
    fn default() -> Self {
        Lamb { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-6, weight_decay: 0.0, clamp_value: 10.0, adam: false, debias: false }
    }
}

/// The Adam direction u = m/(√v + ε) + wd·p for one lane group.
#[inline(always)]
fn direction<L: Lane>(m: L, v: L, p: L, eps: f32, wd: f32) -> L {
    let u = m.div(v.sqrt().add(L::splat(eps)));
    if wd != 0.0 {
        u.add(L::splat(wd).mul(p))
    } else {
        u
    }
}

/// One step `t` (1-based) over every run (each run one tensor); `out` (optional) receives each run's rate
/// and trust ratio.
#[allow(clippy::too_many_arguments)]
pub fn lamb_step(
    cfg: &Lamb, t: u64, runs: &[Run], p: &mut [f32], g: &[f32], exp_avg: &mut [f32], exp_avg_sq: &mut [f32],
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("lamb", p, g, delta);
    let (ms, vs) = (slot("lamb: exp_avg", f.n, exp_avg), slot("lamb: exp_avg_sq", f.n, exp_avg_sq));
    check_out("lamb", runs, &out);
    let c = if cfg.debias { bias_correction(cfg.beta2, t).sqrt() / bias_correction(cfg.beta1, t) } else { 1.0 };
    let (b1, omb1, b2, omb2, eps) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32, cfg.eps as f32);
    for (k, r) in runs.iter().enumerate() {
        let (pp, gp, dp) = f.at(r);
        let (mp, vp) = (slot_at(ms, r), slot_at(vs, r));
        let wd = if r.adapt { (cfg.weight_decay * r.wd_scale) as f32 } else { 0.0 };
        // Pass 1: the moments, Σp², Σu².
        let [p_sq, u_sq] = run_sums::<2>(r.len, |lo, hi, acc| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                unsafe { moments::<L>(pp, gp, mp, vp, i, [b1, omb1, b2, omb2, eps, wd], acc) }
            });
        });
        let (wn, an) = (p_sq.sqrt().min(cfg.clamp_value), u_sq.sqrt());
        let trust = if !r.adapt || cfg.adam || wn == 0.0 || an == 0.0 { 1.0 } else { wn / an };
        let rate = cfg.lr * r.lr_scale * c * trust;
        report(&mut out, k, rate, trust);
        let neg_rate = (-rate) as f32;
        // Pass 2: p ← p − rate·u.
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as in pass 1.
                    unsafe {
                        let pv = L::load(pp.get().add(i));
                        let u = direction(L::load(mp.get().add(i)), L::load(vp.get().add(i)), pv, eps, wd);
                        store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_rate).mul(u)));
                    }
                });
            });
        });
    }
}

/// Pass 1 for one lane group: updates m and v, adds p² and u² into `acc`; `k` = [β₁, 1−β₁, β₂, 1−β₂, ε, wd].
///
/// # Safety
/// Every pointer valid at `i..i + L::WIDTH`.
#[inline(always)]
unsafe fn moments<L: LaneSum>(pp: SyncPtr<f32>, gp: SyncPtr<f32>, mp: SyncPtr<f32>, vp: SyncPtr<f32>, i: usize, k: [f32; 6], acc: &mut [[f64; 4]; 2]) {
    let [b1, omb1, b2, omb2, eps, wd] = k;
    let (pv, gv) = (L::load(pp.get().add(i)), L::load(gp.get().add(i)));
    let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
    mv.store(mp.get().add(i));
    let vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
    vv.store(vp.get().add(i));
    add_sq(&mut acc[0], pv);
    add_sq(&mut acc[1], direction(mv, vv, pv, eps, wd));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn trust_ratio_is_weight_norm_over_update_norm() {
        // One step from m = v = 0: u = (1−β₁)g/(√(1−β₂)|g| + ε) ≈ sign(g)·(1−β₁)/√(1−β₂), so ‖u‖ is known.
        let cfg = Lamb { lr: 0.1, ..Default::default() };
        let n = 16;
        let (p0, g) = (vec![0.5f32; n], lanes::data(n, 3));
        let (mut p, mut m, mut v, mut out) = (p0.clone(), vec![0.0; n], vec![0.0; n], vec![0.0; 2]);
        lamb_step(&cfg, 1, &[Run::whole(n)], &mut p, &g, &mut m, &mut v, None, Some(&mut out));
        let u: Vec<f64> = g.iter().map(|&x| 0.1 * x as f64 / ((0.001f64).sqrt() * (x as f64).abs() + 1e-6)).collect();
        let un = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        let trust = 2.0 / un; // ‖p‖ = 0.5·4
        assert!((out[1] - trust).abs() < 1e-5 * trust, "{} vs {trust}", out[1]);
        for i in 0..n {
            let want = 0.5 - 0.1 * trust * u[i];
            assert!((p[i] as f64 - want).abs() < 1e-6, "{i}: {} vs {want}", p[i]);
        }
    }

    #[test]
    fn an_excluded_tensor_takes_trust_1_and_no_decay() {
        let cfg = Lamb { lr: 0.01, weight_decay: 0.5, ..Default::default() };
        let n = 9;
        let g = lanes::data(n, 4);
        let run = Run { adapt: false, ..Run::whole(n) };
        let (mut p, mut m, mut v, mut out) = (vec![3.0f32; n], vec![0.0; n], vec![0.0; n], vec![0.0; 2]);
        lamb_step(&cfg, 1, &[run], &mut p, &g, &mut m, &mut v, None, Some(&mut out));
        assert_eq!(out, [0.01, 1.0]);
        let adam = Lamb { adam: true, weight_decay: 0.0, ..cfg };
        let (mut q, mut m2, mut v2) = (vec![3.0f32; n], vec![0.0; n], vec![0.0; n]);
        lamb_step(&adam, 1, &[Run::whole(n)], &mut q, &g, &mut m2, &mut v2, None, None);
        assert_eq!(p, q);
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise_without_norms() {
        // Element-by-element runs take per-element norms; `adam` (trust 1) makes the step elementwise.
        let cfg = Lamb { lr: 0.01, weight_decay: 0.1, adam: true, debias: true, ..Default::default() };
        for n in [1, 3, 4, 6, 9] {
            let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                let [p, m, v, d] = b else { unreachable!() };
                lamb_step(&cfg, t, &[Run::whole(p.len())], p, g, m, v, Some(d), None);
            });
        }
    }
}
