//! Batch normalisation (`op::norm::batchnorm`: PyTorch's `BatchNorm1d/2d`) over (batch, c, inner), with an
//! optional fused ReLU. Training (flag `TRAIN`) normalises with the batch's statistics and updates the
//! running ones; otherwise the running statistics normalise (or the batch's, without tracked statistics).
//!
//! Descriptor (u32): `[c, inner, affine, track_running_stats, relu, cumulative]`: channels, values per
//! channel per sample (H·W, L or 1), whether γ/β exist, whether running statistics are kept, the fused
//! ReLU, and 1 for PyTorch's `momentum=None` (the cumulative average; the momentum field is then ignored).
//! Floats (f64): `[eps, momentum]` (eps > 0, momentum in [0, 1]).
//!
//! io block: `[x, weight, bias, running_mean, running_var, num_batches_tracked, y, mean, rstd, dy, dx,
//! dweight, dbias]`.
//! - forward reads x (batch·c·inner), weight and bias (c each, when affine), and with tracked statistics
//!   running_mean / running_var (c each) and num_batches_tracked (one f32 holding an integer, exact to
//!   2²⁴: the model's buffers are f32), all three updated in training; writes y (like x) and the statistics
//!   it used, mean and rstd = 1/√(var + ε) (c each), for the backward.
//! - backward (the same mode as the forward) reads x, weight, bias, mean, rstd and dy (like y); writes dx
//!   (0 = not needed), dweight and dbias (0 = none; added to with `ACCUMULATE`).
//!
//! A training call with one value per channel (batch·inner = 1) is refused (`BadGeometry`), as PyTorch
//! refuses it; so is a stored count that is not a non-negative integer (`BadValue`).

use super::layer_norm::{affine, affine_grad};
use super::{check_flags, elements, flags, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::norm::batchnorm::{BatchNorm as Kernel, BatchNormConfig, Running};
use crate::op::norm::{Affine, Stats, StatsOut};

const C: usize = 0;
const INNER: usize = 1;
const EPS: usize = 6;

const X: usize = 0;
const WEIGHT: usize = 1;
const BIAS: usize = 2;
const RUNNING_MEAN: usize = 3;
const RUNNING_VAR: usize = 4;
const TRACKED: usize = 5;
const Y: usize = 6;
const MEAN: usize = 7;
const RSTD: usize = 8;
const DY: usize = 9;
const DX: usize = 10;
const DWEIGHT: usize = 11;
const DBIAS: usize = 12;

pub struct BatchNorm {
    c: usize,
    inner: usize,
    cfg: BatchNormConfig,
}

impl BatchNorm {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(6..=6, 2..=2)?;
        let (c, inner) = (d.int(C, 1)?, d.int(INNER, 1)?);
        let (affine, track, relu, cumulative) = (d.choice(2, 2)? == 1, d.choice(3, 2)? == 1, d.choice(4, 2)? == 1, d.choice(5, 2)? == 1);
        // f32 eps must stay positive (a constant channel would divide by zero).
        let eps = d.float(0, f32::MIN_POSITIVE as f64, f32::MAX as f64)? as f32;
        let momentum = d.float(1, 0.0, 1.0)? as f32;
        elements(Subject::Input, -1, &[c, inner])?;
        let cfg = BatchNormConfig { eps, momentum: (!cumulative).then_some(momentum), affine, track_running_stats: track, relu };
        Kernel::new(1, c, inner, cfg).map_err(|_| d.bad(Error::BadGeometry, EPS))?;
        Ok(Self { c, inner, cfg })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize), Refusal> {
        let len = elements(Subject::Input, -1, &[batch, self.c, self.inner])?;
        Ok((Kernel::new(batch, self.c, self.inner, self.cfg)?, len))
    }

    fn affine<'a>(&self, io: &'a Io) -> Result<Affine<'a>, Refusal> {
        affine(io, self.cfg.affine, WEIGHT, BIAS, self.c)
    }
}

/// num_batches_tracked as stored (one f32) → the kernel's count.
fn count(v: f32) -> Result<i64, Refusal> {
    if !(v >= 0.0 && v.fract() == 0.0 && v < 9.2e18) {
        return Err(Refusal::at(Error::BadValue, TRACKED as i32, Subject::Buffer, 4.0));
    }
    Ok(v as i64)
}

impl Operator for BatchNorm {
    fn slots(&self) -> usize {
        13
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let training = flags & flags::TRAIN != 0;
        let (x, p) = (io.input(X, len)?, self.affine(io)?);
        let y = io.output(Y, len)?;
        let (mean, rstd) = (io.output(MEAN, self.c)?, io.output(RSTD, self.c)?);
        if !self.cfg.track_running_stats {
            return Ok(k.forward(training, x, p, None, StatsOut { mean, rstd }, y)?);
        }
        let (rm, rv, tracked) = (io.output(RUNNING_MEAN, self.c)?, io.output(RUNNING_VAR, self.c)?, io.output::<f32>(TRACKED, 1)?);
        let mut t = count(tracked[0])?;
        k.forward(training, x, p, Some(Running { mean: rm, var: rv, batches_tracked: &mut t }), StatsOut { mean, rstd }, y)?;
        tracked[0] = t as f32;
        Ok(())
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let (x, p, dy) = (io.input(X, len)?, self.affine(io)?, io.input(DY, len)?);
        let saved = Stats { mean: io.input(MEAN, self.c)?, rstd: io.input(RSTD, self.c)? };
        let dx = io.output_opt(DX, len)?;
        let grads = affine_grad(io, self.cfg.affine, DWEIGHT, DBIAS, self.c, flags)?;
        Ok(k.backward(flags & flags::TRAIN != 0, x, p, saved, dy, dx, grads)?)
    }
}
