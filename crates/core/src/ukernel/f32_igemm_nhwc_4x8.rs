//! C[4 pixels × 8 output channels] (+)= Σ_taps A_tap[4 × C] · B_tap[C × 8], where A's rows are read through
//! an indirection buffer of pointers (XNNPACK's indirect GEMM): the NHWC form of a convolution's inner loop.
//! For each kernel tap a pixel's row of A is the `C` contiguous input channels of the input position that tap
//! reads (or a zero buffer of `C` floats where that position is in the padding), so A is never packed.
//! B is packed: `C` rows of 8 output channels per tap, taps in order.

use super::f32_gemm_4x8::{rank1, store_tile, MR, NR};
use crate::simd::F32x4;

/// One tile: `c[r*ldc + j] = (accumulate ? c[r*ldc + j] : 0) + Σ_t Σ_ch ind[t*4 + r][ch] · b[(t*C + ch)*8 + j]`.
///
/// The sum runs over taps in order and, within a tap, over channels in order, into a zeroed accumulator;
/// the old C is added last (as in `f32_gemm_4x8`).
///
/// # Safety
/// `ind` must point to `4·taps` pointers, each to `channels` readable floats; `b` to `8·taps·channels`
/// readable floats; `c` to a 4×8 tile with row stride `ldc` (rows `0..4`, columns `0..8` readable and
/// writable).
#[inline(never)]
pub unsafe fn f32_igemm_nhwc_4x8(taps: usize, channels: usize, ind: *const *const f32, b: *const f32, c: *mut f32, ldc: usize, accumulate: bool) {
    let mut acc = [[F32x4::zero(); 2]; MR];
    let mut b = b;
    for t in 0..taps {
        let rows: [*const f32; MR] = std::array::from_fn(|r| *ind.add(t * MR + r));
        for ch in 0..channels {
            let bl = F32x4::load(b);
            let bh = F32x4::load(b.add(NR / 2));
            rank1(&mut acc, |r| F32x4::load_splat(rows[r].add(ch)), bl, bh);
            b = b.add(NR);
        }
    }
    store_tile(acc, c, ldc, accumulate);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// Against the definition summed in the kernel's order (so the bits must match): rows drawn from one
    /// buffer at arbitrary offsets, some taps pointing at a zero buffer, with and without accumulation; columns 8.. of C must stay untouched.
    #[test]
    fn matches_naive_loop() {
        let mut rng = Rng::new(21);
        for (taps, channels) in [(1usize, 1usize), (1, 7), (9, 1), (9, 32), (25, 6), (4, 13)] {
            let src = rng.normal_vec(50 * channels + 3);
            let zero = vec![0.0f32; channels];
            let rows: Vec<*const f32> = (0..taps * MR)
                .map(|i| if i % 7 == 3 { zero.as_ptr() } else { src[(i * 31 + 5) % (49 * channels + 3)..].as_ptr() })
                .collect();
            let b = rng.normal_vec(taps * channels * NR);
            for accumulate in [false, true] {
                let ldc = 11;
                let c0 = rng.normal_vec(MR * ldc);
                let mut got = c0.clone();
                // SAFETY: every row pointer has `channels` floats after it (offsets ≤ 49·channels + 2 in a
                // buffer of 50·channels + 3, or the zero buffer); b holds 8·taps·channels; C is 4 rows of 11.
                unsafe { f32_igemm_nhwc_4x8(taps, channels, rows.as_ptr(), b.as_ptr(), got.as_mut_ptr(), ldc, accumulate) };
                let mut want = c0.clone();
                for r in 0..MR {
                    for j in 0..NR {
                        let mut s = 0.0f32;
                        for t in 0..taps {
                            for ch in 0..channels {
                                // SAFETY: as above.
                                s += unsafe { *rows[t * MR + r].add(ch) } * b[(t * channels + ch) * NR + j];
                            }
                        }
                        want[r * ldc + j] = if accumulate { c0[r * ldc + j] + s } else { s };
                    }
                }
                assert_eq!(got, want, "taps {taps} channels {channels} accumulate {accumulate}");
            }
        }
    }
}
