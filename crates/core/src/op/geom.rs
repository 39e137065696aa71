//! Conv/pool geometry shared by the kernels: sizes, strides, padding and the output size rule.

use crate::error::{add, mul, numel, Error, Result};

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

/// TensorFlow's `'SAME'` padding of one axis: `(out, before, after)` with `out = ceil(in / stride)`, total
/// padding `max((out - 1)·stride + (k - 1)·dil + 1 - in, 0)` and `before = floor(total / 2)` (the odd row or
/// column goes after, as TF puts it). Pass `before` as the window's top/left padding.
pub fn same_padding(input: usize, k: usize, stride: usize, dil: usize) -> Result<(usize, usize, usize)> {
    if input == 0 || k == 0 || stride == 0 || dil == 0 {
        return Err(Error::BadGeometry);
    }
    let out = input.div_ceil(stride);
    let reach = add(mul(out - 1, stride)?, span(k, dil)?)?;
    let total = reach.saturating_sub(input);
    Ok((out, total / 2, total - total / 2))
}

/// The padded extent one window covers: `(k - 1)·dil + 1`.
fn span(k: usize, dil: usize) -> Result<usize> {
    add(mul(k.checked_sub(1).ok_or(Error::BadGeometry)?, dil)?, 1)
}

/// PyTorch's pooling output size (`pooling_output_shape`): `floor` or `ceil` of
/// `(in + pad_l + pad_r - (k - 1)·dil - 1) / stride`, plus one; in ceil mode the last window must start
/// inside the input or the left padding, else it is dropped.
pub fn pool_out_size(input: usize, k: usize, stride: usize, pad_l: usize, pad_r: usize, dil: usize, ceil: bool) -> Result<usize> {
    if stride == 0 {
        return Err(Error::BadGeometry);
    }
    let padded = add(add(input, pad_l)?, pad_r)?;
    let sp = span(k, dil)?;
    let room = add(padded, if ceil { stride - 1 } else { 0 })?.checked_sub(sp).ok_or(Error::BadGeometry)?;
    let mut out = room / stride + 1;
    if ceil && (out - 1) * stride >= input + pad_l {
        out -= 1;
    }
    if out == 0 {
        return Err(Error::BadGeometry);
    }
    Ok(out)
}

impl Window {
    /// PyTorch's conv2d geometry from explicit padding (top, left, bottom, right): the output size is
    /// `floor((in + pads - (k - 1)·dil - 1) / stride) + 1`. Validated (`validate`).
    pub fn conv(n: usize, c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), (sh, sw): (usize, usize), (pt, pl, pb, pr): (usize, usize, usize, usize), (dh, dw): (usize, usize)) -> Result<Window> {
        let oh = pool_out_size(h, kh, sh, pt, pb, dh, false)?;
        let ow = pool_out_size(w, kw, sw, pl, pr, dw, false)?;
        let win = Window { n, c, h, w, kh, kw, sh, sw, pt, pl, dh, dw, oh, ow };
        win.validate()?;
        Ok(win)
    }

    /// TensorFlow's `'SAME'` geometry (`same_padding` on each axis): asymmetric when the total padding is
    /// odd, which the window expresses by its output size (the extra row/column is bottom/right).
    pub fn same(n: usize, c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), (sh, sw): (usize, usize), (dh, dw): (usize, usize)) -> Result<Window> {
        let (_, pt, pb) = same_padding(h, kh, sh, dh)?;
        let (_, pl, pr) = same_padding(w, kw, sw, dw)?;
        Window::conv(n, c, (h, w), (kh, kw), (sh, sw), (pt, pl, pb, pr), (dh, dw))
    }

    /// PyTorch's max/avg pooling geometry: symmetric padding at most half the kernel, the output size by
    /// `pool_out_size` (floor or ceil mode). Validated (`validate_pool`).
    #[allow(clippy::too_many_arguments)]
    pub fn pool(n: usize, c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), (sh, sw): (usize, usize), (ph, pw): (usize, usize), (dh, dw): (usize, usize), ceil: bool) -> Result<Window> {
        if ph > kh / 2 || pw > kw / 2 {
            return Err(Error::BadGeometry);
        }
        let oh = pool_out_size(h, kh, sh, ph, ph, dh, ceil)?;
        let ow = pool_out_size(w, kw, sw, pw, pw, dw, ceil)?;
        let win = Window { n, c, h, w, kh, kw, sh, sw, pt: ph, pl: pw, dh, dw, oh, ow };
        win.validate_pool()?;
        Ok(win)
    }

    /// Refuses a window the kernels cannot take: a zero size (other than the batch), element counts that do
    /// not fit wasm32, or an output size that no padding ≥ 0 below/right of the input gives (the implied
    /// far-side padding `(out - 1)·stride + (k - 1)·dil + 1 - in - pad` must exceed `-stride`). Any top/left
    /// padding and any far-side padding beyond that is accepted (outputs reading only padding are the bias).
    pub fn validate(&self) -> Result {
        let g = self;
        if [g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.oh, g.ow].contains(&0) {
            return Err(Error::BadGeometry);
        }
        numel(&[g.n, g.c, g.h, g.w])?;
        numel(&[g.n, g.c, g.oh, g.ow])?;
        for (input, reach, stride, pad) in [(g.h, g.reach_h()?, g.sh, g.pt), (g.w, g.reach_w()?, g.sw, g.pl)] {
            numel(&[reach])?;
            if add(reach, stride)? <= add(input, pad)? {
                return Err(Error::BadGeometry);
            }
        }
        Ok(())
    }

    /// `validate`, and what pooling needs on top: every window holds at least one input element (a max
    /// over padding alone is -∞, an average over it excluding padding divides by zero), as PyTorch's
    /// padding ≤ kernel/2 and ceil-mode rules guarantee.
    pub fn validate_pool(&self) -> Result {
        self.validate()?;
        for (input, k, s, p, d, out) in [(self.h, self.kh, self.sh, self.pt, self.dh, self.oh), (self.w, self.kw, self.sw, self.pl, self.dw, self.ow)] {
            // Window o reads o·s - p + i·d for i < k: some i lands in [0, input) iff the range of i below is
            // non-empty (O(1) per output; windows are not monotone in what they hit when d > 1).
            let hits = |o: usize| {
                let start = o as i128 * s as i128 - p as i128;
                let lo = ((-start).max(0) + d as i128 - 1) / d as i128;
                let hi = ((input as i128 - 1 - start).div_euclid(d as i128)).min(k as i128 - 1);
                lo <= hi
            };
            let all = if d == 1 { hits(0) && hits(out - 1) } else { (0..out).all(hits) };
            if !all {
                return Err(Error::BadGeometry);
            }
        }
        Ok(())
    }

    /// Padded rows the outputs read: `(oh - 1)·sh + (kh - 1)·dh + 1`.
    pub fn reach_h(&self) -> Result<usize> {
        add(mul(self.oh.checked_sub(1).ok_or(Error::BadGeometry)?, self.sh)?, span(self.kh, self.dh)?)
    }

    /// Padded columns the outputs read: `(ow - 1)·sw + (kw - 1)·dw + 1`.
    pub fn reach_w(&self) -> Result<usize> {
        add(mul(self.ow.checked_sub(1).ok_or(Error::BadGeometry)?, self.sw)?, span(self.kw, self.dw)?)
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

/// The definition's seven loops of a grouped convolution (the conv tests' reference): `f(xi, wi, yi)` for
/// every input element `x[xi]` that weight `w[wi]` multiplies into output `y[yi]`, outputs in order and each
/// output's taps in (c, i, j) order; output channel oc reads the `C/groups` input channels of its group.
#[cfg(test)]
pub(crate) fn for_each_conv_tap(g: &Window, o: usize, groups: usize, mut f: impl FnMut(usize, usize, usize)) {
    let (cg, og) = (g.c / groups, o / groups);
    for n in 0..g.n {
        for oc in 0..o {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let yi = ((n * o + oc) * g.oh + oy) * g.ow + ox;
                    for c in 0..cg {
                        for i in 0..g.kh {
                            for j in 0..g.kw {
                                if let (Some(iy), Some(ix)) = (g.in_row(oy, i), g.in_col(ox, j)) {
                                    let xc = oc / og * cg + c;
                                    f(((n * g.c + xc) * g.h + iy) * g.w + ix, ((oc * cg + c) * g.kh + i) * g.kw + j, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
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

    #[test]
    fn same_padding_follows_tensorflow() {
        // in 7, k 3, s 2: out 4, total (4-1)·2 + 3 - 7 = 2 → 1 before, 1 after.
        assert_eq!(same_padding(7, 3, 2, 1), Ok((4, 1, 1)));
        // in 8, k 3, s 2: out 4, total 1 → the odd one after (TF's rule).
        assert_eq!(same_padding(8, 3, 2, 1), Ok((4, 0, 1)));
        // in 6, k 1, s 4: no padding needed (total clamps at 0).
        assert_eq!(same_padding(6, 1, 4, 1), Ok((2, 0, 0)));
        // Dilation: k 3, d 2 spans 5; in 5, s 1: total 4.
        assert_eq!(same_padding(5, 3, 1, 2), Ok((5, 2, 2)));
        assert_eq!(same_padding(5, 0, 1, 1), Err(Error::BadGeometry));
        let g = Window::same(2, 3, (8, 7), (3, 4), (2, 1), (1, 1)).unwrap();
        assert_eq!((g.oh, g.ow, g.pt, g.pl), (4, 7, 0, 1)); // width: total 3 → 1 before, 2 after
        for (h, k, s, d) in [(7, 3, 2, 1), (8, 5, 3, 1), (9, 3, 2, 2), (1, 3, 2, 1), (10, 4, 4, 1)] {
            let g = Window::same(1, 1, (h, h), (k, k), (s, s), (d, d)).unwrap();
            assert_eq!(g.oh, h.div_ceil(s));
        }
    }

    #[test]
    fn pool_output_size_follows_torch() {
        // Values from torch.nn.functional.max_pool2d / avg_pool2d (torch 1.13).
        assert_eq!(pool_out_size(7, 2, 2, 0, 0, 1, false), Ok(3));
        assert_eq!(pool_out_size(7, 2, 2, 0, 0, 1, true), Ok(4));
        assert_eq!(pool_out_size(6, 3, 2, 1, 1, 1, true), Ok(4)); // (6+2-3+1)/2 + 1 = 4, last starts at 6-1 = 5 < 7
        assert_eq!(pool_out_size(5, 2, 2, 1, 1, 1, true), Ok(3)); // ceil gives 4 but window 3 starts at 6 >= 5+1
        assert_eq!(pool_out_size(9, 3, 2, 0, 0, 2, true), Ok(3));
        assert_eq!(pool_out_size(2, 3, 1, 0, 0, 1, false), Err(Error::BadGeometry));
        assert_eq!(pool_out_size(3, 3, 0, 0, 0, 1, false), Err(Error::BadGeometry));
    }

    #[test]
    fn constructors_refuse_inconsistent_and_oversized_windows() {
        assert!(Window::conv(1, 1, (5, 5), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)).is_ok());
        assert_eq!(Window::conv(1, 1, (2, 5), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), Err(Error::BadGeometry));
        assert_eq!(Window::conv(1, 0, (5, 5), (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)), Err(Error::BadGeometry));
        assert_eq!(Window::conv(1, 1, (5, 5), (0, 3), (1, 1), (0, 0, 0, 0), (1, 1)), Err(Error::BadGeometry));
        assert_eq!(Window::conv(1 << 16, 1 << 8, (64, 64), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)), Err(Error::TooLarge));
        assert_eq!(Window::conv(1, 1, (5, 5), (3, 3), (1, 1), (0, 0, 0, 0), (1, usize::MAX)), Err(Error::TooLarge));
        // Pooling: padding at most half the kernel, every window on the input.
        assert!(Window::pool(1, 1, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), true).is_ok());
        assert_eq!(Window::pool(1, 1, (5, 5), (3, 3), (2, 2), (2, 1), (1, 1), false), Err(Error::BadGeometry));
        let g = Window::pool(1, 1, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), false).unwrap();
        assert_eq!(Window { pt: 3, oh: 4, ..g }.validate_pool(), Err(Error::BadGeometry)); // first window all padding
        assert_eq!(Window { oh: 5, ..g }.validate_pool(), Err(Error::BadGeometry)); // last window past the input
        // Dilated windows can straddle a small input without touching it: taps at -1 and 2 of a 1-wide input.
        let d = Window { n: 1, c: 1, h: 1, w: 1, kh: 2, kw: 1, sh: 1, sw: 1, pt: 1, pl: 0, dh: 3, dw: 1, oh: 1, ow: 1 };
        assert_eq!(d.validate_pool(), Err(Error::BadGeometry));
        assert_eq!(Window { pt: 0, ..d }.validate_pool(), Ok(()));
    }
}
