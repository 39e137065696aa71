//! Each step runs one of two copies of its loop (see `unswitch!` in optim/mod.rs): PyTorch's default path
//! with the new options folded to constants, and the general path. Both must give the same bits:
//! asking for the delta output changes nothing else, and maximizing g is minimizing −g.

use wasmcnn_core::optim::{adadelta, adagrad, adam, adamax, lookahead, rmsprop, sgd};

mod common;
use common::data;

const N: usize = 23;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Runs `step(maximize, grad, delta)` for 4 steps three ways (plain, plain with delta, maximize on −g) and
/// compares the parameters and every state slot the closure returns; checks delta = p_new − p_old.
fn same_on_both_paths(what: &str, mut run: impl FnMut(bool, bool) -> (Vec<Vec<f32>>, Vec<Vec<f32>>)) {
    let (plain, _) = run(false, false);
    let (with_delta, deltas) = run(false, true);
    let (maximized, _) = run(true, false);
    for k in 0..plain.len() {
        assert_eq!(bits(&plain[k]), bits(&with_delta[k]), "{what}: buffer {k} changes when delta is asked for");
        assert_eq!(bits(&plain[k]), bits(&maximized[k]), "{what}: buffer {k}: maximize(g) differs from minimize(−g)");
    }
    assert!(!deltas.is_empty());
}

/// The gradients of 4 steps; negated for the maximize run (so both runs descend the same way).
fn grads(maximize: bool) -> Vec<Vec<f32>> {
    (0..4).map(|t| data(N, 50 + t).into_iter().map(|g| if maximize { -g } else { g }).collect()).collect()
}

/// Calls `step(t, p, g, delta)` over 4 steps; returns (final p, per-step deltas) and checks each delta.
fn drive(maximize: bool, delta: bool, step: impl FnMut(u64, &mut [f32], &[f32], Option<&mut [f32]>)) -> (Vec<f32>, Vec<Vec<f32>>) {
    drive_checked(maximize, delta, true, step)
}

/// As `drive`; `check` false when the step changes p before the kernel that writes delta.
fn drive_checked(maximize: bool, delta: bool, check: bool, mut step: impl FnMut(u64, &mut [f32], &[f32], Option<&mut [f32]>)) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut p = data(N, 7);
    let mut deltas = Vec::new();
    for (t, g) in grads(maximize).iter().enumerate() {
        let before = p.clone();
        let mut d = vec![0.0f32; N];
        step(t as u64 + 1, &mut p, g, delta.then_some(&mut d[..]));
        if delta {
            for i in (0..N).filter(|_| check) {
                assert_eq!(d[i].to_bits(), (p[i] - before[i]).to_bits());
            }
            deltas.push(d);
        }
    }
    (p, deltas)
}

#[test]
fn adagrad_paths_agree() {
    for eps_mode in [Default::default(), wasmcnn_core::optim::EpsMode::Inside] {
        same_on_both_paths("adagrad", |maximize, delta| {
            let cfg = adagrad::Adagrad { lr: 0.1, lr_decay: 0.01, weight_decay: 0.1, eps_mode, maximize, ..Default::default() };
            let mut s = vec![0.1f32; N];
            let (p, d) = drive(maximize, delta, |t, p, g, dl| adagrad::adagrad_step(&cfg, t, p, g, &mut s, dl));
            (vec![p, s], d)
        });
    }
}

#[test]
fn rmsprop_paths_agree() {
    for (centered, momentum, lr_in_momentum) in [(false, 0.0, false), (true, 0.9, false), (true, 0.9, true)] {
        same_on_both_paths("rmsprop", |maximize, delta| {
            let cfg = rmsprop::RmsProp { weight_decay: 0.1, centered, momentum, lr_in_momentum, maximize, ..Default::default() };
            let (mut v, mut ga, mut mb) = (vec![0.0f32; N], vec![0.0f32; N], vec![0.0f32; N]);
            let (p, d) = drive(maximize, delta, |_, p, g, dl| {
                rmsprop::rmsprop_step(&cfg, p, g, &mut v, centered.then_some(&mut ga[..]), (momentum > 0.0).then_some(&mut mb[..]), dl)
            });
            (vec![p, v, ga, mb], d)
        });
    }
}

#[test]
fn adam_and_adamw_paths_agree() {
    for (amsgrad, decoupled_weight_decay) in [(false, false), (true, false), (false, true), (true, true)] {
        same_on_both_paths("adam", |maximize, delta| {
            let cfg = adam::Adam { lr: 0.01, weight_decay: 0.1, amsgrad, decoupled_weight_decay, maximize, ..Default::default() };
            let (mut m, mut v, mut vm) = (vec![0.0f32; N], vec![0.0f32; N], vec![0.0f32; N]);
            let (p, d) = drive(maximize, delta, |t, p, g, dl| adam::adam_step(&cfg, t, p, g, &mut m, &mut v, amsgrad.then_some(&mut vm[..]), dl));
            (vec![p, m, v, vm], d)
        });
    }
}

#[test]
fn sgd_adamax_adadelta_lookahead_paths_agree() {
    same_on_both_paths("sgd", |maximize, delta| {
        let cfg = sgd::Sgd { lr: 0.05, momentum: 0.9, dampening: 0.1, nesterov: false, weight_decay: 0.1, maximize };
        let mut mb = vec![0.0f32; N];
        let (p, d) = drive(maximize, delta, |t, p, g, dl| sgd::sgd_step(&cfg, t, p, g, Some(&mut mb), dl));
        (vec![p, mb], d)
    });
    same_on_both_paths("adamax", |maximize, delta| {
        let cfg = adamax::Adamax { weight_decay: 0.1, maximize, ..Default::default() };
        let (mut m, mut u) = (vec![0.0f32; N], vec![0.0f32; N]);
        let (p, d) = drive(maximize, delta, |t, p, g, dl| adamax::adamax_step(&cfg, t, p, g, &mut m, &mut u, dl));
        (vec![p, m, u], d)
    });
    same_on_both_paths("adadelta", |maximize, delta| {
        let cfg = adadelta::Adadelta { weight_decay: 0.1, maximize, ..Default::default() };
        let (mut v, mut a) = (vec![0.0f32; N], vec![0.0f32; N]);
        let (p, d) = drive(maximize, delta, |_, p, g, dl| adadelta::adadelta_step(&cfg, p, g, &mut v, &mut a, dl));
        (vec![p, v, a], d)
    });
    same_on_both_paths("lookahead", |maximize, delta| {
        // No maximize here: the "gradient" is added to the fast weights, so negate it back.
        let mut slow = data(N, 9);
        let (p, d) = drive_checked(maximize, delta, false, |_, p, g, dl| {
            for (x, y) in p.iter_mut().zip(g) {
                *x += if maximize { -y } else { *y };
            }
            lookahead::lookahead_sync(0.5, p, &mut slow, dl);
        });
        (vec![p, slow], d)
    });
}
