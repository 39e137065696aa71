//! C[4×8] (+)= A_panel[4×k] · B_panel[k×8] on packed panels, eight `F32x4` accumulators.

use crate::simd::F32x4;

pub const MR: usize = 4;
pub const NR: usize = 8;

/// One 4×8 tile: `c[i*ldc + j] = (accumulate ? c[i*ldc + j] : 0) + Σ_p a[p*4 + i] · b[p*8 + j]`.
///
/// The sum over `p` runs in order from 0 to k-1 into a zeroed accumulator, and the old C is added last,
/// so a tile's result does not depend on how the caller blocks M or N.
///
/// # Safety
/// `a` must point to `4·k` readable floats, `b` to `8·k`, and `c` to a 4×8 tile with row stride `ldc`
/// (rows `0..4`, columns `0..8` readable and writable).
#[inline(never)]
pub unsafe fn f32_gemm_4x8(k: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, accumulate: bool) {
    let mut acc = [[F32x4::zero(); 2]; MR];
    let mut a = a;
    let mut b = b;
    for _ in 0..k {
        let bl = F32x4::load(b);
        let bh = F32x4::load(b.add(4));
        rank1(&mut acc, |i| F32x4::load_splat(a.add(i)), bl, bh);
        a = a.add(MR);
        b = b.add(NR);
    }
    store_tile(acc, c, ldc, accumulate);
}

/// One k step of a 4×8 tile, the arithmetic every 4×8 kernel shares: `acc[i] += a(i) · [bl, bh]`, where
/// `a(i)` is row i's value at this k splat to four lanes (each kernel finds A its own way).
#[inline(always)]
pub(crate) fn rank1(acc: &mut [[F32x4; 2]; MR], a: impl Fn(usize) -> F32x4, bl: F32x4, bh: F32x4) {
    for (i, row) in acc.iter_mut().enumerate() {
        let ai = a(i);
        row[0] = row[0].mul_add(ai, bl);
        row[1] = row[1].mul_add(ai, bh);
    }
}

/// Writes (or adds, after the sum: see above) a finished 4×8 accumulator tile to C.
///
/// # Safety
/// `c` must point to a writable 4×8 tile with row stride `ldc`.
#[inline(always)]
pub(crate) unsafe fn store_tile(acc: [[F32x4; 2]; MR], c: *mut f32, ldc: usize, accumulate: bool) {
    for (i, [lo, hi]) in acc.into_iter().enumerate() {
        let row = c.add(i * ldc);
        if accumulate {
            F32x4::load(row).add(lo).store(row);
            F32x4::load(row.add(4)).add(hi).store(row.add(4));
        } else {
            lo.store(row);
            hi.store(row.add(4));
        }
    }
}

/// Runs `kernel` on a tile that is only `mr × nr` (≤ 4×8) inside C: through a full 4×8 temporary, so the
/// kernels themselves never need a tail case.
///
/// # Safety
/// `c` must point to a writable `mr × nr` region with row stride `ldc`.
#[inline(always)]
pub(crate) unsafe fn edge_tile(mr: usize, nr: usize, c: *mut f32, ldc: usize, accumulate: bool, kernel: impl FnOnce(*mut f32)) {
    let mut tile = [0.0f32; MR * NR];
    if accumulate {
        for i in 0..mr {
            std::ptr::copy_nonoverlapping(c.add(i * ldc), tile.as_mut_ptr().add(i * NR), nr);
        }
    }
    kernel(tile.as_mut_ptr());
    for i in 0..mr {
        std::ptr::copy_nonoverlapping(tile.as_ptr().add(i * NR), c.add(i * ldc), nr);
    }
}
