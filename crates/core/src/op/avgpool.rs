//! Average pooling 2-D over NCHW (PyTorch's `avg_pool2d`): `kernel`, `stride`, `padding`, `ceil_mode`,
//! `count_include_pad`, `divisor_override`.
//!
//! As PyTorch computes it: a window's sum over its input elements (row-major, in f32) divided by the
//! override, else by the window's size clipped to the padded input (`count_include_pad`: padding counts,
//! the overhang of ceil mode past the padding does not), else by its count of input elements. The
//! backward spreads each output's gradient over its window, divided the same way.

use super::conv2d::check_len;
use super::geom::Window;
use crate::error::{self, Error, Result};
use crate::par;

/// An average pooling: the window (dilation 1), the real bottom/right padding (ceil mode's output size
/// can imply more), and the divisor rule. Built by `new` or `from_window`, which refuse what the kernel
/// cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvgPool2d {
    win: Window,
    pad_end: (usize, usize),
    count_include_pad: bool,
    divisor: Option<usize>,
}

/// One output row's (or column's) window: input rows `lo..hi`, and its size clipped to the padded input.
#[derive(Clone, Copy, Default)]
struct Span {
    lo: usize,
    hi: usize,
    padded: usize,
}

/// The windows along one axis: output o starts at `o·s - pad`, `k` long.
fn spans(out: usize, input: usize, k: usize, s: usize, pad: usize, pad_end: usize, dst: &mut [Span]) {
    for (o, d) in dst.iter_mut().enumerate().take(out) {
        let start = (o * s) as isize - pad as isize;
        let end = (start + k as isize).min((input + pad_end) as isize);
        let (lo, hi) = (start.max(0) as usize, (end.max(0) as usize).min(input));
        *d = Span { lo, hi, padded: (end - start) as usize };
    }
}

impl AvgPool2d {
    /// PyTorch's geometry: symmetric `padding` at most half the kernel, `ceil_mode`'s output rule
    /// (`Window::pool`), `divisor_override` ≥ 1 when given.
    #[allow(clippy::too_many_arguments)]
    pub fn new(n: usize, c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), (sh, sw): (usize, usize), (ph, pw): (usize, usize), ceil_mode: bool, count_include_pad: bool, divisor_override: Option<usize>) -> Result<Self> {
        let win = Window::pool(n, c, (h, w), (kh, kw), (sh, sw), (ph, pw), (1, 1), ceil_mode)?;
        Self::from_window(win, (ph, pw), count_include_pad, divisor_override)
    }

    /// Any window (TF's asymmetric `'same'`: `Window::same`, with `pad_end` the bottom/right padding
    /// `same_padding` gives): dilation 1, every padding at most half the kernel, every window on the input.
    pub fn from_window(win: Window, pad_end: (usize, usize), count_include_pad: bool, divisor_override: Option<usize>) -> Result<Self> {
        win.validate_pool()?;
        let half = (win.kh / 2, win.kw / 2);
        if win.dh != 1 || win.dw != 1 || win.pt > half.0 || pad_end.0 > half.0 || win.pl > half.1 || pad_end.1 > half.1 || divisor_override == Some(0) {
            return Err(Error::BadGeometry);
        }
        Ok(Self { win, pad_end, count_include_pad, divisor: divisor_override })
    }

    pub fn window(&self) -> &Window {
        &self.win
    }
    /// Floats of x (`N·C·H·W`) and y (`N·C·OH·OW`).
    pub fn x_len(&self) -> usize {
        self.win.n * self.win.c * self.win.in_plane()
    }
    pub fn y_len(&self) -> usize {
        self.win.n * self.win.c * self.win.out_plane()
    }

    /// Every output's window (input rows, input columns) and divisor, in output order: the same for every
    /// plane, so computed once per call.
    fn windows(&self) -> Result<Vec<(Span, Span, f32)>> {
        let g = &self.win;
        let mut s = error::zeroed(g.oh + g.ow)?;
        let (rows, cols) = s.split_at_mut(g.oh);
        spans(g.oh, g.h, g.kh, g.sh, g.pt, self.pad_end.0, rows);
        spans(g.ow, g.w, g.kw, g.sw, g.pl, self.pad_end.1, cols);
        let mut table = error::zeroed(g.out_plane())?;
        for (t, (r, c)) in table.iter_mut().zip(rows.iter().flat_map(|r| cols.iter().map(move |c| (*r, *c)))) {
            let div = match (self.divisor, self.count_include_pad) {
                (Some(d), _) => d,
                (None, true) => r.padded * c.padded,
                (None, false) => (r.hi - r.lo) * (c.hi - c.lo),
            };
            *t = (r, c, div as f32);
        }
        Ok(table)
    }

    pub fn forward(&self, x: &[f32], y: &mut [f32]) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(y.len(), self.y_len())?;
        let (g, plane, opl) = (&self.win, self.win.in_plane(), self.win.out_plane());
        let table = self.windows()?;
        par::chunks_mut(y, opl, |p, yp| {
            let xp = &x[p * plane..(p + 1) * plane];
            for (v, &(r, c, d)) in yp.iter_mut().zip(&table) {
                let mut s = 0.0f32;
                for iy in r.lo..r.hi {
                    for &e in &xp[iy * g.w + c.lo..iy * g.w + c.hi] {
                        s += e;
                    }
                }
                *v = s / d;
            }
        });
        Ok(())
    }

    /// `dx` (overwritten): each output's gradient divided by its divisor, added over its window.
    pub fn backward(&self, dy: &[f32], dx: &mut [f32]) -> Result {
        check_len(dy.len(), self.y_len())?;
        check_len(dx.len(), self.x_len())?;
        let (g, plane, opl) = (&self.win, self.win.in_plane(), self.win.out_plane());
        let table = self.windows()?;
        par::chunks_mut(dx, plane, |p, dxp| {
            dxp.fill(0.0);
            for (&d, &(r, c, div)) in dy[p * opl..(p + 1) * opl].iter().zip(&table) {
                let v = d / div;
                for iy in r.lo..r.hi {
                    for e in &mut dxp[iy * g.w + c.lo..iy * g.w + c.hi] {
                        *e += v;
                    }
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    /// The definition, independently: each output averages the input elements whose padded coordinates
    /// fall in its window, dividing by the override, else by the window's cells inside the padded input
    /// (count_include_pad), else by its input cells.
    fn reference(op: &AvgPool2d, x: &[f32]) -> Vec<f64> {
        let g = op.win;
        let (ph, pw) = (g.h + g.pt + op.pad_end.0, g.w + g.pl + op.pad_end.1); // padded extent
        let mut y = vec![0.0f64; op.y_len()];
        for p in 0..g.n * g.c {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let (mut s, mut cells, mut inputs) = (0.0f64, 0usize, 0usize);
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let (py, px) = (oy * g.sh + i, ox * g.sw + j);
                            if py >= ph || px >= pw {
                                continue;
                            }
                            cells += 1;
                            if let (Some(iy), Some(ix)) = (g.in_row(oy, i), g.in_col(ox, j)) {
                                s += x[p * g.in_plane() + iy * g.w + ix] as f64;
                                inputs += 1;
                            }
                        }
                    }
                    let div = op.divisor.unwrap_or(if op.count_include_pad { cells } else { inputs });
                    y[p * g.out_plane() + oy * g.ow + ox] = s / div as f64;
                }
            }
        }
        y
    }

    fn cases() -> Vec<AvgPool2d> {
        let mut v = Vec::new();
        for ceil in [false, true] {
            for cip in [false, true] {
                for div in [None, Some(5)] {
                    let t = |n, c, hw, k, s, p| AvgPool2d::new(n, c, hw, k, s, p, ceil, cip, div).unwrap();
                    v.push(t(2, 3, (7, 9), (3, 3), (2, 2), (1, 1)));
                    v.push(t(1, 2, (8, 7), (2, 3), (2, 1), (1, 1)));
                    v.push(t(1, 2, (5, 6), (4, 4), (3, 3), (2, 2)));
                    v.push(t(1, 1, (6, 6), (2, 2), (2, 2), (0, 0)));
                }
            }
        }
        // TF 'same' (asymmetric, excluding padding): 3×3 stride 2 on 8×7 pads 0/1 rows and 1/1 columns.
        let (_, _, pb) = crate::op::geom::same_padding(8, 3, 2, 1).unwrap();
        let (_, _, pr) = crate::op::geom::same_padding(7, 3, 2, 1).unwrap();
        v.push(AvgPool2d::from_window(Window::same(2, 2, (8, 7), (3, 3), (2, 2), (1, 1)).unwrap(), (pb, pr), false, None).unwrap());
        v
    }

    #[test]
    fn forward_matches_definition_and_backward_matches_finite_differences() {
        let mut rng = Rng::new(61);
        for op in cases() {
            let x = rng.normal_vec(op.x_len());
            let mut y = vec![f32::NAN; op.y_len()];
            op.forward(&x, &mut y).unwrap();
            let want = reference(&op, &x);
            assert_close(&y, &want.iter().map(|&v| v as f32).collect::<Vec<_>>(), 2e-6, &format!("{op:?}"));
            // The forward is linear, so L = Σ y·dy has ∂L/∂x_i = Σ dy · (A e_i) = (L(x + h e_i) - L(x - h e_i)) / 2h
            // for any h: the central difference of the f64 definition, taken with h = 1 on every element.
            let dy = rng.normal_vec(op.y_len());
            let mut dx = vec![f32::NAN; op.x_len()];
            op.backward(&dy, &mut dx).unwrap();
            for i in 0..x.len() {
                let mut e = vec![0.0f32; x.len()];
                e[i] = 1.0;
                let col = reference(&op, &e);
                let want: f64 = col.iter().zip(&dy).map(|(a, b)| a * *b as f64).sum();
                assert!((dx[i] as f64 - want).abs() <= 1e-5 * want.abs().max(1.0), "dx[{i}] {} vs {want} {op:?}", dx[i]);
            }
        }
    }

    #[test]
    fn refuses_bad_geometry() {
        let t = AvgPool2d::new;
        assert!(t(1, 1, (5, 5), (3, 3), (2, 2), (1, 1), true, true, None).is_ok());
        assert_eq!(t(1, 1, (5, 5), (3, 3), (2, 2), (2, 1), false, true, None), Err(Error::BadGeometry)); // pad > k/2
        assert_eq!(t(1, 1, (2, 2), (3, 3), (1, 1), (0, 0), false, true, None), Err(Error::BadGeometry)); // k > input
        assert_eq!(t(1, 1, (5, 5), (3, 3), (2, 2), (1, 1), false, true, Some(0)), Err(Error::BadGeometry));
        assert_eq!(t(1, 1, (5, 5), (3, 3), (0, 2), (1, 1), false, true, None), Err(Error::BadGeometry));
        let g = Window::pool(1, 1, (5, 5), (3, 3), (1, 1), (1, 1), (2, 2), false).unwrap();
        assert_eq!(AvgPool2d::from_window(g, (1, 1), true, None), Err(Error::BadGeometry)); // dilation
        let op = t(1, 1, (5, 5), (3, 3), (2, 2), (1, 1), false, true, None).unwrap();
        assert_eq!(op.forward(&[0.0; 24], &mut [0.0; 9]), Err(Error::BadBuffer));
        assert_eq!(op.backward(&[0.0; 9], &mut [0.0; 26]), Err(Error::BadBuffer));
    }
}
