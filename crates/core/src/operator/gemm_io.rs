//! The io block shared by the GEMM-based layers (conv2d, conv_transpose2d, dense): `[x, weight, bias, y,
//! dy, dx, dweight, dbias]`, resolved for each pass.

use super::{Io, Refusal};

const X: usize = 0;
const WEIGHT: usize = 1;
const BIAS: usize = 2;
const Y: usize = 3;
const DY: usize = 4;
const DX: usize = 5;
const DWEIGHT: usize = 6;
const DBIAS: usize = 7;
pub const SLOTS: usize = 8;

/// Element counts of one call: the input and output batch, the weights and the bias (when given).
pub struct Lens {
    pub x: usize,
    pub y: usize,
    pub weight: usize,
    pub bias: usize,
}

pub struct Forward<'a> {
    pub x: &'a [f32],
    pub weight: &'a [f32],
    pub bias: Option<&'a [f32]>,
    pub y: &'a mut [f32],
}

/// The forward reads x, weight and bias (0 = none), and writes y.
pub fn forward<'a>(io: &'a Io, n: &Lens) -> Result<Forward<'a>, Refusal> {
    let (x, weight, bias) = (io.input(X, n.x)?, io.input(WEIGHT, n.weight)?, io.input_opt(BIAS, n.bias)?);
    Ok(Forward { x, weight, bias, y: io.output(Y, n.y)? })
}

pub struct Backward<'a> {
    pub x: &'a [f32],
    pub weight: &'a [f32],
    pub relu_y: Option<&'a [f32]>,
    pub dy: &'a [f32],
    pub dx: Option<&'a mut [f32]>,
    pub dweight: &'a mut [f32],
    pub dbias: Option<&'a mut [f32]>,
}

/// The backward reads x, weight, dy and, with a fused ReLU, y (its mask); writes dweight, dbias (0 = none)
/// and dx (0 = not needed).
pub fn backward<'a>(io: &'a Io, n: &Lens, relu: bool) -> Result<Backward<'a>, Refusal> {
    let (x, weight, dy) = (io.input(X, n.x)?, io.input(WEIGHT, n.weight)?, io.input(DY, n.y)?);
    let relu_y = if relu { Some(io.input(Y, n.y)?) } else { None };
    let (dweight, dbias) = (io.output(DWEIGHT, n.weight)?, io.output_opt(DBIAS, n.bias)?);
    Ok(Backward { x, weight, relu_y, dy, dx: io.output_opt(DX, n.x)?, dweight, dbias })
}
