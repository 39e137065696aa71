//! SGD with momentum (Polyak) and Nesterov momentum (Sutskever et al. 2013), PyTorch semantics.
//!
//! ```text
//! g ← −g if maximize;  g ← g + wd·p
//! momentum μ > 0:  b ← g on the first step (no dampening), else b ← μ·b + (1-τ)·g   (τ: dampening)
//!                  nesterov: g ← g + μ·b      else g ← b
//! p ← p - lr·g
//! ```
//! PyTorch defaults: lr (required), μ 0, dampening 0, nesterov false, wd 0. (tfjs-core's
//! MomentumOptimizer keeps `b ← μ·b + g` from a zero buffer, which is the same when dampening is 0.)
//! Slot: `momentum_buffer` when μ > 0.

use super::{check_len, load_param_grad, opt_ptr, sign, store_param};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    pub maximize: bool,
}

impl Default for Sgd {
    /// PyTorch's defaults, with lr 1e-2 (PyTorch requires it).
    fn default() -> Self {
        Sgd { lr: 1e-2, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, maximize: false }
    }
}

/// One step `t` (1-based: step 1 initialises the momentum buffer with the gradient) over `p`, `g` and
/// `momentum_buf`, given exactly when momentum > 0; `delta` (optional) receives `p_new − p_old`.
pub fn sgd_step(cfg: &Sgd, t: u64, p: &mut [f32], g: &[f32], momentum_buf: Option<&mut [f32]>, delta: Option<&mut [f32]>) {
    let n = p.len();
    check_len("sgd: grad", n, g.len());
    let mb = opt_ptr("sgd: momentum_buffer", n, momentum_buf);
    let dp = opt_ptr("sgd: delta", n, delta);
    assert!(mb.is_some() == (cfg.momentum != 0.0), "sgd: momentum buffer must be given exactly when momentum > 0");
    let (neg_lr, wd, mu, omd) = ((-cfg.lr) as f32, cfg.weight_decay as f32, cfg.momentum as f32, (1.0 - cfg.dampening) as f32);
    let (first, nesterov, sgn) = (t <= 1, cfg.nesterov, sign(cfg.maximize));
    let (pp, gp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0, { dp = None, sgn = 1.0 }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
                unsafe {
                    let (pv, mut gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, sgn);
                    if let Some(mb) = mb {
                        let b = if first { gv } else { L::load(mb.get().add(i)).mul(L::splat(mu)).add(L::splat(omd).mul(gv)) };
                        b.store(mb.get().add(i));
                        gv = if nesterov { gv.add(L::splat(mu).mul(b)) } else { b };
                    }
                    store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_lr).mul(gv)));
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
        for (momentum, dampening, nesterov) in [(0.0, 0.0, false), (0.9, 0.0, false), (0.9, 0.5, false), (0.9, 0.0, true)] {
            let cfg = Sgd { lr: 0.05, momentum, dampening, nesterov, ..Default::default() };
            let mut mb = vec![0.0f32; 13];
            let err = crate::optim::parabola::run(2000, |p, g, t| sgd_step(&cfg, t, p, g, (momentum > 0.0).then_some(&mut mb[..]), None));
            assert!(err < 1e-3, "sgd {cfg:?} ended {err} away");
        }
    }

    #[test]
    fn first_step_copies_the_gradient_into_the_buffer() {
        let cfg = Sgd { lr: 0.1, momentum: 0.9, dampening: 0.5, ..Default::default() };
        let g = lanes::data(7, 1);
        let (mut p, mut b) = (vec![0.0f32; 7], vec![123.0f32; 7]);
        sgd_step(&cfg, 1, &mut p, &g, Some(&mut b), None);
        assert_eq!(b, g);
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for (momentum, dampening, nesterov, maximize) in [(0.9, 0.1, false, false), (0.9, 0.0, true, true), (0.0, 0.0, false, true)] {
            let cfg = Sgd { lr: 0.01, weight_decay: 0.1, momentum, dampening, nesterov, maximize };
            for n in [1, 3, 4, 5, 8, 10] {
                let init = [lanes::data(n, 3), vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, mb, d] = b else { unreachable!() };
                    sgd_step(&cfg, t, p, g, (momentum > 0.0).then_some(&mut mb[..]), Some(d));
                });
            }
        }
    }
}
