//! Adagrad (Duchi et al. 2011), PyTorch semantics, with Keras's ε placement as an option.
//!
//! ```text
//! g   ← −g if maximize
//! g   ← g + wd·p                     (L2 weight decay, coupled)
//! lrₜ = lr / (1 + (t-1)·lr_decay)
//! s   ← s + g·g                      (s starts at initial_accumulator_value: the caller fills the slot)
//! p   ← p - lrₜ·g / (√s + ε)          (EpsMode::Outside, PyTorch)
//! p   ← p - lrₜ·g / √(s + ε)          (EpsMode::Inside, Keras / tfjs-core's AdagradOptimizer)
//! ```
//! PyTorch defaults: lr 1e-2, lr_decay 0, weight_decay 0, initial_accumulator_value 0, ε 1e-10.
//! tfjs / Keras: initial accumulator 0.1, ε = backend epsilon (1e-7), ε inside, no decay options.
//! Slot: `sum`.

use super::{check_len, denom, load_param_grad, opt_ptr, sign, store_param, EpsMode};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adagrad {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub eps: f64,
    pub eps_mode: EpsMode,
    pub maximize: bool,
}

impl Default for Adagrad {
    /// PyTorch's defaults.
    fn default() -> Self {
        Adagrad { lr: 1e-2, lr_decay: 0.0, weight_decay: 0.0, eps: 1e-10, eps_mode: EpsMode::Outside, maximize: false }
    }
}

/// One step `t` (1-based) over `p`, `g` and the sum-of-squares slot `sum`; `delta` (optional) receives
/// the applied update `p_new − p_old`.
pub fn adagrad_step(cfg: &Adagrad, t: u64, p: &mut [f32], g: &[f32], sum: &mut [f32], delta: Option<&mut [f32]>) {
    let n = p.len();
    check_len("adagrad: grad", n, g.len());
    check_len("adagrad: sum", n, sum.len());
    let dp = opt_ptr("adagrad: delta", n, delta);
    let neg_clr = (-(cfg.lr / (1.0 + (t.max(1) - 1) as f64 * cfg.lr_decay))) as f32;
    let (wd, eps, sgn) = (cfg.weight_decay as f32, cfg.eps_mode.split(cfg.eps as f32), sign(cfg.maximize));
    let (pp, gp, sp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(sum.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none() && sgn == 1.0 && cfg.eps_mode == EpsMode::Outside, { dp = None, sgn = 1.0, eps = (-0.0, eps.1) }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n, the common length checked above.
                unsafe {
                    let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd, sgn);
                    let s = L::load(sp.get().add(i)).add(gv.mul(gv));
                    s.store(sp.get().add(i));
                    let std = denom(s, eps);
                    store_param(pp.get(), dp, i, pv, pv.add(L::splat(neg_clr).mul(gv).div(std)));
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
    fn converges_on_a_parabola_in_both_eps_modes() {
        for eps_mode in [EpsMode::Outside, EpsMode::Inside] {
            let cfg = Adagrad { lr: 0.5, eps_mode, ..Default::default() };
            let mut sum = vec![0.0f32; 13];
            let err = crate::optim::parabola::run(500, |p, g, t| adagrad_step(&cfg, t, p, g, &mut sum, None));
            assert!(err < 1e-3, "adagrad {eps_mode:?} ended {err} from the minimum");
        }
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        // The same element must get the same bits whether it falls in the 4-lane loop or the tail.
        for (eps_mode, maximize) in [(EpsMode::Outside, false), (EpsMode::Inside, true)] {
            let cfg = Adagrad { lr: 0.1, lr_decay: 0.01, weight_decay: 0.1, eps: 1e-10, eps_mode, maximize };
            for n in [1, 3, 4, 7, 9, 13] {
                let init = [lanes::data(n, 1), vec![0.1; n], vec![0.0; n]];
                lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                    let [p, s, d] = b else { unreachable!() };
                    adagrad_step(&cfg, t, p, g, s, Some(d));
                });
            }
        }
    }

    #[test]
    fn delta_is_the_applied_update_and_optional() {
        let cfg = Adagrad { lr: 0.1, weight_decay: 0.05, ..Default::default() };
        let p0 = lanes::data(11, 3);
        let g = lanes::data(11, 4);
        let (mut a, mut b, mut sa, mut sb, mut d) = (p0.clone(), p0.clone(), vec![0.0; 11], vec![0.0; 11], vec![0.0; 11]);
        adagrad_step(&cfg, 1, &mut a, &g, &mut sa, None);
        adagrad_step(&cfg, 1, &mut b, &g, &mut sb, Some(&mut d));
        for i in 0..11 {
            assert_eq!(a[i].to_bits(), b[i].to_bits());
            assert_eq!(d[i].to_bits(), (b[i] - p0[i]).to_bits());
        }
    }
}
