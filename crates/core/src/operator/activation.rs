//! Pointwise activations (`op::activation::Activation`: PyTorch's ReLU, ReLU6, LeakyReLU, ELU, GELU (erf
//! and tanh), SiLU, Hardswish, Hardsigmoid, Sigmoid, Tanh), one operator for the vocabulary.
//!
//! Descriptor (u32): `[n, kind]`: values per sample, and which (`KINDS` order: 0 relu, 1 relu6, 2
//! leaky_relu, 3 elu, 4 gelu, 5 gelu_tanh, 6 silu, 7 hardswish, 8 hardsigmoid, 9 sigmoid, 10 tanh).
//! Floats (f64): `[alpha]`: LeakyReLU's negative slope, ELU's α (finite; ignored by the others).
//!
//! io block: `[x, y, dy, dx]`.
//! - forward reads x (batch·n) and writes y = f(x) (like x).
//! - backward reads x (the forward's input: every derivative is taken there) and dy, and writes
//!   dx = dy·f′(x) (0 = not needed).

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::op::activation::Activation;

const X: usize = 0;
const Y: usize = 1;
const DY: usize = 2;
const DX: usize = 3;

/// The kinds in descriptor order.
const KINDS: u32 = 11;

pub struct Pointwise {
    n: usize,
    f: Activation,
}

impl Pointwise {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(2..=2, 1..=1)?;
        let n = d.int(0, 1)?;
        let alpha = d.float(0, -(f32::MAX as f64), f32::MAX as f64)? as f32;
        use Activation::*;
        let f = match d.choice(1, KINDS)? {
            0 => Relu,
            1 => Relu6,
            2 => LeakyRelu { negative_slope: alpha },
            3 => Elu { alpha },
            4 => Gelu,
            5 => GeluTanh,
            6 => Silu,
            7 => Hardswish,
            8 => Hardsigmoid,
            9 => Sigmoid,
            _ => Tanh,
        };
        elements(Subject::Input, 0, &[n])?;
        Ok(Self { n, f })
    }
}

impl Operator for Pointwise {
    fn slots(&self) -> usize {
        4
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let x = io.input(X, len)?;
        Ok(self.f.forward(x, io.output(Y, len)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let (x, dy) = (io.input(X, len)?, io.input(DY, len)?);
        match io.output_opt(DX, len)? {
            Some(dx) => Ok(self.f.backward(x, dy, dx)?),
            None => Ok(()),
        }
    }
}
