//! Conv/pool geometry shared by the kernels: sizes, strides, padding and the output size rule.

/// Geometry of a 2-D sliding window over an NCHW input (conv or pool).
///
/// Padding is given as top/left; the bottom/right padding is implied by the output size, so asymmetric
/// padding (PyTorch's `'same'` with an even kernel puts the extra row/column at the bottom/right) needs no
/// special case in the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pt: usize,
    pub pl: usize,
    pub dh: usize,
    pub dw: usize,
    pub oh: usize,
    pub ow: usize,
}

/// Output size of one spatial axis: `floor((in + pad_total - dil·(k-1) - 1) / stride) + 1`, or `None`
/// when the (dilated) window does not fit.
pub fn out_size(input: usize, k: usize, stride: usize, pad_total: usize, dil: usize) -> Option<usize> {
    let span = dil * (k - 1) + 1;
    let padded = input + pad_total;
    if k == 0 || stride == 0 || dil == 0 || padded < span {
        return None;
    }
    Some((padded - span) / stride + 1)
}

impl Window {
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    pub fn out_plane(&self) -> usize {
        self.oh * self.ow
    }
    /// Rows of the im2col matrix for one sample: C·KH·KW.
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// True when the window is a plain 1×1, stride 1, unpadded view: im2col is the identity.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.pt == 0 && self.pl == 0
            && self.oh == self.h && self.ow == self.w
    }
    /// Input column `iw` for output column `ox` and kernel column `j`, if inside the input.
    #[inline(always)]
    pub fn in_col(&self, ox: usize, j: usize) -> Option<usize> {
        (ox * self.sw + j * self.dw).checked_sub(self.pl).filter(|&v| v < self.w)
    }
    #[inline(always)]
    pub fn in_row(&self, oy: usize, i: usize) -> Option<usize> {
        (oy * self.sh + i * self.dh).checked_sub(self.pt).filter(|&v| v < self.h)
    }
    /// The range of output columns whose input column for kernel column `j` is inside the input.
    pub fn valid_cols(&self, j: usize) -> (usize, usize) {
        let off = j * self.dw; // iw = ox*sw + off - pl
        let lo = if off >= self.pl { 0 } else { (self.pl - off).div_ceil(self.sw) };
        // largest ox with ox*sw + off - pl <= w-1
        let hi = if self.w + self.pl > off { ((self.w - 1 + self.pl - off) / self.sw + 1).min(self.ow) } else { 0 };
        (lo.min(hi), hi)
    }
}

/// A window from its input size, kernel, stride, padding (top, left, bottom, right) and dilation, with the
/// output size computed: the conv tests' shape constructor.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn test_window(n: usize, c: usize, h: usize, w: usize, kh: usize, kw: usize, s: (usize, usize), p: (usize, usize, usize, usize), d: (usize, usize)) -> Window {
    let oh = out_size(h, kh, s.0, p.0 + p.2, d.0).unwrap();
    let ow = out_size(w, kw, s.1, p.1 + p.3, d.1).unwrap();
    Window { n, c, h, w, kh, kw, sh: s.0, sw: s.1, pt: p.0, pl: p.1, dh: d.0, dw: d.1, oh, ow }
}
