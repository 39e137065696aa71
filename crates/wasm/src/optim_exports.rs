//! Optimizer, gradient-helper and telemetry exports. Conventions as in `exports`: raw pointers into linear
//! memory plus `n`, hyper-parameters as f64 (JS numbers), flags as i32 (0 = false), and a null pointer for
//! an absent optional buffer. Flags and the `delta` pointer come last, so a caller that omits them (JS
//! passes 0 for a missing i32 argument) gets PyTorch's behaviour and no telemetry.
//!
//! `delta`, when not null, receives `p_new − p_old` for every element (n floats).

use crate::exports::{opt, opt_mut, sl, sl_mut};
use wasmcnn_core::optim::adafactor::{self, SecondMoment};
use wasmcnn_core::optim::{adadelta, adagrad, adam, adamax, grad, lookahead, rmsprop, sgd, stats, EpsMode};

/// # Safety
/// p, g, sum: n floats each; delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adagrad_step(
    p: *mut f32, g: *const f32, sum: *mut f32, n: usize,
    lr: f64, lr_decay: f64, weight_decay: f64, eps: f64, step: f64,
    maximize: i32, eps_inside: i32, delta: *mut f32,
) {
    let cfg = adagrad::Adagrad { lr, lr_decay, weight_decay, eps, eps_mode: EpsMode::from_flag(eps_inside), maximize: maximize != 0 };
    adagrad::adagrad_step(&cfg, step as u64, sl_mut(p, n), sl(g, n), sl_mut(sum, n), opt_mut(delta, n));
}

/// Centered when `grad_avg` is not null; `momentum_buf` must be given exactly when momentum > 0.
///
/// # Safety
/// p, g, square_avg: n floats; grad_avg, momentum_buf, delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_rmsprop_step(
    p: *mut f32, g: *const f32, square_avg: *mut f32, grad_avg: *mut f32, momentum_buf: *mut f32, n: usize,
    lr: f64, alpha: f64, eps: f64, weight_decay: f64, momentum: f64,
    maximize: i32, eps_inside: i32, lr_in_momentum: i32, delta: *mut f32,
) {
    let cfg = rmsprop::RmsProp {
        lr,
        alpha,
        eps,
        weight_decay,
        momentum,
        centered: !grad_avg.is_null(),
        eps_mode: EpsMode::from_flag(eps_inside),
        lr_in_momentum: lr_in_momentum != 0,
        maximize: maximize != 0,
    };
    rmsprop::rmsprop_step(&cfg, sl_mut(p, n), sl(g, n), sl_mut(square_avg, n), opt_mut(grad_avg, n), opt_mut(momentum_buf, n), opt_mut(delta, n));
}

#[allow(clippy::too_many_arguments)]
unsafe fn adam_like(
    decoupled: bool, p: *mut f32, g: *const f32, exp_avg: *mut f32, exp_avg_sq: *mut f32, max_exp_avg_sq: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64, maximize: i32, eps_inside: i32, delta: *mut f32,
) {
    let cfg = adam::Adam {
        lr,
        beta1,
        beta2,
        eps,
        weight_decay,
        amsgrad: !max_exp_avg_sq.is_null(),
        decoupled_weight_decay: decoupled,
        eps_mode: EpsMode::from_flag(eps_inside),
        maximize: maximize != 0,
    };
    adam::adam_step(
        &cfg, step as u64, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_avg_sq, n),
        opt_mut(max_exp_avg_sq, n), opt_mut(delta, n),
    );
}

/// Adam with coupled L2 weight decay; AMSGrad when `max_exp_avg_sq` is not null.
///
/// # Safety
/// p, g, exp_avg, exp_avg_sq: n floats; max_exp_avg_sq, delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adam_step(
    p: *mut f32, g: *const f32, exp_avg: *mut f32, exp_avg_sq: *mut f32, max_exp_avg_sq: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64,
    maximize: i32, eps_inside: i32, delta: *mut f32,
) {
    adam_like(false, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay, step, maximize, eps_inside, delta);
}

/// AdamW: decoupled weight decay `p ← p·(1 − lr·wd)` first; otherwise as `wcnn_adam_step`.
///
/// # Safety
/// As `wcnn_adam_step`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adamw_step(
    p: *mut f32, g: *const f32, exp_avg: *mut f32, exp_avg_sq: *mut f32, max_exp_avg_sq: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64,
    maximize: i32, eps_inside: i32, delta: *mut f32,
) {
    adam_like(true, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay, step, maximize, eps_inside, delta);
}

/// SGD; `momentum_buf` must be given exactly when momentum > 0 (step 1 fills it with the gradient).
///
/// # Safety
/// p, g: n floats; momentum_buf, delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_sgd_step(
    p: *mut f32, g: *const f32, momentum_buf: *mut f32, n: usize,
    lr: f64, momentum: f64, dampening: f64, weight_decay: f64, step: f64,
    nesterov: i32, maximize: i32, delta: *mut f32,
) {
    let cfg = sgd::Sgd { lr, momentum, dampening, nesterov: nesterov != 0, weight_decay, maximize: maximize != 0 };
    sgd::sgd_step(&cfg, step as u64, sl_mut(p, n), sl(g, n), opt_mut(momentum_buf, n), opt_mut(delta, n));
}

/// # Safety
/// p, g, exp_avg, exp_inf: n floats; delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adamax_step(
    p: *mut f32, g: *const f32, exp_avg: *mut f32, exp_inf: *mut f32, n: usize,
    lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64, step: f64,
    maximize: i32, delta: *mut f32,
) {
    let cfg = adamax::Adamax { lr, beta1, beta2, eps, weight_decay, maximize: maximize != 0 };
    adamax::adamax_step(&cfg, step as u64, sl_mut(p, n), sl(g, n), sl_mut(exp_avg, n), sl_mut(exp_inf, n), opt_mut(delta, n));
}

/// # Safety
/// p, g, square_avg, acc_delta: n floats; delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adadelta_step(
    p: *mut f32, g: *const f32, square_avg: *mut f32, acc_delta: *mut f32, n: usize,
    lr: f64, rho: f64, eps: f64, weight_decay: f64,
    maximize: i32, delta: *mut f32,
) {
    let cfg = adadelta::Adadelta { lr, rho, eps, weight_decay, maximize: maximize != 0 };
    adadelta::adadelta_step(&cfg, sl_mut(p, n), sl(g, n), sl_mut(square_avg, n), sl_mut(acc_delta, n), opt_mut(delta, n));
}

/// Adafactor; returns the step size lrₜ it used. Factored (rows × cols = n) when `exp_avg_sq_row` is not
/// null (then `exp_avg_sq_col` holds cols floats and `exp_avg_sq` is ignored), else the full `exp_avg_sq`
/// (n floats). First moment with `beta1` when `exp_avg` is not null. `lr` is used only when
/// `relative_step` is 0.
///
/// # Safety
/// p, g: n floats; exp_avg_sq_row: rows or null; exp_avg_sq_col: cols (when factored);
/// exp_avg_sq: n (when not factored); exp_avg, delta: n or null.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn wcnn_adafactor_step(
    p: *mut f32, g: *const f32, exp_avg_sq_row: *mut f32, exp_avg_sq_col: *mut f32, exp_avg_sq: *mut f32, exp_avg: *mut f32,
    n: usize, rows: usize, cols: usize,
    lr: f64, eps1: f64, eps2: f64, clip_threshold: f64, decay_rate: f64, beta1: f64, weight_decay: f64, step: f64,
    relative_step: i32, scale_parameter: i32, warmup_init: i32, maximize: i32, delta: *mut f32,
) -> f64 {
    let cfg = adafactor::Adafactor {
        lr,
        eps1,
        eps2,
        clip_threshold,
        decay_rate,
        beta1: (!exp_avg.is_null()).then_some(beta1),
        weight_decay,
        scale_parameter: scale_parameter != 0,
        relative_step: relative_step != 0,
        warmup_init: warmup_init != 0,
        maximize: maximize != 0,
    };
    let second = if exp_avg_sq_row.is_null() {
        SecondMoment::Full(sl_mut(exp_avg_sq, n))
    } else {
        SecondMoment::Factored { rows, cols, row: sl_mut(exp_avg_sq_row, rows), col: sl_mut(exp_avg_sq_col, cols) }
    };
    adafactor::adafactor_step(&cfg, step as u64, sl_mut(p, n), sl(g, n), second, opt_mut(exp_avg, n), opt_mut(delta, n))
}

/// Lookahead's synchronisation: `slow ← slow + α·(fast − slow); fast ← slow`.
///
/// # Safety
/// fast, slow: n floats; delta: n or null (receives fast_new − fast_old).
#[no_mangle]
pub unsafe extern "C" fn wcnn_lookahead_sync(fast: *mut f32, slow: *mut f32, n: usize, alpha: f64, delta: *mut f32) {
    lookahead::lookahead_sync(alpha, sl_mut(fast, n), sl_mut(slow, n), opt_mut(delta, n));
}

/// Writes 6 f64s to `out`: Σg², Σp², Σδ², min|δ|, max|δ|, Σ|δ| over the n elements of whichever of g, p,
/// delta are not null (absent ones give 0; min|δ| is +∞ without δ or elements). Fixed-order f64 sums.
///
/// # Safety
/// g, p, delta: n floats or null; out: 6 f64s (8-byte aligned).
#[no_mangle]
pub unsafe extern "C" fn wcnn_range_stats(g: *const f32, p: *const f32, delta: *const f32, n: usize, out: *mut f64) {
    let s = stats::range_stats(n, opt(g, n), opt(p, n), opt(delta, n));
    sl_mut(out, 6).copy_from_slice(&s.to_array());
}

/// Σx² in f64, fixed order (the same bits on any number of threads).
///
/// # Safety
/// x: n floats.
#[no_mangle]
pub unsafe extern "C" fn wcnn_sum_squares(x: *const f32, n: usize) -> f64 {
    grad::sum_squares(sl(x, n))
}

/// `x ← s·x` (s rounded to f32).
///
/// # Safety
/// x: n floats.
#[no_mangle]
pub unsafe extern "C" fn wcnn_scale(x: *mut f32, n: usize, s: f64) {
    grad::scale(sl_mut(x, n), s as f32);
}

/// `x ← min(max(x, lo), hi)` (bounds rounded to f32; lo ≤ hi).
///
/// # Safety
/// x: n floats.
#[no_mangle]
pub unsafe extern "C" fn wcnn_clamp(x: *mut f32, n: usize, lo: f64, hi: f64) {
    grad::clamp(sl_mut(x, n), lo as f32, hi as f32);
}

/// `acc ← acc + x` (gradient accumulation).
///
/// # Safety
/// acc, x: n floats, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn wcnn_add_into(acc: *mut f32, x: *const f32, n: usize) {
    grad::add_into(sl_mut(acc, n), sl(x, n));
}
