//! Adafactor (Shazeer & Stern 2018), as the HuggingFace / fairseq implementation computes it.
//!
//! ```text
//! g  ← −g if maximize
//! lrₜ = (relative_step ? min(warmup_init ? 1e-6·t : 1e-2, 1/√t) : lr) · (scale_parameter ? max(ε₂, RMS(p)) : 1)
//! β̂ₜ = 1 − t^decay_rate                                       (decay_rate −0.8: β̂₁ = 0)
//! factored (rows × cols):  R ← β̂ₜ·R + (1−β̂ₜ)·mean_cols(g² + ε₁)      (one value per row)
//!                          C ← β̂ₜ·C + (1−β̂ₜ)·mean_rows(g² + ε₁)      (one value per column)
//!                          u = g · 1/√(Rᵢ / mean(R)) · 1/√Cⱼ
//! vector:                  V ← β̂ₜ·V + (1−β̂ₜ)·(g² + ε₁);   u = g / √V
//! u ← u · lrₜ / max(1, RMS(u) / d)                             (update clipping, d = clip_threshold)
//! β₁ given:  m ← β₁·m + (1−β₁)·u;  u ← m
//! p ← p − wd·lrₜ·p − u
//! ```
//! HuggingFace defaults: lr None (relative step), ε (1e-30, 1e-3), d 1.0, decay_rate −0.8, β₁ None,
//! wd 0, scale_parameter true, relative_step true, warmup_init false. The caller decides the factoring:
//! a conv weight [O, C, kh, kw] is O × (C·kh·kw), a dense weight [out, in] is out × in, a bias is a vector.
//!
//! The means and RMS values are f64 sums in a fixed order (rows by row, columns by column blocks, RMS by
//! fixed chunks), so the result is bitwise the same on any number of threads.
//! Slots: `exp_avg_sq_row` (rows) and `exp_avg_sq_col` (cols) when factored, else `exp_avg_sq` (n);
//! `exp_avg` (n) when β₁ is given.

use super::reduce::{chunked, sum4, sum_squares, REDUCE_CHUNK};
use super::{check_len, opt_ptr, sign, store_param};
use crate::for_each_lane;
use crate::par::{self, SyncPtr};
use crate::simd::Lane;

#[derive(Clone, Copy, Debug)]
pub struct Adafactor {
    /// The learning rate when `relative_step` is false (ignored otherwise).
    pub lr: f64,
    /// ε₁, added to g².
    pub eps1: f64,
    /// ε₂, the floor of the parameter scale.
    pub eps2: f64,
    /// d: the update's RMS is clipped to this.
    pub clip_threshold: f64,
    pub decay_rate: f64,
    /// First-moment decay; `None` keeps no first moment.
    pub beta1: Option<f64>,
    pub weight_decay: f64,
    pub scale_parameter: bool,
    pub relative_step: bool,
    pub warmup_init: bool,
    pub maximize: bool,
}

impl Default for Adafactor {
    /// HuggingFace's defaults (relative step, scaled by the parameters' RMS, no first moment).
    fn default() -> Self {
        Adafactor {
            lr: 0.0,
            eps1: 1e-30,
            eps2: 1e-3,
            clip_threshold: 1.0,
            decay_rate: -0.8,
            beta1: None,
            weight_decay: 0.0,
            scale_parameter: true,
            relative_step: true,
            warmup_init: false,
            maximize: false,
        }
    }
}

impl Adafactor {
    /// The step size lrₜ at step `t` (1-based) for parameters of RMS `param_rms`.
    pub fn lr_at(&self, t: u64, param_rms: f64) -> f64 {
        let t = t.max(1) as f64;
        let rel = if self.relative_step {
            let min_step = if self.warmup_init { 1e-6 * t } else { 1e-2 };
            min_step.min(1.0 / t.sqrt())
        } else {
            self.lr
        };
        let scale = if self.scale_parameter { self.eps2.max(param_rms) } else { 1.0 };
        scale * rel
    }
}

/// The second-moment state: factored into row and column averages for a rows × cols matrix, or full.
pub enum SecondMoment<'a> {
    Factored { rows: usize, cols: usize, row: &'a mut [f32], col: &'a mut [f32] },
    Full(&'a mut [f32]),
}

/// The unclipped update for one element (or lane group): g·rf/√c factored, g/√v full; one definition,
/// so the RMS pass and the apply pass compute the same bits.
#[inline(always)]
fn unclipped<L: Lane>(g: L, rf: f32, v: L) -> L {
    g.mul(L::splat(rf)).div(v.sqrt())
}

/// Calls `f(r, a, b)` for the pieces of the flat range `lo..hi` that lie in one row of width `cols`.
#[inline(always)]
fn row_segments(lo: usize, hi: usize, cols: usize, mut f: impl FnMut(usize, usize, usize)) {
    let mut a = lo;
    while a < hi {
        let r = a / cols;
        let b = hi.min((r + 1) * cols);
        f(r, a, b);
        a = b;
    }
}

/// Columns per task in the column-mean pass (each task walks every row over its block).
const COL_BLOCK: usize = 64;

/// Where the unclipped update's denominator comes from, for the apply pass.
#[derive(Clone, Copy)]
enum Denom {
    /// rf(r) = 1/√(row[r] / row_mean), column values from `col`.
    Factored { cols: usize, row: SyncPtr<f32>, row_mean: f64, col: SyncPtr<f32> },
    Full { v: SyncPtr<f32> },
}

impl Denom {
    /// The row factor 1/√(Rᵣ / mean(R)), in f64 then rounded once.
    ///
    /// # Safety
    /// `r` < rows.
    #[inline(always)]
    unsafe fn row_factor(row: SyncPtr<f32>, row_mean: f64, r: usize) -> f32 {
        (1.0 / (*row.get().add(r) as f64 / row_mean).sqrt()) as f32
    }
}

/// The last part of the step, per element or lane group: scale u, the optional first moment, weight
/// decay, the parameter write.
#[derive(Clone, Copy)]
struct Finish {
    p: SyncPtr<f32>,
    g: SyncPtr<f32>,
    m: Option<SyncPtr<f32>>,
    delta: Option<SyncPtr<f32>>,
    scale: f32,
    beta1: f32,
    one_m_beta1: f32,
    neg_wd_lr: f32,
    /// −1 when maximizing.
    sign: f32,
}

impl Finish {
    /// # Safety
    /// `i + L::WIDTH <= n` for every buffer.
    #[inline(always)]
    unsafe fn grad<L: Lane>(&self, i: usize) -> L {
        L::load(self.g.get().add(i)).mul(L::splat(self.sign))
    }

    /// # Safety
    /// As `grad`.
    #[inline(always)]
    unsafe fn apply<L: Lane>(&self, i: usize, u: L) {
        let mut u = u.mul(L::splat(self.scale));
        if let Some(m) = self.m {
            u = L::load(m.get().add(i)).mul(L::splat(self.beta1)).add(L::splat(self.one_m_beta1).mul(u));
            u.store(m.get().add(i));
        }
        let p = L::load(self.p.get().add(i));
        let decayed = if self.neg_wd_lr != 0.0 { p.add(L::splat(self.neg_wd_lr).mul(p)) } else { p };
        store_param(self.p.get(), self.delta, i, p, decayed.sub(u));
    }
}

/// One step `t` (1-based) over `p`, `g`, the second-moment state and `exp_avg` (given exactly when β₁
/// is); `delta` (optional) receives `p_new − p_old`. Returns the step size lrₜ it used.
pub fn adafactor_step(
    cfg: &Adafactor,
    t: u64,
    p: &mut [f32],
    g: &[f32],
    second: SecondMoment,
    exp_avg: Option<&mut [f32]>,
    delta: Option<&mut [f32]>,
) -> f64 {
    let n = p.len();
    check_len("adafactor: grad", n, g.len());
    let m = opt_ptr("adafactor: exp_avg", n, exp_avg);
    let dp = opt_ptr("adafactor: delta", n, delta);
    assert!(m.is_some() == cfg.beta1.is_some(), "adafactor: exp_avg must be given exactly when beta1 is");
    let rms_p = if cfg.scale_parameter && n > 0 { (sum_squares(p) / n as f64).sqrt() } else { 0.0 };
    let lr = cfg.lr_at(t, rms_p);
    let beta2t = 1.0 - (t.max(1) as f64).powf(cfg.decay_rate);
    let (b2, omb2) = (beta2t as f32, (1.0 - beta2t) as f32);
    let eps1 = cfg.eps1;
    let gp = SyncPtr(g.as_ptr() as *mut f32);

    // The second moments, and Σu² over the unclipped update, each in a fixed order.
    let (sum_u2, denom) = match second {
        SecondMoment::Factored { rows, cols, row, col } => {
            assert_eq!(rows * cols, n, "adafactor: {rows} × {cols} factoring of {n} parameters");
            check_len("adafactor: exp_avg_sq_row", rows, row.len());
            check_len("adafactor: exp_avg_sq_col", cols, col.len());
            if n == 0 {
                return lr;
            }
            let gsq = |i: usize| {
                // SAFETY: callers pass i < n.
                let x = unsafe { *gp.get().add(i) } as f64;
                x * x + eps1
            };
            // Row means: tasks of whole rows, each row summed left to right.
            let rows_per_task = (REDUCE_CHUNK / cols).max(1);
            par::chunks_mut(row, rows_per_task, |k, rs| {
                for (j, r) in rs.iter_mut().enumerate() {
                    let base = (k * rows_per_task + j) * cols;
                    let mean = (sum4(base, base + cols, gsq) / cols as f64) as f32;
                    *r = *r * b2 + omb2 * mean;
                }
            });
            // Column means: blocks of columns, each column summed top to bottom.
            par::chunks_mut(col, COL_BLOCK, |k, cs| {
                let c0 = k * COL_BLOCK;
                let mut acc = [0.0f64; COL_BLOCK];
                for r in 0..rows {
                    for (j, a) in acc[..cs.len()].iter_mut().enumerate() {
                        *a += gsq(r * cols + c0 + j);
                    }
                }
                for (c, a) in cs.iter_mut().zip(acc) {
                    *c = *c * b2 + omb2 * (a / rows as f64) as f32;
                }
            });
            let row_mean = row.iter().map(|&r| r as f64).sum::<f64>() / rows as f64;
            let (row, col) = (SyncPtr(row.as_mut_ptr()), SyncPtr(col.as_mut_ptr()));
            let sum = chunked(
                n,
                0.0,
                |lo, hi| {
                    let mut s = 0.0;
                    row_segments(lo, hi, cols, |r, a, b| {
                        // SAFETY: r < rows; i < n and i − r·cols < cols below.
                        let f = unsafe { Denom::row_factor(row, row_mean, r) };
                        s += sum4(a, b, |i| unsafe {
                            let u = unclipped::<f32>(*gp.get().add(i), f, *col.get().add(i - r * cols)) as f64;
                            u * u
                        });
                    });
                    s
                },
                |a, b| a + b,
            );
            (sum, Denom::Factored { cols, row, row_mean, col })
        }
        SecondMoment::Full(v) => {
            check_len("adafactor: exp_avg_sq", n, v.len());
            let (vp, e1) = (SyncPtr(v.as_mut_ptr()), eps1 as f32);
            let sum = chunked(
                n,
                0.0,
                |lo, hi| {
                    // SAFETY: i < n, and each chunk writes only its own range of v.
                    sum4(lo, hi, |i| unsafe {
                        let gi = *gp.get().add(i);
                        let vi = *vp.get().add(i) * b2 + omb2 * (gi * gi + e1);
                        *vp.get().add(i) = vi;
                        let u = unclipped::<f32>(gi, 1.0, vi) as f64;
                        u * u
                    })
                },
                |a, b| a + b,
            );
            (sum, Denom::Full { v: vp })
        }
    };
    if n == 0 {
        return lr;
    }
    let rms_u = (sum_u2 / n as f64).sqrt();
    let beta1 = cfg.beta1.unwrap_or(0.0);
    let fin = Finish {
        p: SyncPtr(p.as_mut_ptr()),
        g: gp,
        m,
        delta: dp,
        scale: (lr / (rms_u / cfg.clip_threshold).max(1.0)) as f32,
        beta1: beta1 as f32,
        one_m_beta1: (1.0 - beta1) as f32,
        neg_wd_lr: (-cfg.weight_decay * lr) as f32,
        sign: sign(cfg.maximize),
    };
    par::for_each_range(n, |lo, hi| match denom {
        Denom::Factored { cols, row, row_mean, col } => row_segments(lo, hi, cols, |r, a, b| {
            let c0 = r * cols;
            // SAFETY: r < rows; for_each_lane keeps i + L::WIDTH <= b <= (r + 1)·cols, so the column index
            // i − c0 stays below cols and the flat index below n.
            let f = unsafe { Denom::row_factor(row, row_mean, r) };
            for_each_lane!(a, b, |i, L| {
                unsafe { fin.apply::<L>(i, unclipped(fin.grad::<L>(i), f, L::load(col.get().add(i - c0)))) }
            });
        }),
        Denom::Full { v } => for_each_lane!(lo, hi, |i, L| {
            // SAFETY: for_each_lane keeps i + L::WIDTH <= n; v has length n.
            unsafe { fin.apply::<L>(i, unclipped(fin.grad::<L>(i), 1.0, L::load(v.get().add(i)))) }
        }),
    });
    lr
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::lanes;

    #[test]
    fn converges_on_a_parabola_factored_and_not() {
        // 13 = 13 × 1 is a degenerate factoring; use the vector form and a 1 × 13 "matrix".
        for (factored, beta1) in [(false, None), (true, None), (false, Some(0.9)), (true, Some(0.9))] {
            let cfg = Adafactor { lr: 0.02, relative_step: false, scale_parameter: false, beta1, ..Default::default() };
            let (mut v, mut r, mut c, mut m) = (vec![0.0f32; 13], vec![0.0f32; 1], vec![0.0f32; 13], vec![0.0f32; 13]);
            let err = crate::optim::parabola::run(3000, |p, g, t| {
                let second = if factored {
                    SecondMoment::Factored { rows: 1, cols: 13, row: &mut r, col: &mut c }
                } else {
                    SecondMoment::Full(&mut v)
                };
                adafactor_step(&cfg, t, p, g, second, beta1.is_some().then_some(&mut m[..]), None);
            });
            assert!(err < 0.05, "adafactor factored={factored} β₁={beta1:?} ended {err} away");
        }
    }

    #[test]
    fn relative_step_schedule() {
        let cfg = Adafactor::default();
        assert_eq!(cfg.lr_at(1, 0.0), 1e-3 * 1e-2);
        assert_eq!(cfg.lr_at(400, 2.0), 2.0 * 0.05f64.min(1e-2));
        assert_eq!(cfg.lr_at(40_000, 0.5), 0.5 * (1.0 / 200.0));
        let warm = Adafactor { warmup_init: true, scale_parameter: false, ..Default::default() };
        assert_eq!(warm.lr_at(10, 0.0), 1e-6 * 10.0);
    }

    #[test]
    fn simd_body_equals_scalar_tail_bitwise_for_vectors() {
        // Element-by-element runs give each element its own RMS, so compare a step without clipping or
        // parameter scaling (a huge threshold), where the update is purely elementwise.
        let cfg = Adafactor { lr: 0.01, relative_step: false, scale_parameter: false, clip_threshold: 1e30, beta1: Some(0.8), weight_decay: 0.1, maximize: true, ..Default::default() };
        for n in [1, 3, 4, 7, 8, 13] {
            let init = [lanes::data(n, 8), vec![0.0; n], vec![0.0; n], vec![0.0; n]];
            lanes::body_equals_tail(n, &init, 3, |b, g, t| {
                let [p, v, m, d] = b else { unreachable!() };
                adafactor_step(&cfg, t, p, g, SecondMoment::Full(v), Some(m), Some(d));
            });
        }
    }

    #[test]
    fn factored_update_matches_a_direct_f64_computation() {
        // One step on a 5 × 7 matrix (rows cross no lane boundary evenly), against the formulas in f64.
        let (rows, cols) = (5, 7);
        let p0 = lanes::data(rows * cols, 11);
        let g = lanes::data(rows * cols, 12);
        let cfg = Adafactor::default();
        let mut p = p0.clone();
        let (mut r, mut c) = (vec![0.0f32; rows], vec![0.0f32; cols]);
        adafactor_step(&cfg, 1, &mut p, &g, SecondMoment::Factored { rows, cols, row: &mut r, col: &mut c }, None, None);
        let g2 = |i: usize, j: usize| (g[i * cols + j] as f64).powi(2) + 1e-30;
        let rr: Vec<f64> = (0..rows).map(|i| (0..cols).map(|j| g2(i, j)).sum::<f64>() / cols as f64).collect();
        let cc: Vec<f64> = (0..cols).map(|j| (0..rows).map(|i| g2(i, j)).sum::<f64>() / rows as f64).collect();
        let rm = rr.iter().sum::<f64>() / rows as f64;
        let u: Vec<f64> = (0..rows * cols).map(|k| g[k] as f64 / (rr[k / cols] / rm).sqrt() / cc[k % cols].sqrt()).collect();
        let rms_u = (u.iter().map(|x| x * x).sum::<f64>() / u.len() as f64).sqrt();
        let rms_p = (p0.iter().map(|&x| x as f64 * x as f64).sum::<f64>() / p0.len() as f64).sqrt();
        let lr = 1e-2 * rms_p.max(1e-3);
        for k in 0..rows * cols {
            let want = p0[k] as f64 - lr * u[k] / rms_u.max(1.0);
            assert!((p[k] as f64 - want).abs() <= 1e-6 * want.abs().max(1e-2), "{k}: {} vs {want}", p[k]);
        }
    }
}
