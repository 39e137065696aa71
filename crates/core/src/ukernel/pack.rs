//! Packing routines: copy a block of a strided matrix into the panel order the microkernel reads,
//! zero-padding the last panel so the microkernel never needs a tail case.

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
        if j_stride == 1 {
            // Each k step reads `cols` contiguous values.
            for p in 0..kc {
                let src = (p0 + p) * k_stride + col0;
                let out = &mut panel[p * w..(p + 1) * w];
                out[..cols].copy_from_slice(&data[src..src + cols]);
                out[cols..].fill(0.0);
            }
        } else {
            // Column-major source: read each column along k contiguously (k_stride is 1 in the
            // transposed views this crate makes; otherwise this is a plain strided gather).
            for j in 0..w {
                if j < cols {
                    let base = (col0 + j) * j_stride + p0 * k_stride;
                    for p in 0..kc {
                        // SAFETY: base + p*k_stride <= `last` < data.len(), asserted above.
                        panel[p * w + j] = unsafe { *data.get_unchecked(base + p * k_stride) };
                    }
                } else {
                    for p in 0..kc {
                        panel[p * w + j] = 0.0;
                    }
                }
            }
        }
    }
}
