//! Per-range training telemetry: norms of the gradient, the parameters and the applied update, and the
//! spread of the update's magnitudes, reduced in a fixed order (bitwise the same on any thread count).

use super::check_len;
use super::reduce::{chunked, sq, sum4_slice};
use crate::simd::F32x4;

/// Statistics of one buffer range. Absent inputs contribute zeros; the minimum over no elements is +∞
/// (the identity for merging ranges), the maximum 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RangeStats {
    /// Σ g².
    pub grad_sq: f64,
    /// Σ p².
    pub param_sq: f64,
    /// Σ δ², δ the applied update.
    pub delta_sq: f64,
    /// min |δ|.
    pub delta_abs_min: f64,
    /// max |δ|.
    pub delta_abs_max: f64,
    /// Σ |δ|.
    pub delta_abs_sum: f64,
}

impl Default for RangeStats {
    fn default() -> Self {
        RangeStats { grad_sq: 0.0, param_sq: 0.0, delta_sq: 0.0, delta_abs_min: f64::INFINITY, delta_abs_max: 0.0, delta_abs_sum: 0.0 }
    }
}

impl RangeStats {
    /// The statistics of the union of two ranges (sums in the order `self`, `o`).
    pub fn merge(self, o: Self) -> Self {
        RangeStats {
            grad_sq: self.grad_sq + o.grad_sq,
            param_sq: self.param_sq + o.param_sq,
            delta_sq: self.delta_sq + o.delta_sq,
            delta_abs_min: self.delta_abs_min.min(o.delta_abs_min),
            delta_abs_max: self.delta_abs_max.max(o.delta_abs_max),
            delta_abs_sum: self.delta_abs_sum + o.delta_abs_sum,
        }
    }

    /// As the six f64s `[grad_sq, param_sq, delta_sq, delta_abs_min, delta_abs_max, delta_abs_sum]`.
    pub fn to_array(self) -> [f64; 6] {
        [self.grad_sq, self.param_sq, self.delta_sq, self.delta_abs_min, self.delta_abs_max, self.delta_abs_sum]
    }
}

/// Σδ², Σ|δ| (f64, `sum4` order), min |δ| and max |δ| of one chunk: the sums as `sum4_slice` loops, the
/// extremes on four lanes (min as −max(−|δ|), since lanes have only max; |δ| = max(δ, −δ)).
fn delta_chunk(d: &[f32]) -> (f64, f64, f32, f32) {
    let (mut neg_min, mut max) = (F32x4::splat(f32::NEG_INFINITY), F32x4::zero());
    let minus = F32x4::splat(-1.0);
    let mut it = d.chunks_exact(4);
    for c in &mut it {
        // SAFETY: c has 4 elements.
        let v = unsafe { F32x4::load(c.as_ptr()) };
        let a = v.max(v.mul(minus));
        max = max.max(a);
        neg_min = neg_min.max(a.mul(minus));
    }
    let (mut mn, mut mx) = (-neg_min.lanes().into_iter().fold(f32::NEG_INFINITY, f32::max), max.lanes().into_iter().fold(0.0, f32::max));
    for &v in it.remainder() {
        (mn, mx) = (mn.min(v.abs()), mx.max(v.abs()));
    }
    (sum4_slice(d, sq), sum4_slice(d, |v| v.abs() as f64), mn, mx)
}

/// Statistics over `n` elements of whichever of `g`, `p`, `delta` are given (each of length `n`).
pub fn range_stats(n: usize, g: Option<&[f32]>, p: Option<&[f32]>, delta: Option<&[f32]>) -> RangeStats {
    for (what, b) in [("range_stats: grad", g), ("range_stats: param", p), ("range_stats: delta", delta)] {
        if let Some(b) = b {
            check_len(what, n, b.len());
        }
    }
    chunked(
        n,
        RangeStats::default(),
        |lo, hi| {
            let mut s = RangeStats {
                grad_sq: g.map_or(0.0, |g| sum4_slice(&g[lo..hi], sq)),
                param_sq: p.map_or(0.0, |p| sum4_slice(&p[lo..hi], sq)),
                ..Default::default()
            };
            if let Some(d) = delta {
                let (dsq, dabs, mn, mx) = delta_chunk(&d[lo..hi]);
                (s.delta_sq, s.delta_abs_sum, s.delta_abs_min, s.delta_abs_max) = (dsq, dabs, mn as f64, mx as f64);
            }
            s
        },
        RangeStats::merge,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes::data;

    #[test]
    fn matches_a_direct_computation() {
        for n in [0, 1, 5, 4096, 4097, 12_345] {
            let (g, p, d) = (data(n, 1), data(n, 2), data(n, 3));
            let s = range_stats(n, Some(&g), Some(&p), Some(&d));
            let exact = |x: &[f32]| x.iter().map(|&v| v as f64 * v as f64).sum::<f64>();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
            assert!(close(s.grad_sq, exact(&g)) && close(s.param_sq, exact(&p)) && close(s.delta_sq, exact(&d)), "n {n}");
            assert!(close(s.delta_abs_sum, d.iter().map(|v| v.abs() as f64).sum()));
            assert_eq!(s.delta_abs_max, d.iter().fold(0.0f32, |a, v| a.max(v.abs())) as f64);
            assert_eq!(s.delta_abs_min, d.iter().fold(f32::INFINITY, |a, v| a.min(v.abs())) as f64);
        }
        let none = range_stats(3, None, None, None);
        assert_eq!(none, RangeStats::default());
    }
}
