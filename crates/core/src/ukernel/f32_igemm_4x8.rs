//! C[4×8] (+)= A_panel[4×k] · B, where row p of B is the 8 contiguous floats at `b + off[p]`: the
//! indirect ("implicit GEMM") form of `f32_gemm_4x8`. A stride-1 convolution reads its input this way, so
//! neither an im2col matrix nor a packed B panel is ever written.

use super::f32_gemm_4x8::{rank1, store_tile, MR, NR};
use crate::simd::F32x4;

/// One 4×8 tile: `c[i*ldc + j] = (accumulate ? c[i*ldc + j] : 0) + Σ_p a[p*4 + i] · b[off[p] + j]`, the sum
/// in the same order as `f32_gemm_4x8` (so the same operands give the same bits either way).
///
/// # Safety
/// `a` must point to `4·k` readable floats, `off` to `k` offsets with `b + off[p] .. + 8` readable for each,
/// and `c` to a 4×8 tile with row stride `ldc`.
#[inline(never)]
pub unsafe fn f32_igemm_4x8(k: usize, a: *const f32, b: *const f32, off: *const usize, c: *mut f32, ldc: usize, accumulate: bool) {
    let mut acc = [[F32x4::zero(); 2]; MR];
    let mut a = a;
    for p in 0..k {
        let row = b.add(*off.add(p));
        let bl = F32x4::load(row);
        let bh = F32x4::load(row.add(NR / 2));
        rank1(&mut acc, |i| F32x4::load_splat(a.add(i)), bl, bh);
        a = a.add(MR);
    }
    store_tile(acc, c, ldc, accumulate);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ukernel::f32_gemm_4x8::f32_gemm_4x8;

    /// Gathering B's rows through offsets gives exactly the bits of the packed-panel kernel.
    #[test]
    fn equals_packed_kernel_bitwise() {
        let mut rng = crate::testutil::Rng::new(5);
        for k in [1usize, 2, 7, 64, 300] {
            let a = rng.normal_vec(MR * k);
            let src = rng.normal_vec(40 * k + NR);
            let off: Vec<usize> = (0..k).map(|p| (p * 37 + 11) % (40 * k)).collect();
            let packed: Vec<f32> = off.iter().flat_map(|&o| src[o..o + NR].to_vec()).collect();
            for acc in [false, true] {
                let c0 = rng.normal_vec(MR * 11);
                let (mut got, mut want) = (c0.clone(), c0.clone());
                // SAFETY: sizes as documented: a has 4k, every offset + 8 <= src.len(), C is 4 rows of 11.
                unsafe {
                    f32_igemm_4x8(k, a.as_ptr(), src.as_ptr(), off.as_ptr(), got.as_mut_ptr(), 11, acc);
                    f32_gemm_4x8(k, a.as_ptr(), packed.as_ptr(), want.as_mut_ptr(), 11, acc);
                }
                assert_eq!(got, want, "k {k} acc {acc}");
            }
        }
    }
}
