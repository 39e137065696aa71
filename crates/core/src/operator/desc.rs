//! An operator's descriptor: integer attributes (geometry, choices) and float attributes (slopes, eps,
//! momentum), read with their checks. A refusal names the field by its index: integer fields first, then
//! float fields numbered after them.

use super::{Refusal, Subject};
use crate::error::Error;

pub struct Desc<'a> {
    ints: &'a [u32],
    floats: &'a [f64],
}

impl<'a> Desc<'a> {
    pub fn new(ints: &'a [u32], floats: &'a [f64]) -> Self {
        Self { ints, floats }
    }

    fn refuse(&self, error: Error, field: usize) -> Refusal {
        Refusal::at(error, field as i32, Subject::None, 0.0)
    }

    /// Refuses (`BadDescriptor`) a descriptor whose lengths are not in `ints` × `floats`: trailing
    /// fields may be left out where an operator gives them defaults (`int_or`), so descriptors can grow.
    pub fn lengths(&self, ints: std::ops::RangeInclusive<usize>, floats: std::ops::RangeInclusive<usize>) -> Result<(), Refusal> {
        if !ints.contains(&self.ints.len()) {
            return Err(self.refuse(Error::BadDescriptor, self.ints.len().min(*ints.end())));
        }
        if !floats.contains(&self.floats.len()) {
            return Err(self.refuse(Error::BadDescriptor, self.ints.len() + self.floats.len().min(*floats.end())));
        }
        Ok(())
    }

    /// Integer field `i`, at least `min` (`BadGeometry` otherwise: sizes, strides and dilations are ≥ 1).
    pub fn int(&self, i: usize, min: u32) -> Result<usize, Refusal> {
        match self.ints.get(i) {
            Some(&v) if v >= min => Ok(v as usize),
            Some(_) => Err(self.refuse(Error::BadGeometry, i)),
            None => Err(self.refuse(Error::BadDescriptor, i)),
        }
    }

    /// Integer field `i`, or `default` when the descriptor ends before it.
    pub fn int_or(&self, i: usize, min: u32, default: usize) -> Result<usize, Refusal> {
        if i >= self.ints.len() { Ok(default) } else { self.int(i, min) }
    }

    /// Integer field `i` as one of `count` choices (`0..count`; `BadDescriptor` otherwise).
    pub fn choice(&self, i: usize, count: u32) -> Result<u32, Refusal> {
        match self.ints.get(i) {
            Some(&v) if v < count => Ok(v),
            _ => Err(self.refuse(Error::BadDescriptor, i)),
        }
    }

    /// Float field `j`, finite and in `lo..=hi`.
    pub fn float(&self, j: usize, lo: f64, hi: f64) -> Result<f64, Refusal> {
        match self.floats.get(j) {
            Some(&v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(v),
            _ => Err(self.refuse(Error::BadDescriptor, self.ints.len() + j)),
        }
    }

    /// A refusal about integer field `i` (an attribute that is valid alone but not with the others).
    pub fn bad(&self, error: Error, i: usize) -> Refusal {
        self.refuse(error, i)
    }
}
