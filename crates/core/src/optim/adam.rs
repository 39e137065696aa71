//! Adam (Kingma & Ba 2015) with optional AMSGrad, and AdamW (Loshchilov & Hutter 2019), PyTorch semantics.
//!
//! ```text
//! g ← −g if maximize
//! Adam:  g ← g + wd·p                         (L2 weight decay, coupled)
//! AdamW: p ← p·(1 − lr·wd)                     (decoupled, applied first; g untouched)
//! m ← β₁·m + (1-β₁)·g
//! v ← β₂·v + (1-β₂)·g²               (amsgrad: v_max ← max(v_max, v), used below instead of v)
//! Outside (PyTorch, tfjs):  p ← p - (lr / (1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + ε)   = p − lr·m̂/(√v̂ + ε)
//! Inside  (Optax eps_root): p ← p - (lr / (1-β₁ᵗ)) · m / √(v / (1-β₂ᵗ) + ε)     = p − lr·m̂/√(v̂ + ε)
//! ```
//! PyTorch defaults: lr 1e-3, β (0.9, 0.999), ε 1e-8, wd 0 (AdamW: 1e-2), amsgrad false.
//! (tfjs-core's AdamOptimizer has ε outside, like PyTorch, with ε 1e-7.)
//! Slots: `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` when amsgrad.

use super::{bias_correction, check_len, load_param_grad, opt_ptr, sign, store_param, EpsMode};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub amsgrad: bool,
    /// AdamW: weight decay scales p by (1 − lr·wd) before the update instead of adding wd·p to g.
    pub decoupled_weight_decay: bool,
    pub eps_mode: EpsMode,
    pub maximize: bool,
}

impl Default for Adam {
    /// PyTorch's Adam defaults.
    fn default() -> Self {
        Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled_weight_decay: false,
            eps_mode: EpsMode::Outside,
            maximize: false,
        }
    }
}

impl Adam {
    /// PyTorch's AdamW defaults (weight decay 1e-2, decoupled).
    pub fn adamw() -> Self {
        Adam { weight_decay: 1e-2, decoupled_weight_decay: true, ..Default::default() }
    }
}

/// One step `t` (1-based) over `p`, `g`, the moments `m`, `v`, and `v_max` exactly when amsgrad;
/// `delta` (optional) receives `p_new − p_old`.
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    cfg: &Adam,
    t: u64,
    p: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    v_max: Option<&mut [f32]>,
    delta: Option<&mut [f32]>,
) {
    let n = p.len();
    check_len("adam: grad", n, g.len());
    check_len("adam: exp_avg", n, m.len());
    check_len("adam: exp_avg_sq", n, v.len());
    let vm = opt_ptr("adam: max_exp_avg_sq", n, v_max);
    let dp = opt_ptr("adam: delta", n, delta);
    assert!(vm.is_some() == cfg.amsgrad, "adam: max_exp_avg_sq must be given exactly when amsgrad");
    let bc1 = bias_correction(cfg.beta1, t);
    let bc2 = bias_correction(cfg.beta2, t);
    // One branch-free denominator √(v·s + ε_in)/r + ε_out for both modes: Outside (PyTorch) is s = 1,
    // ε_in = 0, r = √(1-β₂ᵗ) (bitwise √v/r + ε); Inside is s = 1/(1-β₂ᵗ), r = 1, ε_out = 0.
    let (inv_bc2, bc2_sqrt) = match cfg.eps_mode {
        EpsMode::Outside => (1.0f32, bc2.sqrt() as f32),
        EpsMode::Inside => ((1.0 / bc2) as f32, 1.0f32),
    };
    let (eps_in, eps_out) = cfg.eps_mode.split(cfg.eps as f32);
    let neg_step = (-(cfg.lr / bc1)) as f32;
    let (b1, omb1) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32);
    let (b2, omb2) = (cfg.beta2 as f32, (1.0 - cfg.beta2) as f32);
    let (coupled_wd, decay) = match cfg.decoupled_weight_decay {
        false => (cfg.weight_decay as f32, 1.0f32),
        true => (0.0, (1.0 - cfg.lr * cfg.weight_decay) as f32),
    };
    let sgn = sign(cfg.maximize);
    let (pp, gp, mp, vp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(m.as_mut_ptr()), SyncPtr(v.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0 && decay == 1.0 && cfg.eps_mode == EpsMode::Outside, { dp = None, sgn = 1.0, decay = 1.0, inv_bc2 = 1.0, eps_in = -0.0 }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
                unsafe {
                    let (p_old, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, coupled_wd, sgn);
                    // AdamW's decay; exact for Adam (p·1 = p), and cheaper than a branch.
                    let pv = p_old.mul(L::splat(decay));
                    let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
                    mv.store(mp.get().add(i));
                    let mut vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
                    vv.store(vp.get().add(i));
                    if let Some(vm) = vm {
                        vv = L::load(vm.get().add(i)).max(vv);
                        vv.store(vm.get().add(i));
                    }
                    let denom = vv.mul(L::splat(inv_bc2)).add(L::splat(eps_in)).sqrt().div(L::splat(bc2_sqrt)).add(L::splat(eps_out));
                    store_param(pp.get(), dp, i, p_old, pv.add(L::splat(neg_step).mul(mv).div(denom)));
                }
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn converges_on_a_parabola_in_every_variant() {
        for (amsgrad, decoupled_weight_decay, eps_mode) in
            [(false, false, EpsMode::Outside), (true, false, EpsMode::Outside), (false, true, EpsMode::Outside), (true, false, EpsMode::Inside)]
        {
            let cfg = Adam { lr: 0.05, amsgrad, decoupled_weight_decay, eps_mode, ..Default::default() };
            let (mut m, mut v, mut vm) = (vec![0.0f32; 13], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(1500, |p, g, t| {
                adam_step(&cfg, t, p, g, &mut m, &mut v, amsgrad.then_some(&mut vm[..]), None)
            });
            assert!(err < 1e-2, "adam {cfg:?} ended {err} away");
        }
    }

    #[test]
    fn first_step_moves_each_parameter_by_lr() {
        // With bias correction, step 1 is lr·g/(|g| + ε·…) ≈ lr·sign(g): the textbook sanity check.
        let cfg = Adam::default();
        let mut p = vec![1.0f32, -2.0, 0.5, 3.0, 7.0];
        let g = vec![0.3f32, -4.0, 1e-3, 2.0, -0.5];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        adam_step(&cfg, 1, &mut p, &g, &mut m, &mut v, None, None);
        let want = [1.0 - 1e-3, -2.0 + 1e-3, 0.5 - 1e-3, 3.0 - 1e-3, 7.0 + 1e-3];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn adamw_decays_the_parameter_not_the_gradient() {
        // With g = 0 the moments stay 0, so AdamW only shrinks p by (1 − lr·wd); coupled Adam moves it by lr.
        let mut p = vec![2.0f32; 5];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        let cfg = Adam { lr: 0.1, weight_decay: 0.5, ..Adam::adamw() };
        adam_step(&cfg, 1, &mut p, &[0.0; 5], &mut m, &mut v, None, None);
        assert!(p.iter().all(|&x| x == 2.0 * 0.95f32));
        assert!(m.iter().chain(&v).all(|&x| x == 0.0));
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for (amsgrad, decoupled_weight_decay, eps_mode, maximize) in
            [(true, false, EpsMode::Outside, false), (true, true, EpsMode::Inside, true), (false, true, EpsMode::Outside, false)]
        {
            let cfg = Adam { lr: 0.01, weight_decay: 0.1, amsgrad, decoupled_weight_decay, eps_mode, maximize, ..Default::default() };
            for n in [1, 3, 4, 6, 9, 12] {
                let init = [lanes::data(n, 2), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, m, v, vm, d] = b else { unreachable!() };
                    adam_step(&cfg, t, p, g, m, v, amsgrad.then_some(&mut vm[..]), Some(d));
                });
            }
        }
    }
}
