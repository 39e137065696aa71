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
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.rs + j * self.cs]
    }
}

/// Packs rows `r0..r0+mc`, columns `p0..p0+kc` of `a` into panels of `mr` rows: panel `q` holds
/// `dst[q*mr*kc + p*mr + i] = a(r0 + q*mr + i, p0 + p)`, zero for rows past `mc`.
pub fn pack_a(a: Mat, r0: usize, mc: usize, p0: usize, kc: usize, mr: usize, dst: &mut [f32]) {
    let panels = mc.div_ceil(mr);
    for q in 0..panels {
        let panel = &mut dst[q * mr * kc..(q + 1) * mr * kc];
        let rows = mr.min(mc - q * mr);
        for p in 0..kc {
            let out = &mut panel[p * mr..(p + 1) * mr];
            for (i, v) in out.iter_mut().enumerate() {
                *v = if i < rows { a.at(r0 + q * mr + i, p0 + p) } else { 0.0 };
            }
        }
    }
}

/// Packs rows `p0..p0+kc`, columns `c0..c0+nc` of `b` into panels of `nr` columns: panel `q` holds
/// `dst[q*nr*kc + p*nr + j] = b(p0 + p, c0 + q*nr + j)`, zero for columns past `nc`.
pub fn pack_b(b: Mat, p0: usize, kc: usize, c0: usize, nc: usize, nr: usize, dst: &mut [f32]) {
    let panels = nc.div_ceil(nr);
    for q in 0..panels {
        let panel = &mut dst[q * nr * kc..(q + 1) * nr * kc];
        let cols = nr.min(nc - q * nr);
        let col0 = c0 + q * nr;
        for p in 0..kc {
            let out = &mut panel[p * nr..(p + 1) * nr];
            if b.cs == 1 && cols == nr {
                // Contiguous row segment: the common case for row-major B.
                let start = (p0 + p) * b.rs + col0;
                out.copy_from_slice(&b.data[start..start + nr]);
            } else {
                for (j, v) in out.iter_mut().enumerate() {
                    *v = if j < cols { b.at(p0 + p, col0 + j) } else { 0.0 };
                }
            }
        }
    }
}
