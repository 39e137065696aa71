//! With the `threads` feature: every optimizer step, the gradient helpers and the reductions (Adafactor's
//! means and RMS, sum_squares, range_stats) give bitwise the same results on pools of 1, 2, 3 and 4 threads,
//! on buffers long enough to be split (several elementwise and reduction chunks, with a ragged end).
#![cfg(feature = "threads")]

use wasmcnn_core::optim::adafactor::{self, SecondMoment};
use wasmcnn_core::optim::{adadelta, adagrad, adam, adamax, grad, lookahead, rmsprop, sgd, stats, EpsMode};

mod common;
use common::data;

const N: usize = 3 * (1 << 15) + 4099; // three elementwise chunks and a ragged fourth
const ROWS: usize = 103; // Adafactor factoring of N' = ROWS × COLS
const COLS: usize = 1003;

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter().map(|t| t.iter().map(|f| f.to_bits()).collect()).collect()
}

/// Runs `work` on pools of 1..=4 threads and asserts every run returns the same bits.
fn same_on_every_pool<T: PartialEq + std::fmt::Debug + Send>(what: &str, work: impl Fn() -> T + Sync) {
    let run = |threads: usize| rayon_core::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(&work);
    let one = run(1);
    for threads in 2..=4 {
        assert!(run(threads) == one, "{what}: {threads} threads differ from 1");
    }
}

/// Three steps of every optimizer (with their options switched on) over N parameters; returns every
/// buffer they wrote.
fn every_optimizer() -> Vec<Vec<f32>> {
    let p0 = data(N, 1);
    let grads: Vec<Vec<f32>> = (0..3).map(|t| data(N, 10 + t)).collect();
    let z = || vec![0.0f32; N];
    let mut out = Vec::new();
    // Adagrad, ε inside, maximize.
    let cfg = adagrad::Adagrad { lr: 0.1, lr_decay: 0.01, weight_decay: 0.1, eps: 1e-7, eps_mode: EpsMode::Inside, maximize: true };
    let (mut p, mut s, mut d) = (p0.clone(), vec![0.1; N], z());
    for (t, g) in grads.iter().enumerate() {
        adagrad::adagrad_step(&cfg, t as u64 + 1, &mut p, g, &mut s, Some(&mut d));
    }
    out.extend([p, s, d]);
    // RMSprop, centered, Keras momentum.
    let cfg = rmsprop::RmsProp { momentum: 0.9, centered: true, lr_in_momentum: true, weight_decay: 0.01, ..Default::default() };
    let (mut p, mut v, mut ga, mut mb, mut d) = (p0.clone(), z(), z(), z(), z());
    for g in &grads {
        rmsprop::rmsprop_step(&cfg, &mut p, g, &mut v, Some(&mut ga), Some(&mut mb), Some(&mut d));
    }
    out.extend([p, v, ga, mb, d]);
    // AdamW with AMSGrad.
    let cfg = adam::Adam { lr: 0.01, amsgrad: true, ..adam::Adam::adamw() };
    let (mut p, mut m, mut v, mut vm, mut d) = (p0.clone(), z(), z(), z(), z());
    for (t, g) in grads.iter().enumerate() {
        adam::adam_step(&cfg, t as u64 + 1, &mut p, g, &mut m, &mut v, Some(&mut vm), Some(&mut d));
    }
    out.extend([p, m, v, vm, d]);
    // SGD, Nesterov.
    let cfg = sgd::Sgd { lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.01, ..Default::default() };
    let (mut p, mut mb, mut d) = (p0.clone(), z(), z());
    for (t, g) in grads.iter().enumerate() {
        sgd::sgd_step(&cfg, t as u64 + 1, &mut p, g, Some(&mut mb), Some(&mut d));
    }
    out.extend([p, mb, d]);
    // Adamax, Adadelta.
    let cfg = adamax::Adamax { weight_decay: 0.1, ..Default::default() };
    let (mut p, mut m, mut u) = (p0.clone(), z(), z());
    for (t, g) in grads.iter().enumerate() {
        adamax::adamax_step(&cfg, t as u64 + 1, &mut p, g, &mut m, &mut u, None);
    }
    out.extend([p, m, u]);
    let cfg = adadelta::Adadelta { maximize: true, ..Default::default() };
    let (mut p, mut v, mut a) = (p0.clone(), z(), z());
    for g in &grads {
        adadelta::adadelta_step(&cfg, &mut p, g, &mut v, &mut a, None);
    }
    out.extend([p, v, a]);
    // Lookahead sync, gradient helpers.
    let (mut f, mut s, mut d) = (grads[0].clone(), p0.clone(), z());
    lookahead::lookahead_sync(0.5, &mut f, &mut s, Some(&mut d));
    out.extend([f, s, d]);
    let mut x = grads[1].clone();
    grad::scale(&mut x, 0.3);
    grad::clamp(&mut x, -0.1, 0.2);
    grad::add_into(&mut x, &grads[2]);
    out.push(x);
    out
}

fn adafactor_runs() -> Vec<Vec<f32>> {
    let n = ROWS * COLS;
    let p0 = data(n, 2);
    let mut out = Vec::new();
    for (factored, beta1) in [(true, Some(0.9)), (false, None)] {
        let cfg = adafactor::Adafactor { beta1, weight_decay: 0.01, ..Default::default() };
        let (mut p, mut r, mut c, mut v, mut m, mut d) = (p0.clone(), vec![0.0; ROWS], vec![0.0; COLS], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut lrs = Vec::new();
        for t in 1..=3u64 {
            let g = data(n, 20 + t as u32);
            let second = if factored { SecondMoment::Factored { rows: ROWS, cols: COLS, row: &mut r, col: &mut c } } else { SecondMoment::Full(&mut v) };
            lrs.push(adafactor::adafactor_step(&cfg, t, &mut p, &g, second, beta1.is_some().then_some(&mut m[..]), Some(&mut d)) as f32);
        }
        out.extend([p, r, c, v, m, d, lrs]);
    }
    out
}

#[test]
fn optimizer_steps_are_bitwise_equal_on_1_to_4_threads() {
    same_on_every_pool("optimizers", || bits(&every_optimizer()));
}

#[test]
fn adafactor_is_bitwise_equal_on_1_to_4_threads() {
    same_on_every_pool("adafactor", || bits(&adafactor_runs()));
}

#[test]
fn reductions_are_bitwise_equal_on_1_to_4_threads() {
    let (g, p, d) = (data(N, 3), data(N, 4), data(N, 5));
    same_on_every_pool("sum_squares", || grad::sum_squares(&g).to_bits());
    same_on_every_pool("range_stats", || stats::range_stats(N, Some(&g), Some(&p), Some(&d)).to_array().map(f64::to_bits));
}

/// The run-table optimizers of issue 14 (per-run and global reductions between two passes) over three
/// runs of a buffer long enough to be split; returns every buffer and scalar they wrote.
fn table_optimizers() -> Vec<Vec<f32>> {
    use wasmcnn_core::optim::table::{Run, OUT_FIELDS};
    use wasmcnn_core::optim::{dadapt, lamb, lars, prodigy, schedulefree, swats};
    let n = N;
    let runs = [
        Run { offset: 0, len: 70_001, lr_scale: 1.0, wd_scale: 1.0, adapt: true },
        Run { offset: 70_001, len: 3, lr_scale: 0.5, wd_scale: 0.0, adapt: false },
        Run { offset: 70_004, len: n - 70_004, lr_scale: 1.0, wd_scale: 1.0, adapt: true },
    ];
    let p0 = data(n, 7);
    let grads: Vec<Vec<f32>> = (0..3).map(|t| data(n, 30 + t)).collect();
    let z = || vec![0.0f32; n];
    let mut out = Vec::new();
    let mut tel = vec![0.0f64; runs.len() * OUT_FIELDS];
    let f64s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let cfg = prodigy::Prodigy { weight_decay: 0.01, ..Default::default() };
    let (mut p, mut p0s, mut s, mut m, mut v, mut d) = (p0.clone(), z(), z(), z(), z(), z());
    let mut sc = cfg.initial_scalars();
    for (t, g) in grads.iter().enumerate() {
        let slots = prodigy::ProdigySlots { p0: &mut p0s, s: &mut s, exp_avg: Some(&mut m), exp_avg_sq: &mut v };
        prodigy::prodigy_step(&cfg, t as u64 + 1, &mut sc, &runs, &mut p, g, slots, Some(&mut d), Some(&mut tel));
    }
    out.extend([p, s, m, v, d, f64s(&sc), f64s(&tel)]);
    let cfg = lamb::Lamb { weight_decay: 0.01, debias: true, ..Default::default() };
    let (mut p, mut m, mut v) = (p0.clone(), z(), z());
    for (t, g) in grads.iter().enumerate() {
        lamb::lamb_step(&cfg, t as u64 + 1, &runs, &mut p, g, &mut m, &mut v, None, Some(&mut tel));
    }
    out.extend([p, m, v, f64s(&tel)]);
    let cfg = lars::Lars { weight_decay: 0.01, momentum: 0.9, ..Default::default() };
    let (mut p, mut b) = (p0.clone(), z());
    for (t, g) in grads.iter().enumerate() {
        lars::lars_step(&cfg, t as u64 + 1, &runs, &mut p, g, Some(&mut b), None, Some(&mut tel));
    }
    out.extend([p, b, f64s(&tel)]);
    // SWATS: runs 0 and 2 in group 0 (Adam, Σu·g and Σu² over chunks), run 1 in group 1, already switched (SGD).
    let cfg = swats::Swats { weight_decay: 0.01, amsgrad: true, nesterov: true, ..Default::default() };
    let (mut p, mut m, mut v, mut vm, mut b) = (p0.clone(), z(), z(), z(), z());
    let mut sc = vec![0.0; swats::scalars_len(runs.len(), 2)];
    sc[runs.len() * swats::RUN_SCALARS + swats::GROUP_SCALARS..].copy_from_slice(&[1.0, 0.02, 1.0, cfg.lr]);
    for (t, g) in grads.iter().enumerate() {
        let slots = swats::SwatsSlots { exp_avg: &mut m, exp_avg_sq: &mut v, max_exp_avg_sq: Some(&mut vm), momentum_buffer: &mut b };
        swats::swats_step(&cfg, t as u64 + 1, &mut sc, &runs, &[0, 1, 0], &mut p, g, slots, None, Some(&mut tel));
    }
    // Every bit of the f64 scalars (λ per run), as two f32 bit patterns each.
    let sc_bits: Vec<f32> = sc.iter().flat_map(|x| [f32::from_bits(x.to_bits() as u32), f32::from_bits((x.to_bits() >> 32) as u32)]).collect();
    out.extend([p, m, v, vm, b, sc_bits, f64s(&tel)]);
    let cfg = dadapt::DAdaptAdagrad { momentum: 0.5, ..Default::default() };
    let (mut p, mut al, mut s, mut x0) = (p0.clone(), vec![1e-6f32; n], z(), z());
    let mut sc = [1e-6, 0.0, 0.0, 0.0, 0.0];
    for (t, g) in grads.iter().enumerate() {
        dadapt::dadapt_adagrad_step(&cfg, t as u64 + 1, &mut sc, &runs, &mut p, g, &mut al, &mut s, &mut x0, None, None);
    }
    out.extend([p, al, s, f64s(&sc)]);
    let cfg = schedulefree::ScheduleFree { weight_decay: 0.01, ..schedulefree::ScheduleFree::adamw() };
    let (mut p, mut zz, mut v) = (p0.clone(), z(), z());
    let mut sc = schedulefree::ScheduleFree::initial_scalars();
    for g in &grads {
        schedulefree::schedulefree_step(&cfg, &mut sc, &runs, &mut p, g, &mut zz, Some(&mut v), None, None);
    }
    schedulefree::schedulefree_swap(&runs, &mut p, &zz, 1.0 - 1.0 / 0.9);
    out.extend([p, zz, v]);
    out
}

#[test]
fn table_optimizers_are_bitwise_equal_on_1_to_4_threads() {
    same_on_every_pool("table optimizers", || bits(&table_optimizers()));
}
