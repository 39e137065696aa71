//! Dense (`op::dense`: PyTorch's `Linear`, weight `out × in`), with an optional fused ReLU.
//!
//! Descriptor (u32): `[in, out, activation]` (`Activation`). No float fields.
//!
//! io block: `[x, weight, bias, y, dy, dx, dweight, dbias]`, as conv2d's:
//! - forward reads x (batch·in), weight (out·in), bias (out; 0 = none) and writes y (batch·out).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y; writes dweight and dbias (0 = none;
//!   added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::{check_flags, elements, flags, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::op::dense::{dense_backward, dense_forward};

const IN: usize = 0;
const OUT: usize = 1;
const ACTIVATION: usize = 2;

const X: usize = 0;
const WEIGHT: usize = 1;
const BIAS: usize = 2;
const Y: usize = 3;
const DY: usize = 4;
const DX: usize = 5;
const DWEIGHT: usize = 6;
const DBIAS: usize = 7;

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

    fn batch(&self, batch: usize) -> Result<(usize, usize), Refusal> {
        Ok((elements(Subject::Input, -1, &[batch, self.inp])?, elements(Subject::Output, -1, &[batch, self.out])?))
    }
}

impl Operator for Dense {
    fn slots(&self) -> usize {
        8
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (xl, yl) = self.batch(batch)?;
        let (x, w, b) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input_opt(BIAS, self.out)?);
        let y = io.output(Y, yl)?;
        Ok(dense_forward(batch, self.inp, self.out, x, w, b, self.relu, y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (xl, yl) = self.batch(batch)?;
        let (x, w, dy) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input(DY, yl)?);
        let relu_y = if self.relu { Some(io.input(Y, yl)?) } else { None };
        let (dw, db) = (io.output(DWEIGHT, self.weights)?, io.output_opt(DBIAS, self.out)?);
        let dx = io.output_opt(DX, xl)?;
        Ok(dense_backward(batch, self.inp, self.out, x, w, relu_y, dy, dx, dw, db, flags & flags::ACCUMULATE != 0)?)
    }
}
