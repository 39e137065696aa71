//! 2-D convolution (`op::conv2d`: NCHW, OIHW weights), with an optional fused ReLU.
//!
//! Descriptor (u32): `[c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, activation]`: input channels and
//! size, output channels (filters), kernel, stride, top/left padding (bottom/right is implied by the output
//! size), dilation, output size, and the fused epilogue (`Activation`). No float fields.
//!
//! io block (`gemm_io`): `[x, weight, bias, y, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·c·h·w), weight (o·c·kh·kw), bias (o; 0 = none) and writes y (batch·o·oh·ow).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y (the forward's output, for the mask);
//!   writes dweight and dbias (0 = none; added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::gemm_io::{self, Lens};
use super::{check_flags, elements, flags, scratch, window, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::op::conv2d::{conv2d_backward, conv2d_forward, scratch_floats};
use crate::op::geom::Window;

/// The window's fields (c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow) in the descriptor.
const WINDOW: [usize; 13] = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const O: usize = 3;
const PT: usize = 8;
const ACTIVATION: usize = 14;

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

    fn batch(&self, batch: usize) -> Result<(Window, Lens), Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.sample_in])?;
        let y = elements(Subject::Output, -1, &[batch, self.sample_out])?;
        Ok((Window { n: batch, ..self.g }, Lens { x, y, weight: self.weights, bias: self.o }))
    }
}

impl Operator for Conv2d {
    fn slots(&self) -> usize {
        gemm_io::SLOTS
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, lens) = self.batch(batch)?;
        let b = gemm_io::forward(io, &lens)?;
        Ok(conv2d_forward(&g, self.o, b.x, b.weight, b.bias, self.relu, b.y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, lens) = self.batch(batch)?;
        let b = gemm_io::backward(io, &lens, self.relu)?;
        let accumulate = flags & flags::ACCUMULATE != 0;
        Ok(conv2d_backward(&g, self.o, b.x, b.weight, b.relu_y, b.dy, b.dx, b.dweight, b.dbias, accumulate)?)
    }
}
