//! 2-D convolution (`op::conv2d`: NCHW, OIHW weights), grouped (`groups`; depthwise, `op::depthwise`, when
//! groups = c > 1), with an optional fused ReLU.
//!
//! Descriptor (u32): `[c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, activation, groups]`: input
//! channels and size, output channels (filters), kernel, stride, top/left padding (bottom/right is implied
//! by the output size), dilation, output size, the fused epilogue (`Activation`) and the channel groups
//! (dividing c and o; may be left out: 1). No float fields.
//!
//! io block (`gemm_io`): `[x, weight, bias, y, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·c·h·w), weight (o·c/groups·kh·kw), bias (o; 0 = none) and writes y
//!   (batch·o·oh·ow).
//! - backward reads x, weight, dy (like y) and, with a fused ReLU, y (the forward's output, for the mask);
//!   writes dweight and dbias (0 = none; added to with `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::gemm_io::{self, Lens};
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

    fn kernel(&self, batch: usize) -> Result<(Kernel, Lens), Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.sample_in])?;
        let y = elements(Subject::Output, -1, &[batch, self.sample_out])?;
        let g = Window { n: batch, ..self.g };
        let k = if self.groups == g.c && g.c > 1 { Kernel::Depthwise(Depthwise2d::new(g, self.o / g.c)?) } else { Kernel::Grouped(Grouped::new(g, self.o, self.groups)?) };
        Ok((k, Lens { x, y, weight: self.weights, bias: self.o }))
    }
}

impl Operator for Conv2d {
    fn slots(&self) -> usize {
        gemm_io::SLOTS
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, lens) = self.kernel(batch)?;
        let b = gemm_io::forward(io, &lens)?;
        match k {
            Kernel::Grouped(k) => Ok(k.forward(b.x, b.weight, b.bias, self.relu, b.y)?),
            Kernel::Depthwise(k) => {
                k.forward(b.x, b.weight, b.bias, b.y)?;
                if self.relu {
                    relu_forward_in_place(b.y)?;
                }
                Ok(())
            }
        }
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, lens) = self.kernel(batch)?;
        let b = gemm_io::backward(io, &lens, self.relu)?;
        let acc = flags & flags::ACCUMULATE != 0;
        match k {
            Kernel::Grouped(k) => Ok(k.backward(b.x, b.weight, b.relu_y, b.dy, b.dx, b.dweight, b.dbias, acc)?),
            Kernel::Depthwise(k) => match b.relu_y {
                None => Ok(k.backward(b.x, b.weight, b.dy, b.dx, b.dweight, b.dbias, acc)?),
                Some(ry) => {
                    // The ReLU's mask on the whole batch's dY first (the depthwise kernel has no epilogue).
                    let mut masked = error::zeroed::<f32>(lens.y)?;
                    relu_mask_into(ry, b.dy, &mut masked);
                    Ok(k.backward(b.x, b.weight, &masked, b.dx, b.dweight, b.dbias, acc)?)
                }
            },
        }
    }
}
