//! 2-D max pooling (`op::pool`: PyTorch's `max_pool2d`, padding counts as -∞), with the argmax kept from
//! forward to backward.
//!
//! Descriptor (u32): `[c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow]`: conv2d's window fields. Every
//! window must hold an input element (`BadGeometry` about the padding otherwise). No float fields.
//!
//! io block: `[x, y, argmax, dy, dx]`.
//! - forward reads x (batch·c·h·w) and writes y and argmax (u32; batch·c·oh·ow each).
//! - backward reads dy (like y) and argmax, and writes dx (like x; 0 = not needed: nothing to do).

use super::{check_flags, elements, window, Desc, Io, Operator, Refusal, Subject};
use crate::error::Error;
use crate::op::geom::{axis_windows_touch_input, Window};
use crate::op::pool::{maxpool2d_backward, maxpool2d_forward};

const WINDOW: [usize; 13] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const PT: usize = 7;
const PL: usize = 8;

const X: usize = 0;
const Y: usize = 1;
const ARGMAX: usize = 2;
const DY: usize = 3;
const DX: usize = 4;

pub struct MaxPool2d {
    g: Window,
    sample_in: usize,
    sample_out: usize,
}

impl MaxPool2d {
    pub fn create(d: &Desc) -> Result<Self, Refusal> {
        d.lengths(13..=13, 0..=0)?;
        let g = window(d, WINDOW)?;
        if !axis_windows_touch_input(g.h, g.kh, g.sh, g.pt, g.dh, g.oh) {
            return Err(d.bad(Error::BadGeometry, PT));
        }
        if !axis_windows_touch_input(g.w, g.kw, g.sw, g.pl, g.dw, g.ow) {
            return Err(d.bad(Error::BadGeometry, PL));
        }
        let sample_out = elements(Subject::Output, -1, &[g.c, g.oh, g.ow])?;
        Ok(Self { g, sample_in: g.c * g.h * g.w, sample_out })
    }

    fn batch(&self, batch: usize) -> Result<(Window, usize, usize), Refusal> {
        let x = elements(Subject::Input, -1, &[batch, self.sample_in])?;
        let y = elements(Subject::Output, -1, &[batch, self.sample_out])?;
        Ok((Window { n: batch, ..self.g }, x, y))
    }
}

impl Operator for MaxPool2d {
    fn slots(&self) -> usize {
        5
    }

    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, xl, yl) = self.batch(batch)?;
        let x = io.input(X, xl)?;
        let (y, argmax) = (io.output(Y, yl)?, io.output(ARGMAX, yl)?);
        Ok(maxpool2d_forward(&g, x, y, argmax)?)
    }

    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal> {
        check_flags(flags)?;
        let (g, xl, yl) = self.batch(batch)?;
        let (dy, argmax) = (io.input(DY, yl)?, io.input(ARGMAX, yl)?);
        match io.output_opt(DX, xl)? {
            Some(dx) => Ok(maxpool2d_backward(&g, dy, argmax, dx)?),
            None => Ok(()),
        }
    }
}
