//! Transposed 2-D convolution (PyTorch's `conv_transpose2d`), NCHW, weights `C_in × C_out/groups × KH × KW`.
//!
//! It is the adjoint of the convolution whose input is this op's output: that convolution maps
//! `C_out × OH × OW` to `C_in × H × W` with weights read as OIHW (`O = C_in`, `I = C_out/groups`), the same
//! stride, padding and dilation. So the forward is that convolution's input gradient, the input gradient
//! is its forward, and the weight gradient is its weight gradient with the two activations' roles
//! swapped (`Conv2d::backward` with `x = dY`, `dy = X`). Nothing here multiplies by itself.

use super::adaptive_pool::sum_f64;
use super::conv2d::{check_len, Conv2d};
use super::geom::Window;
use crate::error::{self, Error, Result};
use crate::par;

/// A transposed convolution, held as the convolution it is the adjoint of (`conv`). Built by `new` or
/// `torch`, which refuse what the kernels cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d {
    conv: Conv2d,
}

impl ConvTranspose2d {
    /// An `N × C_in × H × W` input to a `N × C_out × OH × OW` output, kernel, stride, dilation and `groups`,
    /// with the top/left padding `(pt, pl)` (rows/columns cropped from the full transposed output) and the
    /// output size given: the bottom/right crop is what the output size implies, and may be negative by
    /// less than `max(stride, dilation)` (PyTorch's `output_padding`: rows that receive only the bias).
    /// That is how asymmetric padding (TF's `'SAME'`) is said.
    #[allow(clippy::too_many_arguments)]
    pub fn new(n: usize, c_in: usize, (h, w): (usize, usize), c_out: usize, (kh, kw): (usize, usize), (sh, sw): (usize, usize), (pt, pl): (usize, usize), (oh, ow): (usize, usize), (dh, dw): (usize, usize), groups: usize) -> Result<Self> {
        let win = Window { n, c: c_out, h: oh, w: ow, kh, kw, sh, sw, pt, pl, dh, dw, oh: h, ow: w };
        if [c_out, oh, ow, kh, kw, sh, sw, dh, dw, h, w].contains(&0) {
            return Err(Error::BadGeometry);
        }
        // The full transposed output spans (in - 1)·s + (k - 1)·d + 1; the output may extend past it (after the
        // top crop) by less than max(s, d).
        for (full, top, out, s, d) in [(win.reach_h()?, pt, oh, sh, dh), (win.reach_w()?, pl, ow, sw, dw)] {
            if error::add(out, top)? >= error::add(full, s.max(d))? {
                return Err(Error::BadGeometry);
            }
        }
        error::numel(&[n, c_out, oh, ow])?;
        error::numel(&[n, c_in, h, w])?;
        Ok(Self { conv: Conv2d::adjoint(win, c_in, groups)? })
    }

    /// PyTorch's `ConvTranspose2d` geometry: symmetric `padding`, `output_padding` below each of
    /// `max(stride, dilation)`, output `(in - 1)·stride - 2·padding + dilation·(k - 1) + output_padding + 1`.
    #[allow(clippy::too_many_arguments)]
    pub fn torch(n: usize, c_in: usize, (h, w): (usize, usize), c_out: usize, (kh, kw): (usize, usize), (sh, sw): (usize, usize), (ph, pw): (usize, usize), (oph, opw): (usize, usize), (dh, dw): (usize, usize), groups: usize) -> Result<Self> {
        let size = |input: usize, k: usize, s: usize, p: usize, op: usize, d: usize| -> Result<usize> {
            if input == 0 || k == 0 || s == 0 || d == 0 || op >= s.max(d) {
                return Err(Error::BadGeometry);
            }
            let full = error::add(error::add(error::mul(input - 1, s)?, error::mul(k - 1, d)?)?, error::add(op, 1)?)?;
            full.checked_sub(error::mul(p, 2)?).filter(|&o| o > 0).ok_or(Error::BadGeometry)
        };
        let oh = size(h, kh, sh, ph, oph, dh)?;
        let ow = size(w, kw, sw, pw, opw, dw)?;
        Self::new(n, c_in, (h, w), c_out, (kh, kw), (sh, sw), (ph, pw), (oh, ow), (dh, dw), groups)
    }

    /// The convolution this op is the adjoint of (its window's input is this op's output).
    pub fn adjoint(&self) -> &Conv2d {
        &self.conv
    }
    /// Floats of x (`N·C_in·H·W`), y (`N·C_out·OH·OW`) and the weights (`C_in·C_out/groups·KH·KW`).
    pub fn x_len(&self) -> usize {
        self.conv.y_len()
    }
    pub fn y_len(&self) -> usize {
        self.conv.x_len()
    }
    pub fn w_len(&self) -> usize {
        self.conv.w_len()
    }

    /// `y[n][co][iy·sh + i·dh - pt][ix·sw + j·dw - pl] += x[n][ci][iy][ix] · w[ci][co mod C_out/groups][i][j]` over
    /// the input channels ci of co's group, starting from `bias[co]` (or 0).
    pub fn forward(&self, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) -> Result {
        self.conv.input_grad(w, x, bias, y)
    }

    /// Gradients of `forward` given `dy`: `dw`/`db` overwritten, or added to when `accumulate`; `dx`, when
    /// asked for, overwritten.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, x: &[f32], w: &[f32], dy: &[f32], dx: Option<&mut [f32]>, dw: &mut [f32], db: Option<&mut [f32]>, accumulate: bool) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(dy.len(), self.y_len())?;
        if let Some(db) = db.as_deref() {
            check_len(db.len(), self.conv.window().c)?;
        }
        if let Some(dx) = dx {
            self.conv.forward(dy, w, None, false, dx)?;
        }
        self.conv.backward(dy, w, None, x, None, dw, None, accumulate)?;
        if let Some(db) = db {
            let g = self.conv.window();
            let (c, plane) = (g.c, g.in_plane());
            // Per channel, samples in order (any thread count gives the same sums).
            par::chunks_mut(db, 1, |co, d| {
                let s: f64 = (0..g.n).map(|n| sum_f64(&dy[(n * c + co) * plane..][..plane])).sum();
                d[0] = if accumulate { d[0] + s as f32 } else { s as f32 };
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::for_each_conv_tap;
    use crate::testutil::{assert_close, check_linear_grads, Rng};

    /// (n, c_in, (h, w), c_out, k, stride, padding, output_padding, dilation, groups): stride 1 and 2,
    /// output padding, dilation, groups, tails.
    #[allow(clippy::type_complexity)]
    fn shapes() -> Vec<ConvTranspose2d> {
        let t = |n, ci, hw, co, k, s, p, op, d, g| ConvTranspose2d::torch(n, ci, hw, co, k, s, p, op, d, g).unwrap();
        vec![
            t(2, 3, (5, 4), 4, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1),
            t(1, 4, (4, 5), 6, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2),
            t(2, 2, (3, 3), 3, (4, 4), (2, 2), (1, 1), (0, 1), (1, 1), 1),
            t(1, 2, (4, 3), 2, (3, 2), (1, 2), (0, 1), (0, 1), (2, 1), 2), // dilation, depthwise-like groups
            t(9, 2, (3, 4), 5, (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1), // more than one backward chunk
            t(1, 6, (4, 4), 3, (3, 3), (3, 2), (2, 1), (2, 1), (1, 1), 3),
            t(1, 2, (3, 3), 2, (3, 3), (1, 1), (0, 0), (1, 1), (2, 2), 1), // output padding ≥ stride (< dilation)
            t(2, 8, (5, 6), 9, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1), // the adjoint conv by Winograd
            t(1, 8, (4, 5), 8, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1),
            // TF 'SAME' (in 4, stride 2 → out 8: total crop 1, top 0): asymmetric, by the output size.
            ConvTranspose2d::new(1, 3, (4, 4), 2, (3, 3), (2, 2), (0, 0), (8, 8), (1, 1), 1).unwrap(),
        ]
    }

    /// The definition in f64: each input element times each weight added to the output it lands on (the
    /// convolution's taps read backwards).
    fn reference_forward(op: &ConvTranspose2d, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
        let g = op.conv.window();
        let plane = g.in_plane();
        let mut y: Vec<f64> = (0..op.y_len()).map(|yi| b[yi / plane % g.c] as f64).collect();
        for_each_conv_tap(g, op.conv.out_channels(), op.conv.groups(), |yi, wi, xi| y[yi] += x[xi] as f64 * w[wi] as f64);
        y
    }

    #[test]
    fn forward_and_gradients_match_definition() {
        let mut rng = Rng::new(51);
        for op in shapes() {
            let g = *op.conv.window();
            let (x, w, b, dy) = (rng.normal_vec(op.x_len()), rng.normal_vec(op.w_len()), rng.normal_vec(g.c), rng.normal_vec(op.y_len()));
            let mut y = vec![f32::NAN; op.y_len()];
            op.forward(&x, &w, Some(&b), &mut y).unwrap();
            let k = (op.conv.out_channels() * g.kh * g.kw) as f32;
            let f = |v: Vec<f64>| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
            assert_close(&y, &f(reference_forward(&op, &x, &w, &b)), 1e-5 * k.sqrt(), &format!("y {g:?}"));
            let (mut dx, mut dw, mut db) = (vec![f32::NAN; x.len()], vec![f32::NAN; w.len()], vec![f32::NAN; g.c]);
            op.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let (mut want_dx, mut want_dw) = (vec![0.0f64; x.len()], vec![0.0f64; w.len()]);
            for_each_conv_tap(&g, op.conv.out_channels(), op.conv.groups(), |yi, wi, xi| {
                want_dx[xi] += dy[yi] as f64 * w[wi] as f64;
                want_dw[wi] += dy[yi] as f64 * x[xi] as f64;
            });
            let mut want_db = vec![0.0f64; g.c];
            for (yi, d) in dy.iter().enumerate() {
                want_db[yi / g.in_plane() % g.c] += *d as f64;
            }
            assert_close(&dx, &f(want_dx), 1e-5 * k.sqrt(), &format!("dx {g:?}"));
            assert_close(&dw, &f(want_dw), 1e-5 * ((g.n * g.out_plane()) as f32).sqrt(), &format!("dw {g:?}"));
            assert_close(&db, &f(want_db), 1e-6, &format!("db {g:?}"));
            // Accumulation adds one more copy.
            let (mut dw2, mut db2) = (dw.clone(), db.clone());
            op.backward(&x, &w, &dy, None, &mut dw2, Some(&mut db2), true).unwrap();
            assert_close(&dw2, &dw.iter().map(|v| 2.0 * v).collect::<Vec<_>>(), 1e-6, "accumulated dw");
            assert_close(&db2, &db.iter().map(|v| 2.0 * v).collect::<Vec<_>>(), 1e-6, "accumulated db");
        }
    }

    /// Central differences of the f64 definition's L = Σ y·dy.
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(52);
        for op in shapes() {
            let c = op.conv.window().c;
            let (x, w, b, dy) = (rng.normal_vec(op.x_len()), rng.normal_vec(op.w_len()), rng.normal_vec(c), rng.normal_vec(op.y_len()));
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; c]);
            op.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let loss = |x: &[f32], w: &[f32], b: &[f32]| reference_forward(&op, x, w, b).iter().zip(&dy).map(|(y, d)| y * *d as f64).sum::<f64>();
            check_linear_grads(&mut rng, 10, [&x, &w, &b], [&dx, &dw, &db], loss, &format!("{:?}", op.conv));
        }
    }

    #[test]
    fn refuses_inconsistent_geometry() {
        let t = ConvTranspose2d::torch;
        assert!(t(1, 2, (4, 4), 2, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1).is_ok());
        assert_eq!(t(1, 2, (4, 4), 2, (3, 3), (2, 2), (1, 1), (2, 0), (1, 1), 1), Err(Error::BadGeometry)); // op ≥ stride
        assert_eq!(t(1, 2, (1, 1), 2, (3, 3), (1, 1), (2, 2), (0, 0), (1, 1), 1), Err(Error::BadGeometry)); // output < 1
        assert_eq!(t(1, 3, (4, 4), 2, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 2), Err(Error::BadGeometry)); // groups ∤ C_in
        assert_eq!(t(1, 2, (4, 4), 2, (0, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1), Err(Error::BadGeometry));
        assert_eq!(t(1 << 12, 1 << 10, (64, 64), 2, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1), Err(Error::TooLarge));
        // Explicit output size: at most max(s, d) - 1 rows past the full output (after the top crop).
        let n = ConvTranspose2d::new;
        assert!(n(1, 2, (4, 4), 2, (3, 3), (2, 2), (0, 0), (10, 9), (1, 1), 1).is_ok()); // full 9, one extra row
        assert_eq!(n(1, 2, (4, 4), 2, (3, 3), (2, 2), (0, 0), (11, 9), (1, 1), 1), Err(Error::BadGeometry));
        assert_eq!(n(1, 2, (4, 4), 2, (3, 3), (2, 2), (0, 0), (0, 9), (1, 1), 1), Err(Error::BadGeometry));
        let op = n(1, 2, (4, 4), 2, (3, 3), (2, 2), (1, 1), (7, 7), (1, 1), 1).unwrap();
        let (x, w, mut y) = (vec![0.0; op.x_len()], vec![0.0; op.w_len()], vec![0.0; op.y_len()]);
        assert_eq!(op.forward(&x[1..], &w, None, &mut y), Err(Error::BadBuffer));
        assert_eq!(op.forward(&x, &w, Some(&[0.0]), &mut y), Err(Error::BadBuffer));
        let mut dw = vec![0.0; w.len()];
        assert_eq!(op.backward(&x, &w, &y[1..], None, &mut dw, None, false), Err(Error::BadBuffer));
    }
}
