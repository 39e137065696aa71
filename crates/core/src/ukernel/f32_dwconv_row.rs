//! One output row of a depthwise convolution: `out[x] = init + Σ_t w[t] · src[off[t] + x]` for `x < n`,
//! four lanes along the row. A tap is a weight and a row of a padded plane, found through an offset table
//! (as `f32_igemm_4x8` finds B's rows), so one kernel serves every kernel size, stride, dilation and the
//! input gradient (whose taps are rows of the padded output gradient).

use crate::simd::F32x4;

/// Floats a call may read past `src + off[t] + n`: the last vector of a row is loaded whole.
pub const ROW_SLACK: usize = 3;

/// `out[x] = init + Σ_{t < taps} w[t] · src[off[t] + x]` for `x < n`, each sum in tap order (the same
/// order for every `x`, so any `n` and every tail give the bits of the scalar loop
/// `s = init; for t { s = s + w[t]·src[off[t]+x] }`; the relaxed-SIMD build fuses each step).
///
/// Sixteen outputs per step (four independent accumulator chains hide the add latency), then four, then
/// the last 1–3 through a temporary.
///
/// # Safety
/// `w` and `off` must hold `taps` entries; `src + off[t] .. + n + ROW_SLACK` must be readable for every t
/// (the slack's values are discarded); `out .. + n` writable.
#[inline(never)]
pub unsafe fn f32_dwconv_row(taps: usize, w: *const f32, src: *const f32, off: *const usize, n: usize, init: f32, out: *mut f32) {
    let init = F32x4::splat(init);
    let mut x = 0;
    while x + 16 <= n {
        let mut acc = [init; 4];
        for t in 0..taps {
            let wt = F32x4::load_splat(w.add(t));
            let p = src.add(*off.add(t) + x);
            for (v, a) in acc.iter_mut().enumerate() {
                *a = a.mul_add(wt, F32x4::load(p.add(4 * v)));
            }
        }
        for (v, a) in acc.into_iter().enumerate() {
            a.store(out.add(x + 4 * v));
        }
        x += 16;
    }
    while x < n {
        let mut acc = init;
        for t in 0..taps {
            acc = acc.mul_add(F32x4::load_splat(w.add(t)), F32x4::load(src.add(*off.add(t) + x)));
        }
        if x + 4 <= n {
            acc.store(out.add(x));
        } else {
            let lanes = acc.lanes();
            std::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(x), n - x);
        }
        x += 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// The microkernel tester: every width 1..=40 (all three loops' tails), tap counts 0..=25, offsets
    /// anywhere, against the scalar loop in the same order, bit for bit; outputs past `n` stay untouched.
    #[test]
    fn matches_scalar_loop_bitwise() {
        let mut rng = Rng::new(31);
        for taps in [0usize, 1, 2, 3, 4, 9, 25] {
            for n in 1..=40 {
                let src = rng.normal_vec(97 + n + ROW_SLACK);
                let w = rng.normal_vec(taps);
                let off: Vec<usize> = (0..taps).map(|_| rng.below(97)).collect();
                let init = rng.normal();
                let mut got = vec![f32::NAN; n + 5];
                // SAFETY: every off[t] + n + ROW_SLACK <= 96 + n + 3 < src.len(); got holds n + 5.
                unsafe { f32_dwconv_row(taps, w.as_ptr(), src.as_ptr(), off.as_ptr(), n, init, got.as_mut_ptr()) };
                for x in 0..n {
                    let mut s = init;
                    for t in 0..taps {
                        s = s + w[t] * src[off[t] + x];
                    }
                    assert_eq!(got[x].to_bits(), s.to_bits(), "taps {taps} n {n} x {x}");
                }
                assert!(got[n..].iter().all(|v| v.is_nan()), "wrote past n: taps {taps} n {n}");
            }
        }
    }
}
