//! Prodigy (Mishchenko & Defazio 2024, "Prodigy: An Expeditiously Adaptive Parameter-Free Learner"), as
//! `prodigyopt` 1.1.2's `Prodigy` computes it: Adam whose step is scaled by an estimate d of the distance
//! to the solution, grown from d₀ by a global ratio over every parameter.
//!
//! ```text
//! c = √(1−β₂ᵏ⁺¹)/(1−β₁ᵏ⁺¹) with use_bias_correction, else 1;   dlr = d·lr·c;   β₃ = β₃ or √β₂
//! pass 1, every tensor:  g ← g + wd·p (coupled, unless decouple)
//!     num += (d/d₀)·dlr·⟨g, p₀ − p⟩                          (p₀: the parameters at the first step)
//!     m ← β₁·m + d(1−β₁)·g;   v ← β₂·v + d²(1−β₂)·g²
//!     s ← β₃·s + (d/d₀)·(safeguard_warmup ? d : dlr)·g;   den += Σ|s|
//! den = 0: stop here (no parameter moves; the reference returns early)
//! r ← β₃·r + num;   d̂ = d_coef·r/den;   d = max(d, d̂) while d = d₀;   d_max ← max(d_max, d̂);
//! d ← min(d_max, d·growth_rate)
//! pass 2:  decouple: p ← p − wd·dlr·p;   p ← p − dlr·m/(√v + d·ε)   (β₁ = 0: p ← p − dlr·d·g/(√v + d·ε))
//! k ← k + 1
//! ```
//! prodigyopt defaults: lr 1, β (0.9, 0.999), β₃ None, ε 1e-8, wd 0, decouple true, use_bias_correction
//! false, safeguard_warmup false, d₀ 1e-6, d_coef 1, growth_rate ∞ (slice_p 1 only). Sums in f64 (fixed
//! chunks per run, runs in order; the reference's are float32 `dot`/`sum` read out as Python floats).
//! Runs with lr scale 0 are skipped in pass 1, as the reference skips groups of lr 0; other scales
//! multiply the run's step (the reference allows only one lr).
//! Slots: `p0`, `s`, `exp_avg` (when β₁ > 0), `exp_avg_sq`. Scalar state: [d, d_max, r (d_numerator), k].
//! Telemetry per run: the applied rate dlr·lr scale (the step is dlr·m̂/(√v + d·ε)).

use super::table::{add_abs, add_dot, check_out, report, run_sums, slot, slot_at, Flat, Run};
use super::{opt_ptr, store_param};
use crate::par;
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct Prodigy {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// None: √β₂.
    pub beta3: Option<f64>,
    pub eps: f64,
    pub weight_decay: f64,
    pub decouple: bool,
    pub use_bias_correction: bool,
    pub safeguard_warmup: bool,
    pub d0: f64,
    pub d_coef: f64,
    pub growth_rate: f64,
}

impl Default for Prodigy {
    /// prodigyopt's defaults.
    fn default() -> Self {
        Prodigy {
            lr: 1.0,
            beta1: 0.9,
            beta2: 0.999,
            beta3: None,
            eps: 1e-8,
            weight_decay: 0.0,
            decouple: true,
            use_bias_correction: false,
            safeguard_warmup: false,
            d0: 1e-6,
            d_coef: 1.0,
            growth_rate: f64::INFINITY,
        }
    }
}

/// Prodigy's scalar state: [d, d_max, d_numerator, k] (as the exports' f64 array).
pub const PRODIGY_SCALARS: usize = 4;

impl Prodigy {
    /// The scalar state before the first step.
    pub fn initial_scalars(&self) -> [f64; PRODIGY_SCALARS] {
        [self.d0, self.d0, 0.0, 0.0]
    }
}

/// Slots of Prodigy, each parallel to the parameters; `exp_avg` exactly when β₁ > 0.
pub struct ProdigySlots<'a> {
    pub p0: &'a mut [f32],
    pub s: &'a mut [f32],
    pub exp_avg: Option<&'a mut [f32]>,
    pub exp_avg_sq: &'a mut [f32],
}

/// One step `t` (1-based; step 1 records p₀) over every run; `scalars` is the state above, updated.
#[allow(clippy::too_many_arguments)]
pub fn prodigy_step(
    cfg: &Prodigy, t: u64, scalars: &mut [f64; PRODIGY_SCALARS], runs: &[Run], p: &mut [f32], g: &[f32], slots: ProdigySlots,
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("prodigy", p, g, delta);
    let (p0s, ss, vs) = (slot("prodigy: p0", f.n, slots.p0), slot("prodigy: s", f.n, slots.s), slot("prodigy: exp_avg_sq", f.n, slots.exp_avg_sq));
    let ms = opt_ptr("prodigy: exp_avg", f.n, slots.exp_avg);
    assert!(ms.is_some() == (cfg.beta1 > 0.0), "prodigy: exp_avg must be given exactly when beta1 > 0");
    check_out("prodigy", runs, &out);
    let [mut d, mut d_max, d_num, k] = *scalars;
    let (b1, b2) = (cfg.beta1, cfg.beta2);
    let b3 = cfg.beta3.unwrap_or(b2.sqrt());
    let c = if cfg.use_bias_correction { (1.0 - b2.powf(k + 1.0)).sqrt() / (1.0 - b1.powf(k + 1.0)) } else { 1.0 };
    let dlr = d * cfg.lr * c;
    let coupled = if cfg.decouple { 0.0 } else { cfg.weight_decay };
    let first = t <= 1;
    let (m_b, m_a) = (b1 as f32, (d * (1.0 - b1)) as f32);
    let (v_b, v_a) = (b2 as f32, (d * d * (1.0 - b2)) as f32);
    let (s_b, s_a) = (b3 as f32, ((d / cfg.d0) * if cfg.safeguard_warmup { d } else { dlr }) as f32);
    // Pass 1: moments, s, and the two global sums, run by run in order.
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for r in runs.iter().filter(|r| r.lr_scale != 0.0) {
        let (pp, gp, _) = f.at(r);
        let (p0p, sp, vp, mp) = (slot_at(p0s, r), slot_at(ss, r), slot_at(vs, r), ms.map(|m| slot_at(m, r)));
        let wd = (coupled * r.wd_scale) as f32;
        let [dot, abs_s] = run_sums::<2>(r.len, |lo, hi, acc| {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                unsafe {
                    let pv = L::load(pp.get().add(i));
                    let mut gv = L::load(gp.get().add(i));
                    if wd != 0.0 {
                        gv = gv.add(L::splat(wd).mul(pv));
                    }
                    if first {
                        pv.store(p0p.get().add(i));
                    }
                    add_dot(&mut acc[0], gv, L::load(p0p.get().add(i)).sub(pv));
                    if let Some(mp) = mp {
                        L::load(mp.get().add(i)).mul(L::splat(m_b)).add(L::splat(m_a).mul(gv)).store(mp.get().add(i));
                    }
                    L::load(vp.get().add(i)).mul(L::splat(v_b)).add(L::splat(v_a).mul(gv).mul(gv)).store(vp.get().add(i));
                    let sv = L::load(sp.get().add(i)).mul(L::splat(s_b)).add(L::splat(s_a).mul(gv));
                    sv.store(sp.get().add(i));
                    add_abs(&mut acc[1], sv);
                }
            });
        });
        num += (d / cfg.d0) * dlr * dot;
        den += abs_s;
    }
    if den == 0.0 {
        for (j, _) in runs.iter().enumerate() {
            report(&mut out, j, 0.0, 1.0);
        }
        return;
    }
    let d_num = b3 * d_num + num;
    if cfg.lr > 0.0 {
        let d_hat = cfg.d_coef * d_num / den;
        if d == cfg.d0 {
            d = d.max(d_hat);
        }
        d_max = d_max.max(d_hat);
        d = d_max.min(d * cfg.growth_rate);
    }
    *scalars = [d, d_max, d_num, k + 1.0];
    // Pass 2: the parameters, with the new d in the denominator and the old dlr as the rate.
    let eps_d = (d * cfg.eps) as f32;
    for (j, r) in runs.iter().enumerate() {
        report(&mut out, j, dlr * r.lr_scale, 1.0);
        let (pp, gp, dp) = f.at(r);
        let (vp, mp) = (slot_at(vs, r), ms.map(|m| slot_at(m, r)));
        let rate = dlr * r.lr_scale;
        let decay = if cfg.decouple { (-cfg.weight_decay * r.wd_scale * rate) as f32 } else { 0.0 };
        let step = if mp.is_some() { (-rate) as f32 } else { (-rate * d) as f32 };
        let wd = (coupled * r.wd_scale) as f32;
        par::for_each_range(r.len, |lo, hi| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as in pass 1.
                    unsafe {
                        let p_old = L::load(pp.get().add(i));
                        let denom = L::load(vp.get().add(i)).sqrt().add(L::splat(eps_d));
                        let pv = if decay != 0.0 { p_old.add(L::splat(decay).mul(p_old)) } else { p_old };
                        let num = match mp {
                            Some(mp) => L::load(mp.get().add(i)),
                            None => {
                                let gv = L::load(gp.get().add(i));
                                if wd != 0.0 { gv.add(L::splat(wd).mul(p_old)) } else { gv }
                            }
                        };
                        store_param(pp.get(), dp, i, p_old, pv.add(L::splat(step).mul(num).div(denom)));
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

    fn run_parabola(cfg: &Prodigy, steps: usize) -> (f32, [f64; 4]) {
        let n = 13;
        let (mut p0, mut s, mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut sc = cfg.initial_scalars();
        let err = crate::optim::parabola::run(steps, |p, g, t| {
            let slots = ProdigySlots { p0: &mut p0, s: &mut s, exp_avg: (cfg.beta1 > 0.0).then_some(&mut m[..]), exp_avg_sq: &mut v };
            prodigy_step(cfg, t, &mut sc, &[Run::whole(n)], p, g, slots, None, None);
        });
        (err, sc)
    }

    #[test]
    fn d_grows_from_d0_and_the_parabola_is_solved_without_a_rate() {
        let (err, sc) = run_parabola(&Prodigy::default(), 800);
        assert!(sc[0] > 1e-3, "d stayed at {}", sc[0]);
        assert!(err < 5e-2, "ended {err} away (d {})", sc[0]);
    }

    #[test]
    fn a_zero_gradient_moves_nothing_and_keeps_d() {
        let cfg = Prodigy::default();
        let n = 6;
        let (mut p, mut p0, mut s, mut m, mut v) = (lanes::data(n, 1), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let before = p.clone();
        let mut sc = cfg.initial_scalars();
        let slots = ProdigySlots { p0: &mut p0, s: &mut s, exp_avg: Some(&mut m), exp_avg_sq: &mut v };
        prodigy_step(&cfg, 1, &mut sc, &[Run::whole(n)], &mut p, &vec![0.0; n], slots, None, None);
        assert_eq!((p, sc), (before, cfg.initial_scalars()));
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise_at_d0() {
        // A tiny d_coef keeps d̂ < d₀, so d stays d₀ and the step is elementwise (d no longer depends on the sums).
        let cfg = Prodigy { d_coef: 1e-30, weight_decay: 0.1, decouple: false, lr: 0.5, ..Default::default() };
        for n in [1, 3, 4, 6, 9] {
            let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            let mut sc = cfg.initial_scalars();
            lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                let [p, p0, s, m, v, d] = b else { unreachable!() };
                if t == 1 {
                    sc = cfg.initial_scalars();
                }
                let slots = ProdigySlots { p0, s, exp_avg: Some(m), exp_avg_sq: v };
                prodigy_step(&cfg, t, &mut sc, &[Run::whole(p.len())], p, g, slots, Some(d), None);
            });
        }
    }
}
