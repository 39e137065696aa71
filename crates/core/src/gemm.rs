//! SGEMM driver: C[m×n] (+)= A[m×k] · B[k×n] over strided views, blocked for cache (BLIS loop order),
//! packing into thread-local scratch and calling the 4×8 microkernel on every tile.

use crate::error::{grow, Error, Result};
use crate::ukernel::f32_gemm_4x8::{edge_tile, f32_gemm_4x8, MR, NR};
use crate::ukernel::f32_igemm_4x8::f32_igemm_4x8;
use crate::ukernel::pack::{pack_a, pack_b};
pub use crate::ukernel::pack::Mat;
use crate::par::{self, SyncPtr};
use std::cell::RefCell;

/// Largest K block: a packed B micro-panel (KC×NR) and A micro-panel (KC×MR) stay in L1 (12 + 6 KiB).
const KC: usize = 384;

/// The K block for a depth of `k`: `k` cut into equal blocks of at most `KC`. A conv's depth (C·KH·KW, 288
/// for 32 channels 3×3) is then one block instead of 256 + 32, and C, whose rows lie a whole output plane
/// apart (cache-set conflicts), is read back once less.
pub(crate) fn k_block(k: usize) -> usize {
    k.div_ceil(k.div_ceil(KC))
}
/// M block: a packed A block (MC×KC) stays in L2.
const MC: usize = 72;
/// N block: a packed B block (KC×NC) stays in the outer cache.
const NC: usize = 2048;

thread_local! {
    // Grow-only packing buffers, one pair per thread: no allocation per call once warm.
    static PACK: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

fn check_view(name: &str, v: &Mat, rows: usize, cols: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1) * v.rs + (cols - 1) * v.cs;
    assert!(last < v.data.len(), "sgemm: {name} view ({rows}×{cols}) reaches {last}, buffer has {}", v.data.len());
}

/// `C = A·B` (or `C += A·B` when `accumulate`), C row-major with row stride `ldc`.
///
/// Each element's dot product is summed in k order within each K block, blocks in order, so the result is
/// the same for any thread count that splits M or N (the threaded build splits only those).
pub fn sgemm(m: usize, n: usize, k: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize, accumulate: bool) -> Result {
    check_view("B", &b, k, n);
    sgemm_with(m, n, k, a, &b, c, ldc, accumulate)
}

/// A B operand that packs itself: a strided matrix (`Mat`), or a view that gathers B's elements from
/// elsewhere (a convolution's column matrix read in place from the padded input).
pub trait PackB {
    /// Rows `p0..p0+kc`, columns `c0..c0+nc` of B into NR-wide panels, exactly as `pack_b` lays them out
    /// (zero past `nc`). Implementations check their own bounds.
    fn pack(&self, p0: usize, kc: usize, c0: usize, nc: usize, dst: &mut [f32]);
}

impl PackB for Mat<'_> {
    fn pack(&self, p0: usize, kc: usize, c0: usize, nc: usize, dst: &mut [f32]) {
        pack_b(*self, p0, kc, c0, nc, NR, dst)
    }
}

/// `sgemm` with any B that packs itself.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(m: usize, n: usize, k: usize, a: Mat, b: &impl PackB, c: &mut [f32], ldc: usize, accumulate: bool) -> Result {
    if m == 0 || n == 0 {
        return Ok(());
    }
    assert!(ldc >= n, "sgemm: ldc {ldc} < n {n}");
    assert!((m - 1) * ldc + n <= c.len(), "sgemm: C buffer too small");
    // SAFETY: the C region (m rows of n at stride ldc) lies inside `c`, which we borrow exclusively.
    unsafe { sgemm_raw(m, n, k, a, b, c.as_mut_ptr(), ldc, accumulate) }
}

/// `sgemm` on a C given by pointer, so parallel callers can hand disjoint column blocks of one C to tasks.
///
/// # Safety
/// Rows `0..m`, columns `0..n` of C at row stride `ldc >= n` must be valid, and no one else may access
/// those elements during the call.
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_raw(m: usize, n: usize, k: usize, a: Mat, b: &impl PackB, c: *mut f32, ldc: usize, accumulate: bool) -> Result {
    check_view("A", &a, m, k);
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                std::slice::from_raw_parts_mut(c.add(i * ldc), n).fill(0.0);
            }
        }
        return Ok(());
    }
    PACK.with(|cell| {
        // Borrowed already only if an earlier call trapped while packing (nothing here re-enters).
        let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        let (pa, pb) = &mut *guard;
        let kb = k_block(k);
        let kc_max = k.min(kb);
        grow(pa, MC.min(m).div_ceil(MR) * MR * kc_max)?;
        grow(pb, NC.min(n).div_ceil(NR) * NR * kc_max)?;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(kb) {
                let kc = kb.min(k - pc);
                b.pack(pc, kc, jc, nc, pb);
                let acc = accumulate || pc > 0;
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    pack_a(a, ic, mc, pc, kc, MR, pa);
                    macro_tile(mc, nc, kc, pa, pb, c.add(ic * ldc + jc), ldc, acc);
                }
            }
        }
        Ok(())
    })
}

/// A packed once, for many GEMMs that share it: a layer's (transposed) weights against each sample of a
/// batch. Packing a transposed A gathers along its long stride; on small planes (a pointwise convolution's
/// input gradient on 4×4 maps) repacking it per sample cost as much as the multiply (MobileNetV2 profile).
/// The blocks are those `sgemm` packs, in its order, so `sgemm_packed_rows` gives `sgemm`'s bits.
pub struct PackedA {
    m: usize,
    k: usize,
    data: Vec<f32>,
}

impl PackedA {
    pub fn new(m: usize, k: usize, a: Mat) -> Result<Self> {
        check_view("A", &a, m, k);
        let kb = k_block(k.max(1));
        let mut len = 0usize;
        for pc in (0..k).step_by(kb) {
            let kc = kb.min(k - pc);
            for ic in (0..m).step_by(MC) {
                len += MC.min(m - ic).div_ceil(MR) * MR * kc;
            }
        }
        let mut data = Vec::new();
        grow(&mut data, len)?;
        let mut off = 0;
        for pc in (0..k).step_by(kb) {
            let kc = kb.min(k - pc);
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                let size = mc.div_ceil(MR) * MR * kc;
                pack_a(a, ic, mc, pc, kc, MR, &mut data[off..off + size]);
                off += size;
            }
        }
        Ok(Self { m, k, data })
    }
}

/// `sgemm` with A already packed (`PackedA`) and a row-major B (`k × n`, row stride `ldb`) read in place:
/// each 8-column tile's rows go straight to the indirect microkernel, so B is never packed. For the
/// pointwise convolution's operands (a sample's planes), whose packing was an eighth of a MobileNetV2 step;
/// every A panel of a K block meets the tile while it is in cache. The last tile of a row that is not 8 wide is packed (its reads
/// would pass the row's end). Same blocks and order as `sgemm`, so the same bits.
pub fn sgemm_packed_rows(a: &PackedA, n: usize, b: &[f32], ldb: usize, c: &mut [f32], ldc: usize, accumulate: bool) -> Result {
    let (m, k) = (a.m, a.k);
    check_view("B", &Mat::row_major(b, ldb), k, n);
    if m == 0 || n == 0 {
        return Ok(());
    }
    assert!(ldb >= n && ldc >= n, "sgemm: ldb {ldb} or ldc {ldc} < n {n}");
    assert!((m - 1) * ldc + n <= c.len(), "sgemm: C buffer too small");
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                c[i * ldc..i * ldc + n].fill(0.0);
            }
        }
        return Ok(());
    }
    let (kb, panels, full) = (k_block(k), m.div_ceil(MR), n / NR * NR);
    let mut off = Vec::new();
    off.try_reserve_exact(kb.min(k)).map_err(|_| Error::OutOfMemory)?;
    off.extend((0..kb.min(k)).map(|p| p * ldb));
    let cp = c.as_mut_ptr();
    PACK.with(|cell| {
        let mut guard = cell.try_borrow_mut().map_err(|_| Error::Trapped)?;
        let (_, pb) = &mut *guard;
        grow(pb, NR * kb.min(k))?;
        let mut base = 0;
        for pc in (0..k).step_by(kb) {
            let kc = kb.min(k - pc);
            let acc = accumulate || pc > 0;
            let ap = &a.data[base..base + panels * MR * kc];
            base += panels * MR * kc;
            // The last tile's rows end inside B (checked above): (pc + kc - 1)·ldb + full - 1 + 8 <= b.len()
            // for every full tile.
            assert!(full == 0 || (pc + kc - 1) * ldb + full <= b.len());
            for jr in (0..n).step_by(NR) {
                let nr = NR.min(n - jr);
                if nr < NR {
                    pack_b(Mat::row_major(b, ldb), pc, kc, jr, nr, NR, pb);
                }
                for q in 0..panels {
                    let mr = MR.min(m - q * MR);
                    // SAFETY: panel q of block pc holds MR·kc floats; a full tile's rows jr..jr+8 at
                    // (pc + p)·ldb lie inside B (asserted above), a tail tile reads the packed panel; C's
                    // tile (rows q·MR.., columns jr..) lies in `c` (checked above; edges go through a
                    // temporary).
                    unsafe {
                        let (apq, c0) = (ap.as_ptr().add(q * MR * kc), cp.add(q * MR * ldc + jr));
                        let bp = b.as_ptr().add(pc * ldb + jr);
                        match (mr == MR, nr == NR) {
                            (true, true) => f32_igemm_4x8(kc, apq, bp, off.as_ptr(), c0, ldc, acc),
                            (false, true) => edge_tile(mr, nr, c0, ldc, acc, |t| f32_igemm_4x8(kc, apq, bp, off.as_ptr(), t, NR, acc)),
                            (_, false) => edge_tile(mr, nr, c0, ldc, acc, |t| f32_gemm_4x8(kc, apq, pb.as_ptr(), t, NR, acc)),
                        }
                    }
                }
            }
        }
        Ok(())
    })
}

/// Below this many multiply-adds a GEMM stays on one thread. Measured natively on this project's 2-core VM
/// (noisy; two row halves against one call): ≤ 1M MACs 0.6–1.2×, 4M 0.85–1.4×, 33M 1.1–1.7×. Waking a
/// sleeping pool thread costs tens of microseconds, which small GEMMs cannot repay.
const PAR_MIN_MACS: usize = 4 << 20;

/// `sgemm` split over blocks of C on the pool (with the `threads` feature): column blocks when C is wide
/// enough (each task then packs only its own part of B), else row blocks. Each element's sum is computed by
/// one task in the same order as `sgemm`, so the bits do not depend on the thread count.
/// For callers that are not already inside a parallel loop (dense layers).
pub fn sgemm_par(m: usize, n: usize, k: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize, accumulate: bool) -> Result {
    let threads = par::threads();
    if threads == 1 || m.saturating_mul(n).saturating_mul(k) < PAR_MIN_MACS || m == 0 || n == 0 {
        return sgemm(m, n, k, a, b, c, ldc, accumulate);
    }
    assert!(ldc >= n, "sgemm: ldc {ldc} < n {n}");
    assert!((m - 1) * ldc + n <= c.len(), "sgemm: C buffer too small");
    check_view("A", &a, m, k);
    check_view("B", &b, k, n);
    let cp = SyncPtr(c.as_mut_ptr());
    if n >= 2 * NR * threads {
        // Column blocks, a multiple of NR, about two per thread for balance.
        let cols = n.div_ceil(2 * threads).div_ceil(NR) * NR;
        par::try_for_each(n.div_ceil(cols), |j| {
            let c0 = j * cols;
            let bj = Mat { data: &b.data[c0 * b.cs..], rs: b.rs, cs: b.cs };
            // SAFETY: task j alone touches columns c0..c0+nj of every row of C, inside the checked region.
            unsafe { sgemm_raw(m, cols.min(n - c0), k, a, &bj, cp.get().add(c0), ldc, accumulate) }
        })
    } else {
        let rows = m.div_ceil(2 * threads).div_ceil(MR) * MR;
        par::try_for_each(m.div_ceil(rows), |i| {
            let r0 = i * rows;
            let ai = Mat { data: &a.data[r0 * a.rs..], rs: a.rs, cs: a.cs };
            // SAFETY: task i alone touches rows r0..r0+mi of C, inside the checked region.
            unsafe { sgemm_raw(rows.min(m - r0), n, k, ai, &b, cp.get().add(r0 * ldc), ldc, accumulate) }
        })
    }
}

/// All microkernel tiles of one packed block; edge tiles go through a 4×8 temporary (`edge_tile`).
///
/// # Safety
/// `c` points at the block's top-left element; rows `0..mc`, columns `0..nc` at stride `ldc` are writable.
unsafe fn macro_tile(mc: usize, nc: usize, kc: usize, pa: &[f32], pb: &[f32], c: *mut f32, ldc: usize, acc: bool) {
    for jr in (0..nc).step_by(NR) {
        let nr = NR.min(nc - jr);
        let bp = &pb[(jr / NR) * NR * kc..];
        for ir in (0..mc).step_by(MR) {
            let mr = MR.min(mc - ir);
            let ap = &pa[(ir / MR) * MR * kc..];
            let c0 = c.add(ir * ldc + jr);
            if mr == MR && nr == NR {
                // SAFETY: panels hold kc·MR and kc·NR floats (packed above); the full tile lies inside the
                // block because ir+MR <= mc rows and jr+NR <= nc columns.
                f32_gemm_4x8(kc, ap.as_ptr(), bp.as_ptr(), c0, ldc, acc);
            } else {
                // SAFETY: as above for the panels; the temporary is a full 4×8 tile with row stride NR.
                edge_tile(mr, nr, c0, ldc, acc, |t| f32_gemm_4x8(kc, ap.as_ptr(), bp.as_ptr(), t, NR, acc));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    fn naive(m: usize, n: usize, k: usize, a: Mat, b: Mat, c: &mut [f32], ldc: usize, acc: bool) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for p in 0..k {
                    s += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
                }
                let old = if acc { c[i * ldc + j] as f64 } else { 0.0 };
                c[i * ldc + j] = (old + s) as f32;
            }
        }
    }

    fn check(m: usize, n: usize, k: usize, ta: bool, tb: bool, acc: bool, rng: &mut Rng) {
        let a = rng.normal_vec(m * k);
        let b = rng.normal_vec(k * n);
        let ldc = n + 3;
        let c0 = rng.normal_vec(m.max(1) * ldc);
        let av = if ta { Mat::transposed(&a, m) } else { Mat::row_major(&a, k) };
        let bv = if tb { Mat::transposed(&b, k) } else { Mat::row_major(&b, n) };
        let mut got = c0.clone();
        let mut want = c0.clone();
        sgemm(m, n, k, av, bv, &mut got, ldc, acc).unwrap();
        naive(m, n, k, av, bv, &mut want, ldc, acc);
        // f32 dot products of length k against an f64 reference: error grows like k·eps·|terms|.
        assert_close(&got, &want, 1e-5 * (k as f32).sqrt().max(1.0), &format!("sgemm m{m} n{n} k{k} ta{ta} tb{tb} acc{acc}"));
    }

    #[test]
    fn matches_naive_on_edge_shapes() {
        let mut rng = Rng::new(7);
        // Primes and tile tails: M, N, K not multiples of 4/8, K = 1, tiny and across block sizes.
        let sizes = [1usize, 2, 3, 4, 5, 7, 8, 9, 13, 17, 31, 33];
        for &m in &sizes {
            for &n in &sizes {
                for &k in &[1usize, 2, 5, 11] {
                    check(m, n, k, false, false, false, &mut rng);
                }
            }
        }
        for &(m, n, k) in &[(73, 67, 259), (150, 9, 300), (9, 20, 800), (5, 2050, 7), (16, 576, 25), (200, 64, 16)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    for acc in [false, true] {
                        check(m, n, k, ta, tb, acc, &mut rng);
                    }
                }
            }
        }
    }

    /// A packed once and B read in place give `sgemm`'s bits: the same blocks in the same order (K across
    /// blocks, M across MC and not a multiple of 4, tails of N not 8 wide, a row stride beyond N, A
    /// transposed as the conv input gradient uses it or not, accumulate or not).
    #[test]
    fn packed_rows_is_bitwise_sgemm() {
        let mut rng = Rng::new(13);
        for &(m, n, k, ldb) in &[(1, 1, 1, 1), (5, 3, 7, 3), (73, 67, 259, 70), (150, 9, 800, 9), (960, 16, 160, 16), (9, 2050, 5, 2050), (96, 1024, 16, 1024), (24, 16, 960, 16), (7, 4, 5, 4), (4, 8, 0, 8)] {
            let a = rng.normal_vec(m * k);
            for (ta, av) in [(false, Mat::row_major(&a, k)), (true, Mat::transposed(&a, m))] {
                let packed = PackedA::new(m, k, av).unwrap();
                for acc in [false, true] {
                    let b = rng.normal_vec((k.max(1) - 1) * ldb + n);
                    let ldc = n + 2;
                    let c0 = rng.normal_vec(m * ldc);
                    let (mut got, mut want) = (c0.clone(), c0.clone());
                    sgemm(m, n, k, av, Mat::row_major(&b, ldb), &mut want, ldc, acc).unwrap();
                    sgemm_packed_rows(&packed, n, &b, ldb, &mut got, ldc, acc).unwrap();
                    assert!(got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()), "m{m} n{n} k{k} ldb{ldb} ta{ta} acc{acc}");
                }
            }
        }
    }

    /// A trap while packing would leave the packing scratch borrowed: later calls refuse, never trap.
    #[test]
    fn packing_scratch_left_borrowed_is_reported_not_a_trap() {
        let (a, b) = ([1.0f32; 4], [1.0f32; 4]);
        let mut c = [0.0f32; 4];
        PACK.with(|cell| {
            let _stale = cell.borrow_mut();
            assert_eq!(sgemm(2, 2, 2, Mat::row_major(&a, 2), Mat::row_major(&b, 2), &mut c, 2, false), Err(Error::Trapped));
        });
        sgemm(2, 2, 2, Mat::row_major(&a, 2), Mat::row_major(&b, 2), &mut c, 2, false).unwrap();
        assert_eq!(c, [2.0; 4]);
    }

    #[test]
    fn k_zero_clears_or_keeps() {
        let mut c = vec![1.0f32; 6];
        sgemm(2, 3, 0, Mat::row_major(&[], 0), Mat::row_major(&[], 3), &mut c, 3, true).unwrap();
        assert_eq!(c, vec![1.0; 6]);
        sgemm(2, 3, 0, Mat::row_major(&[], 0), Mat::row_major(&[], 3), &mut c, 3, false).unwrap();
        assert_eq!(c, vec![0.0; 6]);
    }
}
