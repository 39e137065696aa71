//! The residual add (`op::merge`): y = a + b, with an optional fused ReLU (the end of a ResNet block).
//!
//! Descriptor (u32): `[n, activation]`: values per sample, the fused epilogue (`Activation`). No floats.
//!
//! io block: `[a, b, y, dy, da, db]`.
//! - forward reads a and b (batch·n each; they may be the same buffer) and writes y (like a).
//! - backward reads dy and, with a fused ReLU, y (the forward's output, for the mask); writes da and db
//!   (each 0 = not needed; overwritten).

use super::{check_flags, elements, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::op::merge::{add_backward, add_forward, Grad};

const A: usize = 0;
const B: usize = 1;
const Y: usize = 2;
const DY: usize = 3;
const DA: usize = 4;
const DB: usize = 5;

pub struct Add {
    n: usize,
    relu: bool,
}

impl Add {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(2..=2, 0..=0)?;
        let n = d.int(0, 1)?;
        let relu = Activation::read(d, 1)? == Activation::Relu;
        elements(Subject::Input, 0, &[n])?;
        Ok(Self { n, relu })
    }
}

impl Operator for Add {
    fn slots(&self) -> usize {
        6
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let (a, b) = (io.input(A, len)?, io.input(B, len)?);
        Ok(add_forward(a, b, self.relu, io.output(Y, len)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let dy = io.input(DY, len)?;
        let y = if self.relu { Some(io.input(Y, len)?) } else { None };
        let grad = |s| Ok::<_, Refusal>(io.output_opt(s, len)?.map(|dst| Grad { dst, accumulate: false }));
        Ok(add_backward(dy, y, grad(DA)?, grad(DB)?)?)
    }
}
