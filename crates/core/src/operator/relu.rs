//! ReLU (`op::activation`), elementwise.
//!
//! Descriptor (u32): `[n]`: values per sample. No float fields.
//!
//! io block: `[x, y, dy, dx]`.
//! - forward reads x (batch·n) and writes y = max(x, 0) (like x).
//! - backward reads y (the forward's output) and dy, and writes dx = dy·[y > 0] (0 = not needed).

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::op::activation::{relu_backward, relu_forward};

const X: usize = 0;
const Y: usize = 1;
const DY: usize = 2;
const DX: usize = 3;

pub struct Relu {
    n: usize,
}

impl Relu {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(1..=1, 0..=0)?;
        let n = d.int(0, 1)?;
        elements(Subject::Input, 0, &[n])?;
        Ok(Self { n })
    }
}

impl Operator for Relu {
    fn slots(&self) -> usize {
        4
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let x = io.input(X, len)?;
        Ok(relu_forward(x, io.output(Y, len)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        let (y, dy) = (io.input(Y, len)?, io.input(DY, len)?);
        match io.output_opt(DX, len)? {
            Some(dx) => Ok(relu_backward(y, dy, dx)?),
            None => Ok(()),
        }
    }
}
