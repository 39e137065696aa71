//! Operator objects, XNNPACK's create → run. `create` reads a descriptor (integer and float attributes),
//! validates everything once with checked arithmetic (per-sample sizes, parameter sizes, the scratch a
//! call will need, the geometry), and chooses what it can once; `forward` / `backward` then take an io
//! block of buffer addresses, the batch and the flag word, check `batch ×` per-sample sizes and every
//! buffer (inside memory, aligned, not overlapping what it writes), and run the kernels. Nothing here
//! panics on bad input: every refusal is a `Refusal` (an `Error` code, the field or slot it is about, what
//! was too large and how many bytes).
//!
//! Adding an operator: a file here with its descriptor and io layout (documented at its top), one arm in
//! `create`, and its TS definition (ts/src/runtime/ops/). The export signatures do not change.

pub mod desc;
pub mod io;

mod conv2d;
mod dense;
mod gemm_io;
mod maxpool2d;
mod relu;
mod softmax_cross_entropy;

pub use desc::Desc;
pub use io::{Io, Memory};

use crate::error::{numel, product, Error, MAX_BUFFER_BYTES};
use crate::op::geom::{axis_fits, Window};

/// Operator kinds: the `kind` argument of `wcnn_op_create`.
pub mod kind {
    pub const CONV2D: u32 = 1;
    pub const MAXPOOL2D: u32 = 2;
    pub const DENSE: u32 = 3;
    pub const RELU: u32 = 4;
    pub const SOFTMAX_CROSS_ENTROPY: u32 = 5;
}

/// The flag word of a call. Bits not listed here are refused (`BadDescriptor`), so a later flag can
/// never be silently ignored by an older build.
pub mod flags {
    /// Training mode (BatchNorm's batch statistics and running-stat updates, dropout active); clear for
    /// evaluation. The current operators compute the same either way.
    pub const TRAIN: u32 = 1 << 0;
    /// Backward adds into the parameter gradients instead of overwriting them (micro-batch accumulation).
    pub const ACCUMULATE: u32 = 1 << 1;
    pub const KNOWN: u32 = TRAIN | ACCUMULATE;
}

/// The fused epilogue of GEMM-based operators (a descriptor field): what runs on the output while it is
/// in cache. Later: clamp, hardswish, SiLU, GELU (with their parameters as float fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    None = 0,
    Relu = 1,
}

impl Activation {
    pub const COUNT: u32 = 2;

    pub fn read(d: &Desc, field: usize) -> Result<Self, Refusal> {
        Ok(match d.choice(field, Self::COUNT)? {
            0 => Activation::None,
            _ => Activation::Relu,
        })
    }
}

/// What a size refusal was about, so the caller's message can say it (`wcnn_op_refusal(1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    None = 0,
    /// One sample of an input (per call: the whole batch of it).
    Input = 1,
    /// One sample of an output (per call: the whole batch of it).
    Output = 2,
    /// A parameter tensor (weights).
    Params = 3,
    /// A kernel's scratch (a padded sample, an im2col band, per-group partial sums).
    Scratch = 4,
    /// A buffer of the io block (its slot is the field).
    Buffer = 5,
}

/// An operator's refusal: the code, the descriptor field (or io slot, or -1 for the batch / none) it is
/// about, what was too large, and its size in bytes (0 when not a size).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refusal {
    pub error: Error,
    pub field: i32,
    pub subject: Subject,
    pub bytes: f64,
}

impl Refusal {
    pub fn at(error: Error, field: i32, subject: Subject, bytes: f64) -> Self {
        Self { error, field, subject, bytes }
    }
}

/// A kernel's refusal while running: scratch it could not get, a value it cannot take, a dead pool.
impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        let subject = if matches!(error, Error::TooLarge | Error::OutOfMemory) { Subject::Scratch } else { Subject::None };
        Self { error, field: -1, subject, bytes: 0.0 }
    }
}

/// `numel(dims)`, refused as `TooLarge` about `subject` (and `field`, or -1) with the byte size.
pub fn elements(subject: Subject, field: i32, dims: &[usize]) -> Result<usize, Refusal> {
    numel(dims).map_err(|e| Refusal::at(e, field, subject, 4.0 * product(dims)))
}

/// Refuses a scratch buffer of `floats` (computed in f64, so it cannot wrap) beyond one wasm32 buffer.
pub fn scratch(field: i32, floats: f64) -> Result<(), Refusal> {
    if 4.0 * floats > MAX_BUFFER_BYTES as f64 {
        return Err(Refusal::at(Error::TooLarge, field, Subject::Scratch, 4.0 * floats));
    }
    Ok(())
}

/// The sliding-window geometry of a conv or pool descriptor, its fields (c, h, w, kh, kw, sh, sw, pt, pl,
/// dh, dw, oh, ow) at `fields`: sizes, strides and dilations ≥ 1, output sizes that follow from the rest
/// (`axis_fits`; else `BadGeometry` about oh / ow), the input sample's size. `n` is 1.
pub fn window(d: &Desc, fields: [usize; 13]) -> Result<Window, Refusal> {
    let f = |i: usize, min: u32| d.int(fields[i], min);
    let g = Window {
        n: 1,
        c: f(0, 1)?,
        h: f(1, 1)?,
        w: f(2, 1)?,
        kh: f(3, 1)?,
        kw: f(4, 1)?,
        sh: f(5, 1)?,
        sw: f(6, 1)?,
        pt: f(7, 0)?,
        pl: f(8, 0)?,
        dh: f(9, 1)?,
        dw: f(10, 1)?,
        oh: f(11, 1)?,
        ow: f(12, 1)?,
    };
    if !axis_fits(g.h, g.kh, g.sh, g.pt, g.dh, g.oh) {
        return Err(d.bad(Error::BadGeometry, fields[11]));
    }
    if !axis_fits(g.w, g.kw, g.sw, g.pl, g.dw, g.ow) {
        return Err(d.bad(Error::BadGeometry, fields[12]));
    }
    elements(Subject::Input, -1, &[g.c, g.h, g.w])?;
    Ok(g)
}

/// Refuses flag bits this build does not know.
pub fn check_flags(flags: u32) -> Result<(), Refusal> {
    if flags & !flags::KNOWN != 0 {
        return Err(Refusal::at(Error::BadDescriptor, -1, Subject::None, 0.0));
    }
    Ok(())
}

/// A created operator. `forward` and `backward` check their io block and batch on every call.
pub trait Operator: Send {
    /// Slots of this operator's io block.
    fn slots(&self) -> usize;
    fn forward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal>;
    fn backward(&mut self, io: &Io, batch: usize, flags: u32) -> Result<(), Refusal>;
}

/// Creates an operator of `kind` from its descriptor (the registry: one arm per operator).
pub fn create(kind: u32, d: &Desc) -> Result<Box<dyn Operator>, Refusal> {
    fn boxed<O: Operator + 'static>(op: O) -> Box<dyn Operator> {
        Box::new(op)
    }
    match kind {
        kind::CONV2D => conv2d::Conv2d::create(d).map(boxed),
        kind::MAXPOOL2D => maxpool2d::MaxPool2d::create(d).map(boxed),
        kind::DENSE => dense::Dense::create(d).map(boxed),
        kind::RELU => relu::Relu::create(d).map(boxed),
        kind::SOFTMAX_CROSS_ENTROPY => softmax_cross_entropy::SoftmaxCrossEntropy::create(d).map(boxed),
        _ => Err(Refusal::at(Error::BadDescriptor, -1, Subject::None, 0.0)),
    }
}

#[cfg(test)]
mod tests;
