//! Exports of the optimizers that step over a table of runs (core `optim::table`): RAdam, NAdam, AdaBelief,
//! Lion, LAMB, LARS, SWATS, Prodigy, D-Adaptation (Adam, SGD, AdaGrad) and Schedule-Free (AdamW, SGD).
//!
//! Common arguments: `p`, `g` the whole flat buffers (n floats); `runs` the run table (`nruns` × 5 f64:
//! offset, length, lr scale, wd scale, adapt); state slots parallel to the parameters (n floats, null
//! when absent); `scalars` the optimizer's f64 scalar state (read and written); hyper-parameters as f64,
//! flags as i32; `delta` (n floats or null) receives p_new − p_old inside the runs; `out` (nruns × 2 f64 or
//! null) receives each run's effective rate and trust ratio.

use crate::exports::{opt_mut, sl, sl_mut};
use wasmcnn_core::optim::table::{parse_runs, Run, OUT_FIELDS, RUN_FIELDS};
use wasmcnn_core::optim::{adabelief, dadapt, lamb, lars, lion, nadam, prodigy, radam, schedulefree, swats};

/// The run table and the telemetry output.
unsafe fn table<'a>(runs: *const f64, nruns: usize, n: usize, out: *mut f64) -> (Vec<Run>, Option<&'a mut [f64]>) {
    (parse_runs(sl(runs, nruns * RUN_FIELDS), n), (!out.is_null()).then(|| sl_mut(out, nruns * OUT_FIELDS)))
}

unsafe fn scalars<'a, const K: usize>(s: *mut f64) -> &'a mut [f64; K] {
    &mut *(s as *mut [f64; K])
}

/// # Safety
/// See the module comment; exp_avg, exp_avg_sq: n floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_radam_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, exp_avg: *mut f32, exp_avg_sq: *mut f32,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = radam::RAdam { lr, beta1, beta2, eps, weight_decay };
    radam::radam_step(&cfg, step as u64, &runs, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_avg_sq, n), opt_mut(delta, n), out);
}

/// `scalars`: [mu_product] (1 before the first step).
///
/// # Safety
/// See the module comment; exp_avg, exp_avg_sq: n floats; scalars: 1 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_nadam_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, exp_avg: *mut f32, exp_avg_sq: *mut f32, scalars: *mut f64,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, momentum_decay: f64, step: f64, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = nadam::NAdam { lr, beta1, beta2, eps, weight_decay, momentum_decay };
    nadam::nadam_step(&cfg, step as u64, &mut *scalars, &runs, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_avg_sq, n), opt_mut(delta, n), out);
}

/// AMSGrad when `max_exp_avg_var` is not null.
///
/// # Safety
/// See the module comment; exp_avg, exp_avg_var: n floats; max_exp_avg_var: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adabelief_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, exp_avg: *mut f32, exp_avg_var: *mut f32, max_exp_avg_var: *mut f32,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64,
    weight_decouple: i32, fixed_decay: i32, rectify: i32, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = adabelief::AdaBelief {
        lr, beta1, beta2, eps, weight_decay,
        amsgrad: !max_exp_avg_var.is_null(),
        weight_decouple: weight_decouple != 0,
        fixed_decay: fixed_decay != 0,
        rectify: rectify != 0,
    };
    adabelief::adabelief_step(
        &cfg, step as u64, &runs, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_avg_var, n), opt_mut(max_exp_avg_var, n),
        opt_mut(delta, n), out,
    );
}

/// `decoupled_from` > 0: decay wd/decoupled_from (lion-pytorch's decoupled_weight_decay, the initial lr).
///
/// # Safety
/// See the module comment; exp_avg: n floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_lion_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, exp_avg: *mut f32,
    lr: f64, beta1: f64, beta2: f64, weight_decay: f64, decoupled_from: f64, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = lion::Lion { lr, beta1, beta2, weight_decay, decoupled_from: (decoupled_from > 0.0).then_some(decoupled_from) };
    lion::lion_step(&cfg, &runs, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), opt_mut(delta, n), out);
}

/// # Safety
/// See the module comment; exp_avg, exp_avg_sq: n floats.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_lamb_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, exp_avg: *mut f32, exp_avg_sq: *mut f32,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, clamp_value: f64, step: f64, adam: i32, debias: i32,
    delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = lamb::Lamb { lr, beta1, beta2, eps, weight_decay, clamp_value, adam: adam != 0, debias: debias != 0 };
    lamb::lamb_step(&cfg, step as u64, &runs, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_avg_sq, n), opt_mut(delta, n), out);
}

/// `momentum_buf` exactly when momentum > 0.
///
/// # Safety
/// See the module comment; momentum_buf: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_lars_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, momentum_buf: *mut f32,
    lr: f64, momentum: f64, dampening: f64, weight_decay: f64, trust_coefficient: f64, eps: f64, step: f64, nesterov: i32,
    delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = lars::Lars { lr, momentum, dampening, weight_decay, nesterov: nesterov != 0, trust_coefficient, eps };
    lars::lars_step(&cfg, step as u64, &runs, sl_mut(p, n), sl(g, n), opt_mut(momentum_buf, n), opt_mut(delta, n), out);
}

/// `groups`: each run's parameter group (nruns f64, each < ngroups); AMSGrad when `max_exp_avg_sq` is not
/// null; `scalars`: `swats::scalars_len(nruns, ngroups)` f64 (per run λ and a flag, per group phase, Λ, the
/// switch step and the lr then).
///
/// # Safety
/// See the module comment; exp_avg, exp_avg_sq, momentum_buf: n floats; max_exp_avg_sq: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_swats_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, groups: *const f64, ngroups: usize,
    exp_avg: *mut f32, exp_avg_sq: *mut f32, max_exp_avg_sq: *mut f32, momentum_buf: *mut f32, scalars_ptr: *mut f64,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64, nesterov: i32, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let groups: Vec<usize> = sl(groups, nruns).iter().map(|&k| k as usize).collect();
    let cfg = swats::Swats { lr, beta1, beta2, eps, weight_decay, amsgrad: !max_exp_avg_sq.is_null(), nesterov: nesterov != 0 };
    let slots = swats::SwatsSlots {
        exp_avg: sl_mut(exp_avg, n),
        exp_avg_sq: sl_mut(exp_avg_sq, n),
        max_exp_avg_sq: opt_mut(max_exp_avg_sq, n),
        momentum_buffer: sl_mut(momentum_buf, n),
    };
    let sc = sl_mut(scalars_ptr, swats::scalars_len(runs.len(), ngroups));
    swats::swats_step(&cfg, step as u64, sc, &runs, &groups, sl_mut(p, n), sl(g, n), slots, opt_mut(delta, n), out);
}

/// `beta3` < 0 means √β₂; `exp_avg` exactly when β₁ > 0; `scalars`: [d, d_max, d_numerator, k].
///
/// # Safety
/// See the module comment; p0, s, exp_avg_sq: n floats; exp_avg: n or null; scalars: 4 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_prodigy_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, p0: *mut f32, s: *mut f32, exp_avg: *mut f32, exp_avg_sq: *mut f32,
    scalars_ptr: *mut f64, lr: f64, beta1: f64, beta2: f64, beta3: f64, eps: f64, weight_decay: f64, d0: f64, d_coef: f64, growth_rate: f64,
    step: f64, decouple: i32, use_bias_correction: i32, safeguard_warmup: i32, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = prodigy::Prodigy {
        lr, beta1, beta2,
        beta3: (beta3 >= 0.0).then_some(beta3),
        eps, weight_decay,
        decouple: decouple != 0,
        use_bias_correction: use_bias_correction != 0,
        safeguard_warmup: safeguard_warmup != 0,
        d0, d_coef, growth_rate,
    };
    let slots = prodigy::ProdigySlots { p0: sl_mut(p0, n), s: sl_mut(s, n), exp_avg: opt_mut(exp_avg, n), exp_avg_sq: sl_mut(exp_avg_sq, n) };
    prodigy::prodigy_step(&cfg, step as u64, scalars(scalars_ptr), &runs, sl_mut(p, n), sl(g, n), slots, opt_mut(delta, n), out);
}

/// `scalars`: [d, r, k].
///
/// # Safety
/// See the module comment; s, exp_avg, exp_avg_sq: n floats; scalars: 3 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_dadapt_adam_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, s: *mut f32, exp_avg: *mut f32, exp_avg_sq: *mut f32, scalars_ptr: *mut f64,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, d0: f64, growth_rate: f64, decouple: i32, use_bias_correction: i32,
    delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = dadapt::DAdaptAdam {
        base: dadapt::DAdapt { lr, weight_decay, d0, growth_rate },
        beta1, beta2, eps,
        decouple: decouple != 0,
        use_bias_correction: use_bias_correction != 0,
    };
    dadapt::dadapt_adam_step(&cfg, scalars(scalars_ptr), &runs, sl_mut(p, n), sl(g, n), sl_mut(s, n), sl_mut(exp_avg, n), sl_mut(exp_avg_sq, n), opt_mut(delta, n), out);
}

/// `scalars`: [d, num, ‖g₀‖, k].
///
/// # Safety
/// See the module comment; s, x0: n floats; scalars: 4 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_dadapt_sgd_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, s: *mut f32, x0: *mut f32, scalars_ptr: *mut f64,
    lr: f64, momentum: f64, weight_decay: f64, d0: f64, growth_rate: f64, step: f64, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = dadapt::DAdaptSgd { base: dadapt::DAdapt { lr, weight_decay, d0, growth_rate }, momentum };
    dadapt::dadapt_sgd_step(&cfg, step as u64, scalars(scalars_ptr), &runs, sl_mut(p, n), sl(g, n), sl_mut(s, n), sl_mut(x0, n), opt_mut(delta, n), out);
}

/// `alpha_k` starts at 1e-6; `scalars`: [d, G, S, ‖s‖₁, k].
///
/// # Safety
/// See the module comment; alpha_k, s, x0: n floats; scalars: 5 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_dadapt_adagrad_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, alpha_k: *mut f32, s: *mut f32, x0: *mut f32, scalars_ptr: *mut f64,
    lr: f64, momentum: f64, weight_decay: f64, eps: f64, d0: f64, growth_rate: f64, step: f64, delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = dadapt::DAdaptAdagrad { base: dadapt::DAdapt { lr, weight_decay, d0, growth_rate }, momentum, eps };
    dadapt::dadapt_adagrad_step(
        &cfg, step as u64, scalars(scalars_ptr), &runs, sl_mut(p, n), sl(g, n), sl_mut(alpha_k, n), sl_mut(s, n), sl_mut(x0, n),
        opt_mut(delta, n), out,
    );
}

/// Schedule-Free AdamW when `exp_avg_sq` is not null (β₂ used), else SGD (`beta1` the momentum);
/// `scalars`: [k, W, lr_max].
///
/// # Safety
/// See the module comment; z: n floats; exp_avg_sq: n or null; scalars: 3 f64.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_schedulefree_step(
    p: *mut f32, g: *const f32, n: usize, runs: *const f64, nruns: usize, z: *mut f32, exp_avg_sq: *mut f32, scalars_ptr: *mut f64,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, warmup_steps: f64, r: f64, weight_lr_power: f64,
    delta: *mut f32, out: *mut f64,
) {
    let (runs, out) = table(runs, nruns, n, out);
    let cfg = schedulefree::ScheduleFree {
        lr, beta1,
        beta2: (!exp_avg_sq.is_null()).then_some(beta2),
        eps, weight_decay,
        warmup_steps: warmup_steps as u64,
        r, weight_lr_power,
    };
    schedulefree::schedulefree_step(&cfg, scalars(scalars_ptr), &runs, sl_mut(p, n), sl(g, n), sl_mut(z, n), opt_mut(exp_avg_sq, n), opt_mut(delta, n), out);
}

/// The train/eval swap `p ← lerp(p, z, w)` over the runs (w = 1 − 1/β for eval, 1 − β for train).
///
/// # Safety
/// p, z: n floats; runs as in the module comment.
#[no_mangle]
pub unsafe extern "C" fn wcnn_schedulefree_swap(p: *mut f32, z: *const f32, n: usize, runs: *const f64, nruns: usize, w: f64) {
    let runs = parse_runs(sl(runs, nruns * RUN_FIELDS), n);
    schedulefree::schedulefree_swap(&runs, sl_mut(p, n), sl(z, n), w);
}
