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
use crate::error;
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

    fn kernel(&self, batch: usize) -> Result<(Kernel, Rows), Refusal> {
        let rows = elements(Subject::Input, -1, &[batch, self.rows])?;
        let len = elements(Subject::Input, -1, &[rows, self.d])?;
        Ok((Kernel::new(&[rows, self.d], &[self.d], self.eps, self.affine)?, Rows { len, rows, params: self.d, affine: self.affine }))
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

/// One call of a row-normalising layer (LayerNorm, GroupNorm: the same io block): `len` values, `rows`
/// statistics, `params` values of γ and of β when affine.
pub(super) struct Rows {
    pub len: usize,
    pub rows: usize,
    pub params: usize,
    pub affine: bool,
}

impl Rows {
    /// Resolves the forward's slots and runs `f(x, γβ, saved statistics, y)`.
    pub fn forward(&self, io: &Io, f: impl FnOnce(&[f32], Affine, StatsOut, &mut [f32]) -> error::Result) -> Result<(), Refusal> {
        let (x, p) = (io.input(X, self.len)?, affine(io, self.affine, WEIGHT, BIAS, self.params)?);
        let y = io.output(Y, self.len)?;
        let saved = StatsOut { mean: io.output(MEAN, self.rows)?, rstd: io.output(RSTD, self.rows)? };
        Ok(f(x, p, saved, y)?)
    }

    /// Resolves the backward's slots and runs `f(x, γβ, statistics, dy, dx, parameter gradients)`.
    #[allow(clippy::type_complexity)]
    pub fn backward(&self, io: &Io, flags: u32, f: impl FnOnce(&[f32], Affine, Stats, &[f32], Option<&mut [f32]>, AffineGrad) -> error::Result) -> Result<(), Refusal> {
        let (x, p, dy) = (io.input(X, self.len)?, affine(io, self.affine, WEIGHT, BIAS, self.params)?, io.input(DY, self.len)?);
        let saved = Stats { mean: io.input(MEAN, self.rows)?, rstd: io.input(RSTD, self.rows)? };
        let dx = io.output_opt(DX, self.len)?;
        let grads = affine_grad(io, self.affine, DWEIGHT, DBIAS, self.params, flags)?;
        Ok(f(x, p, saved, dy, dx, grads)?)
    }
}

impl Operator for LayerNorm {
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
