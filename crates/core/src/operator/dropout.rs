//! Dropout (`op::dropout`: PyTorch's `Dropout`, and `Dropout2d` when a unit is a whole channel), inverted
//! scaling by 1/(1 − p); the identity without the `TRAIN` flag.
//!
//! Descriptor (u32): `[n, inner, seed_lo, seed_hi]`: values per sample, values per unit (1 for dropout, the
//! plane for dropout2d; it divides n), and the layer's 64-bit seed. Floats (f64): `[p]` in [0, 1].
//!
//! io block: `[x, y, mask, counter, dy, dx]`.
//! - forward reads x (batch·n) and, in training, counter (one u64 as two u32, low word first: the call's
//!   counter, which the caller advances per training step so that every step draws a new mask); writes y
//!   (like x) and, in training, mask (u32 bits, one per unit: ⌈batch·n/inner / 32⌉ words). Which units are
//!   kept is a function of (seed, counter, unit index) alone: the same for any thread count and runtime.
//! - backward reads dy and, in training, mask; writes dx (0 = not needed).

use super::{check_flags, elements, flags, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::dropout::Dropout as Kernel;

const INNER: usize = 1;

const X: usize = 0;
const Y: usize = 1;
const MASK: usize = 2;
const COUNTER: usize = 3;
const DY: usize = 4;
const DX: usize = 5;

pub struct Dropout {
    n: usize,
    inner: usize,
    seed: u64,
    p: f32,
}

impl Dropout {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(4..=4, 1..=1)?;
        let (n, inner) = (d.int(0, 1)?, d.int(INNER, 1)?);
        if !n.is_multiple_of(inner) {
            return Err(d.bad(Error::BadGeometry, INNER));
        }
        let seed = d.int(2, 0)? as u64 | (d.int(3, 0)? as u64) << 32;
        let p = d.float(0, 0.0, 1.0)? as f32;
        elements(Subject::Input, -1, &[n])?;
        Ok(Self { n, inner, seed, p })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize), Refusal> {
        let len = elements(Subject::Input, -1, &[batch, self.n])?;
        Ok((Kernel::channelwise(batch, self.n / self.inner, self.inner, self.p)?, len))
    }
}

impl Operator for Dropout {
    fn slots(&self) -> usize {
        6
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let x = io.input(X, len)?;
        if flags & flags::TRAIN == 0 {
            io.output(Y, len)?.copy_from_slice(x);
            return Ok(());
        }
        let c = io.input::<u32>(COUNTER, 2)?;
        let counter = c[0] as u64 | (c[1] as u64) << 32;
        let (y, mask) = (io.output(Y, len)?, io.output(MASK, k.mask_words())?);
        Ok(k.forward(true, self.seed, counter, x, y, mask)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let dy = io.input(DY, len)?;
        let Some(dx) = io.output_opt(DX, len)? else { return Ok(()) };
        if flags & flags::TRAIN == 0 {
            dx.copy_from_slice(dy);
            return Ok(());
        }
        Ok(k.backward(true, dy, io.input(MASK, k.mask_words())?, dx)?)
    }
}
