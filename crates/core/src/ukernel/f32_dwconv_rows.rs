//! Output rows of a depthwise convolution: `out[x] = init + Σ_t w[t] · src[off[t] + x]` for `x < n`, four
//! lanes along the row, for `rows` rows at fixed steps. A tap is a weight and a row of a padded plane, found
//! through an offset table (as `f32_igemm_4x8` finds B's rows), so one kernel serves every kernel size,
//! stride, dilation and the input gradient (whose taps are rows of the padded output gradient).

use crate::simd::F32x4;

/// Floats a call may read past `src + off[t] + n` (in each row): the last vector of a row is loaded whole.
pub const ROW_SLACK: usize = 3;

/// For each row `r < rows`: `out[r·out_step + x] = init + Σ_{t < taps} w[t] · src[r·src_step + off[t] + x]`
/// for `x < n`, each sum in tap order (the same order for every `x`, so any `n` and every tail give the
/// bits of the scalar loop `s = init; for t { s = s + w[t]·src[…] }`; the relaxed-SIMD build fuses each
/// step). One call per plane: a call per row cost as much as a narrow row's arithmetic.
///
/// Sixteen outputs per step: four independent accumulator chains hide the add latency. A row's last 1–15
/// outputs are one more step of 1–4 vectors (a row of 28 is 16 + 12, not 16 + 4 + 4 + 4 on one chain),
/// taken for 4 rows at once when it is one vector and 2 rows when two (narrow planes: a 7 × 7 plane is
/// pairs of rows, two vectors each, instead of seven two-chain steps).
///
/// # Safety
/// `w` and `off` must hold `taps` entries; for every row r and tap t, `src + r·src_step + off[t] .. + n +
/// ROW_SLACK` must be readable (the slack's values are discarded) and `out + r·out_step .. + n` writable.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn f32_dwconv_rows(taps: usize, w: *const f32, src: *const f32, off: *const usize, n: usize, rows: usize, src_step: usize, init: f32, out: *mut f32, out_step: usize) {
    let k = Taps { taps, w, off, init: F32x4::splat(init), src_step, out_step };
    let full = n / 16 * 16;
    for r in 0..rows {
        for x in (0..full).step_by(16) {
            k.step::<4, 1>(src.add(r * src_step + x), 16, out.add(r * out_step + x));
        }
    }
    let (src, out, rest) = (src.add(full), out.add(full), n - full);
    match rest.div_ceil(4) {
        1 => k.tail::<1, 4>(src, rest, rows, out),
        2 => k.tail::<2, 2>(src, rest, rows, out),
        3 => k.tail::<3, 1>(src, rest, rows, out),
        4 => k.tail::<4, 1>(src, rest, rows, out),
        _ => {}
    }
}

/// What every step of one call shares: the taps, the initial value and the row steps.
#[derive(Clone, Copy)]
struct Taps {
    taps: usize,
    w: *const f32,
    off: *const usize,
    init: F32x4,
    src_step: usize,
    out_step: usize,
}

impl Taps {
    /// The last `len` columns of every row, `R` rows per step (the last `rows % R` one at a time).
    #[inline(always)]
    unsafe fn tail<const V: usize, const R: usize>(self, src: *const f32, len: usize, rows: usize, out: *mut f32) {
        let mut r = 0;
        while r + R <= rows {
            self.step::<V, R>(src.add(r * self.src_step), len, out.add(r * self.out_step));
            r += R;
        }
        while r < rows {
            self.step::<V, 1>(src.add(r * self.src_step), len, out.add(r * self.out_step));
            r += 1;
        }
    }

    /// `V` vectors of outputs `0..len` (`4·V - 3 ≤ len ≤ 4·V`) in each of `R` rows; each row's last vector
    /// is stored only up to `len`.
    #[inline(always)]
    unsafe fn step<const V: usize, const R: usize>(self, src: *const f32, len: usize, out: *mut f32) {
        let mut acc = [[self.init; V]; R];
        for t in 0..self.taps {
            let wt = F32x4::load_splat(self.w.add(t));
            let p = src.add(*self.off.add(t));
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, a) in row.iter_mut().enumerate() {
                    *a = a.mul_add(wt, F32x4::load(p.add(r * self.src_step + 4 * v)));
                }
            }
        }
        for (r, row) in acc.into_iter().enumerate() {
            for (v, a) in row.into_iter().enumerate() {
                a.store_first(out.add(r * self.out_step + 4 * v), len - 4 * v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// The microkernel tester: every width 1..=40 (every tail step), 1–5 rows, tap counts 0..=25, offsets
    /// anywhere, against the scalar loop in the same order, bit for bit; outputs past `n` stay untouched.
    #[test]
    fn matches_scalar_loop_bitwise() {
        let mut rng = Rng::new(31);
        for taps in [0usize, 1, 2, 3, 4, 9, 25] {
            for n in 1..=40 {
                let src = rng.normal_vec(117 + n + ROW_SLACK);
                let w = rng.normal_vec(taps);
                let off: Vec<usize> = (0..taps).map(|_| rng.below(97)).collect();
                let init = rng.normal();
                // 1–5 rows (every grouping of the tail steps): row r reads 5·r floats on and writes at
                // r·(n + 7).
                for rows in 1..=5 {
                    let mut got = vec![f32::NAN; rows * (n + 7)];
                    // SAFETY: every 5·4 + off[t] + n + ROW_SLACK <= 116 + n + 3 <= src.len(); got holds
                    // rows·(n + 7).
                    unsafe { f32_dwconv_rows(taps, w.as_ptr(), src.as_ptr(), off.as_ptr(), n, rows, 5, init, got.as_mut_ptr(), n + 7) };
                    for (r, row) in got.chunks(n + 7).enumerate() {
                        for x in 0..n {
                            let mut s = init;
                            for t in 0..taps {
                                s += w[t] * src[5 * r + off[t] + x];
                            }
                            assert_eq!(row[x].to_bits(), s.to_bits(), "taps {taps} n {n} rows {rows} row {r} x {x}");
                        }
                        assert!(row[n..].iter().all(|v| v.is_nan()), "wrote past n: taps {taps} n {n} rows {rows}");
                    }
                }
            }
        }
    }
}
