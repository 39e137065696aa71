//! Dense (`op::dense`: PyTorch's `Linear`, weight `out × in`), with an optional fused ReLU.
//!
//! Descriptor (u32): `[in, out, activation]` (`Activation`). No float fields.
//!
//! io block (`gemm_io`, as conv2d's): `[x, weight, bias, y, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·in), weight (out·in), bias (out; 0 = none) and writes y (batch·out).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y; writes dweight and dbias (0 = none;
//!   added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::gemm_io::{self, Lens};
use super::{check_flags, elements, flags, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::op::dense::{dense_backward, dense_forward};

const IN: usize = 0;
const OUT: usize = 1;
const ACTIVATION: usize = 2;

pub struct Dense {
    inp: usize,
    out: usize,
    relu: bool,
    weights: usize,
}

impl Dense {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(3..=3, 0..=0)?;
        let (inp, out) = (d.int(IN, 1)?, d.int(OUT, 1)?);
        let relu = Activation::read(d, ACTIVATION)? == Activation::Relu;
        elements(Subject::Input, IN as i32, &[inp])?;
        elements(Subject::Output, OUT as i32, &[out])?;
        let weights = elements(Subject::Params, -1, &[out, inp])?;
        Ok(Self { inp, out, relu, weights })
    }

    fn lens(&self, batch: usize) -> Result<Lens, Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.inp])?;
        let y = elements(Subject::Output, -1, &[batch, self.out])?;
        Ok(Lens { x, y, weight: self.weights, bias: self.out })
    }
}

impl Operator for Dense {
    fn slots(&self) -> usize {
        gemm_io::SLOTS
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let b = gemm_io::forward(io, &self.lens(batch)?)?;
        Ok(dense_forward(batch, self.inp, self.out, b.x, b.weight, b.bias, self.relu, b.y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let b = gemm_io::backward(io, &self.lens(batch)?, self.relu)?;
        let accumulate = flags & flags::ACCUMULATE != 0;
        Ok(dense_backward(batch, self.inp, self.out, b.x, b.weight, b.relu_y, b.dy, b.dx, b.dweight, b.dbias, accumulate)?)
    }
}
