//! One output row's contribution to a depthwise convolution's weight gradient: for every tap,
//! `acc[t] (+)= Σ_x dy[x] · src[off[t] + x]` over `x < n`, kept in four lanes (the caller sums the lanes
//! once per plane). The taps are those of `f32_dwconv_rows`: a row of the padded input at an offset.

use crate::simd::F32x4;

/// For each tap `t < taps`, lane l: `s = Σ_k dy[4k + l] · src[off[t] + 4k + l]` from zero, then
/// `acc[4t + l] = acc[4t + l] + s` when `accumulate`, else `s`. The last vector's `dy` lanes past `n` are
/// zero, so the `src` values read there (finite, from the padded plane) add nothing.
///
/// Taps go eight, then four at a time, each `dy` vector loaded once per block and feeding one chain per
/// tap; the last 1–3 taps keep two chains each (even and odd k, `s = even + odd`), so that no block waits
/// on a single chain's add latency. Within a chain the sum runs in k order.
///
/// # Safety
/// `off` must hold `taps` entries, `acc` `4·taps` floats; `dy .. + n` and `src + off[t] .. + n + 3`
/// readable (the slack must hold finite values).
#[inline(never)]
pub unsafe fn f32_dwconv_wgrad_row(taps: usize, src: *const f32, off: *const usize, dy: *const f32, n: usize, acc: *mut f32, accumulate: bool) {
    let full = n / 4 * 4;
    let row = Row { src, dy, full, n, last: F32x4::load_first(dy.add(full), n - full) };
    let mut t = 0;
    while t + 8 <= taps {
        row.block::<8, 1>(off.add(t), acc.add(4 * t), accumulate);
        t += 8;
    }
    if t + 4 <= taps {
        row.block::<4, 1>(off.add(t), acc.add(4 * t), accumulate);
        t += 4;
    }
    let (off, acc) = (off.add(t), acc.add(4 * t));
    match taps - t {
        1 => row.block::<1, 2>(off, acc, accumulate),
        2 => row.block::<2, 2>(off, acc, accumulate),
        3 => row.block::<3, 2>(off, acc, accumulate),
        _ => {}
    }
}

/// One call's row: the padded input, `dy` (`full` floats in whole vectors, then `last` for `full..n`).
#[derive(Clone, Copy)]
struct Row {
    src: *const f32,
    dy: *const f32,
    full: usize,
    n: usize,
    last: F32x4,
}

impl Row {
    /// `B` taps with `P` chains each (vector k to chain k mod P, chains added in order at the end).
    #[inline(always)]
    unsafe fn block<const B: usize, const P: usize>(self, off: *const usize, acc: *mut f32, accumulate: bool) {
        let rows: [*const f32; B] = std::array::from_fn(|b| self.src.add(*off.add(b)));
        let mut s = [[F32x4::zero(); B]; P];
        // One vector into chain p (static indices throughout, so the chains stay in registers).
        let step = |s: &mut [[F32x4; B]; P], p: usize, d: F32x4, x: usize| {
            for (sb, r) in s[p].iter_mut().zip(rows) {
                *sb = sb.mul_add(d, F32x4::load(r.add(x)));
            }
        };
        let mut x = 0;
        while x + 4 * P <= self.full {
            for p in 0..P {
                step(&mut s, p, F32x4::load(self.dy.add(x + 4 * p)), x + 4 * p);
            }
            x += 4 * P;
        }
        // Fewer than P whole vectors, then the partial one: vector k = x / 4 goes to chain k mod P.
        for p in 0..P {
            if x < self.full {
                step(&mut s, p, F32x4::load(self.dy.add(x)), x);
                x += 4;
            } else if x < self.n {
                step(&mut s, p, self.last, x);
                x += 4;
            }
        }
        for (b, &first) in s[0].iter().enumerate() {
            let sum = s[1..].iter().fold(first, |a, chain| a.add(chain[b]));
            let a = acc.add(4 * b);
            if accumulate { F32x4::load(a).add(sum) } else { sum }.store(a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// Every width 1..=40 and tap counts covering every block remainder, against the same sums written as
    /// scalar lanes, bit for bit, with and without accumulation.
    #[test]
    fn matches_scalar_lanes_bitwise() {
        let mut rng = Rng::new(32);
        for taps in [1usize, 2, 3, 4, 5, 7, 8, 9, 12, 15, 25] {
            for n in 1..=40 {
                let src = rng.normal_vec(61 + n + 3);
                let dy = rng.normal_vec(n);
                let off: Vec<usize> = (0..taps).map(|_| rng.below(61)).collect();
                let acc0 = rng.normal_vec(4 * taps);
                for accumulate in [false, true] {
                    let mut got = acc0.clone();
                    // SAFETY: off[t] + n + 3 <= 60 + n + 3 < src.len(); dy holds n; acc holds 4·taps.
                    unsafe { f32_dwconv_wgrad_row(taps, src.as_ptr(), off.as_ptr(), dy.as_ptr(), n, got.as_mut_ptr(), accumulate) };
                    // The last taps_ % 4 taps (after blocks of 8 and 4) keep two chains.
                    let chains = |t: usize| if t >= taps / 8 * 8 + (taps % 8) / 4 * 4 { 2 } else { 1 };
                    for t in 0..taps {
                        for l in 0..4 {
                            let mut s = [0.0f32; 2];
                            for (k, x) in (l..n.div_ceil(4) * 4).step_by(4).enumerate() {
                                s[k % chains(t)] += if x < n { dy[x] } else { 0.0 } * src[off[t] + x];
                            }
                            let s = if chains(t) == 2 { s[0] + s[1] } else { s[0] };
                            let want = if accumulate { acc0[4 * t + l] + s } else { s };
                            assert_eq!(got[4 * t + l].to_bits(), want.to_bits(), "taps {taps} n {n} t {t} lane {l} acc {accumulate}");
                        }
                    }
                }
            }
        }
    }
}
