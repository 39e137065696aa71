//! Where a graph's branches meet: the residual add (and add + ReLU, the end of a ResNet block), the channel
//! concat of NCHW tensors (DenseNet, Inception) and the squeeze-and-excitation gate y = x·s[n, c].
//!
//! Backwards write into `Grad`s that either overwrite or accumulate, so a tensor consumed twice (a
//! residual's shortcut, a concat input reused) sums its gradients: the first consumer writes, the rest add.

use super::norm::{blocked_sums, Summand};
use crate::error::{self, Error, Result};
use crate::par::{self, SyncPtr, ELEMENTWISE_CHUNK};
use crate::simd::Lane;
use crate::vmath::Math;

/// A gradient destination: overwritten, or added to with `accumulate`.
#[derive(Debug)]
pub struct Grad<'a> {
    pub dst: &'a mut [f32],
    pub accumulate: bool,
}

/// `dst (+)= src·s` over a run, SIMD (`s` = 1 for a plain copy or sum).
#[inline(always)]
fn scaled_into(src: &[f32], s: f32, dst: &mut [f32], accumulate: bool) {
    crate::for_each_lane!(0, src.len(), |i, L| {
        // SAFETY: i + L::WIDTH <= len of both runs.
        unsafe {
            let v = L::load(src.as_ptr().add(i)).mul(L::splat(s));
            let v = if accumulate { L::load(dst.as_ptr().add(i)).add(v) } else { v };
            v.store(dst.as_mut_ptr().add(i))
        }
    });
}

/// `dst (+)= src`, in parallel over elementwise chunks.
fn into_grad(src: &[f32], g: Grad) {
    let acc = g.accumulate;
    par::chunks_mut(g.dst, ELEMENTWISE_CHUNK, |k, d| scaled_into(&src[k * ELEMENTWISE_CHUNK..][..d.len()], 1.0, d, acc));
}

/// y = a + b, then max(·, 0) with `relu`.
pub fn add_forward(a: &[f32], b: &[f32], relu: bool, y: &mut [f32]) -> Result {
    if a.len() != y.len() || b.len() != y.len() {
        return Err(Error::BadBuffer);
    }
    par::chunks_mut(y, ELEMENTWISE_CHUNK, |k, yc| {
        let (a, b) = (&a[k * ELEMENTWISE_CHUNK..][..yc.len()], &b[k * ELEMENTWISE_CHUNK..][..yc.len()]);
        crate::for_each_lane!(0, yc.len(), |i, L| {
            // SAFETY: i + L::WIDTH <= len of the three chunks.
            unsafe {
                let v = L::load(a.as_ptr().add(i)).add(L::load(b.as_ptr().add(i)));
                if relu { v.pmax(L::splat(0.0)) } else { v }.store(yc.as_mut_ptr().add(i))
            }
        });
    });
    Ok(())
}

/// The add's gradient: dy to both inputs (either may be absent, e.g. a graph input). With a fused ReLU,
/// `relu_y` is the forward's output and the gradient is dy·[y > 0].
pub fn add_backward(dy: &[f32], relu_y: Option<&[f32]>, da: Option<Grad>, db: Option<Grad>) -> Result {
    let n = dy.len();
    if relu_y.is_some_and(|y| y.len() != n) || [&da, &db].iter().any(|g| g.as_ref().is_some_and(|g| g.dst.len() != n)) {
        return Err(Error::BadBuffer);
    }
    let Some(y) = relu_y else {
        for g in [da, db].into_iter().flatten() {
            into_grad(dy, g);
        }
        return Ok(());
    };
    // Masked gradient to each destination in one pass.
    let (pa, aa) = da.map_or((None, false), |g| (Some(SyncPtr(g.dst.as_mut_ptr())), g.accumulate));
    let (pb, ab) = db.map_or((None, false), |g| (Some(SyncPtr(g.dst.as_mut_ptr())), g.accumulate));
    par::for_each_range(n, |lo, hi| {
        for (p, acc) in [(pa, aa), (pb, ab)] {
            let Some(p) = p else { continue };
            // SAFETY: [lo, hi) is this task's range of a buffer of length n; the two destinations are
            // distinct buffers (they came from two &mut borrows).
            let d = unsafe { std::slice::from_raw_parts_mut(p.get().add(lo), hi - lo) };
            let (y, g) = (&y[lo..hi], &dy[lo..hi]);
            crate::for_each_lane!(0, d.len(), |i, L| {
                unsafe {
                    let v = L::select(L::splat(0.0).lt(L::load(y.as_ptr().add(i))), L::load(g.as_ptr().add(i)), L::splat(0.0));
                    let v = if acc { L::load(d.as_ptr().add(i)).add(v) } else { v };
                    v.store(d.as_mut_ptr().add(i))
                }
            });
        }
    });
    Ok(())
}

/// Channel concat of k NCHW tensors with the same N and spatial size `inner`.
#[derive(Clone, Debug, PartialEq)]
pub struct Concat {
    n: usize,
    inner: usize,
    /// Each input's channels.
    channels: Vec<usize>,
    total: usize,
}

impl Concat {
    /// Refuses no inputs, zero sizes (`BadGeometry`) and sizes beyond wasm32 (`TooLarge`).
    pub fn new(n: usize, inner: usize, channels: &[usize]) -> Result<Self> {
        if n == 0 || inner == 0 || channels.is_empty() || channels.contains(&0) {
            return Err(Error::BadGeometry);
        }
        let total = channels.iter().try_fold(0usize, |s, &c| error::add(s, c))?;
        error::numel(&[n, total, inner])?;
        let mut ch = Vec::new();
        ch.try_reserve_exact(channels.len()).map_err(|_| Error::OutOfMemory)?;
        ch.extend_from_slice(channels);
        Ok(Concat { n, inner, channels: ch, total })
    }

    /// Elements of the output.
    pub fn numel(&self) -> usize {
        self.n * self.total * self.inner
    }

    fn check_parts(&self, lens: impl ExactSizeIterator<Item = usize>) -> Result {
        if lens.len() != self.channels.len() || lens.zip(&self.channels).any(|(l, &c)| l != self.n * c * self.inner) {
            return Err(Error::BadBuffer);
        }
        Ok(())
    }

    /// y[n] = [x₀[n], x₁[n], …] along the channels.
    pub fn forward(&self, inputs: &[&[f32]], y: &mut [f32]) -> Result {
        self.check_parts(inputs.iter().map(|x| x.len()))?;
        if y.len() != self.numel() {
            return Err(Error::BadBuffer);
        }
        par::chunks_mut(y, self.total * self.inner, |n, yn| {
            let mut at = 0;
            for (x, &c) in inputs.iter().zip(&self.channels) {
                let len = c * self.inner;
                yn[at..at + len].copy_from_slice(&x[n * len..(n + 1) * len]);
                at += len;
            }
        });
        Ok(())
    }

    /// Splits dy into each input's gradient (a `None` skips that input).
    pub fn backward(&self, dy: &[f32], grads: &mut [Option<Grad>]) -> Result {
        let bad = |(g, &c): (&Option<Grad>, &usize)| g.as_ref().is_some_and(|g| g.dst.len() != self.n * c * self.inner);
        if grads.len() != self.channels.len() || grads.iter().zip(&self.channels).any(bad) || dy.len() != self.numel() {
            return Err(Error::BadBuffer);
        }
        let mut at = 0;
        for (g, &c) in grads.iter_mut().zip(&self.channels) {
            let len = c * self.inner;
            if let Some(g) = g {
                let acc = g.accumulate;
                let row = self.total * self.inner;
                par::chunks_mut(g.dst, len, |n, d| scaled_into(&dy[n * row + at..][..len], 1.0, d, acc));
            }
            at += len;
        }
        Ok(())
    }
}

/// The squeeze-and-excitation gate over (N, C, inner): y[n, c, ·] = x[n, c, ·]·s[n, c].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gate {
    planes: usize,
    inner: usize,
}

impl Gate {
    pub fn new(n: usize, c: usize, inner: usize) -> Result<Self> {
        if n == 0 || c == 0 || inner == 0 {
            return Err(Error::BadGeometry);
        }
        error::numel(&[n, c, inner])?;
        Ok(Gate { planes: n * c, inner })
    }

    pub fn numel(&self) -> usize {
        self.planes * self.inner
    }

    fn check(&self, x: usize, s: usize, y: usize) -> Result {
        if x != self.numel() || y != self.numel() || s != self.planes { Err(Error::BadBuffer) } else { Ok(()) }
    }

    /// Planes per parallel chunk.
    fn per(&self) -> usize {
        (ELEMENTWISE_CHUNK / self.inner).max(1)
    }

    pub fn forward(&self, x: &[f32], s: &[f32], y: &mut [f32]) -> Result {
        self.check(x.len(), s.len(), y.len())?;
        let (l, per) = (self.inner, self.per());
        par::chunks_mut(y, per * l, |k, yc| {
            for (j, yp) in yc.chunks_exact_mut(l).enumerate() {
                let p = k * per + j;
                scaled_into(&x[p * l..][..l], s[p], yp, false);
            }
        });
        Ok(())
    }

    /// dx (+)= dy·s[n, c]; ds[n, c] (+)= Σ dy·x over the plane (f64, fixed order).
    pub fn backward(&self, x: &[f32], s: &[f32], dy: &[f32], dx: Option<Grad>, ds: Option<Grad>) -> Result {
        self.check(x.len(), s.len(), dy.len())?;
        if dx.as_ref().is_some_and(|g| g.dst.len() != self.numel()) || ds.as_ref().is_some_and(|g| g.dst.len() != self.planes) {
            return Err(Error::BadBuffer);
        }
        let (l, per) = (self.inner, self.per());
        if let Some(g) = dx {
            let acc = g.accumulate;
            par::chunks_mut(g.dst, per * l, |k, dc| {
                for (j, d) in dc.chunks_exact_mut(l).enumerate() {
                    let p = k * per + j;
                    scaled_into(&dy[p * l..][..l], s[p], d, acc);
                }
            });
        }
        if let Some(g) = ds {
            let acc = g.accumulate;
            par::chunks_mut(g.dst, per, |k, dc| {
                for (j, d) in dc.iter_mut().enumerate() {
                    let p = k * per + j;
                    let v = blocked_sums(l, &Dot(&x[p * l..][..l], &dy[p * l..][..l]))[0];
                    *d = if acc { (*d as f64 + v) as f32 } else { v as f32 };
                }
            });
        }
        Ok(())
    }
}

/// x·dy at each element, for `blocked_sums`.
struct Dot<'a>(&'a [f32], &'a [f32]);
impl Summand<1> for Dot<'_> {
    #[inline(always)]
    fn at<L: Math>(&self, i: usize) -> [L; 1] {
        // SAFETY: blocked_sums asks for i + L::WIDTH <= len of both runs.
        unsafe { [L::load(self.0.as_ptr().add(i)).mul(L::load(self.1.as_ptr().add(i)))] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fd_grad, max_rel_err, Rng};

    #[test]
    fn add_and_add_relu_forward_and_backward_with_accumulation() {
        let mut rng = Rng::new(1);
        let n = 1031;
        let (a, b, dy) = (rng.normal_vec(n), rng.normal_vec(n), rng.normal_vec(n));
        for relu in [false, true] {
            let mut y = vec![0.0; n];
            add_forward(&a, &b, relu, &mut y).unwrap();
            for i in 0..n {
                let s = a[i] + b[i];
                assert_eq!(y[i], if relu { s.max(0.0) } else { s });
            }
            let (mut da, mut db) = (vec![f32::NAN; n], vec![0.5f32; n]);
            add_backward(&dy, relu.then_some(&y[..]), Some(Grad { dst: &mut da, accumulate: false }), Some(Grad { dst: &mut db, accumulate: true })).unwrap();
            for i in 0..n {
                let g = if !relu || y[i] > 0.0 { dy[i] } else { 0.0 };
                assert_eq!((da[i], db[i]), (g, 0.5 + g));
            }
        }
        assert_eq!(add_forward(&a, &b[1..], false, &mut vec![0.0; n]), Err(Error::BadBuffer));
    }

    #[test]
    fn concat_copies_forward_and_splits_backward() {
        let (n, l, chans) = (3, 5, [2usize, 1, 4]);
        let cat = Concat::new(n, l, &chans).unwrap();
        let xs: Vec<Vec<f32>> = chans.iter().enumerate().map(|(k, &c)| (0..n * c * l).map(|i| (k * 1000 + i) as f32).collect()).collect();
        let parts: Vec<&[f32]> = xs.iter().map(|v| &v[..]).collect();
        let mut y = vec![0.0; cat.numel()];
        cat.forward(&parts, &mut y).unwrap();
        let mut want = vec![];
        for s in 0..n {
            for (x, &c) in xs.iter().zip(&chans) {
                want.extend_from_slice(&x[s * c * l..(s + 1) * c * l]);
            }
        }
        assert_eq!(y, want);
        let mut g0 = vec![1.0; xs[0].len()];
        let mut g2 = vec![0.0; xs[2].len()];
        let mut grads = [Some(Grad { dst: &mut g0, accumulate: true }), None, Some(Grad { dst: &mut g2, accumulate: false })];
        cat.backward(&y, &mut grads).unwrap();
        assert_eq!(g0, xs[0].iter().map(|v| v + 1.0).collect::<Vec<_>>());
        assert_eq!(g2, xs[2]);
        assert_eq!(cat.forward(&parts[..2], &mut y), Err(Error::BadBuffer));
        assert_eq!(Concat::new(2, 3, &[]), Err(Error::BadGeometry));
        assert_eq!(Concat::new(2, 3, &[1, 0]), Err(Error::BadGeometry));
        assert_eq!(Concat::new(1 << 20, 1 << 10, &[4, 4]), Err(Error::TooLarge));
        assert_eq!(Concat::new(1, 1, &[usize::MAX, 2]), Err(Error::TooLarge));
    }

    #[test]
    fn gate_forward_and_backward_match_finite_differences() {
        let mut rng = Rng::new(3);
        let (n, c, l) = (2, 3, 37);
        let g = Gate::new(n, c, l).unwrap();
        let (x, s, u) = (rng.normal_vec(n * c * l), rng.normal_vec(n * c), rng.normal_vec(n * c * l));
        let mut y = vec![0.0; x.len()];
        g.forward(&x, &s, &mut y).unwrap();
        for i in 0..x.len() {
            assert_eq!(y[i], x[i] * s[i / l]);
        }
        let (mut dx, mut ds) = (vec![0.0; x.len()], vec![0.0; n * c]);
        g.backward(&x, &s, &u, Some(Grad { dst: &mut dx, accumulate: false }), Some(Grad { dst: &mut ds, accumulate: false })).unwrap();
        let nx = x.len();
        let loss = |v: &[f64]| (0..nx).map(|i| v[i] * v[nx + i / l] * u[i] as f64).sum::<f64>();
        let at: Vec<f64> = x.iter().chain(&s).map(|&v| v as f64).collect();
        let fd = fd_grad(loss, &at, 1e-6);
        let (ex, _) = max_rel_err(&dx, &fd[..nx], 1e-3);
        let (es, _) = max_rel_err(&ds, &fd[nx..], 1e-3);
        assert!(ex < 1e-6 && es < 1e-6, "dx {ex} ds {es}");
        assert_eq!(g.forward(&x, &s[1..], &mut y), Err(Error::BadBuffer));
        assert_eq!(Gate::new(1 << 20, 1 << 10, 4), Err(Error::TooLarge));
    }
}
