//! Lookahead (Zhang, Lucas, Hinton & Ba 2019): the synchronisation every k inner steps.
//!
//! ```text
//! slow ← slow + α·(fast − slow)
//! fast ← slow
//! ```
//! The wrapper (counting steps, holding the inner optimizer) lives in TypeScript; the slow weights start
//! as a copy of the parameters. Paper defaults: k 5 (or 10), α 0.5. Slot: `slow`.

use super::{check_len, opt_ptr, store_param};
use crate::{for_each_lane, unswitch};
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

/// One synchronisation over the fast weights (the parameters) and `slow`; `delta` (optional) receives
/// `fast_new − fast_old`.
pub fn lookahead_sync(alpha: f64, fast: &mut [f32], slow: &mut [f32], delta: Option<&mut [f32]>) {
    let n = fast.len();
    check_len("lookahead: slow", n, slow.len());
    let dp = opt_ptr("lookahead: delta", n, delta);
    let a = alpha as f32;
    let (fp, sp) = (SyncPtr(fast.as_mut_ptr()), SyncPtr(slow.as_mut_ptr()));
    par::for_each_range(n, |lo, hi| {
        unswitch!(dp.is_none(), { dp = None }, {
            for_each_lane!(lo, hi, |i, L| {
                // SAFETY: for_each_lane keeps i + L::WIDTH <= n; both buffers have length n.
                unsafe {
                    let f = L::load(fp.get().add(i));
                    let s = L::load(sp.get().add(i));
                    let s = s.add(L::splat(a).mul(f.sub(s)));
                    s.store(sp.get().add(i));
                    store_param(fp.get(), dp, i, f, s);
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
    fn moves_slow_toward_fast_and_resets_fast() {
        let mut fast = vec![1.0f32, 3.0, -2.0];
        let mut slow = vec![0.0f32, 1.0, 2.0];
        lookahead_sync(0.5, &mut fast, &mut slow, None);
        assert_eq!(slow, [0.5, 2.0, 0.0]);
        assert_eq!(fast, slow);
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise() {
        for n in [1, 3, 4, 7, 8, 13] {
            let init = [lanes::data(n, 6), lanes::data(n, 7), vec![0.0; n]];
            lanes::body_equals_tail(n, &init, 2, |b, g, _| {
                let [f, s, d] = b else { unreachable!() };
                for (x, y) in f.iter_mut().zip(g) {
                    *x += y; // an inner "step" between synchronisations
                }
                lookahead_sync(0.3, f, s, Some(d));
            });
        }
    }
}
