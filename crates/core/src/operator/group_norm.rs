//! Group normalisation (`op::norm::groupnorm`: PyTorch's `GroupNorm`) over (batch, c, inner): each sample's
//! channels in `groups` consecutive groups, each normalised by its own statistics, γ and β per channel.
//!
//! Descriptor (u32): `[c, inner, groups, affine]` (groups dividing c). Floats (f64): `[eps]` (> 0).
//!
//! io block: `[x, weight, bias, y, mean, rstd, dy, dx, dweight, dbias]`, as layer_norm's:
//! - forward reads x (batch·c·inner), weight and bias (c each, when affine); writes y (like x) and each
//!   (sample, group)'s mean and rstd (batch·groups each).
//! - backward reads x, weight, mean, rstd and dy; writes dx (0 = not needed), dweight and dbias (0 = none;
//!   added to with `ACCUMULATE`).

use super::layer_norm::Rows;
use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::norm::groupnorm::GroupNorm as Kernel;

const GROUPS: usize = 2;

pub struct GroupNorm {
    c: usize,
    inner: usize,
    groups: usize,
    affine: bool,
    eps: f32,
}

impl GroupNorm {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(4..=4, 1..=1)?;
        let (c, inner, groups, affine) = (d.int(0, 1)?, d.int(1, 1)?, d.int(GROUPS, 1)?, d.choice(3, 2)? == 1);
        let eps = d.float(0, f32::MIN_POSITIVE as f64, f32::MAX as f64)? as f32;
        if !c.is_multiple_of(groups) {
            return Err(d.bad(Error::BadGeometry, GROUPS));
        }
        elements(Subject::Input, -1, &[c, inner])?;
        Ok(Self { c, inner, groups, affine, eps })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, Rows), Refusal> {
        let len = elements(Subject::Input, -1, &[batch, self.c, self.inner])?;
        let k = Kernel::new(batch, self.c, self.inner, self.groups, self.eps, self.affine)?;
        Ok((k, Rows { len, rows: batch * self.groups, params: self.c, affine: self.affine }))
    }
}

impl Operator for GroupNorm {
    fn slots(&self) -> usize {
        10
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, rows) = self.kernel(batch)?;
        rows.forward(io, |x, p, saved, y| k.forward(x, p, saved, y))
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, rows) = self.kernel(batch)?;
        rows.backward(io, flags, |x, p, saved, dy, dx, grads| k.backward(x, p, saved, dy, dx, grads))
    }
}
