//! Adaptive 2-D pooling to any output size (`op::adaptive_pool`: PyTorch's `AdaptiveAvgPool2d` (global
//! average pooling at 1×1) and `AdaptiveMaxPool2d`).
//!
//! Descriptor (u32): `[c, h, w, oh, ow, mode]`: channels, input size, output size, 0 average / 1 max. No
//! float fields.
//!
//! io block: `[x, y, argmax, dy, dx]`.
//! - forward reads x (batch·c·h·w) and writes y (batch·c·oh·ow) and, for max, argmax (u32, like y: each
//!   output's index in its input plane).
//! - backward reads dy (like y) and, for max, argmax; writes dx (like x; 0 = not needed).

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::op::adaptive_pool::AdaptivePool2d as Kernel;

const X: usize = 0;
const Y: usize = 1;
const ARGMAX: usize = 2;
const DY: usize = 3;
const DX: usize = 4;

pub struct AdaptivePool2d {
    /// c, h, w, oh, ow.
    f: [usize; 5],
    max: bool,
}

impl AdaptivePool2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(6..=6, 0..=0)?;
        let mut f = [0usize; 5];
        for (i, v) in f.iter_mut().enumerate() {
            *v = d.int(i, 1)?;
        }
        let op = Self { f, max: d.choice(5, 2)? == 1 };
        elements(Subject::Input, -1, &[f[0], f[1], f[2]])?;
        elements(Subject::Output, -1, &[f[0], f[3], f[4]])?;
        op.kernel(1)?;
        Ok(op)
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let [c, h, w, oh, ow] = self.f;
        let (x, y) = (elements(Subject::Input, -1, &[batch, c, h, w])?, elements(Subject::Output, -1, &[batch, c, oh, ow])?);
        Ok((Kernel::new(batch, c, (h, w), (oh, ow))?, x, y))
    }
}

impl Operator for AdaptivePool2d {
    fn slots(&self) -> usize {
        5
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let x = io.input(X, xl)?;
        let y = io.output(Y, yl)?;
        if self.max {
            return Ok(k.max_forward(x, y, io.output(ARGMAX, yl)?)?);
        }
        Ok(k.avg_forward(x, y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, xl, yl) = self.kernel(batch)?;
        let dy = io.input(DY, yl)?;
        let Some(dx) = io.output_opt(DX, xl)? else { return Ok(()) };
        if self.max {
            return Ok(k.max_backward(dy, io.input(ARGMAX, yl)?, dx)?);
        }
        Ok(k.avg_backward(dy, dx)?)
    }
}
