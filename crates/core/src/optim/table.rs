//! The step call over a table of runs, used by the optimizers added with issue 14 (RAdam, NAdam, AdaBelief,
//! Lion, LAMB, LARS, SWATS, Prodigy, D-Adaptation, Schedule-Free). One call steps every run of a model's
//! flat buffers: the optimizer can then take reductions per run (LAMB's and LARS's per-tensor norms, SWATS's
//! projection) or over all runs (Prodigy's and D-Adaptation's d estimate) between two fused passes, and
//! keep its scalar state (d, weight sums, …) in Rust, so the exports and the native tests share one
//! implementation and TypeScript only marshals.
//!
//! Sums over all runs are taken per run (fixed chunks, `reduce::chunked`) and added in run order, so they
//! are bitwise the same on any thread count.

use super::check_len;
use crate::par::SyncPtr;

/// One run of the flat buffers: `[offset, offset + len)`, its rate and weight-decay scales (a parameter
/// group's `lrScale`, `weightDecayScale`), and whether layer-wise adaptation applies (LAMB, LARS: false for
/// the tensors excluded from it, e.g. biases and normalisation parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Run {
    pub offset: usize,
    pub len: usize,
    pub lr_scale: f64,
    pub wd_scale: f64,
    pub adapt: bool,
}

impl Run {
    /// One run over `0..n`, scales 1, adapted.
    pub fn whole(n: usize) -> Self {
        Run { offset: 0, len: n, lr_scale: 1.0, wd_scale: 1.0, adapt: true }
    }
}

/// f64s per run in the exports' table: offset, length, lr scale, wd scale, adapt (0 or 1).
pub const RUN_FIELDS: usize = 5;

/// f64s per run written to the telemetry output: the effective rate of the step, and the trust ratio (1
/// where the method has none).
pub const OUT_FIELDS: usize = 2;

/// Reads a run table (`RUN_FIELDS` f64s per run), checking every run lies inside `n` floats.
pub fn parse_runs(table: &[f64], n: usize) -> Vec<Run> {
    assert!(table.len() % RUN_FIELDS == 0, "run table: {} values is not a whole number of runs", table.len());
    table
        .chunks_exact(RUN_FIELDS)
        .map(|r| {
            let run = Run { offset: r[0] as usize, len: r[1] as usize, lr_scale: r[2], wd_scale: r[3], adapt: r[4] != 0.0 };
            assert!(run.offset + run.len <= n, "run table: run {run:?} outside {n} floats");
            run
        })
        .collect()
}

/// The flat buffers of one step as raw pointers, all checked to hold `n` floats; `run_*` give a run's
/// pointers (its first float).
#[derive(Clone, Copy)]
pub struct Flat {
    pub n: usize,
    pub p: SyncPtr<f32>,
    pub g: SyncPtr<f32>,
    pub delta: Option<SyncPtr<f32>>,
}

impl Flat {
    pub fn new(what: &str, p: &mut [f32], g: &[f32], delta: Option<&mut [f32]>) -> Self {
        let n = p.len();
        check_len(&format!("{what}: grad"), n, g.len());
        let delta = super::opt_ptr(&format!("{what}: delta"), n, delta);
        Flat { n, p: SyncPtr(p.as_mut_ptr()), g: SyncPtr(g.as_ptr() as *mut f32), delta }
    }

    /// A run's parameter, gradient and delta pointers.
    pub fn at(&self, r: &Run) -> (SyncPtr<f32>, SyncPtr<f32>, Option<SyncPtr<f32>>) {
        debug_assert!(r.offset + r.len <= self.n);
        // SAFETY: parse_runs checked offset + len <= n for every run.
        unsafe { (SyncPtr(self.p.get().add(r.offset)), SyncPtr(self.g.get().add(r.offset)), self.delta.map(|d| SyncPtr(d.get().add(r.offset)))) }
    }
}

/// A state slot parallel to the parameters (`n` floats), checked, as a pointer for `slot_at`.
pub fn slot(what: &str, n: usize, s: &mut [f32]) -> SyncPtr<f32> {
    check_len(what, n, s.len());
    SyncPtr(s.as_mut_ptr())
}

/// A slot's pointer at a run's first float.
#[inline(always)]
pub fn slot_at(s: SyncPtr<f32>, r: &Run) -> SyncPtr<f32> {
    // SAFETY: the slot holds n floats (checked by `slot`) and the run lies inside n.
    unsafe { SyncPtr(s.get().add(r.offset)) }
}

/// Writes a run's telemetry (`OUT_FIELDS` values) into `out` when given.
pub fn report(out: &mut Option<&mut [f64]>, k: usize, lr: f64, trust: f64) {
    if let Some(o) = out {
        o[k * OUT_FIELDS] = lr;
        o[k * OUT_FIELDS + 1] = trust;
    }
}

/// Checks the telemetry output holds `OUT_FIELDS` values per run.
pub fn check_out(what: &str, runs: &[Run], out: &Option<&mut [f64]>) {
    if let Some(o) = out {
        check_len(&format!("{what}: telemetry out"), runs.len() * OUT_FIELDS, o.len());
    }
}

/// Lane values into four f64 accumulators (lane k to accumulator k; a scalar tail element to
/// accumulator 0): how the first pass of a two-pass step sums what its lanes computed, in an order fixed
/// by the chunking alone.
pub trait LaneSum: crate::simd::Lane {
    fn each(self, f: impl FnMut(usize, f32));
}

impl LaneSum for f32 {
    #[inline(always)]
    fn each(self, mut f: impl FnMut(usize, f32)) {
        f(0, self)
    }
}

impl LaneSum for crate::simd::F32x4 {
    #[inline(always)]
    fn each(self, mut f: impl FnMut(usize, f32)) {
        for (k, v) in self.lanes().into_iter().enumerate() {
            f(k, v)
        }
    }
}

/// `K` sums over `0..len` (a run), chunk by chunk (`reduce::chunked`): `chunk(lo, hi, acc)` adds a chunk's
/// terms into `acc[j]` (four accumulators per sum, see `LaneSum`), folded as ((a0 + a1) + (a2 + a3)) per
/// chunk and the chunks in order. Bitwise the same on any thread count.
pub fn run_sums<const K: usize>(len: usize, chunk: impl Fn(usize, usize, &mut [[f64; 4]; K]) + Sync + Send) -> [f64; K]
where
    [f64; K]: Default,
{
    super::reduce::chunked(
        len,
        [0.0; K],
        |lo, hi| {
            let mut acc = [[0.0f64; 4]; K];
            chunk(lo, hi, &mut acc);
            acc.map(|a| (a[0] + a[1]) + (a[2] + a[3]))
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        },
    )
}

/// Adds `x²` of each lane into `acc`.
#[inline(always)]
pub fn add_sq<L: LaneSum>(acc: &mut [f64; 4], x: L) {
    x.each(|k, v| acc[k] += v as f64 * v as f64)
}

/// Adds `x·y` of each lane into `acc`.
#[inline(always)]
pub fn add_dot<L: LaneSum>(acc: &mut [f64; 4], x: L, y: L) {
    let mut ys = [0.0f32; 4];
    y.each(|k, v| ys[k] = v);
    x.each(|k, v| acc[k] += v as f64 * ys[k] as f64)
}

/// Adds `|x|` of each lane into `acc`.
#[inline(always)]
pub fn add_abs<L: LaneSum>(acc: &mut [f64; 4], x: L) {
    x.each(|k, v| acc[k] += v.abs() as f64)
}
