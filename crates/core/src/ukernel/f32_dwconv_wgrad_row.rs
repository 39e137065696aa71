//! One output row's contribution to a depthwise convolution's weight gradient: for every tap,
//! `acc[t] += Σ_x dy[x] · src[off[t] + x]` over `x < n`, kept in four lanes (the caller sums the lanes
//! once per plane). The taps are those of `f32_dwconv_row`: a row of the padded input at an offset.

use crate::simd::F32x4;

/// For each tap `t < taps`: lanes `acc[4t..4t+4] += Σ_k dy[4k + l] · src[off[t] + 4k + l]` (lane l), in
/// two alternating partial sums per tap (even and odd vectors, for the add latency) added to `acc` in
/// the order `acc + (even + odd)`. The last vector's `dy` lanes past `n` are zero, so the `src` values
/// read there (finite, from the padded plane) add nothing.
///
/// # Safety
/// `off` must hold `taps` entries, `acc` `4·taps` floats; `dy .. + n` and `src + off[t] .. + n + 3`
/// readable (the slack must hold finite values).
#[inline(never)]
pub unsafe fn f32_dwconv_wgrad_row(taps: usize, src: *const f32, off: *const usize, dy: *const f32, n: usize, acc: *mut f32) {
    let full = n / 4 * 4;
    let mut tail = [0.0f32; 4];
    std::ptr::copy_nonoverlapping(dy.add(full), tail.as_mut_ptr(), n - full);
    let tail = F32x4::load(tail.as_ptr());
    for t in 0..taps {
        let p = src.add(*off.add(t));
        let (mut even, mut odd) = (F32x4::zero(), F32x4::zero());
        let mut x = 0;
        while x + 8 <= full {
            even = even.mul_add(F32x4::load(dy.add(x)), F32x4::load(p.add(x)));
            odd = odd.mul_add(F32x4::load(dy.add(x + 4)), F32x4::load(p.add(x + 4)));
            x += 8;
        }
        if x < full {
            even = even.mul_add(F32x4::load(dy.add(x)), F32x4::load(p.add(x)));
            x += 4;
        }
        if x < n {
            odd = odd.mul_add(tail, F32x4::load(p.add(x)));
        }
        let a = acc.add(4 * t);
        F32x4::load(a).add(even.add(odd)).store(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// Every width 1..=40 and several tap counts against the same sums written as scalar lanes, bit for bit.
    #[test]
    fn matches_scalar_lanes_bitwise() {
        let mut rng = Rng::new(32);
        for taps in [1usize, 2, 9, 25] {
            for n in 1..=40 {
                let src = rng.normal_vec(61 + n + 3);
                let dy = rng.normal_vec(n);
                let off: Vec<usize> = (0..taps).map(|_| rng.below(61)).collect();
                let acc0 = rng.normal_vec(4 * taps);
                let mut got = acc0.clone();
                // SAFETY: off[t] + n + 3 <= 60 + n + 3 < src.len(); dy holds n; acc holds 4·taps.
                unsafe { f32_dwconv_wgrad_row(taps, src.as_ptr(), off.as_ptr(), dy.as_ptr(), n, got.as_mut_ptr()) };
                let full = n / 4 * 4;
                for t in 0..taps {
                    for l in 0..4 {
                        let (mut even, mut odd) = (0.0f32, 0.0f32);
                        let mut k = 0;
                        while 4 * k + 8 <= full {
                            even += dy[4 * k + l] * src[off[t] + 4 * k + l];
                            odd += dy[4 * k + 4 + l] * src[off[t] + 4 * k + 4 + l];
                            k += 2;
                        }
                        if 4 * k < full {
                            even += dy[4 * k + l] * src[off[t] + 4 * k + l];
                            k += 1;
                        }
                        if 4 * k < n {
                            let d = if 4 * k + l < n { dy[4 * k + l] } else { 0.0 };
                            odd += d * src[off[t] + 4 * k + l];
                        }
                        let want = acc0[4 * t + l] + (even + odd);
                        assert_eq!(got[4 * t + l].to_bits(), want.to_bits(), "taps {taps} n {n} t {t} lane {l}");
                    }
                }
            }
        }
    }
}
