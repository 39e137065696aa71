//! im2col / col2im for one sample: the (C·KH·KW) × (OH·OW) matrix that turns a convolution into a GEMM.

use super::geom::Window;

/// For the band of output rows `oy0..oy1`:
/// `col[(c·KH + i)·KW + j][(oy - oy0)·OW + ox] = x[c][oy·sh + i·dh - pt][ox·sw + j·dw - pl]`, zero outside.
/// Banding keeps the column matrix small enough for the core's own cache.
pub fn im2col(g: &Window, x: &[f32], oy0: usize, oy1: usize, col: &mut [f32]) {
    let (plane, opl) = (g.in_plane(), (oy1 - oy0) * g.ow);
    debug_assert!(oy0 <= oy1 && oy1 <= g.oh);
    debug_assert!(x.len() >= g.c * plane && col.len() >= g.col_rows() * opl);
    for c in 0..g.c {
        let xc = &x[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let r = (c * g.kh + i) * g.kw + j;
                let row = &mut col[r * opl..(r + 1) * opl];
                let (lo, hi) = g.valid_cols(j);
                for oy in oy0..oy1 {
                    let out = &mut row[(oy - oy0) * g.ow..(oy - oy0 + 1) * g.ow];
                    let Some(iy) = g.in_row(oy, i) else {
                        out.fill(0.0);
                        continue;
                    };
                    let src = &xc[iy * g.w..(iy + 1) * g.w];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if lo < hi {
                        let base = lo * g.sw + j * g.dw - g.pl;
                        if g.sw == 1 {
                            out[lo..hi].copy_from_slice(&src[base..base + (hi - lo)]);
                        } else {
                            for (k, v) in out[lo..hi].iter_mut().enumerate() {
                                *v = src[base + k * g.sw];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of `im2col` for the band `oy0..oy1`: `dx += scatter(dcol)`. `dx` must be zeroed by the
/// caller for a fresh gradient.
pub fn col2im(g: &Window, dcol: &[f32], oy0: usize, oy1: usize, dx: &mut [f32]) {
    let (plane, opl) = (g.in_plane(), (oy1 - oy0) * g.ow);
    debug_assert!(dx.len() >= g.c * plane && dcol.len() >= g.col_rows() * opl);
    for c in 0..g.c {
        let dxc = &mut dx[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let r = (c * g.kh + i) * g.kw + j;
                let row = &dcol[r * opl..(r + 1) * opl];
                let (lo, hi) = g.valid_cols(j);
                if lo >= hi {
                    continue;
                }
                for oy in oy0..oy1 {
                    let Some(iy) = g.in_row(oy, i) else { continue };
                    let dst = &mut dxc[iy * g.w..(iy + 1) * g.w];
                    let base = lo * g.sw + j * g.dw - g.pl;
                    let at = (oy - oy0) * g.ow;
                    let src = &row[at + lo..at + hi];
                    for (k, v) in src.iter().enumerate() {
                        dst[base + k * g.sw] += v;
                    }
                }
            }
        }
    }
}
