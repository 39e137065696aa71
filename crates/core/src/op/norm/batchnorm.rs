//! Batch normalisation over (N, C, L) (PyTorch's `BatchNorm2d` with L = H·W, `BatchNorm1d` with L = 1 or
//! the length), optionally followed by a fused ReLU.
//!
//! PyTorch's semantics: with batch statistics (training, or any mode when running statistics are not
//! tracked) y = (x − mean)/√(var + ε)·γ + β with the biased variance; the running statistics are updated
//! in training as r ← (1 − m)·r + m·s with the *unbiased* variance, m = momentum, or 1/t (t =
//! `num_batches_tracked` after this batch) when momentum is None (a cumulative average). In eval with
//! tracked statistics the running mean and variance normalise instead, and the layer is an affine map.
//!
//! Memory order: the tensor is N·C planes of L values. Each pass streams the planes in order (in parallel
//! over chunks of planes); a plane's statistics are computed from it alone (two-pass, while it is in L1)
//! and combined per channel in batch order in f64 (the planes' means, then their spread), so results do not
//! depend on the thread count. (Walking one channel's planes at a time instead strides by C·L: with
//! power-of-two strides the planes share cache sets and the second pass missed; measured 2.4× slower.)

use super::relu_cut::{relu_pass, Pass};
use super::{affine_params, blocked_sums, check_eps, check_grads, check_stats, mean_var, normalize_run, put, Affine, AffineGrad, Stats, StatsOut, Summand};
use crate::error::{self, Error, Result};
use crate::par::{self, ELEMENTWISE_CHUNK};
use crate::simd::Lane;
use crate::vmath::Math;

/// Options, with PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    pub eps: f32,
    /// None: the cumulative moving average (PyTorch's `momentum=None`).
    pub momentum: Option<f32>,
    pub affine: bool,
    pub track_running_stats: bool,
    /// A ReLU fused after the normalisation (forward writes relu(bn(x)); backward takes its gradient).
    pub relu: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig { eps: 1e-5, momentum: Some(0.1), affine: true, track_running_stats: true, relu: false }
    }
}

/// A validated batch-norm layer over `n × c × inner` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm {
    n: usize,
    c: usize,
    inner: usize,
    cfg: BatchNormConfig,
}

/// The running statistics (PyTorch's `running_mean`, `running_var`, `num_batches_tracked` buffers).
#[derive(Debug)]
pub struct Running<'a> {
    pub mean: &'a mut [f32],
    pub var: &'a mut [f32],
    pub batches_tracked: &'a mut i64,
}

/// One channel's constants: y = (x − mean)·scale + shift; the batch backward's `plane_dx` terms; how the
/// backward finds where the fused ReLU passed (`mask`, one of the masks below, and its `cut`).
#[derive(Clone, Copy, Default)]
struct Channel {
    mean: f32,
    rstd: f32,
    scale: f32,
    shift: f32,
    dx_c: f32,
    dx_d: f32,
    /// `NO_RELU` (the default) unless the layer fuses a ReLU.
    mask: u8,
    cut: f32,
}

/// The backward's ReLU masks: none (no fused ReLU), x > cut, x ≤ cut, or the pre-activation recomputed.
const NO_RELU: u8 = 0;
const ABOVE: u8 = 1;
const AT_MOST: u8 = 2;
const RECOMPUTE: u8 = 3;

/// `$e` with `$M` bound to the const mask `$mask` (each a separate monomorph of the plane loops).
macro_rules! by_mask {
    ($mask:expr, $M:ident => $e:expr) => {
        match $mask {
            NO_RELU => {
                const $M: u8 = NO_RELU;
                $e
            }
            ABOVE => {
                const $M: u8 = ABOVE;
                $e
            }
            AT_MOST => {
                const $M: u8 = AT_MOST;
                $e
            }
            _ => {
                const $M: u8 = RECOMPUTE;
                $e
            }
        }
    };
}

impl BatchNorm {
    /// Refuses zero or too-large sizes (`BadGeometry`, `TooLarge`), ε ≤ 0 or non-finite (a constant channel
    /// would divide by zero) and a momentum outside [0, 1] (`BadGeometry`).
    pub fn new(n: usize, c: usize, inner: usize, cfg: BatchNormConfig) -> Result<Self> {
        if n == 0 || c == 0 || inner == 0 {
            return Err(Error::BadGeometry);
        }
        error::numel(&[n, c, inner])?;
        check_eps(cfg.eps)?;
        if cfg.eps == 0.0 || cfg.momentum.is_some_and(|m| !(0.0..=1.0).contains(&m)) {
            return Err(Error::BadGeometry);
        }
        Ok(BatchNorm { n, c, inner, cfg })
    }

    pub fn config(&self) -> BatchNormConfig {
        self.cfg
    }

    /// Elements of x (and y).
    pub fn numel(&self) -> usize {
        self.n * self.c * self.inner
    }

    pub fn channels(&self) -> usize {
        self.c
    }

    /// Whether this mode normalises with the batch's statistics (PyTorch: training, or no running stats).
    pub fn uses_batch_stats(&self, training: bool) -> bool {
        training || !self.cfg.track_running_stats
    }

    /// Values per channel.
    fn count(&self) -> usize {
        self.n * self.inner
    }

    fn plane<'v>(&self, v: &'v [f32], p: usize) -> &'v [f32] {
        &v[p * self.inner..][..self.inner]
    }

    /// `f(p, channel of p)` for every plane p, in parallel over chunks of planes.
    fn per_plane<T: Copy + Default + Send>(&self, f: impl Fn(usize, usize) -> T + Sync) -> Result<Vec<T>> {
        let mut out = error::zeroed(self.n * self.c)?;
        let per = (ELEMENTWISE_CHUNK / self.inner).max(1);
        par::chunks_mut(&mut out, per, |k, chunk| {
            let mut ch = (k * per) % self.c;
            for (j, o) in chunk.iter_mut().enumerate() {
                *o = f(k * per + j, ch);
                ch = if ch + 1 == self.c { 0 } else { ch + 1 };
            }
        });
        Ok(out)
    }

    /// `f(p, channel constants, out plane)` over every plane of `out`, in parallel over chunks of planes.
    fn each_plane(&self, ch: &[Channel], out: &mut [f32], f: impl Fn(usize, &Channel, &mut [f32]) + Sync) {
        let per = (ELEMENTWISE_CHUNK / self.inner).max(1);
        par::chunks_mut(out, per * self.inner, |k, chunk| {
            let mut c = (k * per) % self.c;
            for (j, o) in chunk.chunks_exact_mut(self.inner).enumerate() {
                f(k * per + j, &ch[c], o);
                c = if c + 1 == self.c { 0 } else { c + 1 };
            }
        });
    }

    fn channels_from(&self, w: Option<&[f32]>, b: Option<&[f32]>, mean: &[f32], rstd: &[f32]) -> Result<Vec<Channel>> {
        let mut ch = error::zeroed(self.c)?;
        for (i, k) in ch.iter_mut().enumerate() {
            let (m, r) = (mean[i], rstd[i]);
            *k = Channel { mean: m, rstd: r, scale: w.map_or(1.0, |w| w[i]) * r, shift: b.map_or(0.0, |b| b[i]), ..Default::default() };
        }
        Ok(ch)
    }

    /// Normalises `x` into `y`, saving the statistics used (mean and 1/√(var + ε) per channel) for the
    /// backward. `running` must be given exactly when the layer tracks running statistics; in training
    /// they are updated and `batches_tracked` incremented. Batch statistics over one value per channel are
    /// refused (`BadGeometry`), as PyTorch does. Nothing is written when a check fails.
    pub fn forward(&self, training: bool, x: &[f32], p: Affine, running: Option<Running>, saved: StatsOut, y: &mut [f32]) -> Result {
        let (w, b) = affine_params(self.cfg.affine, &p, self.c)?;
        if x.len() != self.numel() || y.len() != self.numel() || running.is_some() != self.cfg.track_running_stats {
            return Err(Error::BadBuffer);
        }
        check_stats(&saved.as_stats(), self.c)?;
        if let Some(r) = &running {
            if r.mean.len() != self.c || r.var.len() != self.c {
                return Err(Error::BadBuffer);
            }
        }
        let batch = self.uses_batch_stats(training);
        if batch && self.count() == 1 {
            return Err(Error::BadGeometry);
        }
        match running {
            Some(r) if !batch => {
                // Eval with running statistics; a negative variance would normalise to NaN.
                if r.var.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(Error::BadBuffer);
                }
                for ch in 0..self.c {
                    saved.mean[ch] = r.mean[ch];
                    saved.rstd[ch] = (1.0 / (r.var[ch] as f64 + self.cfg.eps as f64).sqrt()) as f32;
                }
            }
            running => {
                let planes = self.per_plane(|p, _| {
                    if self.inner == 1 {
                        // BatchNorm1d over (N, C): a plane is one value.
                        return (x[p] as f64, 0.0);
                    }
                    let (mean, var) = mean_var(|| std::iter::once(self.plane(x, p)), self.inner);
                    (mean, var * self.inner as f64)
                })?;
                // PyTorch increments num_batches_tracked in every training forward, whatever the momentum.
                let update = running.filter(|_| training).map(|r| {
                    *r.batches_tracked = r.batches_tracked.saturating_add(1);
                    (self.cfg.momentum.map_or(1.0 / *r.batches_tracked as f64, |m| m as f64), r)
                });
                let count = self.count() as f64;
                let mut update = update;
                for (ch, &(mean, m2)) in self.combine(&planes)?.iter().enumerate() {
                    saved.mean[ch] = mean as f32;
                    saved.rstd[ch] = (1.0 / (m2 / count + self.cfg.eps as f64).sqrt()) as f32;
                    if let Some((m, r)) = &mut update {
                        r.mean[ch] = ((1.0 - *m) * r.mean[ch] as f64 + *m * mean) as f32;
                        r.var[ch] = ((1.0 - *m) * r.var[ch] as f64 + *m * m2 / (count - 1.0)) as f32;
                    }
                }
            }
        }
        let ch = self.channels_from(w, b, saved.mean, saved.rstd)?;
        let relu = self.cfg.relu;
        self.each_plane(&ch, y, |p, k, yp| {
            if relu {
                normalize_run::<true>(self.plane(x, p), yp, k.mean, k.scale, k.shift);
            } else {
                normalize_run::<false>(self.plane(x, p), yp, k.mean, k.scale, k.shift);
            }
        });
        Ok(())
    }

    /// Each channel's mean and Σ(x − mean)² from its planes' (mean, M2), in batch order: the planes have
    /// equal sizes L, so mean = Σ mean_p / N and M2 = Σ M2_p + L·Σ(mean_p − mean)² (two passes in f64,
    /// walking the planes in memory order).
    fn combine(&self, planes: &[(f64, f64)]) -> Result<Vec<(f64, f64)>> {
        let mut out: Vec<(f64, f64)> = error::zeroed(self.c)?;
        for row in planes.chunks_exact(self.c) {
            for (o, p) in out.iter_mut().zip(row) {
                o.0 += p.0;
            }
        }
        let n = self.n as f64;
        let mut spread: Vec<f64> = error::zeroed(self.c)?;
        for o in out.iter_mut() {
            o.0 /= n;
        }
        for row in planes.chunks_exact(self.c) {
            for ((o, s), p) in out.iter_mut().zip(spread.iter_mut()).zip(row) {
                *s += (p.0 - o.0) * (p.0 - o.0);
                o.1 += p.1;
            }
        }
        for (o, s) in out.iter_mut().zip(&spread) {
            o.1 += self.inner as f64 * s;
        }
        Ok(out)
    }

    /// Gradients of `forward` in the same mode (`training` as given to it): `dy` is the gradient of the
    /// output (after the fused ReLU, if any), `saved` what the forward wrote. With batch statistics, dx is
    /// the full gradient through the mean and variance, γ·rstd·(g − mean(g) − x̂·mean(g·x̂)); with running
    /// statistics, γ·rstd·g. dγ = Σ g·x̂ and dβ = Σ g either way (g = dy, masked by the ReLU).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(&self, training: bool, x: &[f32], p: Affine, saved: Stats, dy: &[f32], dx: Option<&mut [f32]>, mut grads: AffineGrad) -> Result {
        let (w, b) = affine_params(self.cfg.affine, &p, self.c)?;
        check_grads(self.cfg.affine, &grads, self.c)?;
        check_stats(&saved, self.c)?;
        if x.len() != self.numel() || dy.len() != self.numel() || dx.as_ref().is_some_and(|d| d.len() != self.numel()) {
            return Err(Error::BadBuffer);
        }
        let mut ch = self.channels_from(w, b, saved.mean, saved.rstd)?;
        if self.cfg.relu {
            for k in ch.iter_mut() {
                (k.mask, k.cut) = match relu_pass(k.mean, k.scale, k.shift) {
                    Pass::Above(c) => (ABOVE, c),
                    Pass::AtMost(c) => (AT_MOST, c),
                    Pass::Recompute => (RECOMPUTE, 0.0),
                };
            }
        }
        let sums = self.per_plane(|p, c| {
            let k = &ch[c];
            let (x, dy) = (self.plane(x, p), self.plane(dy, p));
            by_mask!(k.mask, M => blocked_sums(self.inner, &GradSums::<M> { x, dy, k }))
        })?;
        let count = self.count() as f64;
        let batch = self.uses_batch_stats(training);
        // Per channel, Σg and Σg·(x − mean) over the batch in order (walking the planes in memory order).
        let mut total: Vec<[f64; 2]> = error::zeroed(self.c)?;
        for row in sums.chunks_exact(self.c) {
            for (t, s) in total.iter_mut().zip(row) {
                *t = [t[0] + s[0], t[1] + s[1]];
            }
        }
        for (c, (k, &[sg, sgx])) in ch.iter_mut().zip(&total).enumerate() {
            let dgamma = sgx * k.rstd as f64;
            put(&mut grads.weight, c, dgamma, grads.accumulate);
            put(&mut grads.bias, c, sg, grads.accumulate);
            // mean(g·x̂) and mean(g), folded with the channel's scale for plane_dx.
            if batch {
                let scale = k.scale as f64;
                (k.dx_c, k.dx_d) = ((dgamma / count * k.rstd as f64 * scale) as f32, (sg / count * scale) as f32);
            }
        }
        let Some(dx) = dx else { return Ok(()) };
        self.each_plane(&ch, dx, |p, k, d| {
            let (xp, dp) = (self.plane(x, p), self.plane(dy, p));
            by_mask!(k.mask, M => if batch { plane_dx::<M, true>(xp, dp, d, k) } else { plane_dx::<M, false>(xp, dp, d, k) })
        });
        Ok(())
    }
}
/// (x − mean, the upstream gradient at x): `dy`, or 0 where the fused ReLU was off. The mask (`MASK`) is
/// one comparison of x with the channel's cut (relu_cut: it equals the forward's mask bit for bit), or
/// the pre-activation recomputed with the forward's exact operations.
#[inline(always)]
fn gate<L: Math, const MASK: u8>(x: L, dy: L, k: &Channel) -> (L, L) {
    let xm = x.sub(L::splat(k.mean));
    let on = match MASK {
        NO_RELU => return (xm, dy),
        ABOVE => L::splat(k.cut).lt(x),
        AT_MOST => x.le(L::splat(k.cut)),
        _ => L::splat(0.0).lt(xm.mul(L::splat(k.scale)).add(L::splat(k.shift))),
    };
    (xm, L::select(on, dy, L::splat(0.0)))
}

/// (g, g·(x − mean)) at each value of a plane, g the gated upstream gradient.
struct GradSums<'a, const MASK: u8> {
    x: &'a [f32],
    dy: &'a [f32],
    k: &'a Channel,
}

impl<const MASK: u8> Summand<2> for GradSums<'_, MASK> {
    #[inline(always)]
    fn at<L: Math>(&self, i: usize) -> [L; 2] {
        // SAFETY: blocked_sums asks for i + L::WIDTH <= the plane's length.
        let (x, dy) = unsafe { (L::load(self.x.as_ptr().add(i)), L::load(self.dy.as_ptr().add(i))) };
        let (xm, g) = gate::<L, MASK>(x, dy, self.k);
        [g, g.mul(xm)]
    }
}

/// dx = (g − mean(g) − x̂·mean(g·x̂))·scale with `BATCH`, g·scale without; the batch form is evaluated
/// as g·scale − ((x − mean)·c + d) with the channel's c = rstd·mean(g·x̂)·scale, d = mean(g)·scale.
fn plane_dx<const MASK: u8, const BATCH: bool>(x: &[f32], dy: &[f32], dx: &mut [f32], k: &Channel) {
    crate::for_each_lane!(0, x.len(), |i, L| {
        // SAFETY: i + L::WIDTH <= len of the three planes.
        unsafe {
            let (xm, g) = gate::<L, MASK>(L::load(x.as_ptr().add(i)), L::load(dy.as_ptr().add(i)), k);
            let d = g.mul(L::splat(k.scale));
            if BATCH { d.sub(xm.mul(L::splat(k.dx_c)).add(L::splat(k.dx_d))) } else { d }.store(dx.as_mut_ptr().add(i))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    /// y in f64 from the definition; `stats` = Some((running mean, running var)) for eval.
    fn reference(bn: &BatchNorm, x: &[f64], w: &[f64], b: &[f64], stats: Option<(&[f64], &[f64])>) -> Vec<f64> {
        let (n, c, l) = (bn.n, bn.c, bn.inner);
        let mut y = vec![0.0; x.len()];
        for ch in 0..c {
            let idx = |k: usize| (k / l * c + ch) * l + k % l;
            let m = (n * l) as f64;
            let (mean, var) = match stats {
                Some((rm, rv)) => (rm[ch], rv[ch]),
                None => {
                    let mean = (0..n * l).map(|k| x[idx(k)]).sum::<f64>() / m;
                    (mean, (0..n * l).map(|k| (x[idx(k)] - mean).powi(2)).sum::<f64>() / m)
                }
            };
            for k in 0..n * l {
                let v = (x[idx(k)] - mean) / (var + bn.cfg.eps as f64).sqrt() * w[ch] + b[ch];
                y[idx(k)] = if bn.cfg.relu { v.max(0.0) } else { v };
            }
        }
        y
    }

    fn f64s(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    #[test]
    fn forward_and_backward_match_the_f64_definition_and_finite_differences() {
        let mut rng = Rng::new(5);
        let cases = [
            (3, 4, 5, BatchNormConfig::default(), true),
            (2, 3, 7, BatchNormConfig { relu: true, ..Default::default() }, true),
            (5, 3, 1, BatchNormConfig { affine: false, ..Default::default() }, true),
            (4, 2, 3, BatchNormConfig { relu: true, ..Default::default() }, false),
            (3, 3, 4, BatchNormConfig { track_running_stats: false, ..Default::default() }, false),
        ];
        for (n, c, l, cfg, training) in cases {
            let bn = BatchNorm::new(n, c, l, cfg).unwrap();
            let x: Vec<f32> = rng.normal_vec(n * c * l).iter().map(|v| 2.0 * v + 3.0).collect();
            let (mut w, b) = if cfg.affine { (rng.normal_vec(c), rng.normal_vec(c)) } else { (vec![1.0; c], vec![0.0; c]) };
            if cfg.relu {
                // Every way the backward finds the ReLU's mask: γ = 0 (recomputed), γ < 0 (x ≤ cut), γ > 0.
                w[0] = 0.0;
                w[1] = -w[1].abs() - 0.5;
            }
            let p = if cfg.affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
            let (mut rm, mut rv, mut t): (Vec<f32>, Vec<f32>, i64) = ((0..c).map(|i| 2.5 + i as f32 * 0.1).collect(), vec![3.5; c], 0);
            let (rm0, rv0) = (f64s(&rm), f64s(&rv));
            let (mut mean, mut rstd, mut y) = (vec![0.0; c], vec![0.0; c], vec![0.0; x.len()]);
            let running = cfg.track_running_stats.then(|| Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t });
            bn.forward(training, &x, p, running, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
            let stats = (!bn.uses_batch_stats(training)).then_some((&rm0[..], &rv0[..]));
            let u = rng.normal_vec(x.len());
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
            let grads = if cfg.affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
            bn.backward(training, &x, p, Stats { mean: &mean, rstd: &rstd }, &u, Some(&mut dx), grads).unwrap();
            let (w, b, dw, db) = if cfg.affine { (w, b, dw, db) } else { (vec![], vec![], vec![], vec![]) };
            let (e, ex) = super::super::check_against_definition(&x, &w, &b, &u, &y, &dx, &dw, &db, |x, w, b| {
                let ones = vec![1.0; c];
                let zeros = vec![0.0; c];
                if w.is_empty() { reference(&bn, x, &ones, &zeros, stats) } else { reference(&bn, x, w, b, stats) }
            });
            println!("{n}×{c}×{l} training={training} {cfg:?}: forward {e:.1e}, dx vs f64 FD {ex:.1e}");
        }
    }

    #[test]
    fn running_statistics_follow_the_momentum_or_the_cumulative_average() {
        for momentum in [Some(0.1f32), Some(1.0), None] {
            let bn = BatchNorm::new(4, 2, 3, BatchNormConfig { momentum, ..Default::default() }).unwrap();
            let (mut rm, mut rv, mut t) = (vec![0.0f32; 2], vec![1.0f32; 2], 0i64);
            let (mut wm, mut wv) = (vec![0.0f64; 2], vec![1.0f64; 2]);
            let (w, b) = (vec![1.0; 2], vec![0.0; 2]);
            for step in 1..=3 {
                let x: Vec<f32> = crate::testutil::data(24, step).iter().map(|v| v * step as f32 + 1.0).collect();
                let (mut mean, mut rstd, mut y) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; 24]);
                let running = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
                bn.forward(true, &x, Affine { weight: Some(&w), bias: Some(&b) }, Some(running), StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
                let m = momentum.map_or(1.0 / step as f64, |m| m as f64);
                for ch in 0..2 {
                    let v: Vec<f64> = (0..4).flat_map(|n| (0..3).map(move |k| (n * 2 + ch) * 3 + k)).map(|i| x[i] as f64).collect();
                    let mu = v.iter().sum::<f64>() / 12.0;
                    let unbiased = v.iter().map(|a| (a - mu).powi(2)).sum::<f64>() / 11.0;
                    wm[ch] = (1.0 - m) * wm[ch] + m * mu;
                    wv[ch] = (1.0 - m) * wv[ch] + m * unbiased;
                    assert!((rm[ch] as f64 - wm[ch]).abs() <= 1e-6 * wm[ch].abs().max(1.0), "{momentum:?} step {step}: mean");
                    assert!((rv[ch] as f64 - wv[ch]).abs() <= 1e-6 * wv[ch], "{momentum:?} step {step}: var");
                }
            }
            assert_eq!(t, 3);
        }
    }

    #[test]
    fn refuses_inconsistent_configs_and_buffers() {
        let d = BatchNormConfig::default();
        assert_eq!(BatchNorm::new(0, 3, 4, d), Err(Error::BadGeometry));
        assert_eq!(BatchNorm::new(2, 3, 4, BatchNormConfig { eps: 0.0, ..d }), Err(Error::BadGeometry));
        assert_eq!(BatchNorm::new(2, 3, 4, BatchNormConfig { eps: f32::NAN, ..d }), Err(Error::BadGeometry));
        assert_eq!(BatchNorm::new(2, 3, 4, BatchNormConfig { momentum: Some(1.5), ..d }), Err(Error::BadGeometry));
        assert_eq!(BatchNorm::new(1 << 16, 1 << 8, 1 << 8, d), Err(Error::TooLarge));
        assert_eq!(BatchNorm::new(usize::MAX, 2, 2, d), Err(Error::TooLarge));
        let one = BatchNorm::new(1, 2, 1, BatchNormConfig { track_running_stats: false, ..d }).unwrap();
        let (w, b, x) = (vec![1.0; 2], vec![0.0; 2], vec![1.0; 2]);
        let p = Affine { weight: Some(&w), bias: Some(&b) };
        let (mut m, mut r, mut y) = (vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]);
        // One value per channel has no batch variance (PyTorch refuses it too).
        assert_eq!(one.forward(false, &x, p, None, StatsOut { mean: &mut m, rstd: &mut r }, &mut y), Err(Error::BadGeometry));
        let bn = BatchNorm::new(2, 2, 1, d).unwrap();
        let x = vec![1.0; 4];
        let mut y = vec![0.0; 4];
        // Tracked statistics missing; parameters missing on an affine layer; a short output.
        assert_eq!(bn.forward(true, &x, p, None, StatsOut { mean: &mut m, rstd: &mut r }, &mut y), Err(Error::BadBuffer));
        let (mut rm, mut rv, mut t) = (vec![0.0; 2], vec![-1.0; 2], 0);
        let run = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
        assert_eq!(bn.forward(true, &x, Affine::default(), Some(run), StatsOut { mean: &mut m, rstd: &mut r }, &mut y), Err(Error::BadBuffer));
        // A negative running variance would normalise to NaN.
        let run = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
        assert_eq!(bn.forward(false, &x, p, Some(run), StatsOut { mean: &mut m, rstd: &mut r }, &mut y), Err(Error::BadBuffer));
        let mut dx = vec![0.0; 3];
        let s = Stats { mean: &m, rstd: &r };
        assert_eq!(bn.backward(true, &x, p, s, &x, Some(&mut dx), AffineGrad::default()), Err(Error::BadBuffer));
        assert_eq!(t, 0, "a refused forward changes no state");
    }
}
