//! 2-D convolution forward on NHWC activations (`x[n][h][w][c]` in, `y[n][oh][ow][o]` out; weights OIHW
//! as everywhere else): XNNPACK's indirect GEMM. An experiment, kept so that issue #4's layout question
//! (NCHW or NHWC inside the library?) stays measurable: bench/kernels.ts times it against the NCHW
//! `conv2d_forward` (row `conv3x3-fwd-nhwc`). No layer calls it; the library's activations stay NCHW.
//!
//! Per sample, Y[pixels × o] = A[pixels × (taps·c)] · B[(taps·c) × o]. In NHWC a position's `c` channels
//! are contiguous, so a pixel's row of A for one kernel tap is the input itself at one address (or a zero
//! buffer where the tap falls in the padding): an indirection buffer of pixels × taps pointers replaces
//! both im2col and the padded copy, for any stride, dilation and padding. The weights are packed once per
//! call into B panels of 8 output channels, k ordered (tap, channel) to match.
//!
//! No K blocking: a tile sums its whole depth (taps·c) in one kernel call. The benchmark's depth (3×3×32 =
//! 288) is within the 384 that `sgemm` keeps as one block, so the measurement does not suffer from it; a
//! much deeper layer would stream B panels larger than L1 and would want blocks.

use super::conv2d_implicit::copy_short;
use super::geom::Window;
use crate::par;
use crate::simd::F32x4;
use crate::ukernel::f32_gemm_4x8::{edge_tile, MR, NR};
use crate::ukernel::f32_igemm_nhwc_4x8::f32_igemm_nhwc_4x8;
use std::cell::RefCell;

thread_local! {
    // Grow-only indirection buffer for one sample, per thread. Its pointers mean something only inside the
    // call that wrote them.
    static IND: RefCell<Vec<*const f32>> = const { RefCell::new(Vec::new()) };
}

/// `y[n][oy][ox][oc] = bias[oc] + Σ_{i,j,c} w[oc][c][i][j] · x[n][oy·sh + i·dh - pt][ox·sw + j·dw - pl][c]`
/// (the same convolution as `conv2d_forward`, on NHWC buffers; no fused ReLU). Samples run in parallel.
pub fn conv2d_forward_nhwc(g: &Window, o: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (c, taps, opl) = (g.c, g.kh * g.kw, g.out_plane());
    let k = taps * c;
    assert_eq!(x.len(), g.n * g.in_plane() * c, "conv2d_nhwc: x length");
    assert_eq!(w.len(), o * k, "conv2d_nhwc: weight length");
    assert_eq!(y.len(), g.n * opl * o, "conv2d_nhwc: output length");
    if let Some(b) = bias {
        assert_eq!(b.len(), o, "conv2d_nhwc: bias length");
    }
    if y.is_empty() {
        return;
    }
    let pb = pack_weights(w, o, c, taps);
    let panels = o.div_ceil(NR);
    // What a tap in the padding reads: `c` zeros, shared read-only by every sample.
    let zero = vec![0.0f32; c];
    let xs = g.in_plane() * c;
    let groups = opl.div_ceil(MR);
    let acc = bias.is_some();
    par::chunks_mut(y, opl * o, |n, yn| {
        IND.with(|cell| {
            let mut ind = cell.borrow_mut();
            let len = groups * taps * MR;
            if ind.len() < len {
                ind.resize(len, std::ptr::null());
            }
            let ind = &mut ind[..len];
            build_indirection(g, &x[n * xs..(n + 1) * xs], &zero, ind);
            for pg in 0..groups {
                let p0 = pg * MR;
                let mr = MR.min(opl - p0);
                // Bias first, then the tiles accumulate onto it: one pass over these rows of y.
                if let Some(b) = bias {
                    (p0..p0 + mr).for_each(|p| copy_short(b, &mut yn[p * o..(p + 1) * o]));
                }
                let ip = ind[pg * taps * MR..].as_ptr();
                for q in 0..panels {
                    let nr = NR.min(o - q * NR);
                    // SAFETY: group pg's 4·taps pointers each address `c` readable floats (the input or
                    // `zero`, see `build_indirection`); panel q holds 8·k floats; the full tile (pixels
                    // p0..p0+4, channels q·8..q·8+8, row stride o) lies inside yn, and edge tiles go through
                    // a temporary.
                    unsafe {
                        let bp = pb.as_ptr().add(q * k * NR);
                        let c0 = yn.as_mut_ptr().add(p0 * o + q * NR);
                        if mr == MR && nr == NR {
                            f32_igemm_nhwc_4x8(taps, c, ip, bp, c0, o, acc);
                        } else {
                            edge_tile(mr, nr, c0, o, acc, |t| f32_igemm_nhwc_4x8(taps, c, ip, bp, t, NR, acc));
                        }
                    }
                }
            }
        })
    });
}

/// B panels of 8 output channels: `pb[(q·k + t·c + ci)·8 + j] = w[q·8 + j][ci][t]` (t = i·kw + j the
/// tap), zero for channels past `o`.
fn pack_weights(w: &[f32], o: usize, c: usize, taps: usize) -> Vec<f32> {
    let k = taps * c;
    let mut pb = vec![0.0f32; o.div_ceil(NR) * k * NR];
    for oc in 0..o {
        let (q, j) = (oc / NR, oc % NR);
        for ci in 0..c {
            for t in 0..taps {
                pb[(q * k + t * c + ci) * NR + j] = w[(oc * c + ci) * taps + t];
            }
        }
    }
    pb
}

/// `ind[(p/4·taps + t)·4 + p%4]` = the address of pixel p's input position for tap t in `xn` (a sample,
/// `h × w × c`), or `zero` where that position is in the padding; the pixels that pad the last group to 4
/// read `zero` for every tap (their rows of the tile are discarded).
///
/// Written group by group in the order the kernel reads it, with each pixel's window origin computed once:
/// this runs for every sample, and where `c` is small it is a large share of the conv (LeNet's first conv,
/// 25 pointers per 150 multiply-adds: about 40% of its time measured, 55% with a per-pointer
/// `in_row`/`in_col` and slice check).
fn build_indirection(g: &Window, xn: &[f32], zero: &[f32], ind: &mut [*const f32]) {
    let (c, taps, opl) = (g.c, g.kh * g.kw, g.out_plane());
    assert!(xn.len() == g.in_plane() * c && zero.len() == c && ind.len() == opl.div_ceil(MR) * taps * MR);
    for (pg, group) in ind.chunks_exact_mut(taps * MR).enumerate() {
        // Each pixel's window origin (top-left input position, may be negative); None past the last pixel.
        let origin: [Option<(isize, isize)>; MR] = std::array::from_fn(|r| {
            let p = pg * MR + r;
            (p < opl).then(|| ((p / g.ow * g.sh) as isize - g.pt as isize, (p % g.ow * g.sw) as isize - g.pl as isize))
        });
        for i in 0..g.kh {
            for j in 0..g.kw {
                for (r, o) in origin.iter().enumerate() {
                    // Negative coordinates wrap to huge values, so one unsigned compare per axis.
                    group[(i * g.kw + j) * MR + r] = match *o {
                        Some((y0, x0)) => {
                            let (iy, ix) = ((y0 + (i * g.dh) as isize) as usize, (x0 + (j * g.dw) as isize) as usize);
                            // In bounds: (iy·w + ix + 1)·c <= xn.len(); wrapping_add only spares an unsafe block.
                            if iy < g.h && ix < g.w { xn.as_ptr().wrapping_add((iy * g.w + ix) * c) } else { zero.as_ptr() }
                        }
                        None => zero.as_ptr(),
                    };
                }
            }
        }
    }
}

/// `y[b][j][i] = x[b][i][j]` for `n` matrices of `rows × cols`: NCHW → NHWC with (c, h·w), and back with
/// (h·w, c). The layout conversion the public NCHW API would pay around an NHWC conv; measured beside it.
pub fn transpose_batched(n: usize, rows: usize, cols: usize, x: &[f32], y: &mut [f32]) {
    let size = rows * cols;
    assert!(x.len() == n * size && y.len() == n * size, "transpose: lengths");
    par::chunks_mut(y, size, |b, yb| transpose(&x[b * size..(b + 1) * size], rows, cols, yb));
}

/// One `rows × cols` transpose: 4×4 blocks in registers (whole-vector loads and stores), scalar edges.
fn transpose(x: &[f32], rows: usize, cols: usize, y: &mut [f32]) {
    let (r4, c4) = (rows / 4 * 4, cols / 4 * 4);
    for i in (0..r4).step_by(4) {
        for j in (0..c4).step_by(4) {
            // SAFETY: rows i..i+4 < rows and columns j..j+4 <= cols of x (length rows·cols), and rows
            // j..j+4 < cols, columns i..i+4 <= rows of y (length cols·rows).
            unsafe {
                let v: [F32x4; 4] = std::array::from_fn(|s| F32x4::load(x.as_ptr().add((i + s) * cols + j)));
                for (s, t) in F32x4::transpose4(v).into_iter().enumerate() {
                    t.store(y.as_mut_ptr().add((j + s) * rows + i));
                }
            }
        }
    }
    for i in 0..rows {
        let j0 = if i < r4 { c4 } else { 0 };
        for j in j0..cols {
            y[j * rows + i] = x[i * cols + j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::conv2d::conv2d_forward;
    use crate::op::geom::test_window as geom;
    use crate::testutil::{assert_close, Rng};

    /// NCHW → NHWC for `n` samples of `c × plane`, by the definition.
    fn to_nhwc(n: usize, c: usize, plane: usize, x: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; x.len()];
        for b in 0..n {
            for ci in 0..c {
                for p in 0..plane {
                    y[(b * plane + p) * c + ci] = x[(b * c + ci) * plane + p];
                }
            }
        }
        y
    }

    /// Against the NCHW forward on the same data transposed, on shapes with tails everywhere: pixel counts
    /// not a multiple of 4, output channels not a multiple of 8, stride 2, dilation, asymmetric padding,
    /// K = 1, and LeNet's two convs. Tolerance as for the NCHW tests: k is summed in another order.
    #[test]
    fn forward_matches_nchw_forward() {
        let mut rng = Rng::new(31);
        let shapes = [
            (geom(2, 3, 7, 9, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 5),
            (geom(1, 2, 8, 8, 3, 3, (2, 2), (0, 0, 0, 0), (1, 1)), 3),
            (geom(2, 3, 9, 7, 3, 2, (2, 1), (1, 2, 1, 2), (1, 1)), 12),
            (geom(1, 2, 11, 10, 3, 3, (1, 1), (0, 0, 0, 0), (2, 2)), 6),
            (geom(1, 3, 6, 5, 4, 4, (1, 1), (1, 1, 2, 2), (1, 1)), 17), // 'same' with an even kernel
            (geom(2, 5, 4, 20, 2, 3, (1, 1), (0, 2, 1, 2), (1, 2)), 8),
            (geom(2, 1, 5, 3, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1)), 9),  // K = 1
            (geom(1, 1, 5, 5, 1, 1, (2, 2), (1, 1, 1, 1), (1, 1)), 2),  // K = 1, strided, padded
            (geom(2, 1, 28, 28, 5, 5, (1, 1), (2, 2, 2, 2), (1, 1)), 6), // LeNet conv1
            (geom(2, 6, 14, 14, 5, 5, (1, 1), (0, 0, 0, 0), (1, 1)), 16), // LeNet conv2
            (geom(1, 40, 5, 6, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)), 8),  // K = 360
        ];
        for (g, o) in shapes {
            let x = rng.normal_vec(g.n * g.c * g.in_plane());
            let w = rng.normal_vec(o * g.col_rows());
            let b = rng.normal_vec(o);
            for bias in [Some(&b[..]), None] {
                let mut want = vec![f32::NAN; g.n * o * g.out_plane()];
                conv2d_forward(&g, o, &x, &w, bias, false, &mut want);
                let mut got = vec![f32::NAN; want.len()];
                conv2d_forward_nhwc(&g, o, &to_nhwc(g.n, g.c, g.in_plane(), &x), &w, bias, &mut got);
                let tol = 1e-5 * (g.col_rows() as f32).sqrt();
                assert_close(&got, &to_nhwc(g.n, o, g.out_plane(), &want), tol, &format!("{g:?} o {o} bias {}", bias.is_some()));
            }
        }
    }

    /// Both directions, with and without 4×4 blocks and with edges in each dimension; a round trip is the
    /// identity.
    #[test]
    fn transpose_matches_definition() {
        let mut rng = Rng::new(32);
        for (n, rows, cols) in [(2usize, 32usize, 1024usize), (3, 6, 196), (1, 7, 5), (2, 1, 9), (1, 13, 4)] {
            let x = rng.normal_vec(n * rows * cols);
            let mut y = vec![f32::NAN; x.len()];
            transpose_batched(n, rows, cols, &x, &mut y);
            assert_eq!(y, to_nhwc(n, rows, cols, &x), "{n} × {rows} × {cols}");
            let mut back = vec![f32::NAN; x.len()];
            transpose_batched(n, cols, rows, &y, &mut back);
            assert_eq!(back, x);
        }
    }
}
