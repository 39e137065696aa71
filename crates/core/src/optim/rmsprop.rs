//! RMSprop (Hinton 2012), PyTorch semantics, with Keras's conventions as options.
//!
//! ```text
//! g  ← −g if maximize;  g ← g + wd·p
//! v  ← α·v + (1-α)·g²
//! centered:  ḡ ← α·ḡ + (1-α)·g;  x = v - ḡ²        else  x = v
//! d  = √x + ε    (EpsMode::Outside, PyTorch)       d = √(x + ε)   (EpsMode::Inside, Keras / TF)
//! PyTorch  (lr_in_momentum false):  momentum: b ← μ·b + g/d;     p ← p - lr·b     else p ← p - lr·g/d
//! Keras    (lr_in_momentum true):   momentum: b ← μ·b + lr·g/d;  p ← p - b        else p ← p - lr·g/d
//! ```
//! No bias correction; all slots start at zero. PyTorch defaults: lr 1e-2, α 0.99, ε 1e-8, wd 0, μ 0,
//! centered false. tfjs-core's RMSPropOptimizer: decay (α) 0.9, ε 1e-7 inside, lr inside the momentum
//! buffer; its centered form subtracts ε (`√(v − (ḡ² + ε))`), where TF's kernel and Keras add it: here
//! Inside means `√(v − ḡ² + ε)` (TF / Keras).
//! Slots: `square_avg`; `grad_avg` when centered; `momentum_buffer` when momentum > 0.

use super::{check_len, denom, load_param_grad, opt_ptr, sign, store_param, EpsMode};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
    pub eps_mode: EpsMode,
    /// Keras / tfjs: the momentum buffer accumulates `lr·g/d` and is subtracted as is.
    pub lr_in_momentum: bool,
    pub maximize: bool,
}

impl Default for RmsProp {
    /// PyTorch's defaults.
    fn default() -> Self {
        RmsProp {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            eps_mode: EpsMode::Outside,
            lr_in_momentum: false,
            maximize: false,
        }
    }
}

/// One step over `p`, `g` and the slots: `square_avg` always, `grad_avg` exactly when centered,
/// `momentum_buf` exactly when momentum > 0; `delta` (optional) receives `p_new − p_old`.
pub fn rmsprop_step(
    cfg: &RmsProp,
    p: &mut [f32],
    g: &[f32],
    square_avg: &mut [f32],
    grad_avg: Option<&mut [f32]>,
    momentum_buf: Option<&mut [f32]>,
    delta: Option<&mut [f32]>,
) {
    let n = p.len();
    check_len("rmsprop: grad", n, g.len());
    check_len("rmsprop: square_avg", n, square_avg.len());
    let ga = opt_ptr("rmsprop: grad_avg", n, grad_avg);
    let mb = opt_ptr("rmsprop: momentum_buffer", n, momentum_buf);
    let dp = opt_ptr("rmsprop: delta", n, delta);
    assert!(ga.is_some() == cfg.centered, "rmsprop: grad_avg must be given exactly when centered");
    assert!(mb.is_some() == (cfg.momentum != 0.0), "rmsprop: momentum buffer must be given exactly when momentum > 0");
    let alpha = cfg.alpha as f32;
    let one_m_alpha = (1.0 - cfg.alpha) as f32;
    let (wd, mu, lr, neg_lr) = (cfg.weight_decay as f32, cfg.momentum as f32, cfg.lr as f32, (-cfg.lr) as f32);
    let (eps, sgn, lr_in) = (cfg.eps_mode.split(cfg.eps as f32), sign(cfg.maximize), cfg.lr_in_momentum);
    let (pp, gp, sp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(square_avg.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0 && cfg.eps_mode == EpsMode::Outside, { dp = None, sgn = 1.0, eps = (-0.0, eps.1) }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
                unsafe {
                    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, sgn);
                    let v = L::load(sp.get().add(i)).mul(L::splat(alpha)).add(L::splat(one_m_alpha).mul(gv).mul(gv));
                    v.store(sp.get().add(i));
                    let x = match ga {
                        Some(ga) => {
                            let m = L::load(ga.get().add(i)).mul(L::splat(alpha)).add(L::splat(one_m_alpha).mul(gv));
                            m.store(ga.get().add(i));
                            v.sub(m.mul(m))
                        }
                        None => v,
                    };
                    let avg = denom(x, eps);
                    let np = match mb {
                        Some(mb) if lr_in => {
                            let b = L::load(mb.get().add(i)).mul(L::splat(mu)).add(gv.mul(L::splat(lr)).div(avg));
                            b.store(mb.get().add(i));
                            pv.sub(b)
                        }
                        Some(mb) => {
                            let b = L::load(mb.get().add(i)).mul(L::splat(mu)).add(gv.div(avg));
                            b.store(mb.get().add(i));
                            pv.add(L::splat(neg_lr).mul(b))
                        }
                        None => pv.add(L::splat(neg_lr).mul(gv).div(avg)),
                    };
                    store_param(pp.get(), dp, i, pv, np);
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
        for (centered, momentum, eps_mode, lr_in_momentum) in [
            (false, 0.0, EpsMode::Outside, false),
            (true, 0.0, EpsMode::Outside, false),
            (false, 0.9, EpsMode::Outside, false),
            (true, 0.9, EpsMode::Outside, false),
            (false, 0.9, EpsMode::Inside, true),
            (true, 0.9, EpsMode::Inside, true),
        ] {
            let cfg = RmsProp { lr: 0.01, momentum, centered, eps_mode, lr_in_momentum, ..Default::default() };
            let (mut v, mut ga, mut mb) = (vec![0.0f32; 13], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(2000, |p, g, _| {
                rmsprop_step(&cfg, p, g, &mut v, centered.then_some(&mut ga[..]), (momentum > 0.0).then_some(&mut mb[..]), None)
            });
            // RMSprop's steps stay ~lr in size near the optimum, so it hovers within a few lr.
            assert!(err < 0.05, "rmsprop {cfg:?} ended {err} away");
        }
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for (centered, momentum, eps_mode, lr_in_momentum, maximize) in
            [(true, 0.9, EpsMode::Outside, false, false), (true, 0.9, EpsMode::Inside, true, true), (false, 0.0, EpsMode::Inside, false, false)]
        {
            let cfg = RmsProp { lr: 0.01, weight_decay: 0.01, momentum, centered, eps_mode, lr_in_momentum, maximize, ..Default::default() };
            for n in [1, 3, 4, 5, 8, 11] {
                let init = [lanes::data(n, 1), vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, _| {
                    let [p, v, ga, mb, d] = b else { unreachable!() };
                    rmsprop_step(&cfg, p, g, v, centered.then_some(&mut ga[..]), (momentum > 0.0).then_some(&mut mb[..]), Some(d));
                });
            }
        }
    }

    #[test]
    fn lr_in_momentum_only_changes_the_momentum_form() {
        // Without momentum both forms are p − lr·g/d; with it, Keras's buffer is lr times PyTorch's.
        let g = lanes::data(9, 7);
        let p0 = lanes::data(9, 8);
        let run = |momentum: f64, lr_in_momentum: bool| {
            let cfg = RmsProp { lr: 0.05, momentum, lr_in_momentum, ..Default::default() };
            let (mut p, mut v, mut mb) = (p0.clone(), vec![0.0; 9], vec![0.0; 9]);
            for _ in 0..3 {
                rmsprop_step(&cfg, &mut p, &g, &mut v, None, (momentum > 0.0).then_some(&mut mb[..]), None);
            }
            (p, mb)
        };
        let (a, b) = (run(0.0, false).0, run(0.0, true).0);
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        let ((pa, ma), (pb, mb)) = (run(0.9, false), run(0.9, true));
        for i in 0..9 {
            assert!((pa[i] - pb[i]).abs() <= 1e-6 * pa[i].abs().max(1.0), "{} vs {}", pa[i], pb[i]);
            assert!((ma[i] * 0.05 - mb[i]).abs() <= 1e-6 * mb[i].abs().max(1e-3));
        }
    }
}
