//! Transposed 2-D convolution (`op::conv_transpose2d`: PyTorch's `ConvTranspose2d`, weights
//! `c × o/groups × kh × kw`).
//!
//! Descriptor (u32): `[c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, groups]`: input channels and
//! size, output channels, kernel, stride, top/left padding (rows/columns cropped from the full transposed
//! output), dilation, output size (its excess over the full output after the crop, below max(stride,
//! dilation), is PyTorch's `output_padding`), groups (dividing c and o). No float fields.
//!
//! io block (`gemm_io`, as conv2d's): `[x, weight, bias, y, dy, dx, dweight, dbias]`:
//! - forward reads x (batch·c·h·w), weight (c·o/groups·kh·kw), bias (o; 0 = none) and writes y
//!   (batch·o·oh·ow).
//! - backward reads x, weight and dy (like y); writes dweight and dbias (0 = none; added to with
//!   `ACCUMULATE`) and dx (like x; 0 = not needed).

use super::gemm_io::{self, Lens};
use super::{check_flags, elements, flags, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::conv_transpose2d::ConvTranspose2d as Kernel;

const OH: usize = 12;

pub struct ConvTranspose2d {
    /// c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, groups.
    f: [usize; 15],
    weights: usize,
}

impl ConvTranspose2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(15..=15, 0..=0)?;
        let mut f = [0usize; 15];
        for (i, v) in f.iter_mut().enumerate() {
            // Paddings may be 0; everything else is a size, a stride, a dilation or a count.
            *v = d.int(i, if i == 8 || i == 9 { 0 } else { 1 })?;
        }
        let [c, h, w, o, kh, kw, ..] = f;
        elements(Subject::Input, -1, &[c, h, w])?;
        elements(Subject::Output, -1, &[o, f[12], f[13]])?;
        let weights = elements(Subject::Params, -1, &[c, o / f[14].max(1), kh, kw])?;
        let op = Self { f, weights };
        op.kernel(1).map_err(|r| if r.error == Error::BadGeometry { d.bad(Error::BadGeometry, OH) } else { r })?;
        Ok(op)
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let [c, h, w, o, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow, groups] = self.f;
        let x = elements(Subject::Input, -1, &[batch, c, h, w])?;
        let y = elements(Subject::Output, -1, &[batch, o, oh, ow])?;
        Ok((Kernel::new(batch, c, (h, w), o, (kh, kw), (sh, sw), (pt, pl), (oh, ow), (dh, dw), groups)?, x, y))
    }
}

impl Operator for ConvTranspose2d {
    fn slots(&self) -> usize {
        gemm_io::SLOTS
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, x, y) = self.kernel(batch)?;
        let b = gemm_io::forward(io, &Lens { x, y, weight: self.weights, bias: self.f[3] })?;
        Ok(k.forward(b.x, b.weight, b.bias, b.y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, x, y) = self.kernel(batch)?;
        let b = gemm_io::backward(io, &Lens { x, y, weight: self.weights, bias: self.f[3] }, false)?;
        Ok(k.backward(b.x, b.weight, b.dy, b.dx, b.dweight, b.dbias, flags & flags::ACCUMULATE != 0)?)
    }
}
