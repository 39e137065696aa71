//! Packing routines: copy a block of a strided matrix into the panel order the microkernel reads,
//! zero-padding the last panel so the microkernel never needs a tail case.

use crate::simd::F32x4;

/// A read-only strided view: element (i, j) is `data[i*rs + j*cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rs: usize, cs: usize) -> Self {
        Self { data, rs, cs }
    }
    /// Row-major `rows × cols` with row stride `cols`.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        Self { data, rs: cols, cs: 1 }
    }
    /// The transpose of a row-major matrix with `cols` columns, without copying.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self { data, rs: 1, cs: cols }
    }
}

/// Packs rows `r0..r0+mc`, columns `p0..p0+kc` of `a` into panels of `mr` rows: panel `q` holds
/// `dst[q*mr*kc + p*mr + i] = a(r0 + q*mr + i, p0 + p)`, zero for rows past `mc`.
pub fn pack_a(a: Mat, r0: usize, mc: usize, p0: usize, kc: usize, mr: usize, dst: &mut [f32]) {
    // Rows of A become columns of the panel: the same problem as packing Bᵀ.
    pack_panels(a.data, a.cs, a.rs, p0, kc, r0, mc, mr, dst);
}

/// Packs rows `p0..p0+kc`, columns `c0..c0+nc` of `b` into panels of `nr` columns: panel `q` holds
/// `dst[q*nr*kc + p*nr + j] = b(p0 + p, c0 + q*nr + j)`, zero for columns past `nc`.
pub fn pack_b(b: Mat, p0: usize, kc: usize, c0: usize, nc: usize, nr: usize, dst: &mut [f32]) {
    pack_panels(b.data, b.rs, b.cs, p0, kc, c0, nc, nr, dst);
}

/// The one packing loop: `dst[q*w*kc + p*w + j] = data[(p0+p)*k_stride + (c0+q*w+j)*j_stride]`.
/// It walks the source along its unit stride (whichever of the two it is), so reads are contiguous.
#[allow(clippy::too_many_arguments)]
fn pack_panels(data: &[f32], k_stride: usize, j_stride: usize, p0: usize, kc: usize, c0: usize, nc: usize, w: usize, dst: &mut [f32]) {
    let panels = nc.div_ceil(w);
    assert!(dst.len() >= panels * w * kc, "pack: destination too small");
    if kc == 0 || nc == 0 {
        return;
    }
    let last = (p0 + kc - 1) * k_stride + (c0 + nc - 1) * j_stride;
    assert!(last < data.len(), "pack: source view reaches {last}, buffer has {}", data.len());
    for q in 0..panels {
        let panel = &mut dst[q * w * kc..(q + 1) * w * kc];
        let cols = w.min(nc - q * w);
        let col0 = c0 + q * w;
        if j_stride == 1 && cols == w && w % 4 == 0 {
            // Whole panel rows of contiguous values, copied as vectors: a `copy_from_slice` of 8 floats
            // becomes a `memory.copy` call, which costs more than the copy itself in wasm engines.
            for p in 0..kc {
                let src = (p0 + p) * k_stride + col0;
                assert!(src + w <= data.len());
                for v in (0..w).step_by(4) {
                    // SAFETY: src + v + 3 < data.len() (asserted), and (p·w + v) + 3 < kc·w = panel.len().
                    unsafe { F32x4::load(data.as_ptr().add(src + v)).store(panel.as_mut_ptr().add(p * w + v)) };
                }
            }
        } else if j_stride == 1 {
            // Each k step reads `cols` contiguous values.
            for p in 0..kc {
                let src = (p0 + p) * k_stride + col0;
                let out = &mut panel[p * w..(p + 1) * w];
                out[..cols].copy_from_slice(&data[src..src + cols]);
                out[cols..].fill(0.0);
            }
        } else if k_stride == 1 {
            // Each panel column is a contiguous source run along k: 4×4 blocks are transposed in
            // registers, so both the reads and the writes are whole vectors.
            let src = |j: usize| (col0 + j) * j_stride + p0;
            let full = cols / 4 * 4;
            let kv = kc / 4 * 4;
            for j in (0..full).step_by(4) {
                let base = [src(j), src(j + 1), src(j + 2), src(j + 3)];
                for p in (0..kv).step_by(4) {
                    // SAFETY: base[t] + p + 3 <= (col0+j+t)·j_stride + p0 + kc - 1 <= `last`, asserted above;
                    // the panel writes (p+s)·w + j .. + 3 < kc·w stay inside `panel` (j + 4 <= w).
                    unsafe {
                        let rows = base.map(|b| F32x4::load(data.as_ptr().add(b + p)));
                        for (s, v) in F32x4::transpose4(rows).into_iter().enumerate() {
                            v.store(panel.as_mut_ptr().add((p + s) * w + j));
                        }
                    }
                }
                for p in kv..kc {
                    for (t, &b) in base.iter().enumerate() {
                        panel[p * w + j + t] = data[b + p];
                    }
                }
            }
            for j in full..w {
                for p in 0..kc {
                    panel[p * w + j] = if j < cols { data[src(j) + p] } else { 0.0 };
                }
            }
        } else {
            // A general strided gather (no view this crate makes takes this path).
            for j in 0..w {
                for p in 0..kc {
                    panel[p * w + j] = if j < cols { data[(col0 + j) * j_stride + (p0 + p) * k_stride] } else { 0.0 };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path (contiguous rows, transposed with vector blocks and tails, general strides) against the
    /// definition, on panels with tails in both k and width.
    #[test]
    fn pack_panels_matches_definition() {
        let data: Vec<f32> = (0..4000).map(|i| i as f32).collect();
        for (ks, js) in [(37usize, 1usize), (1, 41), (3, 50)] {
            for (p0, kc, c0, nc, w) in [(0usize, 1usize, 0usize, 1usize, 8usize), (2, 9, 3, 13, 8), (1, 16, 0, 8, 4), (0, 7, 5, 6, 4), (4, 12, 1, 19, 8)] {
                let mut dst = vec![f32::NAN; nc.div_ceil(w) * w * kc];
                pack_panels(&data, ks, js, p0, kc, c0, nc, w, &mut dst);
                for q in 0..nc.div_ceil(w) {
                    for p in 0..kc {
                        for j in 0..w {
                            let col = q * w + j;
                            let want = if col < nc { data[(p0 + p) * ks + (c0 + col) * js] } else { 0.0 };
                            assert_eq!(dst[q * w * kc + p * w + j], want, "ks {ks} js {js} p0 {p0} kc {kc} c0 {c0} nc {nc} w {w}");
                        }
                    }
                }
            }
        }
    }
}
