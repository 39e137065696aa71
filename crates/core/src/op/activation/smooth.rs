//! The smooth activations, built on `vmath` so that each stays accurate where the textbook formula
//! cancels: the logistic function from e^−|x| (no 1 − σ), tanh from expm1, GELU's Φ from erfc in the lower
//! tail, the tanh-approximated GELU as x·σ(2u) (= ½x(1 + tanh u) without the cancellation of 1 + tanh u).
//! Derivatives are taken from the input, never from the output (σ' = σ(1 − σ) from a rounded σ loses all
//! digits in the tails).

use super::Pointwise;
use crate::vmath::{self, Math};

#[inline(always)]
fn k<L: Math>(v: f32) -> L {
    L::splat(v)
}

/// ELU: x for x > 0, α(eˣ − 1) otherwise; derivative α·eˣ for x ≤ 0 (PyTorch's convention at 0).
pub struct Elu(pub f32);
impl Pointwise for Elu {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        let neg = vmath::expm1_nonpositive(x.pmin(k(0.0))).mul(k(self.0));
        L::select(k::<L>(0.0).lt(x), x, neg)
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(0.0).lt(x), k(1.0), vmath::exp(x.pmin(k(0.0))).mul(k(self.0)))
    }
}

/// GELU, exact: x·Φ(x); derivative Φ(x) + x·φ(x).
pub struct Gelu;
impl Pointwise for Gelu {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        x.mul(vmath::normal_cdf(x))
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let (cdf, pdf) = vmath::normal_cdf_pdf(x);
        cdf.add(x.mul(pdf))
    }
}

/// √(2/π), the tanh approximation's scale.
const GELU_TANH_K: f32 = 0.797_884_6;
const GELU_TANH_C: f32 = 0.044_715;

/// GELU, tanh approximation: ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³), computed as x·σ(2u).
/// Beyond |x| = 20, σ(2u) is 0 or 1 in f32; clamping there keeps x³ finite.
pub struct GeluTanh;
impl Pointwise for GeluTanh {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        let xc = x.pmax(k(-20.0)).pmin(k(20.0));
        let v = xc.mul(k::<L>(1.0).add(xc.mul(xc).mul(k(GELU_TANH_C)))).mul(k(2.0 * GELU_TANH_K));
        x.mul(vmath::logistic(v).0)
    }
    /// σ(2u) + x·σ(2u)σ(−2u)·2u′, with u′ = √(2/π)(1 + 3·0.044715x²).
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let x = x.pmax(k(-20.0)).pmin(k(20.0));
        let x2 = x.mul(x);
        let v = x.mul(k::<L>(1.0).add(x2.mul(k(GELU_TANH_C)))).mul(k(2.0 * GELU_TANH_K));
        let dv = k::<L>(1.0).add(x2.mul(k(3.0 * GELU_TANH_C))).mul(k(2.0 * GELU_TANH_K));
        let (s, _, e, d) = vmath::logistic(v);
        s.add(x.mul(dv).mul(e.div(d.mul(d))))
    }
}

/// SiLU: x·σ(x); derivative σ(x)(1 + x·σ(−x)).
pub struct Silu;
impl Pointwise for Silu {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        x.mul(vmath::logistic(x).0)
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let (s, sn, _, _) = vmath::logistic(x);
        s.add(x.mul(s).mul(sn))
    }
}

/// σ(x); derivative σ(x)σ(−x) = e^−|x|/(1 + e^−|x|)².
pub struct Sigmoid;
impl Pointwise for Sigmoid {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        vmath::logistic(x).0
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let (_, _, e, d) = vmath::logistic(x);
        e.div(d.mul(d))
    }
}

/// tanh x = −m/(2 + m) with m = expm1(−2|x|), sign restored; derivative 4e/(1 + e)² with e = e^−2|x|.
pub struct Tanh;
impl Pointwise for Tanh {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        let m = vmath::expm1_nonpositive(x.abs().mul(k(-2.0)));
        let t = m.neg().div(k::<L>(2.0).add(m));
        L::select(x.lt(k(0.0)), t.neg(), t)
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let e = vmath::exp(x.abs().mul(k(-2.0)));
        let d = k::<L>(1.0).add(e);
        e.mul(k(4.0)).div(d.mul(d))
    }
}
