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
/// outputs are one more step of 1–4 vectors (a row of 28 is 16 + 12, not 16 + 4 + 4 + 4 on one chain).
///
/// # Safety
/// `w` and `off` must hold `taps` entries; for every row r and tap t, `src + r·src_step + off[t] .. + n +
/// ROW_SLACK` must be readable (the slack's values are discarded) and `out + r·out_step .. + n` writable.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn f32_dwconv_rows(taps: usize, w: *const f32, src: *const f32, off: *const usize, n: usize, rows: usize, src_step: usize, init: f32, out: *mut f32, out_step: usize) {
    let init = F32x4::splat(init);
    for r in 0..rows {
        let (src, out) = (src.add(r * src_step), out.add(r * out_step));
        let mut x = 0;
        while x + 16 <= n {
            step::<4>(taps, w, src.add(x), off, 16, init, out.add(x));
            x += 16;
        }
        let (src, out, rest) = (src.add(x), out.add(x), n - x);
        match rest.div_ceil(4) {
            1 => step::<1>(taps, w, src, off, rest, init, out),
            2 => step::<2>(taps, w, src, off, rest, init, out),
            3 => step::<3>(taps, w, src, off, rest, init, out),
            4 => step::<4>(taps, w, src, off, rest, init, out),
            _ => {}
        }
    }
}

/// `V` vectors of outputs `0..len` (`4·V - 3 ≤ len ≤ 4·V`); the last vector is stored only up to `len`.
#[inline(always)]
unsafe fn step<const V: usize>(taps: usize, w: *const f32, src: *const f32, off: *const usize, len: usize, init: F32x4, out: *mut f32) {
    let mut acc = [init; V];
    for t in 0..taps {
        let wt = F32x4::load_splat(w.add(t));
        let p = src.add(*off.add(t));
        for (v, a) in acc.iter_mut().enumerate() {
            *a = a.mul_add(wt, F32x4::load(p.add(4 * v)));
        }
    }
    for (v, a) in acc.into_iter().enumerate() {
        a.store_first(out.add(4 * v), len - 4 * v);
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
                let src = rng.normal_vec(102 + n + ROW_SLACK);
                let w = rng.normal_vec(taps);
                let off: Vec<usize> = (0..taps).map(|_| rng.below(97)).collect();
                let init = rng.normal();
                // Two rows: the second reads 5 floats on and writes n + 7 floats on.
                let mut got = vec![f32::NAN; 2 * n + 12];
                // SAFETY: every 5 + off[t] + n + ROW_SLACK <= 101 + n + 3 < src.len(); got holds 2n + 12.
                unsafe { f32_dwconv_rows(taps, w.as_ptr(), src.as_ptr(), off.as_ptr(), n, 2, 5, init, got.as_mut_ptr(), n + 7) };
                for (r, row) in [(0, &got[..n + 7]), (1, &got[n + 7..])] {
                    for x in 0..n {
                        let mut s = init;
                        for t in 0..taps {
                            s += w[t] * src[5 * r + off[t] + x];
                        }
                        assert_eq!(row[x].to_bits(), s.to_bits(), "taps {taps} n {n} row {r} x {x}");
                    }
                    assert!(row[n..].iter().all(|v| v.is_nan()), "wrote past n: taps {taps} n {n}");
                }
            }
        }
    }
}
