//! Cross-entropy over logits (`op::loss::cross_entropy`: PyTorch's `F.cross_entropy` on (batch, classes)),
//! with class labels or class probabilities, class weights, label smoothing and an ignored label; the loss
//! and its gradient in one call.
//!
//! Descriptor (u32): `[classes, target, reduction, weighted, ignore_index]`: target 0 labels (i32) / 1
//! probabilities (f32, batch·classes), reduction 0 mean / 1 sum, weighted 1 when a weight per class is
//! given, ignore_index the label that is not counted (its i32 bits: PyTorch's default −100 is 0xffffff9c).
//! Floats (f64): `[label_smoothing]` in [0, 1].
//!
//! io block: `[logits, target, weight, dlogits, loss]`.
//! - forward reads logits (batch·classes), target and, when weighted, weight (classes); writes the loss
//!   (one f64 at `loss`) and, when given, dlogits (like logits). A label outside [0, classes) other than the
//!   ignore index is refused (`BadValue`) before anything is written.
//! - backward does nothing: the forward wrote the gradient.

use super::{check_flags, elements, reduction, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::loss::cross_entropy::{CrossEntropy as Kernel, Target};
use crate::op::loss::Reduction;

const LOGITS: usize = 0;
const TARGET: usize = 1;
const WEIGHT: usize = 2;
const DLOGITS: usize = 3;
const LOSS: usize = 4;

pub struct CrossEntropy {
    classes: usize,
    probabilities: bool,
    reduction: Reduction,
    weighted: bool,
    ignore_index: i32,
    smoothing: f32,
}

impl CrossEntropy {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(5..=5, 1..=1)?;
        let classes = d.int(0, 1)?;
        let (probabilities, reduction, weighted) = (d.choice(1, 2)? == 1, reduction(d, 2)?, d.choice(3, 2)? == 1);
        let ignore_index = d.int(4, 0)? as u32 as i32;
        // f32-exact in the kernel: the smoothing as f32.
        let smoothing = d.float(0, 0.0, 1.0)? as f32;
        elements(Subject::Input, 0, &[classes])?;
        Ok(Self { classes, probabilities, reduction, weighted, ignore_index, smoothing })
    }
}

impl Operator for CrossEntropy {
    fn slots(&self) -> usize {
        5
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.classes])?;
        let k = Kernel::new(batch, self.classes, self.reduction, self.smoothing, self.ignore_index)?;
        let logits = io.input(LOGITS, len)?;
        let target = if self.probabilities {
            Target::Probabilities(io.input(TARGET, len)?)
        } else {
            let labels = io.input::<i32>(TARGET, batch)?;
            if labels.iter().any(|&l| l != self.ignore_index && !(0..self.classes as i64).contains(&(l as i64))) {
                return Err(Refusal::at(Error::BadValue, TARGET as i32, Subject::Buffer, 0.0));
            }
            Target::Labels(labels)
        };
        let weight = if self.weighted { Some(io.input(WEIGHT, self.classes)?) } else { None };
        let (dlogits, loss) = (io.output_opt(DLOGITS, len)?, io.output::<f64>(LOSS, 1)?);
        loss[0] = k.forward_backward(logits, target, weight, dlogits)?;
        Ok(())
    }

    fn backward(&mut self, _io: &Io, _batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)
    }
}
