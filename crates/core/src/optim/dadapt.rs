//! D-Adaptation (Defazio & Mishchenko 2023, "Learning-Rate-Free Learning by D-Adaptation") for Adam, SGD
//! and Adagrad, as `dadaptation` 3.2's `DAdaptAdam`, `DAdaptSGD` and `DAdaptAdaGrad` (dense path)
//! compute them. Each grows a distance estimate d (from d₀) by a ratio of sums over every parameter, so a
//! step is two passes: moments and sums (per run, fixed chunks, runs in order, f64), the scalar update,
//! then the parameters. Runs with lr scale 0 are skipped in the sums, as the reference skips groups of
//! lr 0; other scales multiply the run's step (the reference allows one lr).
//!
//! DAdaptAdam (defaults lr 1, β (0.9, 0.999), ε 1e-8, wd 0, decouple false, use_bias_correction false,
//! d₀ 1e-6, growth_rate ∞):
//! ```text
//! c = √(1−β₂ᵏ⁺¹)/(1−β₁ᵏ⁺¹) with bias correction, else 1;   dlr = d·lr·c
//! pass 1:  g ← g + wd·p (unless decouple);   num += dlr·⟨g, s/(√v + ε)⟩   (s, v before this step)
//!          m ← β₁·m + dlr(1−β₁)·g;   v ← β₂·v + (1−β₂)·g²;   s ← √β₂·s + dlr(1−√β₂)·g;   ‖s‖₁ = Σ|s|
//! r ← √β₂·r + (1−√β₂)·num;   ‖s‖₁ = 0: stop (no move);   d ← max(d, min(r/((1−√β₂)‖s‖₁), d·growth))
//! pass 2:  decouple: p ← p − wd·dlr·p;   p ← p − m/(√v + ε)
//! ```
//! Slots `s`, `exp_avg`, `exp_avg_sq`; scalars [d, r (numerator_weighted), k].
//!
//! DAdaptSGD (defaults lr 1, momentum 0, wd 0, d₀ 1e-6, growth_rate ∞):
//! ```text
//! k = 0:  ‖g₀‖ = √Σg²  (the raw gradient: the reference's decay there is not in place, so it is dropped)
//! dlr = d·lr/‖g₀‖
//! pass 1:  g ← g + wd·p;   num += dlr·⟨g, s⟩;   s ← s + dlr·g;   Σs²
//! d ← max(d, min(2·num/√Σs², d·growth));   Σs² = 0: stop
//! pass 2:  z = x₀ − s;   p ← momentum·p + (1−momentum)·z
//! ```
//! Slots `s`, `x0` (z is not kept: it is recomputed from them); scalars [d, num, ‖g₀‖, k].
//!
//! DAdaptAdaGrad (defaults lr 1, momentum 0, wd 0, ε 1e-6, d₀ 1e-6, growth_rate ∞):
//! ```text
//! dlr = d·lr;   α starts at 1e-6
//! pass 1:  g ← g + wd·p;   old = (Σs²/(√α + ε), Σ|s|);   α ← α + g²;   Σg²/(√α + ε)
//!          s ← s + dlr·g;   new = (Σs²/(√α + ε), Σ|s|)
//! S ← S + Δ(Σs²/(√α+ε));   ‖s‖₁ ← ‖s‖₁ + Δ(Σ|s|);   ‖s‖₁ = 0: stop;   G ← G + dlr²·Σg²/(√α + ε)
//! d ← max(d, min((S − G)/‖s‖₁, d·growth))
//! pass 2:  z = x₀ − s/(√α + ε);   p ← momentum > 0 ? momentum·p + (1−momentum)·z : z
//! ```
//! Slots `alpha_k`, `s`, `x0`; scalars [d, G (gsq_weighted), S (sksq_weighted), ‖s‖₁, k].
//! Telemetry per run: dlr·lr scale (Adam; SGD and Adagrad: the rate of s, dlr).

use super::table::{add_abs, add_dot, add_sq, check_out, report, run_sums, slot, slot_at, Flat, Run};
use super::store_param;
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

/// What the three share.
#[derive(Clone, Copy, Debug)]
pub struct DAdapt {
    pub lr: f64,
    pub weight_decay: f64,
    pub d0: f64,
    pub growth_rate: f64,
}

impl Default for DAdapt {
    /// dadaptation's defaults.
    fn default() -> Self {
        DAdapt { lr: 1.0, weight_decay: 0.0, d0: 1e-6, growth_rate: f64::INFINITY }
    }
}

impl DAdapt {
    fn grow(&self, d: f64, d_hat: f64) -> f64 {
        d.max(d_hat.min(d * self.growth_rate))
    }
}

#[derive(Clone, Copy, Debug)]
pub struct DAdaptAdam {
    pub base: DAdapt,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub decouple: bool,
    pub use_bias_correction: bool,
}

impl Default for DAdaptAdam {
    fn default() -> Self {
        DAdaptAdam { base: DAdapt::default(), beta1: 0.9, beta2: 0.999, eps: 1e-8, decouple: false, use_bias_correction: false }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct DAdaptSgd {
    pub base: DAdapt,
    pub momentum: f64,
}

impl Default for DAdaptSgd {
    fn default() -> Self {
        DAdaptSgd { base: DAdapt::default(), momentum: 0.0 }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct DAdaptAdagrad {
    pub base: DAdapt,
    pub momentum: f64,
    pub eps: f64,
}

impl Default for DAdaptAdagrad {
    fn default() -> Self {
        DAdaptAdagrad { base: DAdapt::default(), momentum: 0.0, eps: 1e-6 }
    }
}

/// Scalar state lengths: Adam [d, r, k], SGD [d, num, ‖g₀‖, k], Adagrad [d, G, S, ‖s‖₁, k].
pub const ADAM_SCALARS: usize = 3;
pub const SGD_SCALARS: usize = 4;
pub const ADAGRAD_SCALARS: usize = 5;

/// The gradient with coupled decay, for one lane group.
///
/// # Safety
/// `pp`, `gp` readable at `i..i + L::WIDTH`.
#[inline(always)]
unsafe fn grad_wd<L: Lane>(pp: SyncPtr<f32>, gp: SyncPtr<f32>, i: usize, wd: f32) -> (L, L) {
    let pv = L::load(pp.get().add(i));
    let gv = L::load(gp.get().add(i));
    (pv, if wd != 0.0 { gv.add(L::splat(wd).mul(pv)) } else { gv })
}

/// Runs taking part in the sums (lr scale ≠ 0).
fn active(runs: &[Run]) -> impl Iterator<Item = &Run> {
    runs.iter().filter(|r| r.lr_scale != 0.0)
}

/// One DAdaptAdam step over every run; `scalars` = [d, r, k] (initially [d₀, 0, 0]).
#[allow(clippy::too_many_arguments)]
pub fn dadapt_adam_step(
    cfg: &DAdaptAdam, scalars: &mut [f64; ADAM_SCALARS], runs: &[Run], p: &mut [f32], g: &[f32], s: &mut [f32], exp_avg: &mut [f32],
    exp_avg_sq: &mut [f32], delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("dadapt_adam", p, g, delta);
    let (ss, ms, vs) = (slot("dadapt_adam: s", f.n, s), slot("dadapt_adam: exp_avg", f.n, exp_avg), slot("dadapt_adam: exp_avg_sq", f.n, exp_avg_sq));
    check_out("dadapt_adam", runs, &out);
    let [d, r_num, k] = *scalars;
    let (b1, b2) = (cfg.beta1, cfg.beta2);
    let c = if cfg.use_bias_correction { (1.0 - b2.powf(k + 1.0)).sqrt() / (1.0 - b1.powf(k + 1.0)) } else { 1.0 };
    let dlr = d * cfg.base.lr * c;
    let sb2 = b2.sqrt();
    let coupled = if cfg.decouple { 0.0 } else { cfg.base.weight_decay };
    let (eps, mb, ma, vb, va, sb, sa) =
        (cfg.eps as f32, b1 as f32, (dlr * (1.0 - b1)) as f32, b2 as f32, (1.0 - b2) as f32, sb2 as f32, (dlr * (1.0 - sb2)) as f32);
    let (mut num, mut l1) = (0.0, 0.0);
    for r in active(runs) {
        let (pp, gp, _) = f.at(r);
        let (sp, mp, vp) = (slot_at(ss, r), slot_at(ms, r), slot_at(vs, r));
        let wd = (coupled * r.wd_scale) as f32;
        let [dot, abs_s] = run_sums::<2>(r.len, |lo, hi, acc| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                unsafe {
                    let (_, gv) = grad_wd::<L>(pp, gp, i, wd);
                    let (s_old, v_old) = (L::load(sp.get().add(i)), L::load(vp.get().add(i)));
                    add_dot(&mut acc[0], gv, s_old.div(v_old.sqrt().add(L::splat(eps))));
                    L::load(mp.get().add(i)).mul(L::splat(mb)).add(L::splat(ma).mul(gv)).store(mp.get().add(i));
                    v_old.mul(L::splat(vb)).add(L::splat(va).mul(gv).mul(gv)).store(vp.get().add(i));
                    let sv = s_old.mul(L::splat(sb)).add(L::splat(sa).mul(gv));
                    sv.store(sp.get().add(i));
                    add_abs(&mut acc[1], sv);
                }
            });
        });
        num += dlr * dot;
        l1 += abs_s;
    }
    let r_num = sb2 * r_num + (1.0 - sb2) * num;
    if l1 == 0.0 {
        return none_moved(runs, &mut out);
    }
    let d = if cfg.base.lr > 0.0 { cfg.base.grow(d, r_num / ((1.0 - sb2) * l1)) } else { d };
    *scalars = [d, r_num, k + 1.0];
    for (j, r) in runs.iter().enumerate() {
        report(&mut out, j, dlr * r.lr_scale, 1.0);
        let (pp, _, dp) = f.at(r);
        let (mp, vp) = (slot_at(ms, r), slot_at(vs, r));
        let decay = if cfg.decouple { (-cfg.base.weight_decay * r.wd_scale * dlr) as f32 } else { 0.0 };
        let step = (-r.lr_scale) as f32;
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as in pass 1.
                    unsafe {
                        let p_old = L::load(pp.get().add(i));
                        let pv = if decay != 0.0 { p_old.add(L::splat(decay).mul(p_old)) } else { p_old };
                        let denom = L::load(vp.get().add(i)).sqrt().add(L::splat(eps));
                        store_param(pp.get(), dp, i, p_old, pv.add(L::splat(step).mul(L::load(mp.get().add(i))).div(denom)));
                    }
                });
            });
        });
    }
}

/// A step that stopped before moving anything (the reference's early return): rate 0 everywhere.
fn none_moved(runs: &[Run], out: &mut Option<&mut [f64]>) {
    for j in 0..runs.len() {
        report(out, j, 0.0, 1.0);
    }
}

/// `p ← μ·p + (1−μ)·z` (`p·(1−ck) + ck·z` with ck = 1 − μ, the reference's order), or `p ← z` for μ = 0
/// when `copy` (Adagrad copies; SGD computes p·0 + 1·z, the same value).
///
/// # Safety
/// `pp`, `dp` valid at `i..i + L::WIDTH`.
#[inline(always)]
unsafe fn averaged<L: Lane>(pp: SyncPtr<f32>, dp: Option<SyncPtr<f32>>, i: usize, z: L, mu: f32, ck: f32, copy: bool) {
    let p_old = L::load(pp.get().add(i));
    let new = if copy { z } else { p_old.mul(L::splat(mu)).add(L::splat(ck).mul(z)) };
    store_param(pp.get(), dp, i, p_old, new);
}

/// One DAdaptSGD step `t` (1-based; step 1 records x₀ and ‖g₀‖) over every run; `scalars` = [d, num,
/// ‖g₀‖, k] (initially [d₀, 0, 0, 0]).
#[allow(clippy::too_many_arguments)]
pub fn dadapt_sgd_step(
    cfg: &DAdaptSgd, t: u64, scalars: &mut [f64; SGD_SCALARS], runs: &[Run], p: &mut [f32], g: &[f32], s: &mut [f32], x0: &mut [f32],
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("dadapt_sgd", p, g, delta);
    let (ss, xs) = (slot("dadapt_sgd: s", f.n, s), slot("dadapt_sgd: x0", f.n, x0));
    check_out("dadapt_sgd", runs, &out);
    let [d, mut num, mut g0, k] = *scalars;
    if k == 0.0 {
        let gsq: f64 = active(runs)
            .map(|r| {
                let (_, gp, _) = f.at(r);
                // SAFETY: i + L::WIDTH <= r.len.
                run_sums::<1>(r.len, |lo, hi, acc| for_each_lane!(lo, hi, |i, L| { unsafe { add_sq(&mut acc[0], L::load(gp.get().add(i))) } }))[0]
            })
            .sum();
        g0 = gsq.sqrt();
    }
    let dlr = d * cfg.base.lr / g0;
    let (first, a) = (t <= 1, dlr as f32);
    let mut sk_sq = 0.0;
    for r in active(runs) {
        let (pp, gp, _) = f.at(r);
        let (sp, xp) = (slot_at(ss, r), slot_at(xs, r));
        let wd = (cfg.base.weight_decay * r.wd_scale) as f32;
        let [dot, sq] = run_sums::<2>(r.len, |lo, hi, acc| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                unsafe {
                    let (pv, gv) = grad_wd::<L>(pp, gp, i, wd);
                    if first {
                        pv.store(xp.get().add(i));
                    }
                    let s_old = L::load(sp.get().add(i));
                    add_dot(&mut acc[0], gv, s_old);
                    let sv = s_old.add(L::splat(a).mul(gv));
                    sv.store(sp.get().add(i));
                    add_sq(&mut acc[1], sv);
                }
            });
        });
        num += dlr * dot;
        sk_sq += sq;
    }
    if sk_sq == 0.0 {
        return none_moved(runs, &mut out);
    }
    let d = if cfg.base.lr > 0.0 { cfg.base.grow(d, 2.0 * num / sk_sq.sqrt()) } else { d };
    *scalars = [d, num, g0, k + 1.0];
    let (mu, ck) = (cfg.momentum as f32, (1.0 - cfg.momentum) as f32);
    for (j, r) in runs.iter().enumerate() {
        report(&mut out, j, dlr * r.lr_scale, 1.0);
        let (pp, _, dp) = f.at(r);
        let (sp, xp) = (slot_at(ss, r), slot_at(xs, r));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as in pass 1.
                    unsafe { averaged::<L>(pp, dp, i, L::load(xp.get().add(i)).sub(L::load(sp.get().add(i))), mu, ck, false) }
                });
            });
        });
    }
}

/// One DAdaptAdaGrad step `t` (1-based; step 1 records x₀) over every run; `alpha_k` starts at 1e-6;
/// `scalars` = [d, G, S, ‖s‖₁, k] (initially [d₀, 0, 0, 0, 0]).
#[allow(clippy::too_many_arguments)]
pub fn dadapt_adagrad_step(
    cfg: &DAdaptAdagrad, t: u64, scalars: &mut [f64; ADAGRAD_SCALARS], runs: &[Run], p: &mut [f32], g: &[f32], alpha_k: &mut [f32],
    s: &mut [f32], x0: &mut [f32], delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("dadapt_adagrad", p, g, delta);
    let (als, ss, xs) = (slot("dadapt_adagrad: alpha_k", f.n, alpha_k), slot("dadapt_adagrad: s", f.n, s), slot("dadapt_adagrad: x0", f.n, x0));
    check_out("dadapt_adagrad", runs, &out);
    let [d, gsq_w, sksq_w, skl1, k] = *scalars;
    let dlr = d * cfg.base.lr;
    let (first, a, eps) = (t <= 1, dlr as f32, cfg.eps as f32);
    let (mut g_sq, mut sksq_change, mut skl1_change) = (0.0, 0.0, 0.0);
    // Pass 2 must see the same runs as the sums: the reference moves every parameter, lr 0 groups too.
    for r in runs {
        let (pp, gp, _) = f.at(r);
        let (alp, sp, xp) = (slot_at(als, r), slot_at(ss, r), slot_at(xs, r));
        let wd = (cfg.base.weight_decay * r.wd_scale) as f32;
        let [old_sq, old_l1, gq, new_sq, new_l1] = run_sums::<5>(r.len, |lo, hi, acc| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                unsafe {
                    let (pv, gv) = grad_wd::<L>(pp, gp, i, wd);
                    if first {
                        pv.store(xp.get().add(i));
                    }
                    let (s_old, al_old) = (L::load(sp.get().add(i)), L::load(alp.get().add(i)));
                    let den_old = al_old.sqrt().add(L::splat(eps));
                    let [a0, a1, a2, a3, a4] = acc;
                    x_each(a0, s_old.mul(s_old).div(den_old));
                    add_abs(a1, s_old);
                    let al = al_old.add(gv.mul(gv));
                    al.store(alp.get().add(i));
                    let den = al.sqrt().add(L::splat(eps));
                    x_each(a2, gv.mul(gv).div(den));
                    let sv = s_old.add(L::splat(a).mul(gv));
                    sv.store(sp.get().add(i));
                    x_each(a3, sv.mul(sv).div(den));
                    add_abs(a4, sv);
                }
            });
        });
        g_sq += gq;
        sksq_change += new_sq - old_sq;
        skl1_change += new_l1 - old_l1;
    }
    let (sksq_w, skl1) = (sksq_w + sksq_change, skl1 + skl1_change);
    if skl1 == 0.0 {
        return none_moved(runs, &mut out);
    }
    let gsq_w = gsq_w + dlr * dlr * g_sq;
    let d = if cfg.base.lr > 0.0 { cfg.base.grow(d, (sksq_w - gsq_w) / skl1) } else { d };
    *scalars = [d, gsq_w, sksq_w, skl1, k + 1.0];
    let (mu, ck, copy) = (cfg.momentum as f32, (1.0 - cfg.momentum) as f32, cfg.momentum == 0.0);
    for (j, r) in runs.iter().enumerate() {
        report(&mut out, j, dlr * r.lr_scale, 1.0);
        let (pp, _, dp) = f.at(r);
        let (alp, sp, xp) = (slot_at(als, r), slot_at(ss, r), slot_at(xs, r));
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as in pass 1.
                    unsafe {
                        let den = L::load(alp.get().add(i)).sqrt().add(L::splat(eps));
                        let z = L::load(xp.get().add(i)).sub(L::load(sp.get().add(i)).div(den));
                        averaged::<L>(pp, dp, i, z, mu, ck, copy)
                    }
                });
            });
        });
    }
}

/// Adds each lane of `x` (already a term of the sum) into `acc`.
#[inline(always)]
fn x_each<L: super::table::LaneSum>(acc: &mut [f64; 4], x: L) {
    x.each(|k, v| acc[k] += v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::parabola;

    #[test]
    fn each_variant_grows_d_and_solves_the_parabola_without_a_rate() {
        let n = 13;
        let w = [Run::whole(n)];
        let (mut a, mut b, mut c) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut sc = [1e-6, 0.0, 0.0];
        let adam = DAdaptAdam::default();
        let err = parabola::run(1500, |p, g, _| dadapt_adam_step(&adam, &mut sc, &w, p, g, &mut a, &mut b, &mut c, None, None));
        assert!(err < 5e-2 && sc[0] > 1e-3, "adam: {err} away, d {}", sc[0]);
        let (mut s, mut x0) = (vec![0.0f32; n], vec![0.0f32; n]);
        let mut sc = [1e-6, 0.0, 0.0, 0.0];
        let sgd = DAdaptSgd { momentum: 0.9, ..Default::default() };
        let err = parabola::run(1500, |p, g, t| dadapt_sgd_step(&sgd, t, &mut sc, &w, p, g, &mut s, &mut x0, None, None));
        assert!(err < 5e-2 && sc[0] > 1e-3, "sgd: {err} away, d {}", sc[0]);
        let (mut al, mut s, mut x0) = (vec![1e-6f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut sc = [1e-6, 0.0, 0.0, 0.0, 0.0];
        let ada = DAdaptAdagrad::default();
        let err = parabola::run(1500, |p, g, t| dadapt_adagrad_step(&ada, t, &mut sc, &w, p, g, &mut al, &mut s, &mut x0, None, None));
        assert!(err < 5e-2 && sc[0] > 1e-3, "adagrad: {err} away, d {}", sc[0]);
    }
}
