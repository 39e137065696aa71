//! Pointwise activations, forward and backward, SIMD over four lanes with a scalar tail: ReLU's fused
//! helpers here (the conv and dense epilogues use them), and `Activation`, PyTorch's activation vocabulary
//! (`piecewise`: ReLU, ReLU6, LeakyReLU, Hardswish, Hardsigmoid; `smooth`: ELU, GELU (erf and tanh),
//! SiLU, Sigmoid, Tanh). Every backward takes the forward's input `x`: dx = dy·f′(x).

mod piecewise;
mod smooth;

use crate::error::{Error, Result};
use crate::par::{self, SyncPtr, ELEMENTWISE_CHUNK};
use crate::simd::{F32x4, Lane};
use crate::vmath::Math;

/// An activation with PyTorch's definition and PyTorch's derivative conventions at kinks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Relu6,
    LeakyRelu { negative_slope: f32 },
    Elu { alpha: f32 },
    /// `F.gelu(x)`: x·Φ(x).
    Gelu,
    /// `F.gelu(x, approximate='tanh')`.
    GeluTanh,
    Silu,
    Hardswish,
    Hardsigmoid,
    Sigmoid,
    Tanh,
}

/// One activation as a pair of lane functions (a generic body serves the SIMD loop and its tail).
trait Pointwise: Sync {
    fn value<L: Math>(&self, x: L) -> L;
    /// f′(x).
    fn slope<L: Math>(&self, x: L) -> L;
}

/// Binds `$p` to the `Pointwise` of activation `$a` and evaluates `$body` (one instantiation per kind).
macro_rules! with_pointwise {
    ($a:expr, |$p:ident| $body:expr) => {
        match $a {
            Activation::Relu => { let $p = piecewise::Relu; $body }
            Activation::Relu6 => { let $p = piecewise::Relu6; $body }
            Activation::LeakyRelu { negative_slope } => { let $p = piecewise::LeakyRelu(negative_slope); $body }
            Activation::Elu { alpha } => { let $p = smooth::Elu(alpha); $body }
            Activation::Gelu => { let $p = smooth::Gelu; $body }
            Activation::GeluTanh => { let $p = smooth::GeluTanh; $body }
            Activation::Silu => { let $p = smooth::Silu; $body }
            Activation::Hardswish => { let $p = piecewise::Hardswish; $body }
            Activation::Hardsigmoid => { let $p = piecewise::Hardsigmoid; $body }
            Activation::Sigmoid => { let $p = smooth::Sigmoid; $body }
            Activation::Tanh => { let $p = smooth::Tanh; $body }
        }
    };
}

impl Activation {
    /// The activation after checking its parameter (`BadGeometry` for a non-finite slope or α).
    pub fn checked(self) -> Result<Self> {
        match self {
            Activation::LeakyRelu { negative_slope: a } | Activation::Elu { alpha: a } if !a.is_finite() => Err(Error::BadGeometry),
            a => Ok(a),
        }
    }

    /// `y = f(x)`.
    pub fn forward(self, x: &[f32], y: &mut [f32]) -> Result {
        if x.len() != y.len() {
            return Err(Error::BadBuffer);
        }
        self.checked()?;
        with_pointwise!(self, |p| run(&p, x.len(), x.as_ptr(), None, y.as_mut_ptr()));
        Ok(())
    }

    /// `xy = f(xy)` in place.
    pub fn forward_in_place(self, xy: &mut [f32]) -> Result {
        self.checked()?;
        with_pointwise!(self, |p| run(&p, xy.len(), xy.as_ptr(), None, xy.as_mut_ptr()));
        Ok(())
    }

    /// `dx = dy·f′(x)`, `x` the forward's input.
    pub fn backward(self, x: &[f32], dy: &[f32], dx: &mut [f32]) -> Result {
        if x.len() != dy.len() || x.len() != dx.len() {
            return Err(Error::BadBuffer);
        }
        self.checked()?;
        with_pointwise!(self, |p| run(&p, x.len(), x.as_ptr(), Some(dy.as_ptr()), dx.as_mut_ptr()));
        Ok(())
    }

    /// `g = g·f′(x)` in place (the upstream gradient's buffer becomes the input's).
    pub fn backward_in_place(self, x: &[f32], g: &mut [f32]) -> Result {
        if x.len() != g.len() {
            return Err(Error::BadBuffer);
        }
        self.checked()?;
        with_pointwise!(self, |p| run(&p, x.len(), x.as_ptr(), Some(g.as_ptr()), g.as_mut_ptr()));
        Ok(())
    }
}

/// `out[i] = f(x[i])`, or `dy[i]·f′(x[i])` with `dy`, over `n` elements in `ELEMENTWISE_CHUNK` ranges on
/// the pool. `out` may be `x` or `dy` itself: each lane group is read before it is written.
fn run<P: Pointwise>(p: &P, n: usize, x: *const f32, dy: Option<*const f32>, out: *mut f32) {
    let (x, dy, out) = (SyncPtr(x as *mut f32), dy.map(|d| SyncPtr(d as *mut f32)), SyncPtr(out));
    par::for_each_range(n, |lo, hi| {
        let (x, out) = (x.get(), out.get());
        // SAFETY (all loads and stores): lo <= i, i + L::WIDTH <= hi <= n, the buffers' common length;
        // ranges are disjoint per task and an element is written only by the task that read it.
        match dy {
            None => crate::for_each_lane!(lo, hi, |i, L| {
                unsafe { p.value(L::load(x.add(i))).store(out.add(i)) }
            }),
            Some(dy) => {
                let dy = dy.get();
                crate::for_each_lane!(lo, hi, |i, L| {
                    unsafe { L::load(dy.add(i)).mul(p.slope(L::load(x.add(i)))).store(out.add(i)) }
                })
            }
        }
    });
}

/// `y = max(x, 0)`; `y` may alias nothing (call with a copy for in-place use).
pub fn relu_forward(x: &[f32], y: &mut [f32]) -> Result {
    assert_eq!(x.len(), y.len(), "relu: lengths");
    par::try_chunks_mut(y, ELEMENTWISE_CHUNK, |c, yc| {
        relu_forward_serial(&x[c * ELEMENTWISE_CHUNK..][..yc.len()], yc);
        Ok(())
    })
}

/// `y = max(y, 0)` in place, serially: the fused epilogue of a conv or dense layer followed by ReLU, run on
/// output its GEMM just wrote (still in cache).
pub fn relu_in_place(y: &mut [f32]) {
    let n4 = y.len() / 4 * 4;
    let zero = F32x4::zero();
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= y.len().
        unsafe { F32x4::load(y.as_ptr().add(i)).max(zero).store(y.as_mut_ptr().add(i)) };
    }
    for v in &mut y[n4..] {
        *v = v.max(0.0);
    }
}

/// `y = max(y, 0)` in place, on the pool for large buffers.
pub fn relu_forward_in_place(y: &mut [f32]) -> Result {
    par::try_chunks_mut(y, ELEMENTWISE_CHUNK, |_, yc| {
        relu_in_place(yc);
        Ok(())
    })
}

/// `dst = dy · [y > 0]` serially (the fused ReLU backward mask, into a cache-resident scratch).
pub fn relu_mask_into(y: &[f32], dy: &[f32], dst: &mut [f32]) {
    assert!(y.len() == dy.len() && dy.len() == dst.len(), "relu mask: lengths");
    relu_backward_serial(y, dy, dst);
}

fn relu_forward_serial(x: &[f32], y: &mut [f32]) {
    let n4 = x.len() / 4 * 4;
    let zero = F32x4::zero();
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= len of both slices.
        unsafe { F32x4::load(x.as_ptr().add(i)).max(zero).store(y.as_mut_ptr().add(i)) };
    }
    for i in n4..x.len() {
        y[i] = x[i].max(0.0);
    }
}

/// `dx = dy · [y > 0]` (the mask from the forward output, as PyTorch's `threshold_backward`).
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result {
    assert!(y.len() == dy.len() && dy.len() == dx.len(), "relu: lengths");
    par::try_chunks_mut(dx, ELEMENTWISE_CHUNK, |c, dxc| {
        let at = c * ELEMENTWISE_CHUNK;
        relu_backward_serial(&y[at..][..dxc.len()], &dy[at..][..dxc.len()], dxc);
        Ok(())
    })
}

fn relu_backward_serial(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n4 = y.len() / 4 * 4;
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= len of all three slices.
        unsafe {
            let g = F32x4::load(dy.as_ptr().add(i)).where_positive(F32x4::load(y.as_ptr().add(i)));
            g.store(dx.as_mut_ptr().add(i));
        }
    }
    for i in n4..y.len() {
        dx[i] = if y[i] > 0.0 { dy[i] } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn matches_scalar_on_odd_lengths() {
        let mut rng = Rng::new(9);
        for len in [0usize, 1, 3, 4, 5, 17, 1031] {
            let x = rng.normal_vec(len);
            let dy = rng.normal_vec(len);
            let mut y = vec![f32::NAN; len];
            relu_forward(&x, &mut y).unwrap();
            let mut dx = vec![f32::NAN; len];
            relu_backward(&y, &dy, &mut dx).unwrap();
            for i in 0..len {
                assert_eq!(y[i], if x[i] > 0.0 { x[i] } else { 0.0 });
                assert_eq!(dx[i], if x[i] > 0.0 { dy[i] } else { 0.0 });
            }
        }
    }
}
