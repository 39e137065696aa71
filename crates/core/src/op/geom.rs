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

/// True when `out` outputs follow from an axis of `input` with `pad` before it: some bottom/right padding
/// in `[0, pad + stride]` gives `out = floor((input + pad + after - span) / stride) + 1`. That covers
/// symmetric padding, PyTorch's `'same'` (one more after than before for an even span) and ceil-mode
/// pooling, and refuses output sizes no padding explains. Overflow-free for any `usize` arguments.
pub fn axis_fits(input: usize, k: usize, stride: usize, pad: usize, dil: usize, out: usize) -> bool {
    if input == 0 || k == 0 || stride == 0 || dil == 0 || out == 0 {
        return false;
    }
    let (input, k, stride, pad, dil, out) = (input as u128, k as u128, stride as u128, pad as u128, dil as u128, out as u128);
    let span = dil * (k - 1) + 1;
    let most = input + 2 * pad + stride; // input + pad + the largest padding after
    if most < span {
        return false;
    }
    let least_after = span.saturating_sub(input + pad); // the smallest padding after that fits one window
    if least_after > pad + stride {
        return false;
    }
    let (lo, hi) = ((input + pad + least_after - span) / stride + 1, (most - span) / stride + 1);
    lo <= out && out <= hi
}

/// True when every one of `out` windows along an axis holds at least one input element (a max-pool
/// window that holds none would have no maximum). Tap `i` is inside the input for the outputs in
/// `[lo_i, hi_i]`; those ranges move left as `i` grows, so one pass from the last tap checks that their
/// union covers `0..out`.
pub fn axis_windows_touch_input(input: usize, k: usize, stride: usize, pad: usize, dil: usize, out: usize) -> bool {
    let (input, stride, pad, dil, out) = (input as u128, stride as u128, pad as u128, dil as u128, out as u128);
    let mut reach = 0u128; // outputs 0..reach are covered
    for i in (0..k as u128).rev() {
        let off = i * dil; // input row = o·stride + off - pad
        if input + pad <= off {
            continue; // this tap is past the input for every output
        }
        let lo = if off >= pad { 0 } else { (pad - off).div_ceil(stride) };
        let hi = (input - 1 + pad - off) / stride; // the last output whose tap is inside
        if lo > hi {
            continue; // the tap falls between input rows for every output (dilation)
        }
        if lo > reach {
            break; // a gap at `reach` that later taps (starting further right) cannot fill
        }
        reach = reach.max(hi + 1);
    }
    reach >= out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_fits_takes_the_output_sizes_padding_explains() {
        // Symmetric padding: the floor rule.
        for (input, k, s, p, d) in [(7, 3, 1, 1, 1), (8, 3, 2, 0, 1), (9, 3, 2, 1, 1), (11, 3, 1, 0, 2), (1, 3, 1, 16384, 1)] {
            assert!(axis_fits(input, k, s, p, d, out_size(input, k, s, 2 * p, d).unwrap()));
        }
        // 'same' with an even kernel: one more after than before.
        assert!(axis_fits(6, 4, 1, 1, 1, 6));
        // Ceil-mode pooling: 7 with 2/2 → 4.
        assert!(axis_fits(7, 2, 2, 0, 1, 4));
        assert!(!axis_fits(7, 2, 2, 0, 1, 5));
        assert!(!axis_fits(7, 3, 1, 0, 1, 3)); // the floor rule gives 5; 3 would need negative padding
        assert!(!axis_fits(2, 5, 1, 0, 1, 1)); // the window does not fit
        assert!(!axis_fits(usize::MAX, usize::MAX, 1, usize::MAX, usize::MAX, usize::MAX));
        assert!(!axis_fits(5, 0, 1, 0, 1, 1));
    }

    #[test]
    fn pooling_windows_must_touch_the_input() {
        let brute = |input: usize, k: usize, s: usize, p: usize, d: usize, out: usize| {
            (0..out).all(|o| (0..k).any(|i| (o * s + i * d).checked_sub(p).is_some_and(|r| r < input)))
        };
        for input in 1..6 {
            for k in 1..4 {
                for s in 1..3 {
                    for p in 0..4 {
                        for d in 1..4 {
                            for out in 1..8 {
                                assert_eq!(axis_windows_touch_input(input, k, s, p, d, out), brute(input, k, s, p, d, out), "{input} {k} {s} {p} {d} {out}");
                            }
                        }
                    }
                }
            }
        }
    }
}
