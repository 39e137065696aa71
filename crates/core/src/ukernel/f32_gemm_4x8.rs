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
    let mut c0l = F32x4::zero();
    let mut c0h = F32x4::zero();
    let mut c1l = F32x4::zero();
    let mut c1h = F32x4::zero();
    let mut c2l = F32x4::zero();
    let mut c2h = F32x4::zero();
    let mut c3l = F32x4::zero();
    let mut c3h = F32x4::zero();
    let mut a = a;
    let mut b = b;
    for _ in 0..k {
        let bl = F32x4::load(b);
        let bh = F32x4::load(b.add(4));
        let a0 = F32x4::splat(*a);
        let a1 = F32x4::splat(*a.add(1));
        let a2 = F32x4::splat(*a.add(2));
        let a3 = F32x4::splat(*a.add(3));
        c0l = c0l.add(a0.mul(bl));
        c0h = c0h.add(a0.mul(bh));
        c1l = c1l.add(a1.mul(bl));
        c1h = c1h.add(a1.mul(bh));
        c2l = c2l.add(a2.mul(bl));
        c2h = c2h.add(a2.mul(bh));
        c3l = c3l.add(a3.mul(bl));
        c3h = c3h.add(a3.mul(bh));
        a = a.add(MR);
        b = b.add(NR);
    }
    let rows = [(c0l, c0h), (c1l, c1h), (c2l, c2h), (c3l, c3h)];
    for (i, (lo, hi)) in rows.into_iter().enumerate() {
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
