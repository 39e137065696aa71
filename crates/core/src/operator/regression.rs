//! The elementwise regression losses (`op::loss::regression`: PyTorch's `mse_loss`, `l1_loss`,
//! `huber_loss`, `smooth_l1_loss`); the loss and its gradient in one call.
//!
//! Descriptor (u32): `[n, kind, reduction]`: values per sample, 0 MSE / 1 L1 / 2 Huber / 3 SmoothL1, 0 mean
//! / 1 sum. Floats (f64): `[param]`: Huber's δ (> 0), SmoothL1's β (≥ 0); ignored by the others.
//!
//! io block: `[x, target, dx, loss]`.
//! - forward reads x and target (batch·n each); writes the loss (one f64 at `loss`) and, when given, dx.
//! - backward does nothing: the forward wrote the gradient.

use super::{check_flags, elements, reduction, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::loss::regression::{Kind, Regression as Kernel};
use crate::op::loss::Reduction;

const X: usize = 0;
const TARGET: usize = 1;
const DX: usize = 2;
const LOSS: usize = 3;

pub struct Regression {
    n: usize,
    kind: Kind,
    reduction: Reduction,
}

impl Regression {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(3..=3, 1..=1)?;
        let n = d.int(0, 1)?;
        let param = d.float(0, 0.0, f32::MAX as f64)? as f32;
        let kind = match d.choice(1, 4)? {
            0 => Kind::Mse,
            1 => Kind::L1,
            2 if param > 0.0 => Kind::Huber { delta: param },
            2 => return Err(d.bad(Error::BadDescriptor, 3)),
            _ => Kind::SmoothL1 { beta: param },
        };
        elements(Subject::Input, 0, &[n])?;
        Ok(Self { n, kind, reduction: reduction(d, 2)? })
    }
}

impl Operator for Regression {
    fn slots(&self) -> usize {
        4
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let k = Kernel::new(len, self.kind, self.reduction)?;
        let (x, t) = (io.input(X, len)?, io.input(TARGET, len)?);
        let (dx, loss) = (io.output_opt(DX, len)?, io.output::<f64>(LOSS, 1)?);
        loss[0] = k.forward_backward(x, t, dx)?;
        Ok(())
    }

    fn backward(&mut self, _io: &Io, _batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)
    }
}
