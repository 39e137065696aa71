//! Adaptive pooling 2-D over NCHW to any output size (PyTorch's `adaptive_avg_pool2d` and
//! `adaptive_max_pool2d`): output row i pools input rows `floor(i·H/OH) .. ceil((i+1)·H/OH)`, likewise for
//! columns. The average is PyTorch's `sum / kh / kw` with the sum in f32 in row-major order; the global
//! average (1×1 output, the end of every ResNet and MobileNet) sums each plane in four-lane vectors. The
//! max keeps its argmax (index in the input plane) for the backward, as `pool::maxpool2d_forward` does.

use super::conv2d::check_len;
use super::pool::argmax_backward;
use crate::error::{self, Error, Result};
use crate::par;
use crate::simd::F32x4;

/// One output's input cells: rows `start..end`, columns `start..end`.
type Cells = ((usize, usize), (usize, usize));

/// Adaptive pooling of `N × C × H × W` to `N × C × OH × OW`. Built by `new`, which refuses what the
/// kernels cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdaptivePool2d {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl AdaptivePool2d {
    /// Every size but the batch at least 1 (an output larger than the input repeats input elements, as in
    /// PyTorch), element counts within wasm32's limits.
    pub fn new(n: usize, c: usize, (h, w): (usize, usize), (oh, ow): (usize, usize)) -> Result<Self> {
        if [c, h, w, oh, ow].contains(&0) {
            return Err(Error::BadGeometry);
        }
        error::numel(&[n, c, h, w])?;
        error::numel(&[n, c, oh, ow])?;
        Ok(Self { n, c, h, w, oh, ow })
    }

    /// Floats of x (`N·C·H·W`) and y (`N·C·OH·OW`).
    pub fn x_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c * self.oh * self.ow
    }

    /// Each output row's input rows, then each output column's input columns: `(start, end)`.
    fn spans(&self) -> Result<Vec<(usize, usize)>> {
        let mut s = error::zeroed(self.oh + self.ow)?;
        // u64: i·input does not fit wasm32's usize for large planes.
        let span = |i: usize, input: usize, out: usize| {
            let (i, input, out) = (i as u64, input as u64, out as u64);
            ((i * input / out) as usize, ((i + 1) * input).div_ceil(out) as usize)
        };
        for (i, v) in s.iter_mut().enumerate() {
            *v = if i < self.oh { span(i, self.h, self.oh) } else { span(i - self.oh, self.w, self.ow) };
        }
        Ok(s)
    }

    /// Every output's window in output order: `(rows, columns)`, the same for every plane.
    fn windows(&self) -> Result<Vec<Cells>> {
        let s = self.spans()?;
        let (rows, cols) = s.split_at(self.oh);
        let mut t = error::zeroed(self.oh * self.ow)?;
        for (v, w) in t.iter_mut().zip(rows.iter().flat_map(|&r| cols.iter().map(move |&c| (r, c)))) {
            *v = w;
        }
        Ok(t)
    }

    /// `y` = the average of each output's window.
    pub fn avg_forward(&self, x: &[f32], y: &mut [f32]) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(y.len(), self.y_len())?;
        let (plane, opl) = (self.h * self.w, self.oh * self.ow);
        if opl == 1 {
            let (h, w) = (self.h as f32, self.w as f32);
            // Planes per task: about ELEMENTWISE_CHUNK floats of x.
            let per = (par::ELEMENTWISE_CHUNK / plane).max(1);
            par::chunks_mut(y, per, |ci, yc| {
                let p0 = ci * per;
                for (k, v) in yc.iter_mut().enumerate() {
                    *v = plane_sum(&x[(p0 + k) * plane..(p0 + k + 1) * plane]) / h / w;
                }
            });
            return Ok(());
        }
        let windows = self.windows()?;
        par::chunks_mut(y, opl, |p, yp| {
            let xp = &x[p * plane..(p + 1) * plane];
            for (v, &((r0, r1), (c0, c1))) in yp.iter_mut().zip(&windows) {
                let mut sum = 0.0f32;
                for iy in r0..r1 {
                    for &e in &xp[iy * self.w + c0..iy * self.w + c1] {
                        sum += e;
                    }
                }
                *v = sum / (r1 - r0) as f32 / (c1 - c0) as f32;
            }
        });
        Ok(())
    }

    /// `dx` (overwritten): each output's gradient `/ kh / kw` added over its window.
    pub fn avg_backward(&self, dy: &[f32], dx: &mut [f32]) -> Result {
        check_len(dy.len(), self.y_len())?;
        check_len(dx.len(), self.x_len())?;
        let (plane, opl) = (self.h * self.w, self.oh * self.ow);
        if opl == 1 {
            let (h, w) = (self.h as f32, self.w as f32);
            par::chunks_mut(dx, plane, |p, dxp| dxp.fill(dy[p] / h / w));
            return Ok(());
        }
        let windows = self.windows()?;
        par::chunks_mut(dx, plane, |p, dxp| {
            dxp.fill(0.0);
            for (&d, &((r0, r1), (c0, c1))) in dy[p * opl..(p + 1) * opl].iter().zip(&windows) {
                let v = d / (r1 - r0) as f32 / (c1 - c0) as f32;
                for iy in r0..r1 {
                    for e in &mut dxp[iy * self.w + c0..iy * self.w + c1] {
                        *e += v;
                    }
                }
            }
        });
        Ok(())
    }

    /// `y` = each window's maximum, `argmax` its index in the input plane (`iy·W + ix`): the first maximum
    /// in row-major order, a NaN winning (PyTorch's `val > max || isnan(val)`).
    pub fn max_forward(&self, x: &[f32], y: &mut [f32], argmax: &mut [u32]) -> Result {
        check_len(x.len(), self.x_len())?;
        check_len(y.len(), self.y_len())?;
        check_len(argmax.len(), self.y_len())?;
        let (plane, opl) = (self.h * self.w, self.oh * self.ow);
        if u32::try_from(plane).is_err() {
            return Err(Error::TooLarge);
        }
        let windows = self.windows()?;
        par::try_chunks_mut2(y, opl, argmax, opl, |p, yp, ap| {
            let xp = &x[p * plane..(p + 1) * plane];
            for ((v, a), &((r0, r1), (c0, c1))) in yp.iter_mut().zip(ap.iter_mut()).zip(&windows) {
                let (mut best, mut at) = (f32::NEG_INFINITY, r0 * self.w + c0);
                for iy in r0..r1 {
                    for ix in c0..c1 {
                        let e = xp[iy * self.w + ix];
                        if e > best || e.is_nan() {
                            (best, at) = (e, iy * self.w + ix);
                        }
                    }
                }
                (*v, *a) = (best, at as u32);
            }
            Ok(())
        })
    }

    /// `dx` (overwritten) receives each output's gradient at its argmax; an argmax outside the plane is refused.
    pub fn max_backward(&self, dy: &[f32], argmax: &[u32], dx: &mut [f32]) -> Result {
        check_len(dy.len(), self.y_len())?;
        check_len(argmax.len(), self.y_len())?;
        check_len(dx.len(), self.x_len())?;
        argmax_backward(self.h * self.w, self.oh * self.ow, dy, argmax, dx)
    }
}

/// Σ in f64 of the f32 `plane_sum`s of 64-element chunks: as fast, with f32 rounding confined to 64 terms
/// (the convolutions' bias gradients).
pub(crate) fn sum_f64(x: &[f32]) -> f64 {
    x.chunks(64).map(|c| plane_sum(c) as f64).sum()
}

/// Σ of a plane in f32: sixteen lanes (four vector accumulators), then the lanes and the scalar tail in a
/// fixed order.
fn plane_sum(x: &[f32]) -> f32 {
    let mut acc = [F32x4::zero(); 4];
    let n16 = x.len() / 16 * 16;
    for i in (0..n16).step_by(16) {
        for (v, a) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16 <= n16 <= x.len().
            *a = a.add(unsafe { F32x4::load(x.as_ptr().add(i + 4 * v)) });
        }
    }
    let n4 = x.len() / 4 * 4;
    for i in (n16..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= x.len().
        acc[0] = acc[0].add(unsafe { F32x4::load(x.as_ptr().add(i)) });
    }
    let l = acc[0].add(acc[1]).add(acc[2].add(acc[3])).lanes();
    x[n4..].iter().fold((l[0] + l[1]) + (l[2] + l[3]), |s, &v| s + v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    /// The windows from the definition, independently of `spans`: input row iy is in output row i's window
    /// iff `i·H ≤ iy·OH + OH - 1` and `iy·OH < (i+1)·H`, i.e. floor(i·H/OH) ≤ iy < ceil((i+1)·H/OH).
    fn in_window(i: usize, iy: usize, input: usize, out: usize) -> bool {
        i * input < (iy + 1) * out && iy * out < (i + 1) * input
    }

    fn cases() -> Vec<AdaptivePool2d> {
        [(2, 3, (7, 9), (3, 4)), (1, 2, (5, 5), (5, 5)), (1, 2, (4, 6), (7, 3)), (2, 2, (6, 7), (1, 1)), (1, 3, (13, 1), (1, 1)), (2, 1, (3, 5), (2, 1)), (1, 2, (9, 9), (1, 2))]
            .iter()
            .map(|&(n, c, hw, o)| AdaptivePool2d::new(n, c, hw, o).unwrap())
            .collect()
    }

    #[test]
    fn average_and_max_match_definition_and_gradients() {
        let mut rng = Rng::new(71);
        for op in cases() {
            let (plane, opl) = (op.h * op.w, op.oh * op.ow);
            // Distinct values, so the maximum is unique and the gradient of the max is well defined.
            let mut x: Vec<f32> = (0..op.x_len()).map(|i| i as f32 * 0.125 - 2.0).collect();
            for i in (1..x.len()).rev() {
                x.swap(i, rng.below(i + 1));
            }
            let dy = rng.normal_vec(op.y_len());
            let (mut ya, mut ym, mut am) = (vec![f32::NAN; op.y_len()], vec![f32::NAN; op.y_len()], vec![0u32; op.y_len()]);
            op.avg_forward(&x, &mut ya).unwrap();
            op.max_forward(&x, &mut ym, &mut am).unwrap();
            let (mut dxa, mut dxm) = (vec![f32::NAN; x.len()], vec![f32::NAN; x.len()]);
            op.avg_backward(&dy, &mut dxa).unwrap();
            op.max_backward(&dy, &am, &mut dxm).unwrap();
            let (mut want_ya, mut want_ym) = (vec![0.0f64; op.y_len()], vec![f32::NEG_INFINITY; op.y_len()]);
            let (mut want_dxa, mut want_dxm) = (vec![0.0f64; x.len()], vec![0.0f32; x.len()]);
            for p in 0..op.n * op.c {
                for oy in 0..op.oh {
                    for ox in 0..op.ow {
                        let yi = p * opl + oy * op.ow + ox;
                        let cells: Vec<usize> = (0..op.h)
                            .filter(|&iy| in_window(oy, iy, op.h, op.oh))
                            .flat_map(|iy| (0..op.w).filter(move |&ix| in_window(ox, ix, op.w, op.ow)).map(move |ix| p * plane + iy * op.w + ix))
                            .collect();
                        let k = cells.len() as f64;
                        want_ya[yi] = cells.iter().map(|&i| x[i] as f64).sum::<f64>() / k;
                        let best = *cells.iter().max_by(|&&a, &&b| x[a].total_cmp(&x[b])).unwrap();
                        want_ym[yi] = x[best];
                        want_dxm[best] += dy[yi];
                        cells.iter().for_each(|&i| want_dxa[i] += dy[yi] as f64 / k);
                    }
                }
            }
            let f = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<_>>();
            assert_close(&ya, &f(&want_ya), 2e-6, &format!("avg {op:?}"));
            assert_eq!(ym, want_ym, "max {op:?}");
            assert_close(&dxa, &f(&want_dxa), 2e-6, &format!("avg dx {op:?}"));
            assert_close(&dxm, &want_dxm, 1e-6, &format!("max dx {op:?}"));
        }
    }

    /// Central differences of f64 re-implementations of L = Σ y·dy (the average is linear, so h = 0.5 is
    /// exact up to rounding; the max's inputs are 0.125 apart, so h = 1/32 never changes the argmax).
    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Rng::new(73);
        for op in cases() {
            let mut x: Vec<f32> = (0..op.x_len()).map(|i| i as f32 * 0.125 - 2.0).collect();
            for i in (1..x.len()).rev() {
                x.swap(i, rng.below(i + 1));
            }
            let dy = rng.normal_vec(op.y_len());
            let (mut dxa, mut dxm, mut y, mut am) = (vec![0.0; x.len()], vec![0.0; x.len()], vec![0.0; op.y_len()], vec![0u32; op.y_len()]);
            op.avg_backward(&dy, &mut dxa).unwrap();
            op.max_forward(&x, &mut y, &mut am).unwrap();
            op.max_backward(&dy, &am, &mut dxm).unwrap();
            let s = op.spans().unwrap();
            let (rows, cols) = s.split_at(op.oh);
            // L for the average (max = false) or the max, in f64 over the windows.
            let loss = |x: &[f32], max: bool| -> f64 {
                let mut l = 0.0;
                for p in 0..op.n * op.c {
                    for (oy, &(r0, r1)) in rows.iter().enumerate() {
                        for (ox, &(c0, c1)) in cols.iter().enumerate() {
                            let vals = (r0..r1).flat_map(|iy| (c0..c1).map(move |ix| x[p * op.h * op.w + iy * op.w + ix] as f64));
                            let v = if max { vals.fold(f64::NEG_INFINITY, f64::max) } else { vals.sum::<f64>() / ((r1 - r0) * (c1 - c0)) as f64 };
                            l += v * dy[p * op.oh * op.ow + oy * op.ow + ox] as f64;
                        }
                    }
                }
                l
            };
            for i in 0..x.len() {
                for (max, h, got) in [(false, 0.5f32, dxa[i]), (true, 0.03125, dxm[i])] {
                    let (mut up, mut down) = (x.clone(), x.clone());
                    up[i] += h;
                    down[i] -= h;
                    let num = (loss(&up, max) - loss(&down, max)) / (2.0 * h as f64);
                    assert!((got as f64 - num).abs() <= 1e-5 * num.abs().max(1.0), "dx[{i}] {got} vs {num} (max {max}) {op:?}");
                }
            }
        }
    }

    /// The global average's vector sum against an f64 sum, on plane sizes around every lane boundary.
    #[test]
    fn global_average_sums_every_tail() {
        let mut rng = Rng::new(72);
        for hw in 1..=37 {
            let op = AdaptivePool2d::new(2, 3, (1, hw), (1, 1)).unwrap();
            let x = rng.normal_vec(op.x_len());
            let mut y = vec![0.0; op.y_len()];
            op.avg_forward(&x, &mut y).unwrap();
            let want: Vec<f32> = x.chunks(hw).map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / hw as f64) as f32).collect();
            assert_close(&y, &want, 2e-6, &format!("plane {hw}"));
        }
    }

    #[test]
    fn refuses_bad_geometry_and_argmax() {
        assert_eq!(AdaptivePool2d::new(1, 1, (5, 5), (0, 1)), Err(Error::BadGeometry));
        assert_eq!(AdaptivePool2d::new(1, 0, (5, 5), (1, 1)), Err(Error::BadGeometry));
        assert_eq!(AdaptivePool2d::new(1 << 16, 1 << 10, (32, 32), (1, 1)), Err(Error::TooLarge));
        let op = AdaptivePool2d::new(1, 1, (3, 3), (2, 2)).unwrap();
        assert_eq!(op.max_backward(&[1.0; 4], &[0, 1, 2, 9], &mut [0.0; 9]), Err(Error::BadValue));
        assert_eq!(op.avg_forward(&[0.0; 8], &mut [0.0; 4]), Err(Error::BadBuffer));
        assert_eq!(op.max_forward(&[0.0; 9], &mut [0.0; 4], &mut [0; 3]), Err(Error::BadBuffer));
    }
}
