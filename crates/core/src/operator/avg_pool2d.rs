//! 2-D average pooling (`op::avgpool`: PyTorch's `AvgPool2d`: ceil mode, count_include_pad,
//! divisor_override).
//!
//! Descriptor (u32): `[c, h, w, kh, kw, sh, sw, ph, pw, oh, ow, ceil_mode, count_include_pad, divisor]`:
//! channels, input size, kernel, stride, symmetric padding (at most half the kernel), the output size (as
//! PyTorch's rule gives it for ceil_mode; `BadGeometry` about oh / ow otherwise), the two flags, and the
//! divisor override (0 = none). No float fields.
//!
//! io block: `[x, y, dy, dx]`.
//! - forward reads x (batch·c·h·w) and writes y (batch·c·oh·ow).
//! - backward reads dy (like y) and writes dx (like x; 0 = not needed: nothing to do).

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::avgpool::AvgPool2d as Kernel;

const OH: usize = 9;
const OW: usize = 10;

const X: usize = 0;
const Y: usize = 1;
const DY: usize = 2;
const DX: usize = 3;

pub struct AvgPool2d {
    /// c, h, w, kh, kw, sh, sw, ph, pw.
    f: [usize; 9],
    ceil: bool,
    include_pad: bool,
    divisor: Option<usize>,
}

impl AvgPool2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(14..=14, 0..=0)?;
        let mut f = [0usize; 9];
        for (i, v) in f.iter_mut().enumerate() {
            *v = d.int(i, if i >= 7 { 0 } else { 1 })?;
        }
        let (ceil, include_pad) = (d.choice(11, 2)? == 1, d.choice(12, 2)? == 1);
        let divisor = Some(d.int(13, 0)?).filter(|&v| v > 0);
        elements(Subject::Input, -1, &[f[0], f[1], f[2]])?;
        let op = Self { f, ceil, include_pad, divisor };
        let k = op.kernel(1).map_err(|r| if r.error == Error::BadGeometry { d.bad(Error::BadGeometry, 7) } else { r })?;
        let g = k.0.window();
        if g.oh != d.int(OH, 1)? {
            return Err(d.bad(Error::BadGeometry, OH));
        }
        if g.ow != d.int(OW, 1)? {
            return Err(d.bad(Error::BadGeometry, OW));
        }
        Ok(op)
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let [c, h, w, kh, kw, sh, sw, ph, pw] = self.f;
        let k = Kernel::new(batch, c, (h, w), (kh, kw), (sh, sw), (ph, pw), self.ceil, self.include_pad, self.divisor)?;
        let (x, y) = (elements(Subject::Input, -1, &[batch, c, h, w])?, elements(Subject::Output, -1, &[batch, c, k.window().oh, k.window().ow])?);
        Ok((k, x, y))
    }
}

impl Operator for AvgPool2d {
    fn slots(&self) -> usize {
        4
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let x = io.input(X, xl)?;
        Ok(k.forward(x, io.output(Y, yl)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let dy = io.input(DY, yl)?;
        match io.output_opt(DX, xl)? {
            Some(dx) => Ok(k.backward(dy, dx)?),
            None => Ok(()),
        }
    }
}
