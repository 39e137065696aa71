//! Layer normalisation (`op::norm::layernorm`: PyTorch's `LayerNorm`): each row of `d` values (the trailing
//! `normalized_shape`) normalised by its own statistics, γ and β per element of the row.
//!
//! Descriptor (u32): `[rows, d, affine]`: rows per sample, values per row, whether γ/β exist. Floats (f64):
//! `[eps]` (> 0).
//!
//! io block: `[x, weight, bias, y, mean, rstd, dy, dx, dweight, dbias]`.
//! - forward reads x (batch·rows·d), weight and bias (d each, when affine); writes y (like x) and each
//!   row's mean and rstd (batch·rows each) for the backward.
//! - backward reads x, weight, mean, rstd and dy; writes dx (0 = not needed), dweight and dbias (0 = none;
//!   added to with `ACCUMULATE`).

use super::{check_flags, elements, flags, Desc, Io, Operator, Refusal, Subject};
use crate::op::norm::layernorm::LayerNorm as Kernel;
use crate::op::norm::{Affine, AffineGrad, Stats, StatsOut};

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

pub struct LayerNorm {
    rows: usize,
    d: usize,
    affine: bool,
    eps: f32,
}

impl LayerNorm {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(3..=3, 1..=1)?;
        let (rows, len, affine) = (d.int(0, 1)?, d.int(1, 1)?, d.choice(2, 2)? == 1);
        let eps = d.float(0, f32::MIN_POSITIVE as f64, f32::MAX as f64)? as f32;
        elements(Subject::Input, -1, &[rows, len])?;
        Ok(Self { rows, d: len, affine, eps })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let rows = elements(Subject::Input, -1, &[batch, self.rows])?;
        let len = elements(Subject::Input, -1, &[rows, self.d])?;
        Ok((Kernel::new(&[rows, self.d], &[self.d], self.eps, self.affine)?, len, rows))
    }
}

/// γ and β of an affine layer of `len` parameters from slots `weight`, `bias` (both absent otherwise).
pub(super) fn affine<'a>(io: &'a Io, on: bool, weight: usize, bias: usize, len: usize) -> Result<Affine<'a>, Refusal> {
    if !on {
        return Ok(Affine::default());
    }
    Ok(Affine { weight: Some(io.input(weight, len)?), bias: Some(io.input(bias, len)?) })
}

/// The parameter gradients of an affine layer (none for an unaffine one, whatever the slots hold).
pub(super) fn affine_grad<'a>(io: &'a Io, on: bool, dweight: usize, dbias: usize, len: usize, flags: u32) -> Result<AffineGrad<'a>, Refusal> {
    let accumulate = flags & flags::ACCUMULATE != 0;
    if !on {
        return Ok(AffineGrad { weight: None, bias: None, accumulate });
    }
    Ok(AffineGrad { weight: io.output_opt(dweight, len)?, bias: io.output_opt(dbias, len)?, accumulate })
}

impl Operator for LayerNorm {
    fn slots(&self) -> usize {
        10
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, rows) = self.kernel(batch)?;
        let (x, p) = (io.input(X, len)?, affine(io, self.affine, WEIGHT, BIAS, self.d)?);
        let y = io.output(Y, len)?;
        let saved = StatsOut { mean: io.output(MEAN, rows)?, rstd: io.output(RSTD, rows)? };
        Ok(k.forward(x, p, saved, y)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, rows) = self.kernel(batch)?;
        let (x, p, dy) = (io.input(X, len)?, affine(io, self.affine, WEIGHT, BIAS, self.d)?, io.input(DY, len)?);
        let saved = Stats { mean: io.input(MEAN, rows)?, rstd: io.input(RSTD, rows)? };
        let dx = io.output_opt(DX, len)?;
        let grads = affine_grad(io, self.affine, DWEIGHT, DBIAS, self.d, flags)?;
        Ok(k.backward(x, p, saved, dy, dx, grads)?)
    }
}
