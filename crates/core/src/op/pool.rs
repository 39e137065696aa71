//! Max-pooling 2-D over NCHW, with argmax indices kept for the backward pass (PyTorch's `max_pool2d`:
//! padding counts as -∞, the first maximum in row-major window order wins, dilation supported). Windows
//! come from `Window::pool` (PyTorch's padding and ceil-mode rules) or pass `Window::validate_pool`
//! (TF's asymmetric 'same'): every window must hold an input element.

use super::geom::Window;
use crate::error::{Error, Result};
use crate::par;

/// Writes `y` and, per output, the index of its maximum within its input plane (`iy·W + ix`).
/// Samples run in parallel (with the `threads` feature); each output is computed the same way regardless.
/// Every window must hold an input element (`Window::windows_touch_input`).
pub fn maxpool2d_forward(g: &Window, x: &[f32], y: &mut [f32], argmax: &mut [u32]) -> Result {
    let (plane, opl) = (g.in_plane(), g.out_plane());
    assert_eq!(x.len(), g.n * g.c * plane, "maxpool2d: x length");
    assert_eq!(y.len(), g.n * g.c * opl, "maxpool2d: y length");
    assert_eq!(argmax.len(), y.len(), "maxpool2d: argmax length");
    let one = Window { n: 1, ..*g };
    let (xs, ys) = (g.c * plane, g.c * opl);
    par::try_chunks_mut2(y, ys, argmax, ys, |n, yn, an| {
        sample_forward(&one, &x[n * xs..(n + 1) * xs], yn, an);
        Ok(())
    })
}

fn sample_forward(g: &Window, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    let (plane, opl) = (g.in_plane(), g.out_plane());
    if g.pt == 0 && g.pl == 0 && g.reach_h().is_ok_and(|r| r <= g.h) && g.reach_w().is_ok_and(|r| r <= g.w) {
        // Every window lies inside the input (no padding, and not the overhanging last window of ceil
        // mode): no bounds logic in the hot loop.
        return forward_unpadded(g, x, y, argmax);
    }
    for p in 0..g.n * g.c {
        let xp = &x[p * plane..(p + 1) * plane];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut best = f32::NEG_INFINITY;
                let mut at = u32::MAX;
                for i in 0..g.kh {
                    let Some(iy) = g.in_row(oy, i) else { continue };
                    for j in 0..g.kw {
                        let Some(ix) = g.in_col(ox, j) else { continue };
                        let v = xp[iy * g.w + ix];
                        // NaN wins and propagates, like PyTorch.
                        if v > best || v.is_nan() || at == u32::MAX {
                            best = v;
                            at = (iy * g.w + ix) as u32;
                            if v.is_nan() {
                                break;
                            }
                        }
                    }
                }
                let o = p * opl + oy * g.ow + ox;
                y[o] = best;
                argmax[o] = at;
            }
        }
    }
}

fn forward_unpadded(g: &Window, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    // The common windows get their loops unrolled at compile time (10× faster than runtime bounds).
    match (g.kh, g.kw) {
        (2, 2) => forward_unpadded_k::<2, 2>(g, x, y, argmax),
        (3, 3) => forward_unpadded_k::<3, 3>(g, x, y, argmax),
        _ => forward_unpadded_k::<0, 0>(g, x, y, argmax),
    }
}

/// `KH`/`KW` of 0 mean "read from `g`".
fn forward_unpadded_k<const KH: usize, const KW: usize>(g: &Window, x: &[f32], y: &mut [f32], argmax: &mut [u32]) {
    let (plane, opl) = (g.in_plane(), g.out_plane());
    // Geometry in locals and exact chunks: the optimizer then drops the bounds checks it can prove.
    let kh = if KH == 0 { g.kh } else { KH };
    let kw = if KW == 0 { g.kw } else { KW };
    let (w, sh, sw, dh, dw, oh, ow) = (g.w, g.sh, g.sw, g.dh, g.dw, g.oh, g.ow);
    let planes = x.chunks_exact(plane).zip(y.chunks_exact_mut(opl)).zip(argmax.chunks_exact_mut(opl));
    for ((xp, yp), ap) in planes {
        for oy in 0..oh {
            for ox in 0..ow {
                let base = oy * sh * w + ox * sw;
                let mut at = base;
                let mut best = xp[base];
                for i in 0..kh {
                    let row = base + i * dh * w;
                    for j in 0..kw {
                        let k = row + j * dw;
                        let v = xp[k];
                        // Branch-free select (maxima are unpredictable); NaN wins, like PyTorch's
                        // `val > maxval || isnan(val)`, and a NaN maximum then stays.
                        let take = (v > best) | v.is_nan();
                        best = if take { v } else { best };
                        at = if take { k } else { at };
                    }
                }
                yp[oy * ow + ox] = best;
                ap[oy * ow + ox] = at as u32;
            }
        }
    }
}

/// `dx` (overwritten) receives each `dy` at its window's argmax; overlapping windows add up. An argmax
/// outside its plane (not written by the forward) is refused with `BadValue`.
pub fn maxpool2d_backward(g: &Window, dy: &[f32], argmax: &[u32], dx: &mut [f32]) -> Result {
    let (plane, opl) = (g.in_plane(), g.out_plane());
    assert_eq!(dx.len(), g.n * g.c * plane, "maxpool2d: dx length");
    assert_eq!(dy.len(), g.n * g.c * opl, "maxpool2d: dy length");
    assert_eq!(argmax.len(), dy.len(), "maxpool2d: argmax length");
    argmax_backward(plane, opl, dy, argmax, dx)
}

/// The backward of any max pooling that recorded its argmax per output (an index within the input plane):
/// `dx` (`plane` floats per plane, overwritten) receives each `dy` (`opl` per plane) at its argmax, in output
/// order per plane. An index past the plane (not written by a forward) is refused (`BadValue`).
pub(crate) fn argmax_backward(plane: usize, opl: usize, dy: &[f32], argmax: &[u32], dx: &mut [f32]) -> Result {
    par::try_chunks_mut(dx, plane, |p, dxp| {
        dxp.fill(0.0);
        for (d, &a) in dy[p * opl..(p + 1) * opl].iter().zip(&argmax[p * opl..(p + 1) * opl]) {
            *dxp.get_mut(a as usize).ok_or(Error::BadValue)? += d;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::geom::out_size;
    use crate::testutil::Rng;

    fn geom(n: usize, c: usize, h: usize, w: usize, k: (usize, usize), s: (usize, usize), p: usize) -> Window {
        let oh = out_size(h, k.0, s.0, 2 * p, 1).unwrap();
        let ow = out_size(w, k.1, s.1, 2 * p, 1).unwrap();
        Window { n, c, h, w, kh: k.0, kw: k.1, sh: s.0, sw: s.1, pt: p, pl: p, dh: 1, dw: 1, oh, ow }
    }

    #[test]
    fn forward_is_window_max_and_backward_matches_finite_differences() {
        let mut rng = Rng::new(3);
        // Ceil mode: the last windows overhang the input (with and without padding); TF 'same' pads
        // asymmetrically.
        let ceil = |h, w, k, s, p| Window::pool(1, 2, (h, w), (k, k), (s, s), (p, p), (1, 1), true).unwrap();
        let same = Window::same(1, 2, (8, 7), (3, 2), (2, 2), (1, 1)).unwrap();
        for g in [geom(2, 3, 6, 6, (2, 2), (2, 2), 0), geom(1, 2, 7, 7, (2, 2), (2, 2), 0),
                  geom(1, 2, 7, 8, (3, 3), (2, 2), 1), geom(2, 1, 5, 9, (2, 3), (1, 2), 0),
                  ceil(7, 8, 2, 2, 0), ceil(8, 7, 3, 2, 0), ceil(6, 9, 3, 2, 1), same] {
            assert!(g.validate_pool().is_ok());
            // Distinct values (a shuffled ramp) so the argmax is unique and finite differences are exact.
            let len = g.n * g.c * g.in_plane();
            let mut x: Vec<f32> = (0..len).map(|i| i as f32 * 0.25 - 3.0).collect();
            for i in (1..len).rev() {
                x.swap(i, rng.below(i + 1));
            }
            let mut y = vec![0.0; g.n * g.c * g.out_plane()];
            let mut am = vec![0u32; y.len()];
            maxpool2d_forward(&g, &x, &mut y, &mut am).unwrap();
            for p in 0..g.n * g.c {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let mut m = f32::NEG_INFINITY;
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                if let (Some(iy), Some(ix)) = (g.in_row(oy, i), g.in_col(ox, j)) {
                                    m = m.max(x[p * g.in_plane() + iy * g.w + ix]);
                                }
                            }
                        }
                        assert_eq!(y[p * g.out_plane() + oy * g.ow + ox], m);
                    }
                }
            }
            let dy = rng.normal_vec(y.len());
            let mut dx = vec![f32::NAN; len];
            maxpool2d_backward(&g, &dy, &am, &mut dx).unwrap();
            let loss = |xp: &[f32]| {
                let mut yp = vec![0.0; y.len()];
                let mut a = vec![0u32; y.len()];
                maxpool2d_forward(&g, xp, &mut yp, &mut a).unwrap();
                yp.iter().zip(&dy).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>()
            };
            for i in 0..len {
                // Values are 0.25 apart, so a 0.0625 nudge never changes which element is the maximum.
                let h = 0.0625f32;
                let mut xp = x.clone();
                xp[i] += h;
                let up = loss(&xp);
                xp[i] -= 2.0 * h;
                let num = (up - loss(&xp)) / (2.0 * h as f64);
                assert!((dx[i] as f64 - num).abs() <= 1e-5 * num.abs().max(1.0), "dx[{i}] {} vs {num}", dx[i]);
            }
        }
    }
}
