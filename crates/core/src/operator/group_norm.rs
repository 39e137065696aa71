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

use super::layer_norm::{affine, affine_grad};
use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::norm::groupnorm::GroupNorm as Kernel;
use crate::op::norm::{Stats, StatsOut};

const GROUPS: usize = 2;

const X: usize = 0;
const WEIGHT: usize = 1;
const BIAS: usize = 2;
const Y: usize = 3;
const MEAN: usize = 4;
const RSTD: usize = 5;
const DY: usize = 6;
const DX: usize = 7;
const DWEIGHT: usize = 8;
const DBIAS: usize = 9;

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

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let len = elements(Subject::Input, -1, &[batch, self.c, self.inner])?;
        Ok((Kernel::new(batch, self.c, self.inner, self.groups, self.eps, self.affine)?, len, batch * self.groups))
    }
}

impl Operator for GroupNorm {
    fn slots(&self) -> usize {
        10
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, rows) = self.kernel(batch)?;
        let (x, p) = (io.input(X, len)?, affine(io, self.affine, WEIGHT, BIAS, self.c)?);
        let y = io.output(Y, len)?;
        let saved = StatsOut { mean: io.output(MEAN, rows)?, rstd: io.output(RSTD, rows)? };
        Ok(k.forward(x, p, saved, y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, rows) = self.kernel(batch)?;
        let (x, p, dy) = (io.input(X, len)?, affine(io, self.affine, WEIGHT, BIAS, self.c)?, io.input(DY, len)?);
        let saved = Stats { mean: io.input(MEAN, rows)?, rstd: io.input(RSTD, rows)? };
        let dx = io.output_opt(DX, len)?;
        let grads = affine_grad(io, self.affine, DWEIGHT, DBIAS, self.c, flags)?;
        Ok(k.backward(x, p, saved, dy, dx, grads)?)
    }
}
