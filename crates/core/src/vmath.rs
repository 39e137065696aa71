//! Elementary functions over `Lane`s (four SIMD lanes or one `f32`, one generic body), accurate to a few
//! f32 ulps across the whole range, for the smooth activations.
//!
//! Every function uses only lane-wise IEEE operations, so the SIMD loop and its scalar tail give the same
//! bits for the same input, on any thread count. The constructions, briefly:
//! - `exp`: Cody–Waite reduction `x = n·ln2 + r`, |r| ≤ ln2/2, a degree-8 Taylor polynomial for `expm1(r)`
//!   (truncation below 1e-9 relative), then `2^n` applied as two exponent-bit scalings so that results in
//!   the subnormal range are rounded once.
//! - `expm1_nonpositive`: the same reduction, recombined as `2^n·p + (2^n − 1)` (exact for n ≥ −24), so it
//!   keeps full relative accuracy near 0 where `exp(x) − 1` cancels.
//! - `normal_cdf`: Φ(x) = ½·erfc(−x/√2) with Numerical Recipes' Chebyshev fit `erfc(z) = t·exp(−z² + P(t))`,
//!   t = 1/(1 + z/2) (fractional error ≤ 1.05e-7 in exact arithmetic, measured in f64). The Gaussian factor
//!   `exp(−x²/2)` is taken as `exp(−xh²/2)·exp(−(x − xh)(x + xh)/2)` with `xh` the top 12 bits of x (a
//!   Veltkamp split), so `xh²` is exact: the f32 rounding of x²/2 alone would cost ~x²·6e-8 relative.

use crate::simd::{F32x4, Lane};

/// What the functions here need beyond `Lane`: comparisons, selection and exponent construction.
pub trait Math: Lane {
    /// `o < self ? o : self`.
    fn pmin(self, o: Self) -> Self;
    /// `self < o ? o : self`.
    fn pmax(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn neg(self) -> Self;
    /// Mask of `self < o`.
    fn lt(self, o: Self) -> Self;
    /// Mask of `self <= o`.
    fn le(self, o: Self) -> Self;
    /// `mask ? a : b`, bitwise.
    fn select(mask: Self, a: Self, b: Self) -> Self;
    /// `2^n` for an integral `n` in [-126, 127].
    fn pow2i(self) -> Self;
}

impl Math for f32 {
    #[inline(always)]
    fn pmin(self, o: Self) -> Self {
        if o < self { o } else { self }
    }
    #[inline(always)]
    fn pmax(self, o: Self) -> Self {
        if self < o { o } else { self }
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f32::abs(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Self {
        f32::from_bits(if self < o { !0 } else { 0 })
    }
    #[inline(always)]
    fn le(self, o: Self) -> Self {
        f32::from_bits(if self <= o { !0 } else { 0 })
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        let m = mask.to_bits();
        f32::from_bits((a.to_bits() & m) | (b.to_bits() & !m))
    }
    #[inline(always)]
    fn pow2i(self) -> Self {
        f32::from_bits(((self as i32 + 127) << 23) as u32)
    }
}

impl Math for F32x4 {
    #[inline(always)]
    fn pmin(self, o: Self) -> Self {
        F32x4::pmin(self, o)
    }
    #[inline(always)]
    fn pmax(self, o: Self) -> Self {
        F32x4::pmax(self, o)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        F32x4::abs(self)
    }
    #[inline(always)]
    fn neg(self) -> Self {
        F32x4::neg(self)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Self {
        F32x4::lt(self, o)
    }
    #[inline(always)]
    fn le(self, o: Self) -> Self {
        F32x4::le(self, o)
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        F32x4::select(mask, a, b)
    }
    #[inline(always)]
    fn pow2i(self) -> Self {
        F32x4::pow2i(self)
    }
}

#[inline(always)]
fn k<L: Lane>(v: f32) -> L {
    L::splat(v)
}

/// 1.5·2²³: adding and subtracting it rounds |v| < 2²² to the nearest integer, ties to even (plain
/// IEEE adds: no rounding instruction, which x86's baseline lacks and would call libm for per lane).
const ROUND: f32 = 12_582_912.0;

/// `x = n·ln2 + r`: returns (n, r). ln2 = C1 + C2 with C1 = 355/512 exact in 9 bits, so n·C1 is exact.
/// The callers clamp x, so |x·log2 e| ≤ 151.
#[inline(always)]
fn reduce<L: Math>(x: L) -> (L, L) {
    let n = x.mul(k(core::f32::consts::LOG2_E)).add(k(ROUND)).sub(k(ROUND));
    let r = x.sub(n.mul(k(0.693_359_4))).sub(n.mul(k(-2.121_944_4e-4)));
    (n, r)
}

/// expm1(r) for |r| ≲ 0.35: r + r²·(1/2! + r/3! + … + r⁶/8!).
#[inline(always)]
fn expm1_reduced<L: Math>(r: L) -> L {
    let mut q = k::<L>(1.0 / 40320.0);
    for c in [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5] {
        q = q.mul(r).add(k(c));
    }
    r.add(r.mul(r).mul(q))
}

/// eˣ (0 below −104, +∞ above 88.73).
#[inline(always)]
pub fn exp<L: Math>(x: L) -> L {
    let (n, r) = reduce(x.pmax(k(-104.0)).pmin(k(89.0)));
    let e = k::<L>(1.0).add(expm1_reduced(r));
    // n ∈ [-150, 129]: split so each factor is a normal power of two and the product rounds once.
    let n1 = n.mul(k(0.5)).add(k(ROUND)).sub(k(ROUND));
    e.mul(n1.pow2i()).mul(n.sub(n1).pow2i())
}

/// eˣ − 1 for x ≤ 0 (the callers' only range), with full relative accuracy near 0.
#[inline(always)]
pub fn expm1_nonpositive<L: Math>(x: L) -> L {
    // Below −30 the result is −1 in f32; the clamp keeps 2^n normal.
    let (n, r) = reduce(x.pmax(k(-30.0)));
    let p = expm1_reduced(r);
    let t = n.pow2i();
    t.mul(p).add(t.sub(k(1.0)))
}

/// The logistic function's two halves from one exponential: (σ(x), σ(−x), e^−|x|, 1 + e^−|x|), each
/// without cancellation (σ(x) = 1/(1+e^−x) for x ≥ 0 and e^x/(1+e^x) below).
#[inline(always)]
pub fn logistic<L: Math>(x: L) -> (L, L, L, L) {
    let e = exp(x.abs().neg());
    let d = k::<L>(1.0).add(e);
    let neg = x.lt(k(0.0));
    let one = k::<L>(1.0);
    (L::select(neg, e, one).div(d), L::select(neg, one, e).div(d), e, d)
}

/// Numerical Recipes' erfc fit, coefficients of P(t) from t⁹ down to t⁰ (as published).
#[allow(clippy::excessive_precision)]
const ERFC_P: [f32; 10] =
    [0.170_872_77, -0.822_152_23, 1.488_515_87, -1.135_203_98, 0.278_868_07, -0.186_288_06, 0.096_784_18, 0.374_091_96, 1.000_023_68, -1.265_512_23];

/// Pieces shared by Φ and the Gaussian density at `x` clamped to [−16, 16] (beyond, Φ is 0 or 1 in f32).
struct Gauss<L> {
    /// exp(−xh²/2), its argument exact.
    e_hi: L,
    /// −(x² − xh²)/2, small.
    lo: L,
    /// t·exp(P(t)) of the erfc fit at |x|/√2.
    fit: L,
}

#[inline(always)]
fn gauss<L: Math>(x: L) -> Gauss<L> {
    let x = x.pmax(k(-16.0)).pmin(k(16.0));
    let c = x.mul(k(4097.0));
    let xh = c.sub(c.sub(x));
    let lo = x.sub(xh).mul(x.add(xh)).mul(k(-0.5));
    let e_hi = exp(xh.mul(xh).mul(k(-0.5)));
    let t = k::<L>(1.0).div(k::<L>(1.0).add(x.abs().mul(k(0.5 * core::f32::consts::FRAC_1_SQRT_2))));
    let mut p = k::<L>(ERFC_P[0]);
    for &c in &ERFC_P[1..] {
        p = p.mul(t).add(k(c));
    }
    Gauss { e_hi, lo, fit: t.mul(exp(p.add(lo))) }
}

/// Φ(x), the standard normal CDF, to ~3e-7 relative (also in the lower tail, where 1 + erf cancels).
#[inline(always)]
pub fn normal_cdf<L: Math>(x: L) -> L {
    let g = gauss(x);
    let h = k::<L>(0.5).mul(g.fit).mul(g.e_hi); // Φ(−|x|)
    L::select(x.lt(k(0.0)), h, k::<L>(1.0).sub(h))
}

/// (Φ(x), φ(x)): the CDF and the density exp(−x²/2)/√(2π).
#[inline(always)]
pub fn normal_cdf_pdf<L: Math>(x: L) -> (L, L) {
    let g = gauss(x);
    let h = k::<L>(0.5).mul(g.fit).mul(g.e_hi);
    let cdf = L::select(x.lt(k(0.0)), h, k::<L>(1.0).sub(h));
    let pdf = g.e_hi.mul(exp(g.lo)).mul(k(0.398_942_3));
    (cdf, pdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Max relative error of `f` against `want` (f64) over `xs`, where the reference is a normal f32.
    fn max_rel(xs: impl Iterator<Item = f32>, f: impl Fn(f32) -> f32, want: impl Fn(f64) -> f64) -> (f64, f32) {
        let mut worst = (0.0, 0.0);
        for x in xs {
            let w = want(x as f64);
            if w.abs() < f32::MIN_POSITIVE as f64 || w.abs() > f32::MAX as f64 {
                continue;
            }
            let e = ((f(x) as f64 - w) / w).abs();
            if e > worst.0 {
                worst = (e, x);
            }
        }
        worst
    }

    fn sweep(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * (i as f32 / n as f32))
    }

    fn lanes(f: impl Fn(F32x4) -> F32x4) -> impl Fn(f32) -> f32 {
        move |x| f(F32x4::splat(x)).lanes()[0]
    }

    #[test]
    fn exp_expm1_and_normal_cdf_are_within_a_few_ulps_of_f64() {
        let (e, at) = max_rel(sweep(-103.0, 88.7, 400_000), exp::<f32>, f64::exp);
        println!("exp: max rel err {e:.2e} at {at}");
        assert!(e < 1.5e-7, "exp {e} at {at}");
        let (e, at) = max_rel(sweep(-30.0, 0.0, 200_000).chain(sweep(-1e-3, 0.0, 1000)), expm1_nonpositive::<f32>, f64::exp_m1);
        println!("expm1: max rel err {e:.2e} at {at}");
        assert!(e < 1.5e-7, "expm1 {e} at {at}");
        let phi = |x: f64| 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
        let (e, at) = max_rel(sweep(-13.0, 13.0, 400_000), normal_cdf::<f32>, phi);
        println!("normal cdf: max rel err {e:.2e} at {at}");
        assert!(e < 6e-7, "cdf {e} at {at}");
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let (e, at) = max_rel(sweep(-13.0, 13.0, 400_000), |x| normal_cdf_pdf(x).1, pdf);
        println!("normal pdf: max rel err {e:.2e} at {at}");
        assert!(e < 3e-7, "pdf {e} at {at}");
    }

    #[test]
    fn lanes_and_scalar_give_the_same_bits() {
        for x in sweep(-110.0, 95.0, 20_000).chain([0.0, -0.0, 1e-30, -1e-30, f32::MAX, f32::MIN]) {
            assert_eq!(exp(x).to_bits(), lanes(exp)(x).to_bits(), "exp {x}");
            let xn = -x.abs();
            assert_eq!(expm1_nonpositive(xn).to_bits(), lanes(expm1_nonpositive)(xn).to_bits(), "expm1 {xn}");
            assert_eq!(normal_cdf(x).to_bits(), lanes(normal_cdf)(x).to_bits(), "cdf {x}");
        }
        assert_eq!(exp(-200.0f32), 0.0);
        assert_eq!(exp(100.0f32), f32::INFINITY);
        assert_eq!(expm1_nonpositive(-1e4f32), -1.0);
    }
}
