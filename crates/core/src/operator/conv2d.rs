//! 2-D convolution (`op::conv2d`: NCHW, OIHW weights), grouped (`groups`; depthwise, `op::depthwise`, when
//! groups = c > 1), with an optional fused ReLU.
//!
//! Descriptor (u32): `[c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, activation, groups]`: input
//! channels and size, output channels (filters), kernel, stride, top/left padding (bottom/right is implied
//! by the output size), dilation, output size, the fused epilogue (`Activation`) and the channel groups
//! (dividing c and o; may be left out: 1). No float fields.
//!
//! io block: `[x, weight, bias, y, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·c·h·w), weight (o·c/groups·kh·kw), bias (o; 0 = none) and writes y
//!   (batch·o·oh·ow).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y (the forward's output, for the mask);
//!   writes dweight and dbias (0 = none; added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::{check_flags, elements, flags, scratch, window, Activation, Desc, Io, Operator, Refusal, Subject};
use crate::error::{self, Error};
use crate::op::activation::{relu_forward_in_place, relu_mask_into};
use crate::op::conv2d::{scratch_floats, Conv2d as Grouped};
use crate::op::depthwise::Depthwise2d;
use crate::op::geom::Window;

/// The window's fields (c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow) in the descriptor.
const WINDOW: [usize; 13] = [0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
const O: usize = 3;
const PT: usize = 8;
const ACTIVATION: usize = 14;
const GROUPS: usize = 15;

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
    groups: usize,
    relu: bool,
    sample_in: usize,
    sample_out: usize,
    weights: usize,
}

/// The kernel of one call: the grouped convolution, or the depthwise one (groups = c > 1).
enum Kernel {
    Grouped(Grouped),
    Depthwise(Depthwise2d),
}

impl Conv2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(15..=16, 0..=0)?;
        let g = window(d, WINDOW)?;
        let o = d.int(O, 1)?;
        let relu = Activation::read(d, ACTIVATION)? == Activation::Relu;
        let groups = d.int_or(GROUPS, 1, 1)?;
        if !g.c.is_multiple_of(groups) || !o.is_multiple_of(groups) {
            return Err(d.bad(Error::BadGeometry, GROUPS));
        }
        let sample_out = elements(Subject::Output, -1, &[o, g.oh, g.ow])?;
        let weights = elements(Subject::Params, -1, &[o, g.c / groups, g.kh, g.kw])?;
        // A padding far wider than the input makes a huge padded sample even where the output is small.
        let gw = Window { c: g.c / groups, ..g };
        scratch(if g.pt + g.pl > 0 { PT as i32 } else { -1 }, scratch_floats(&gw, o / groups))?;
        let op = Self { g, o, groups, relu, sample_in: g.c * g.h * g.w, sample_out, weights };
        op.kernel(1)?;
        Ok(op)
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.sample_in])?;
        let y = elements(Subject::Output, -1, &[batch, self.sample_out])?;
        let g = Window { n: batch, ..self.g };
        let k = if self.groups == g.c && g.c > 1 { Kernel::Depthwise(Depthwise2d::new(g, self.o / g.c)?) } else { Kernel::Grouped(Grouped::new(g, self.o, self.groups)?) };
        Ok((k, x, y))
    }
}

impl Operator for Conv2d {
    fn slots(&self) -> usize {
        8
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let (x, w, b) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input_opt(BIAS, self.o)?);
        let y = io.output(Y, yl)?;
        match k {
            Kernel::Grouped(k) => Ok(k.forward(x, w, b, self.relu, y)?),
            Kernel::Depthwise(k) => {
                k.forward(x, w, b, y)?;
                if self.relu {
                    relu_forward_in_place(y)?;
                }
                Ok(())
            }
        }
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let (x, w, dy) = (io.input(X, xl)?, io.input(WEIGHT, self.weights)?, io.input(DY, yl)?);
        let relu_y = if self.relu { Some(io.input(Y, yl)?) } else { None };
        let (dw, db) = (io.output(DWEIGHT, self.weights)?, io.output_opt(DBIAS, self.o)?);
        let dx = io.output_opt(DX, xl)?;
        let acc = flags & flags::ACCUMULATE != 0;
        match k {
            Kernel::Grouped(k) => Ok(k.backward(x, w, relu_y, dy, dx, dw, db, acc)?),
            Kernel::Depthwise(k) => match relu_y {
                None => Ok(k.backward(x, w, dy, dx, dw, db, acc)?),
                Some(ry) => {
                    // The ReLU's mask on the whole batch's dY first (the depthwise kernel has no epilogue).
                    let mut masked = error::zeroed::<f32>(yl)?;
                    relu_mask_into(ry, dy, &mut masked);
                    Ok(k.backward(x, w, &masked, dx, dw, db, acc)?)
                }
            },
        }
    }
}
