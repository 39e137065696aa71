//! Mean softmax cross-entropy over the batch (`op::loss`: PyTorch's `F.cross_entropy`), fused with its
//! gradient.
//!
//! Descriptor (u32): `[classes]`. No float fields.
//!
//! io block: `[logits, labels, dlogits, loss]`.
//! - forward reads logits (batch·classes) and labels (u32 class indices, batch), writes the mean loss
//!   (one f64 at `loss`) and, when given, dlogits = (softmax − onehot) / batch (like logits). A label
//!   ≥ classes is refused (`BadValue`) before anything is written.
//! - backward does nothing: the forward wrote the gradient.

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::op::loss::softmax_cross_entropy;

const LOGITS: usize = 0;
const LABELS: usize = 1;
const DLOGITS: usize = 2;
const LOSS: usize = 3;

pub struct SoftmaxCrossEntropy {
    classes: usize,
}

impl SoftmaxCrossEntropy {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(1..=1, 0..=0)?;
        let classes = d.int(0, 1)?;
        elements(Subject::Input, 0, &[classes])?;
        Ok(Self { classes })
    }
}

impl Operator for SoftmaxCrossEntropy {
    fn slots(&self) -> usize {
        4
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.classes])?;
        let (logits, labels) = (io.input(LOGITS, len)?, io.input::<u32>(LABELS, batch)?);
        let (dlogits, loss) = (io.output_opt(DLOGITS, len)?, io.output::<f64>(LOSS, 1)?);
        loss[0] = softmax_cross_entropy(batch, self.classes, logits, labels, dlogits)?;
        Ok(())
    }

    fn backward(&mut self, _io: &Io, _batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)
    }
}
