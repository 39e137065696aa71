//! Channel concat of k NCHW inputs (`op::merge::Concat`: DenseNet, Inception).
//!
//! Descriptor (u32): `[inner, k, c_0, …, c_{k−1}]`: values per channel (the plane, the same for every
//! input), the input count (1 ≤ k ≤ `MAX_INPUTS`) and each input's channels. No floats.
//!
//! io block: `[y, dy, x_0, dx_0, x_1, dx_1, …]` (2 + 2k slots).
//! - forward reads each x_i (batch·c_i·inner) and writes y (batch·Σc·inner).
//! - backward reads dy and writes each dx_i (0 = not needed; overwritten).

use super::io::MAX_SLOTS;
use super::{check_flags, elements, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::merge::{Concat as Kernel, Grad};

/// Inputs an io block has room for.
pub const MAX_INPUTS: usize = (MAX_SLOTS - 2) / 2;

const K: usize = 1;

const Y: usize = 0;
const DY: usize = 1;

pub struct Concat {
    inner: usize,
    channels: Vec<usize>,
    total: usize,
}

impl Concat {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        let k = d.int(K, 1)?;
        if k > MAX_INPUTS {
            return Err(d.bad(Error::BadDescriptor, K));
        }
        d.lengths(2 + k..=2 + k, 0..=0)?;
        let inner = d.int(0, 1)?;
        let mut channels = Vec::new();
        channels.try_reserve_exact(k).map_err(|_| Refusal::from(Error::OutOfMemory))?;
        for i in 0..k {
            channels.push(d.int(2 + i, 1)?);
        }
        let total = channels.iter().try_fold(0usize, |s, &c| s.checked_add(c)).ok_or(Refusal::at(Error::TooLarge, -1, Subject::Output, f64::INFINITY))?;
        elements(Subject::Output, -1, &[total, inner])?;
        Ok(Self { inner, channels, total })
    }

    fn kernel(&self, batch: usize) -> Result<(Kernel, usize), Refusal> {
        let len = elements(Subject::Output, -1, &[batch, self.total, self.inner])?;
        Ok((Kernel::new(batch, self.inner, &self.channels)?, len))
    }
}

impl Operator for Concat {
    fn slots(&self) -> usize {
        2 + 2 * self.channels.len()
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let mut xs: [&[f32]; MAX_INPUTS] = [&[]; MAX_INPUTS];
        for (i, &c) in self.channels.iter().enumerate() {
            xs[i] = io.input(2 + 2 * i, batch * c * self.inner)?;
        }
        Ok(k.forward(&xs[..self.channels.len()], io.output(Y, len)?)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (k, len) = self.kernel(batch)?;
        let dy = io.input(DY, len)?;
        let mut grads: [Option<Grad>; MAX_INPUTS] = Default::default();
        for (i, &c) in self.channels.iter().enumerate() {
            grads[i] = io.output_opt(3 + 2 * i, batch * c * self.inner)?.map(|dst| Grad { dst, accumulate: false });
        }
        Ok(k.backward(dy, &mut grads[..self.channels.len()])?)
    }
}
