//! The piecewise-linear activations. Derivatives at the kinks follow PyTorch's backward formulas (checked
//! against autograd in the goldens): ReLU 0 at 0; ReLU6 0 at 0 and 6 (hardtanh's open interval);
//! LeakyReLU the slope at 0; Hardswish x/3 + ½ on [−3, 3]; Hardsigmoid 1/6 on (−3, 3) only.

use super::Pointwise;
use crate::vmath::Math;

#[inline(always)]
fn k<L: Math>(v: f32) -> L {
    L::splat(v)
}

pub struct Relu;
impl Pointwise for Relu {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        x.pmax(k(0.0))
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(0.0).lt(x), k(1.0), k(0.0))
    }
}

pub struct Relu6;
impl Pointwise for Relu6 {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        x.pmax(k(0.0)).pmin(k(6.0))
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(0.0).lt(x), L::select(x.lt(k(6.0)), k(1.0), k(0.0)), k(0.0))
    }
}

pub struct LeakyRelu(pub f32);
impl Pointwise for LeakyRelu {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(0.0).lt(x), x, x.mul(k(self.0)))
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(0.0).lt(x), k(1.0), k(self.0))
    }
}

pub struct Hardswish;
impl Pointwise for Hardswish {
    /// x·relu6(x + 3)/6, multiplied then divided as PyTorch does; x itself from 3 on (so that 6x cannot
    /// overflow).
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        let mid = x.mul(x.add(k(3.0)).pmax(k(0.0))).div(k(6.0));
        L::select(k::<L>(3.0).le(x), x, mid)
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        let mid = x.div(k(3.0)).add(k(0.5));
        L::select(x.lt(k(-3.0)), k(0.0), L::select(x.le(k(3.0)), mid, k(1.0)))
    }
}

pub struct Hardsigmoid;
impl Pointwise for Hardsigmoid {
    #[inline(always)]
    fn value<L: Math>(&self, x: L) -> L {
        x.add(k(3.0)).pmax(k(0.0)).pmin(k(6.0)).div(k(6.0))
    }
    #[inline(always)]
    fn slope<L: Math>(&self, x: L) -> L {
        L::select(k::<L>(-3.0).lt(x), L::select(x.lt(k(3.0)), k(1.0 / 6.0), k(0.0)), k(0.0))
    }
}
