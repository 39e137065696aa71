//! Binary cross-entropy on logits (`op::loss::bce`: PyTorch's `F.binary_cross_entropy_with_logits`), with
//! per-column weight and pos_weight; the loss and its gradient in one call.
//!
//! Descriptor (u32): `[n, reduction, weighted, pos_weighted]`: values per sample, 0 mean / 1 sum, and
//! whether weight / pos_weight (n each, broadcast over the batch) are given. No floats.
//!
//! io block: `[x, target, weight, pos_weight, dx, loss]`.
//! - forward reads x and target (batch·n each; targets in [0, 1]) and the weights given; writes the loss
//!   (one f64 at `loss`) and, when given, dx (like x).
//! - backward does nothing: the forward wrote the gradient.

use super::{check_flags, elements, reduction, Desc, Io, Operator, Refusal, Subject};
use crate::op::loss::bce::BceWithLogits as Kernel;
use crate::op::loss::Reduction;

const X: usize = 0;
const TARGET: usize = 1;
const WEIGHT: usize = 2;
const POS_WEIGHT: usize = 3;
const DX: usize = 4;
const LOSS: usize = 5;

pub struct BceWithLogits {
    n: usize,
    reduction: Reduction,
    weighted: bool,
    pos_weighted: bool,
}

impl BceWithLogits {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(4..=4, 0..=0)?;
        let n = d.int(0, 1)?;
        let (reduction, weighted, pos_weighted) = (reduction(d, 1)?, d.choice(2, 2)? == 1, d.choice(3, 2)? == 1);
        elements(Subject::Input, 0, &[n])?;
        Ok(Self { n, reduction, weighted, pos_weighted })
    }
}

impl Operator for BceWithLogits {
    fn slots(&self) -> usize {
        6
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let k = Kernel::new(batch, self.n, self.reduction)?;
        let (x, t) = (io.input(X, len)?, io.input(TARGET, len)?);
        let w = if self.weighted { Some(io.input(WEIGHT, self.n)?) } else { None };
        let pw = if self.pos_weighted { Some(io.input(POS_WEIGHT, self.n)?) } else { None };
        let (dx, loss) = (io.output_opt(DX, len)?, io.output::<f64>(LOSS, 1)?);
        loss[0] = k.forward_backward(x, t, w, pw, dx)?;
        Ok(())
    }

    fn backward(&mut self, _io: &Io, _batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)
    }
}
