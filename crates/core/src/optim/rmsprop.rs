//! RMSprop (Hinton 2012), PyTorch semantics.
//!
//! ```text
//! g  ← g + wd·p
//! v  ← α·v + (1-α)·g²
//! centered:  ḡ ← α·ḡ + (1-α)·g;   d = √(v - ḡ²) + ε      else  d = √v + ε   (ε outside the root)
//! momentum:  b ← μ·b + g/d;  p ← p - lr·b                 else  p ← p - lr·g/d
//! ```
//! No bias correction; all slots start at zero. PyTorch defaults: lr 1e-2, α 0.99, ε 1e-8, wd 0, μ 0,
//! centered false.

use super::{check_len, load_param_grad};
use crate::for_each_lane;
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct RmsProp {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
}

/// One step over `p`, `g` and the slots: `square_avg` always, `grad_avg` when centered,
/// `momentum_buf` when momentum > 0.
pub fn rmsprop_step(
    cfg: &RmsProp,
    p: &mut [f32],
    g: &[f32],
    square_avg: &mut [f32],
    grad_avg: Option<&mut [f32]>,
    momentum_buf: Option<&mut [f32]>,
) {
    let n = p.len();
    check_len("rmsprop: grad", n, g.len());
    check_len("rmsprop: square_avg", n, square_avg.len());
    let ga = grad_avg.map(|s| {
        check_len("rmsprop: grad_avg", n, s.len());
        SyncPtr(s.as_mut_ptr())
    });
    let mb = momentum_buf.map(|s| {
        check_len("rmsprop: momentum_buffer", n, s.len());
        SyncPtr(s.as_mut_ptr())
    });
    assert!(mb.is_some() == (cfg.momentum != 0.0), "rmsprop: momentum buffer must be given exactly when momentum > 0");
    let alpha = cfg.alpha as f32;
    let one_m_alpha = (1.0 - cfg.alpha) as f32;
    let (eps, wd, mu, neg_lr) = (cfg.eps as f32, cfg.weight_decay as f32, cfg.momentum as f32, (-cfg.lr) as f32);
    let (pp, gp, sp) = (SyncPtr(p.as_mut_ptr()), SyncPtr(g.as_ptr() as *mut f32), SyncPtr(square_avg.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        for_each_lane!(lo, hi, |i, L| {
            // SAFETY: for_each_lane keeps i + L::WIDTH <= n; every slot was checked to have length n.
            unsafe {
                let (pv, gv) = load_param_grad::<L>(pp.get(), gp.get(), i, wd);
                let v = L::load(sp.get().add(i)).mul(L::splat(alpha)).add(L::splat(one_m_alpha).mul(gv).mul(gv));
                v.store(sp.get().add(i));
                let root = match ga {
                    Some(ga) => {
                        let m = L::load(ga.get().add(i)).mul(L::splat(alpha)).add(L::splat(one_m_alpha).mul(gv));
                        m.store(ga.get().add(i));
                        v.sub(m.mul(m)).sqrt()
                    }
                    None => v.sqrt(),
                };
                let avg = root.add(L::splat(eps));
                let np = match mb {
                    Some(mb) => {
                        let b = L::load(mb.get().add(i)).mul(L::splat(mu)).add(gv.div(avg));
                        b.store(mb.get().add(i));
                        pv.add(L::splat(neg_lr).mul(b))
                    }
                    None => pv.add(L::splat(neg_lr).mul(gv).div(avg)),
                };
                np.store(pp.get().add(i));
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_on_a_parabola_in_every_variant() {
        for (centered, momentum) in [(false, 0.0), (true, 0.0), (false, 0.9), (true, 0.9)] {
            let cfg = RmsProp { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum };
            let (mut v, mut ga, mut mb) = (vec![0.0f32; 13], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(2000, |p, g, _| {
                rmsprop_step(&cfg, p, g, &mut v, centered.then_some(&mut ga[..]), (momentum > 0.0).then_some(&mut mb[..]))
            });
            // RMSprop's steps stay ~lr in size near the optimum, so it hovers within a few lr.
            assert!(err < 0.05, "rmsprop centered={centered} momentum={momentum} ended {err} away");
        }
    }
}
