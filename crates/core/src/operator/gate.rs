//! The squeeze-and-excitation gate (`op::merge::Gate`): y[n, c, ·] = x[n, c, ·]·s[n, c].
//!
//! Descriptor (u32): `[c, inner]`: channels and values per channel. No floats.
//!
//! io block: `[x, s, y, dy, dx, ds]`.
//! - forward reads x (batch·c·inner) and s (batch·c), writes y (like x).
//! - backward reads x, s and dy; writes dx (like x) and ds (like s), each 0 = not needed (overwritten).

use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::op::merge::{Gate as Kernel, Grad};

const X: usize = 0;
const S: usize = 1;
const Y: usize = 2;
const DY: usize = 3;
const DX: usize = 4;
const DS: usize = 5;

pub struct Gate {
    c: usize,
    inner: usize,
}

impl Gate {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(2..=2, 0..=0)?;
        let (c, inner) = (d.int(0, 1)?, d.int(1, 1)?);
        elements(Subject::Input, -1, &[c, inner])?;
        Ok(Self { c, inner })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize, usize), Refusal> {
        let len = elements(Subject::Input, -1, &[batch, self.c, self.inner])?;
        Ok((Kernel::new(batch, self.c, self.inner)?, len, batch * self.c))
    }
}

impl Operator for Gate {
    fn slots(&self) -> usize {
        6
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, sl) = self.kernel(batch)?;
        let (x, s) = (io.input(X, len)?, io.input(S, sl)?);
        Ok(k.forward(x, s, io.output(Y, len)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len, sl) = self.kernel(batch)?;
        let (x, s, dy) = (io.input(X, len)?, io.input(S, sl)?, io.input(DY, len)?);
        let dx = io.output_opt(DX, len)?.map(|dst| Grad { dst, accumulate: false });
        let ds = io.output_opt(DS, sl)?.map(|dst| Grad { dst, accumulate: false });
        Ok(k.backward(x, s, dy, dx, ds)?)
    }
}
