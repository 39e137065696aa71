//! Batch normalisation over (N, C, L) (PyTorch's `BatchNorm2d` with L = H·W, `BatchNorm1d` with L = 1 or
//! the length), optionally followed by a fused ReLU.
//!
//! PyTorch's semantics: with batch statistics (training, or any mode when running statistics are not
//! tracked) y = (x − mean)/√(var + ε)·γ + β with the biased variance; the running statistics are updated
//! in training as r ← (1 − m)·r + m·s with the *unbiased* variance, m = momentum, or 1/t (t =
//! `num_batches_tracked` after this batch) when momentum is None (a cumulative average). In eval with
//! tracked statistics the running mean and variance normalise instead, and the layer is an affine map.
//!
//! Work is split by channel: each task sums its channel's N planes in a fixed order (f64, two passes),
//! then normalises them while they are still in cache, so results do not depend on the thread count.

use super::{affine_params, centered_squares, check_eps, check_grads, check_stats, grad_sums, put, sum, Affine, AffineGrad, Stats, StatsOut};
use crate::error::{self, Error, Result};
use crate::par::{self, SyncPtr};
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

    /// Channel `ch`'s planes of `v`, in batch order.
    fn planes<'v>(&self, v: &'v [f32], ch: usize) -> impl Iterator<Item = &'v [f32]> + 'v {
        let (c, inner) = (self.c, self.inner);
        (0..self.n).map(move |n| &v[(n * c + ch) * inner..][..inner])
    }

    /// Normalises `x` into `y`, saving the statistics used (mean and 1/√(var + ε) per channel) for the
    /// backward. `running` must be given exactly when the layer tracks running statistics; in training
    /// they are updated and `batches_tracked` incremented. Batch statistics over one value per channel are
    /// refused (`BadGeometry`), as PyTorch does.
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
        let update = match running {
            Some(r) if !batch => {
                if r.var.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(Error::BadBuffer);
                }
                return self.forward_running(x, w, b, r.mean, r.var, saved, y);
            }
            // PyTorch increments num_batches_tracked in every training forward, whatever the momentum.
            Some(r) if training => {
                *r.batches_tracked = r.batches_tracked.saturating_add(1);
                let m = self.cfg.momentum.map_or(1.0 / *r.batches_tracked as f64, |m| m as f64);
                Some((m, SyncPtr(r.mean.as_mut_ptr()), SyncPtr(r.var.as_mut_ptr())))
            }
            _ => None,
        };
        let count = self.count() as f64;
        let (sm, sr, yp) = (SyncPtr(saved.mean.as_mut_ptr()), SyncPtr(saved.rstd.as_mut_ptr()), SyncPtr(y.as_mut_ptr()));
        par::for_each(self.c, |ch| {
            let mean = sum(self.planes(x, ch)) / count;
            let m2 = centered_squares(self.planes(x, ch), mean);
            let rstd = (1.0 / (m2 / count + self.cfg.eps as f64).sqrt()) as f32;
            // SAFETY: task `ch` alone writes index ch of the saved and running statistics.
            unsafe {
                *sm.get().add(ch) = mean as f32;
                *sr.get().add(ch) = rstd;
                if let Some((m, rm, rv)) = update {
                    let (rm, rv) = (rm.get().add(ch), rv.get().add(ch));
                    *rm = ((1.0 - m) * *rm as f64 + m * mean) as f32;
                    *rv = ((1.0 - m) * *rv as f64 + m * m2 / (count - 1.0)) as f32;
                }
            }
            self.normalize_channel(x, yp, ch, mean as f32, rstd, w, b);
        });
        Ok(())
    }

    /// The eval forward with running statistics (an affine map per channel).
    #[allow(clippy::too_many_arguments)]
    fn forward_running(&self, x: &[f32], w: Option<&[f32]>, b: Option<&[f32]>, rm: &[f32], rv: &[f32], saved: StatsOut, y: &mut [f32]) -> Result {
        for ch in 0..self.c {
            saved.mean[ch] = rm[ch];
            saved.rstd[ch] = (1.0 / (rv[ch] as f64 + self.cfg.eps as f64).sqrt()) as f32;
        }
        let (saved, yp) = (saved.as_stats(), SyncPtr(y.as_mut_ptr()));
        par::for_each(self.c, |ch| self.normalize_channel(x, yp, ch, saved.mean[ch], saved.rstd[ch], w, b));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn normalize_channel(&self, x: &[f32], y: SyncPtr<f32>, ch: usize, mean: f32, rstd: f32, w: Option<&[f32]>, b: Option<&[f32]>) {
        let (scale, shift) = (w.map_or(1.0, |w| w[ch]) * rstd, b.map_or(0.0, |b| b[ch]));
        for n in 0..self.n {
            let at = (n * self.c + ch) * self.inner;
            // SAFETY: plane (n, ch) is [at, at + inner) inside y, written by this task alone.
            let yp = unsafe { std::slice::from_raw_parts_mut(y.get().add(at), self.inner) };
            let xp = &x[at..at + self.inner];
            if self.cfg.relu {
                normalize_plane::<true>(xp, yp, mean, scale, shift);
            } else {
                normalize_plane::<false>(xp, yp, mean, scale, shift);
            }
        }
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
        let batch = self.uses_batch_stats(training);
        let count = self.count() as f64;
        let mut sums = vec![(0.0f64, 0.0f64); self.c];
        let (sp, dxp) = (SyncPtr(sums.as_mut_ptr()), dx.map(|d| SyncPtr(d.as_mut_ptr())));
        par::for_each(self.c, |ch| {
            let (mean, rstd) = (saved.mean[ch], saved.rstd[ch]);
            let (scale, shift) = (w.map_or(1.0, |w| w[ch]) * rstd, b.map_or(0.0, |b| b[ch]));
            let relu = self.cfg.relu;
            let (mut sg, mut sgx) = (0.0, 0.0);
            for (xp, dp) in self.planes(x, ch).zip(self.planes(dy, ch)) {
                let (s, t) = grad_sums(xp, mean as f64, |i| gate(relu, xp[i], dp[i], mean, scale, shift));
                sg += s;
                sgx += t;
            }
            let dgamma = sgx * rstd as f64;
            // SAFETY: task ch alone writes sums[ch] and channel ch's planes of dx.
            unsafe { *sp.get().add(ch) = (dgamma, sg) };
            let Some(dxp) = dxp else { return };
            let (k1, k2) = if batch { ((sg / count) as f32, (dgamma / count) as f32) } else { (0.0, 0.0) };
            for n in 0..self.n {
                let at = (n * self.c + ch) * self.inner;
                let d = unsafe { std::slice::from_raw_parts_mut(dxp.get().add(at), self.inner) };
                let (xp, dp) = (&x[at..at + self.inner], &dy[at..at + self.inner]);
                let k = PlaneGrad { mean, rstd, scale, shift, k1, k2 };
                match (relu, batch) {
                    (false, false) => k.dx::<false, false>(xp, dp, d),
                    (false, true) => k.dx::<false, true>(xp, dp, d),
                    (true, false) => k.dx::<true, false>(xp, dp, d),
                    (true, true) => k.dx::<true, true>(xp, dp, d),
                }
            }
        });
        for (ch, &(dgamma, dbeta)) in sums.iter().enumerate() {
            put(&mut grads.weight, ch, dgamma, grads.accumulate);
            put(&mut grads.bias, ch, dbeta, grads.accumulate);
        }
        Ok(())
    }
}

/// The upstream gradient at one value: `dy`, or 0 where the fused ReLU was off. The pre-activation is
/// recomputed with the forward's exact operations, so the mask matches the forward bit for bit.
#[inline(always)]
fn gate<L: Math>(relu: bool, x: L, dy: L, mean: f32, scale: f32, shift: f32) -> L {
    if !relu {
        return dy;
    }
    let t = x.sub(L::splat(mean)).mul(L::splat(scale)).add(L::splat(shift));
    L::select(L::splat(0.0).lt(t), dy, L::splat(0.0))
}

/// y = (x − mean)·scale + shift, then max(·, 0) with `RELU`.
fn normalize_plane<const RELU: bool>(x: &[f32], y: &mut [f32], mean: f32, scale: f32, shift: f32) {
    crate::for_each_lane!(0, x.len(), |i, L| {
        // SAFETY: i + L::WIDTH <= len of both planes.
        unsafe {
            let t = L::load(x.as_ptr().add(i)).sub(L::splat(mean)).mul(L::splat(scale)).add(L::splat(shift));
            if RELU { t.pmax(L::splat(0.0)) } else { t }.store(y.as_mut_ptr().add(i))
        }
    });
}

/// One channel's constants for the dx pass.
struct PlaneGrad {
    mean: f32,
    rstd: f32,
    scale: f32,
    shift: f32,
    /// mean(g) and mean(g·x̂), subtracted with batch statistics.
    k1: f32,
    k2: f32,
}

impl PlaneGrad {
    fn dx<const RELU: bool, const BATCH: bool>(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let s = self;
        crate::for_each_lane!(0, x.len(), |i, L| {
            // SAFETY: i + L::WIDTH <= len of the three planes.
            unsafe {
                let xv = L::load(x.as_ptr().add(i));
                let g = gate(RELU, xv, L::load(dy.as_ptr().add(i)), s.mean, s.scale, s.shift);
                let g = if BATCH {
                    let xhat = xv.sub(L::splat(s.mean)).mul(L::splat(s.rstd));
                    g.sub(L::splat(s.k1)).sub(xhat.mul(L::splat(s.k2)))
                } else {
                    g
                };
                g.mul(L::splat(s.scale)).store(dx.as_mut_ptr().add(i))
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fd_grad, max_rel_err, Rng};

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
            let (w, b) = if cfg.affine { (rng.normal_vec(c), rng.normal_vec(c)) } else { (vec![1.0; c], vec![0.0; c]) };
            let p = if cfg.affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
            let (mut rm, mut rv, mut t): (Vec<f32>, Vec<f32>, i64) = ((0..c).map(|i| 2.5 + i as f32 * 0.1).collect(), vec![3.5; c], 0);
            let (rm0, rv0) = (f64s(&rm), f64s(&rv));
            let (mut mean, mut rstd, mut y) = (vec![0.0; c], vec![0.0; c], vec![0.0; x.len()]);
            let running = cfg.track_running_stats.then(|| Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t });
            bn.forward(training, &x, p, running, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
            let stats = (!bn.uses_batch_stats(training)).then_some((&rm0[..], &rv0[..]));
            let want = reference(&bn, &f64s(&x), &f64s(&w), &f64s(&b), stats);
            let (e, _) = max_rel_err(&y, &want, 1e-2);
            assert!(e < 1e-5, "{n}×{c}×{l} {cfg:?}: forward rel err {e}");

            let u = rng.normal_vec(x.len());
            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; c], vec![0.0; c]);
            let grads = if cfg.affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
            bn.backward(training, &x, p, Stats { mean: &mean, rstd: &rstd }, &u, Some(&mut dx), grads).unwrap();
            // The loss Σ y·u as a function of (x, γ, β), all in f64.
            let nx = x.len();
            let loss = |v: &[f64]| {
                let y = reference(&bn, &v[..nx], &v[nx..nx + c], &v[nx + c..], stats);
                y.iter().zip(&u).map(|(a, &b)| a * b as f64).sum::<f64>()
            };
            let at: Vec<f64> = f64s(&x).into_iter().chain(f64s(&w)).chain(f64s(&b)).collect();
            let fd = fd_grad(loss, &at, 1e-6);
            let (ex, i) = max_rel_err(&dx, &fd[..nx], 1e-2);
            assert!(ex < 1e-5, "{n}×{c}×{l} {cfg:?}: dx rel err {ex} at {i}: {} vs {}", dx[i], fd[i]);
            if cfg.affine {
                let (ew, _) = max_rel_err(&dw, &fd[nx..nx + c], 1e-2);
                let (eb, _) = max_rel_err(&db, &fd[nx + c..], 1e-2);
                assert!(ew < 1e-5 && eb < 1e-5, "{cfg:?}: dγ {ew} dβ {eb}");
            }
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
