//! Adam (Kingma & Ba 2015) with optional AMSGrad, PyTorch semantics.
//!
//! ```text
//! g ← g + wd·p                                   (L2 weight decay, coupled; AdamW comes later)
//! m ← β₁·m + (1-β₁)·g
//! v ← β₂·v + (1-β₂)·g²                (amsgrad: v̂max ← max(v̂max, v), used below instead of v)
//! p ← p - (lr / (1-β₁ᵗ)) · m / (√v / √(1-β₂ᵗ) + ε)  (ε outside the root, after bias correction)
//! ```
//! PyTorch defaults: lr 1e-3, β (0.9, 0.999), ε 1e-8, wd 0, amsgrad false.

use super::{check_len, load_param_grad};
use crate::for_each_lane;
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adam {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

/// One step `t` (1-based) over `p`, `g`, the moments `m`, `v`, and `v_max` when amsgrad.
pub fn adam_step(cfg: &Adam, t: u64, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], v_max: Option<&mut [f32]>) {
    let n = p.len();
    check_len("adam: grad", n, g.len());
    check_len("adam: exp_avg", n, m.len());
    check_len("adam: exp_avg_sq", n, v.len());
    let vm = v_max.map(|s| {
        check_len("adam: max_exp_avg_sq", n, s.len());
        SyncPtr(s.as_mut_ptr())
    });
    let t = t.max(1) as i32;
    let bc1 = 1.0 - cfg.beta1.powi(t);
    let bc2_sqrt = (1.0 - cfg.beta2.powi(t)).sqrt() as f32;
    let neg_step = (-(cfg.lr / bc1)) as f32;
    let (b1, omb1) = (cfg.beta1 as f32, (1.0 - cfg.beta1) as f32);
    let (b2, omb2) = (cfg.beta2 as f32, (1.0 - cfg.beta2) as f32);
    let (eps, wd) = (cfg.eps as f32, cfg.weight_decay as f32);
    let (pp, gp, mp, vp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(m.as_mut_ptr()), SyncPtr(v.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        for_each_lane!(lo, hi, |i, L| {
            // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
            unsafe {
                let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd);
                let mv = L::load(mp.get().add(i)).mul(L::splat(b1)).add(L::splat(omb1).mul(gv));
                mv.store(mp.get().add(i));
                let mut vv = L::load(vp.get().add(i)).mul(L::splat(b2)).add(L::splat(omb2).mul(gv).mul(gv));
                vv.store(vp.get().add(i));
                if let Some(vm) = vm {
                    vv = L::load(vm.get().add(i)).max(vv);
                    vv.store(vm.get().add(i));
                }
                let denom = vv.sqrt().div(L::splat(bc2_sqrt)).add(L::splat(eps));
                pv.add(L::splat(neg_step).mul(mv).div(denom)).store(pp.get().add(i));
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_on_a_parabola_with_and_without_amsgrad() {
        for amsgrad in [false, true] {
            let cfg = Adam { lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
            let (mut m, mut v, mut vm) = (vec![0.0f32; 13], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(1500, |p, g, t| {
                adam_step(&cfg, t, p, g, &mut m, &mut v, amsgrad.then_some(&mut vm[..]))
            });
            assert!(err < 1e-2, "adam amsgrad={amsgrad} ended {err} away");
        }
    }

    #[test]
    fn first_step_moves_each_parameter_by_lr() {
        // With bias correction, step 1 is lr·g/(|g| + ε·…) ≈ lr·sign(g): the textbook sanity check.
        let cfg = Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
        let mut p = vec![1.0f32, -2.0, 0.5, 3.0, 7.0];
        let g = vec![0.3f32, -4.0, 1e-3, 2.0, -0.5];
        let (mut m, mut v) = (vec![0.0; 5], vec![0.0; 5]);
        adam_step(&cfg, 1, &mut p, &g, &mut m, &mut v, None);
        let want = [1.0 - 1e-3, -2.0 + 1e-3, 0.5 - 1e-3, 3.0 - 1e-3, 7.0 + 1e-3];
        for (a, b) in p.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
