//! Where a ReLU fused after BatchNorm's affine map passed its input, as one comparison of x.
//!
//! The forward computes t = ((x − mean)·scale) + shift in f32 and keeps max(t, 0); the backward needs the
//! mask t > 0 at every element. Recomputing t costs a multiply and an add per element. Each rounded step
//! is monotone in x, so for scale > 0 t is non-decreasing in x and {x : t > 0} is {x > cut}; for scale < 0
//! it is {x ≤ cut}. The cut is found once per channel by bisection over the finite floats, evaluating t
//! with the forward's own operations, so the comparison matches the forward's mask bit for bit.

/// How the backward finds where t > 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Pass {
    /// x > the cut (scale > 0).
    Above(f32),
    /// x ≤ the cut (scale < 0).
    AtMost(f32),
    /// t recomputed: scale = 0 (t is constant where x − mean does not overflow, NaN where it does: no cut)
    /// or a non-finite constant.
    Recompute,
}

/// The forward's pre-activation, rounded as `normalize_run` rounds it.
#[inline(always)]
fn pre(x: f32, mean: f32, scale: f32, shift: f32) -> f32 {
    ((x - mean) * scale) + shift
}

pub(crate) fn relu_pass(mean: f32, scale: f32, shift: f32) -> Pass {
    if !(mean.is_finite() && scale.is_finite() && shift.is_finite()) || scale == 0.0 {
        return Pass::Recompute;
    }
    let on = |x: f32| pre(x, mean, scale, shift) > 0.0;
    if scale > 0.0 {
        // The largest x where the ReLU is off; none: it is on everywhere.
        Pass::Above(last(|x| !on(x)).unwrap_or(f32::NEG_INFINITY))
    } else {
        // The largest x where it is on; none: it is off everywhere.
        Pass::AtMost(last(on).unwrap_or(f32::NEG_INFINITY))
    }
}

/// Finite floats in order as integers: -f32::MAX … -0.0, +0.0 … f32::MAX are consecutive keys.
fn key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 1 << 31 }
}

fn from_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// The largest finite x where `p` holds, for a `p` that holds on an initial run of the finite floats
/// (every x up to some value, or none).
fn last(p: impl Fn(f32) -> bool) -> Option<f32> {
    let (mut lo, mut hi) = (key(-f32::MAX), key(f32::MAX));
    if !p(from_key(lo)) {
        return None;
    }
    if p(from_key(hi)) {
        return Some(f32::MAX);
    }
    // p(lo) and !p(hi) throughout.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if p(from_key(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(from_key(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    fn passes(p: Pass, x: f32) -> Option<bool> {
        match p {
            Pass::Above(c) => Some(x > c),
            Pass::AtMost(c) => Some(x <= c),
            Pass::Recompute => None,
        }
    }

    #[test]
    fn keys_order_the_finite_floats() {
        for x in [-f32::MAX, -1.5, -f32::MIN_POSITIVE, -1e-45, -0.0, 0.0, 1e-45, 1.0, f32::MAX] {
            assert_eq!(from_key(key(x)).to_bits(), x.to_bits());
        }
        assert_eq!(key(0.0), key(-0.0) + 1);
        assert_eq!(key(1e-45), key(0.0) + 1);
        assert_eq!(from_key(key(1.0) + 1), f32::from_bits(1.0f32.to_bits() + 1));
    }

    /// The comparison equals t > 0 at the cut, at every float within 64 ulps of it, and at random x.
    #[test]
    fn the_cut_reproduces_the_recomputed_mask() {
        let mut rng = Rng::new(13);
        let mut cases: Vec<[f32; 3]> = vec![
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [3.0, 1e-30, 1e-38],
            [1e30, 1e10, -5.0],
            [-2.0, -1e-3, 1e-7],
            [0.5, f32::MAX, 1.0],
            [0.5, 1e-45, -1e-45],
            [1.0, 1.0, -f32::MAX],
        ];
        for _ in 0..2000 {
            let v = rng.normal_vec(3);
            let e = rng.normal_vec(3);
            cases.push([v[0] * 10f32.powf(e[0] * 3.0), v[1] * 10f32.powf(e[1] * 3.0), v[2] * 10f32.powf(e[2] * 3.0)]);
        }
        for [mean, scale, shift] in cases {
            let p = relu_pass(mean, scale, shift);
            let mut xs: Vec<f32> = rng.normal_vec(64).iter().map(|v| mean + v * (shift.abs() / scale.abs()).max(1e-30)).collect();
            if let Pass::Above(c) | Pass::AtMost(c) = p {
                if c.is_finite() {
                    xs.extend((0..129).map(|d| from_key((key(c) as i64 + d - 64).clamp(key(-f32::MAX) as i64, key(f32::MAX) as i64) as u32)));
                }
            }
            xs.extend([-f32::MAX, -0.0, 0.0, f32::MAX]);
            for x in xs.into_iter().filter(|x| x.is_finite()) {
                let want = pre(x, mean, scale, shift) > 0.0;
                assert_eq!(passes(p, x), Some(want), "mean {mean:e} scale {scale:e} shift {shift:e} x {x:e}: {p:?}");
            }
        }
    }

    #[test]
    fn no_cut_where_t_is_not_monotone() {
        assert_eq!(relu_pass(1.0, 0.0, 1.0), Pass::Recompute);
        assert_eq!(relu_pass(1.0, f32::INFINITY, 1.0), Pass::Recompute);
        assert_eq!(relu_pass(f32::NAN, 1.0, 1.0), Pass::Recompute);
    }
}
