//! SWATS (Keskar & Socher 2017, "Improving Generalization Performance by Switching from Adam to SGD"):
//! Adam until the SGD rate that its steps project onto the gradient has stabilised, then momentum SGD at
//! that rate, as `torch-optimizer` 0.3.0's `SWATS` computes it.
//!
//! ```text
//! g ← g + wd·p                                                   (coupled L2, both phases)
//! Adam phase, per tensor:
//!   m ← β₁·m + (1−β₁)·g;   v ← β₂·v + (1−β₂)·g²                 (amsgrad: v̂ ← max(v̂, v), used below)
//!   u = −(lr·√(1−β₂ᵗ)/(1−β₁ᵗ))·m/(√v + ε);   p ← p + u           (ε outside the root, on the raw √v)
//!   u·g ≠ 0:  γ = u·u/(−u·g);   λ ← β₂·λ + (1−β₂)·γ;   Λ = λ/(1−β₂ᵗ)
//!             t > 1 and |Λ − γ| ≤ 1e-8 + 1e-6·|γ| and Λ > 0  →  the tensor's group switches to SGD at rate Λ
//! SGD phase, per tensor (β₁ the momentum):
//!   first SGD step:  b ← g;                 d = (1−β₁)·g,  nesterov: d ← d + β₁·b
//!   later:           b ← (1−β₁)·(β₁·b + g), nesterov: b ← b + β₁·b;   d = b
//!   p ← p − rate·d
//! ```
//! torch-optimizer defaults: lr 1e-3 (its docstring says 1e-2; the code has 1e-3), β (0.9, 0.999), ε 1e-3,
//! wd 0, amsgrad and nesterov false.
//!
//! Where the reference surprises, this follows it:
//! - The switch is decided per parameter group, by any one of its tensors, in tensor order: once a tensor
//!   switches its group, the group's later tensors take an SGD step in that same step, and the group's rate
//!   becomes that tensor's Λ (`param_group['lr']` is overwritten).
//! - The test is `torch.allclose(Λ, γ, rtol=1e-6)` with allclose's default atol 1e-8: for the small rates
//!   of large gradients (γ ≲ 1e-5) the absolute 1e-8 dominates, so a switch is far likelier there (the
//!   paper's own test is absolute too: |Λ − γ| < 1e-9).
//! - The SGD phase aliases its buffers in place: the momentum buffer starts as g (not (1−β₁)·g, which the
//!   first step applies), and later `grad = buf; grad.mul_(1−β₁)` scales the stored buffer itself, which
//!   nesterov's `grad.add_(buf, alpha=β₁)` then scales again by (1+β₁).
//! - Bias correction multiplies the rate by √(1−β₂ᵗ), ε staying on the uncorrected √v.
//!
//! Scalar state (f64): per run (one tensor each) [λ, 1 once its momentum buffer is set]; per group
//! [phase (0 Adam, 1 SGD), Λ, the step it switched at, the base lr then]. After the switch the group's rate
//! is Λ·lr/lr_then: Λ itself while the base rate stays, and it follows a schedule from the switch on (the
//! reference would leave the overwritten rate to whatever a scheduler then writes).
//! The dot products are f64 sums of exact f32 products in fixed chunks (`table::run_sums`), so the switch
//! is the same on any thread count; they are fused into the Adam pass (one pass per tensor).
//! Slots: `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq` (amsgrad), `momentum_buffer`. Telemetry per tensor:
//! rate lr in the Adam phase (lr·lrScale), the SGD rate after the switch.

use super::table::{add_dot, add_sq, check_out, report, run_sums, slot, slot_at, Flat, LaneSum, Run};
use super::{bias_correction, load_param_grad, opt_ptr, store_param};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;
use crate::{for_each_lane, unswitch};

#[derive(Clone, Copy, Debug)]
pub struct Swats {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    pub nesterov: bool,
}

impl Default for Swats {
    /// torch-optimizer's defaults.
    fn default() -> Self {
        Swats { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-3, weight_decay: 0.0, amsgrad: false, nesterov: false }
    }
}

/// f64s of scalar state per run: λ (the moving average of γ) and whether its momentum buffer is set.
pub const RUN_SCALARS: usize = 2;
/// f64s of scalar state per parameter group: phase (0 Adam, 1 SGD), Λ, the switch step, the base lr then.
pub const GROUP_SCALARS: usize = 4;

/// The length of the scalar state for `runs` runs in `groups` groups (all zero before the first step).
pub fn scalars_len(runs: usize, groups: usize) -> usize {
    runs * RUN_SCALARS + groups * GROUP_SCALARS
}

/// The reference's switch test: `torch.allclose(corrected, scaling, rtol=1e-6)` (atol 1e-8), and Λ > 0.
pub fn switches(t: u64, corrected: f64, scaling: f64) -> bool {
    t > 1 && (corrected - scaling).abs() <= 1e-8 + 1e-6 * scaling.abs() && corrected > 0.0
}

/// The state slots, all parallel to the parameters; `max_exp_avg_sq` exactly when amsgrad.
pub struct SwatsSlots<'a> {
    pub exp_avg: &'a mut [f32],
    pub exp_avg_sq: &'a mut [f32],
    pub max_exp_avg_sq: Option<&'a mut [f32]>,
    pub momentum_buffer: &'a mut [f32],
}

/// One step `t` (1-based) over every run (each run one tensor); `groups[k]` is run k's parameter group
/// (< the number of groups in `scalars`, see `scalars_len`); `out` (optional) receives each run's rate.
#[allow(clippy::too_many_arguments)]
pub fn swats_step(
    cfg: &Swats, t: u64, scalars: &mut [f64], runs: &[Run], groups: &[usize], p: &mut [f32], g: &[f32], slots: SwatsSlots,
    delta: Option<&mut [f32]>, mut out: Option<&mut [f64]>,
) {
    let f = Flat::new("swats", p, g, delta);
    let (ms, vs, bs) = (
        slot("swats: exp_avg", f.n, slots.exp_avg),
        slot("swats: exp_avg_sq", f.n, slots.exp_avg_sq),
        slot("swats: momentum_buffer", f.n, slots.momentum_buffer),
    );
    let vms = opt_ptr("swats: max_exp_avg_sq", f.n, slots.max_exp_avg_sq);
    assert!(vms.is_some() == cfg.amsgrad, "swats: max_exp_avg_sq must be given exactly when amsgrad");
    assert_eq!(groups.len(), runs.len(), "swats: one group index per run");
    let (per_run, per_group) = scalars.split_at_mut(runs.len() * RUN_SCALARS);
    assert!(per_group.len() % GROUP_SCALARS == 0, "swats: scalars hold {} values, not {} per run and {} per group", scalars.len(), RUN_SCALARS, GROUP_SCALARS);
    let ngroups = per_group.len() / GROUP_SCALARS;
    assert!(groups.iter().all(|&k| k < ngroups), "swats: a group index is not below {ngroups}");
    check_out("swats", runs, &out);
    let (bc1, bc2) = (bias_correction(cfg.beta1, t), bias_correction(cfg.beta2, t));
    let (b1, omb1, b2, omb2, eps) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32, cfg.beta2 as f32, (1.0 - cfg.beta2) as f32, cfg.eps as f32);
    for (k, r) in runs.iter().enumerate() {
        let (pp, gp, dp) = f.at(r);
        let (mp, vp, bp, vmp) = (slot_at(ms, r), slot_at(vs, r), slot_at(bs, r), vms.map(|v| slot_at(v, r)));
        let wd = (cfg.weight_decay * r.wd_scale) as f32;
        let run = &mut per_run[k * RUN_SCALARS..(k + 1) * RUN_SCALARS];
        let group = &mut per_group[groups[k] * GROUP_SCALARS..(groups[k] + 1) * GROUP_SCALARS];
        if group[0] != 0.0 {
            let rate = group[1] * (cfg.lr / group[3]);
            report(&mut out, k, rate, 1.0);
            let (first, nesterov, neg_rate) = (run[1] == 0.0, cfg.nesterov, (-rate) as f32);
            run[1] = 1.0;
            par::for_each_range(r.len, |lo, hi| {
                unswitch!(dp.is_none(), { dp = None }, {
                    for_each_lane!(lo, hi, |i, L| {
                        // SAFETY: for_each_lane keeps i + L::WIDTH <= r.len; every buffer holds the run.
                        unsafe { sgd_element::<L>(pp, gp, bp, dp, i, [wd, b1, omb1, neg_rate], first, nesterov) }
                    });
                });
            });
            continue;
        }
        let lr = cfg.lr * r.lr_scale;
        report(&mut out, k, lr, 1.0);
        let neg_step = (-(lr * bc2.sqrt() / bc1)) as f32;
        // The Adam step, with Σu·g and Σu² of the update it applied.
        let [ug, uu] = run_sums::<2>(r.len, |lo, hi, acc| {
            unswitch!(dp.is_none(), { dp = None }, {
                for_each_lane!(lo, hi, |i, L| {
                    // SAFETY: as above.
                    unsafe { adam_element::<L>(pp, gp, mp, vp, vmp, dp, i, [wd, b1, omb1, b2, omb2, eps, neg_step], acc) }
                });
            });
        });
        if ug != 0.0 {
            let scaling = uu / -ug;
            run[0] = cfg.beta2 * run[0] + (1.0 - cfg.beta2) * scaling;
            let corrected = run[0] / bc2;
            if switches(t, corrected, scaling) {
                group.copy_from_slice(&[1.0, corrected, t as f64, cfg.lr]);
            }
        }
    }
}

/// One lane group of the Adam phase (PyTorch's operation order); adds u·g and u² into `acc`.
/// `k` = [wd, β₁, 1−β₁, β₂, 1−β₂, ε, −lr·√(1−β₂ᵗ)/(1−β₁ᵗ)].
///
/// # Safety
/// Every pointer readable (and p, m, v, v̂, delta writable) at `i..i + L::WIDTH`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn adam_element<L: LaneSum>(
    pp: SyncPtr<f32>, gp: SyncPtr<f32>, mp: SyncPtr<f32>, vp: SyncPtr<f32>, vmp: Option<SyncPtr<f32>>, dp: Option<SyncPtr<f32>>, i: usize,
    k: [f32; 7], acc: &mut [[f64; 4]; 2],
) {
    let [wd, b1, omb1, b2, omb2, eps, neg_step] = k;
    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, 1.0);
    let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
    mv.store(mp.get().add(i));
    let mut vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
    vv.store(vp.get().add(i));
    if let Some(vm) = vmp {
        vv = L::load(vm.get().add(i)).max(vv);
        vv.store(vm.get().add(i));
    }
    let u = mv.div(vv.sqrt().add(L::splat(eps))).mul(L::splat(neg_step));
    store_param(pp.get(), dp, i, pv, pv.add(u));
    add_dot(&mut acc[0], u, gv);
    add_sq(&mut acc[1], u);
}

/// One lane group of the SGD phase, the reference's in-place aliasing included (module comment);
/// `k` = [wd, β₁, 1−β₁, −rate].
///
/// # Safety
/// Every pointer readable (and p, b, delta writable) at `i..i + L::WIDTH`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn sgd_element<L: Lane>(pp: SyncPtr<f32>, gp: SyncPtr<f32>, bp: SyncPtr<f32>, dp: Option<SyncPtr<f32>>, i: usize, k: [f32; 4], first: bool, nesterov: bool) {
    let [wd, b1, omb1, neg_rate] = k;
    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, 1.0);
    let d = if first {
        gv.store(bp.get().add(i));
        let d = gv.mul(L::splat(omb1));
        if nesterov {
            d.add(L::splat(b1).mul(gv))
        } else {
            d
        }
    } else {
        let b = L::load(bp.get().add(i)).mul(L::splat(b1)).add(gv).mul(L::splat(omb1));
        let b = if nesterov { b.add(L::splat(b1).mul(b)) } else { b };
        b.store(bp.get().add(i));
        b
    };
    store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_rate).mul(d)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    /// One step with the slots in `b` = [exp_avg, exp_avg_sq, max_exp_avg_sq, momentum_buffer].
    #[allow(clippy::too_many_arguments)]
    fn step(cfg: &Swats, t: u64, sc: &mut [f64], runs: &[Run], groups: &[usize], p: &mut [f32], g: &[f32], b: &mut [Vec<f32>], d: Option<&mut [f32]>) {
        let [m, v, vm, mb] = b else { unreachable!() };
        let slots = SwatsSlots { exp_avg: m, exp_avg_sq: v, max_exp_avg_sq: cfg.amsgrad.then_some(&mut vm[..]), momentum_buffer: mb };
        swats_step(cfg, t, sc, runs, groups, p, g, slots, d, None);
    }

    #[test]
    fn a_constant_gradient_switches_at_step_2_and_carries_lr_per_mean_abs_gradient() {
        // g constant and ε → 0: every Adam step is −lr·sign(g), so γ = lr·n/Σ|g| from step 1 on, Λ = γ at step 2,
        // and the SGD phase then steps by Λ·(1−β₁)·g.
        let cfg = Swats { lr: 0.01, eps: 1e-12, ..Default::default() };
        let n = 6;
        let g: Vec<f32> = (0..n).map(|i| (i as f32 - 2.5) * 0.4).collect();
        let want = 0.01 * n as f64 / g.iter().map(|x| x.abs() as f64).sum::<f64>();
        let mut sc = vec![0.0; scalars_len(1, 1)];
        let (mut p, mut b) = (vec![1.0f32; n], vec![vec![0.0; n]; 4]);
        step(&cfg, 1, &mut sc, &[Run::whole(n)], &[0], &mut p, &g, &mut b, None);
        assert_eq!(sc[2], 0.0, "no switch at step 1");
        step(&cfg, 2, &mut sc, &[Run::whole(n)], &[0], &mut p, &g, &mut b, None);
        assert_eq!(&sc[2..5], &[1.0, sc[3], 2.0]);
        assert!((sc[3] - want).abs() < 1e-6 * want, "{} vs {want}", sc[3]);
        let before = p.clone();
        step(&cfg, 3, &mut sc, &[Run::whole(n)], &[0], &mut p, &g, &mut b, None);
        for i in 0..n {
            let d = (p[i] - before[i]) as f64;
            let w = -sc[3] * 0.1 * g[i] as f64;
            // p ≈ 1: the difference of two f32 values there is good to an ulp (1.2e-7).
            assert!((d - w).abs() < 1.5e-7, "{i}: {d} vs {w}");
        }
        assert_eq!(b[3], g, "the first SGD step stores g itself as the momentum buffer");
    }

    #[test]
    fn a_switch_moves_the_rest_of_its_group_to_sgd_in_the_same_step_and_no_other_group() {
        let cfg = Swats { lr: 0.01, eps: 1e-12, ..Default::default() };
        let n = 12;
        let g: Vec<f32> = (0..n).map(|i| (i as f32 - 5.5) * 0.3).collect();
        let runs = [Run { offset: 0, len: 4, ..Run::whole(4) }, Run { offset: 4, len: 4, ..Run::whole(4) }, Run { offset: 8, len: 4, ..Run::whole(4) }];
        // Runs 0 and 1 in group 0, run 2 in group 1; run 2's gradient changes every step, so it never switches.
        let mut sc = vec![0.0; scalars_len(3, 2)];
        let (mut p, mut b) = (vec![1.0f32; n], vec![vec![0.0; n]; 4]);
        for t in 1..=2 {
            let gt: Vec<f32> = g.iter().enumerate().map(|(i, &x)| if i >= 8 { x * (1.0 + t as f32) } else { x }).collect();
            step(&cfg, t, &mut sc, &runs, &[0, 0, 1], &mut p, &gt, &mut b, None);
        }
        assert_eq!(sc[6], 1.0, "group 0 switched");
        assert_eq!(sc[10], 0.0, "group 1 did not");
        assert_eq!([sc[1], sc[3]], [0.0, 1.0], "run 1 took its first SGD step at the switch step, run 0 not yet");
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise_in_either_phase() {
        for (amsgrad, nesterov, sgd) in [(false, false, false), (true, false, false), (false, true, true), (false, false, true)] {
            let cfg = Swats { lr: 0.01, weight_decay: 0.1, amsgrad, nesterov, ..Default::default() };
            for n in [1, 3, 4, 6, 9] {
                let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let (p, rest) = b.split_first_mut().unwrap();
                    let (d, slots) = rest.split_last_mut().unwrap();
                    // SGD from the start (a group already switched at rate 0.02), or Adam with no switch possible
                    // (t ≤ 3 steps of this data never meet the test; checked below).
                    let mut sc = vec![0.0; scalars_len(1, 1)];
                    if sgd {
                        sc[1] = (t > 1) as u8 as f64;
                        sc[2..6].copy_from_slice(&[1.0, 0.02, 1.0, cfg.lr]);
                    }
                    step(&cfg, t, &mut sc, &[Run::whole(p.len())], &[0], p, g, slots, Some(d));
                    assert_eq!(sc[2], sgd as u8 as f64, "phase");
                });
            }
        }
    }
}
