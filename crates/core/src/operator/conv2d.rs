//! 2-D convolution (`op::conv2d`: NCHW, OIHW weights), with an optional fused ReLU.
//!
//! Descriptor (u32): `[c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, activation]`: input channels and
//! size, output channels (filters), kernel, stride, top/left padding (bottom/right is implied by the output
//! size), dilation, output size, and the fused epilogue (`Activation`). No float fields.
//!
//! io block: `[x, weight, bias, y, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·c·h·w), weight (o·c·kh·kw), bias (o; 0 = none) and writes y (batch·o·oh·ow).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y (the forward's output, for the mask);
//!   writes dweight and dbias (0 = none; added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::{check_flags, elements, flags, scratch, window, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::op::conv2d::{conv2d_backward, conv2d_forward, scratch_floats};
use crate::op::geom::Window;

/// The window's fields (c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow) in the descriptor.
const WINDOW: [usize; 13] = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const O: usize = 3;
const PT: usize = 8;
const ACTIVATION: usize = 14;

const X: usize = 0;
const WEIGHT: usize = 1;
const BIAS: usize = 2;
const Y: usize = 3;
const DY: usize = 4;
const DX: usize = 5;
const DWEIGHT: usize = 6;
const DBIAS: usize = 7;

pub struct Conv2d {
    g: Window,
    o: usize,
    relu: bool,
    sample_in: usize,
    sample_out: usize,
    weights: usize,
}

impl Conv2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(15..=15, 0..=0)?;
        let g = window(d, WINDOW)?;
        let o = d.int(O, 1)?;
        let relu = Activation::read(d, ACTIVATION)? == Activation::Relu;
        let sample_out = elements(Subject::Output, -1, &[o, g.oh, g.ow])?;
        let weights = elements(Subject::Params, -1, &[o, g.c, g.kh, g.kw])?;
        // A padding far wider than the input makes a huge padded sample even where the output is small.
        scratch(if g.pt + g.pl > 0 { PT as i32 } else { -1 }, scratch_floats(&g, o))?;
        Ok(Self { g, o, relu, sample_in: g.c * g.h * g.w, sample_out, weights })
    }

    fn batch(&self, batch: usize) -> Result<(Window, usize, usize), Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.sample_in])?;
        let y = elements(Subject::Output, -1, &[batch, self.sample_out])?;
        Ok((Window { n: batch, ..self.g }, x, y))
    }
}

impl Operator for Conv2d {
    fn slots(&self) -> usize {
        8
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, xl, yl) = self.batch(batch)?;
        let (x, w, b) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input_opt(BIAS, self.o)?);
        let y = io.output(Y, yl)?;
        Ok(conv2d_forward(&g, self.o, x, w, b, self.relu, y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, xl, yl) = self.batch(batch)?;
        let (x, w, dy) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input(DY, yl)?);
        let relu_y = if self.relu { Some(io.input(Y, yl)?) } else { None };
        let (dw, db) = (io.output(DWEIGHT, self.weights)?, io.output_opt(DBIAS, self.o)?);
        let dx = io.output_opt(DX, xl)?;
        Ok(conv2d_backward(&g, self.o, x, w, relu_y, dy, dx, dw, db, flags & flags::ACCUMULATE != 0)?)
    }
}
