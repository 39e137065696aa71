//! The normalisation, loss and gate kernels against PyTorch (test/golden/norm_act_loss.json, written by
//! test/golden/gen_norm_act_loss.py; torch computed in float64 from the same float32 inputs).
//!
//! Metric for tensors: max_i |got − want| / max(|want_i|, 1e-2·‖want‖∞) ≤ 1e-5 — relative, except that
//! elements below 1% of the tensor's largest magnitude (where cancellation leaves any float32 evaluation an
//! absolute error of a few ulps of that scale) are measured against 1% of it. Losses (f64 on both sides):
//! relative 1e-12. Running statistics: relative 1e-6 (float32 storage).

use serde_json::Value;
use wasmcnn_core::op::loss::bce::BceWithLogits;
use wasmcnn_core::op::loss::cross_entropy::{CrossEntropy, Target};
use wasmcnn_core::op::loss::regression::{Kind, Regression};
use wasmcnn_core::op::loss::Reduction;
use wasmcnn_core::op::merge::{Gate, Grad};
use wasmcnn_core::op::norm::batchnorm::{BatchNorm, BatchNormConfig, Running};
use wasmcnn_core::op::norm::groupnorm::GroupNorm;
use wasmcnn_core::op::norm::layernorm::LayerNorm;
use wasmcnn_core::op::norm::{Affine, AffineGrad, Stats, StatsOut};

mod common;
use common::{data, max_rel_err};

const TOL: f64 = 1e-5;

fn golden() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/golden/norm_act_loss.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// `scale·data(n, seed) + offset` in f32, as the generator draws inputs (or literal values).
fn input(v: &Value, n: usize) -> Vec<f32> {
    if v.is_array() {
        return floats(v);
    }
    let (scale, offset) = (v["scale"].as_f64().unwrap() as f32, v["offset"].as_f64().unwrap() as f32);
    data(n, v["seed"].as_u64().unwrap() as u32).iter().map(|d| d * scale + offset).collect()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

/// Checks `got` against torch's `want` with the module's metric; returns the error for the table.
fn check(what: &str, got: &[f32], want: &Value) -> f64 {
    let want = f64s(want);
    let (e, i) = max_rel_err(got, &want, 1e-2);
    assert!(e <= TOL, "{what}: max rel err {e:.2e} at {i}: {} vs torch {}", got[i], want[i]);
    e
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn the_generator_draws_the_same_inputs() {
    let g = golden();
    assert_eq!(data(4, 1), floats(&g["data"]["first"]));
}

#[test]
fn batchnorm_matches_torch() {
    let g = golden();
    for c in g["batchnorm"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (n, ch, inner) = (usize_of(&c["n"]), usize_of(&c["c"]), usize_of(&c["inner"]));
        let len = n * ch * inner;
        let (affine, track, training) = (c["affine"].as_bool().unwrap(), c["trackRunningStats"].as_bool().unwrap(), c["training"].as_bool().unwrap());
        let cfg = BatchNormConfig { momentum: c["momentum"].as_f64().map(|m| m as f32), affine, track_running_stats: track, relu: c["relu"].as_bool().unwrap(), ..Default::default() };
        let bn = BatchNorm::new(n, ch, inner, cfg).unwrap();
        let (x, dy) = (input(&c["x"], len), input(&c["dy"], len));
        let (w, b) = if affine { (input(&c["weight"], ch), input(&c["bias"], ch)) } else { (vec![], vec![]) };
        let p = if affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
        let (mut rm, mut rv) = if track { (input(&c["runningMean"], ch), input(&c["runningVar"], ch)) } else { (vec![], vec![]) };
        let mut t = 0i64;
        let (mut mean, mut rstd, mut y) = (vec![0.0; ch], vec![0.0; ch], vec![0.0; len]);
        let running = track.then(|| Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t });
        bn.forward(training, &x, p, running, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
        let ey = check(&format!("{name} y"), &y, &c["y"]);
        let (mut dx, mut dw, mut db) = (vec![0.0; len], vec![0.0; ch], vec![0.0; ch]);
        let grads = if affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
        bn.backward(training, &x, p, Stats { mean: &mean, rstd: &rstd }, &dy, Some(&mut dx), grads).unwrap();
        let edx = check(&format!("{name} dx"), &dx, &c["dx"]);
        let mut ep = 0.0f64;
        if affine {
            ep = check(&format!("{name} dweight"), &dw, &c["dweight"]).max(check(&format!("{name} dbias"), &db, &c["dbias"]));
        }
        if track {
            for (got, want) in [(&rm, &c["runningMeanAfter"]), (&rv, &c["runningVarAfter"])] {
                for (a, b) in got.iter().zip(f64s(want)) {
                    assert!(close(*a as f64, b, 1e-6), "{name} running stats: {a} vs torch {b}");
                }
            }
        }
        println!("{name}: y {ey:.1e}, dx {edx:.1e}, dweight/dbias {ep:.1e}");
    }
}

#[test]
fn batchnorm_running_statistics_after_20_steps_equal_torch() {
    let g = golden();
    for c in g["batchnormSteps20"].as_array().unwrap() {
        let (n, ch, inner) = (usize_of(&c["n"]), usize_of(&c["c"]), usize_of(&c["inner"]));
        let momentum = c["momentum"].as_f64().map(|m| m as f32);
        let bn = BatchNorm::new(n, ch, inner, BatchNormConfig { momentum, ..Default::default() }).unwrap();
        let (w, b) = (vec![1.0; ch], vec![0.0; ch]);
        let (mut rm, mut rv, mut t) = (vec![0.0f32; ch], vec![1.0f32; ch], 0i64);
        for batch in c["batches"].as_array().unwrap() {
            let x = input(batch, n * ch * inner);
            let (mut mean, mut rstd, mut y) = (vec![0.0; ch], vec![0.0; ch], vec![0.0; x.len()]);
            let running = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
            bn.forward(true, &x, Affine { weight: Some(&w), bias: Some(&b) }, Some(running), StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
        }
        assert_eq!(t, c["batchesTracked"].as_i64().unwrap());
        let mut worst = 0.0f64;
        for (got, want) in [(&rm, &c["runningMean"]), (&rv, &c["runningVar"])] {
            for (a, b) in got.iter().zip(f64s(want)) {
                let e = (*a as f64 - b).abs() / b.abs();
                assert!(e <= 1e-6, "momentum {momentum:?}: {a} vs torch {b}");
                worst = worst.max(e);
            }
        }
        println!("20 steps, momentum {momentum:?}: running stats max rel err {worst:.1e}");
    }
}

#[test]
fn batchnorm_sums_stay_accurate_over_50k_values_per_channel() {
    let g = golden();
    let c = &g["batchnormLarge"];
    let (n, ch, inner) = (usize_of(&c["n"]), usize_of(&c["c"]), usize_of(&c["inner"]));
    let len = n * ch * inner;
    let bn = BatchNorm::new(n, ch, inner, BatchNormConfig { momentum: Some(1.0), ..Default::default() }).unwrap();
    let (x, dy) = (input(&c["x"], len), input(&c["dy"], len));
    let (w, b) = (vec![1.0; ch], vec![0.0; ch]);
    let p = Affine { weight: Some(&w), bias: Some(&b) };
    let (mut rm, mut rv, mut t) = (vec![0.0f32; ch], vec![1.0f32; ch], 0i64);
    let (mut mean, mut rstd, mut y, mut dx) = (vec![0.0; ch], vec![0.0; ch], vec![0.0; len], vec![0.0; len]);
    bn.forward(true, &x, p, Some(Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t }), StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
    bn.backward(true, &x, p, Stats { mean: &mean, rstd: &rstd }, &dy, Some(&mut dx), AffineGrad::default()).unwrap();
    let idx: Vec<usize> = c["indices"].as_array().unwrap().iter().map(usize_of).collect();
    let pick = |v: &[f32]| idx.iter().map(|&i| v[i]).collect::<Vec<f32>>();
    let want = &c["f64"];
    let report = |what: &str, got: &[f32], v: &Value| -> f64 {
        let (e, _) = max_rel_err(got, &f64s(v), 1e-2);
        println!("  {what}: max rel err {e:.1e}");
        e
    };
    let x = &x;
    println!("batchnorm, {} values per channel, mean/std = 20:", n * inner);
    let torch32 = &c["torch_f32"];
    for (what, got) in [("mean", &rm), ("unbiased var", &rv)] {
        let key = if what == "mean" { "mean" } else { "unbiasedVar" };
        let e = report(&format!("{what} vs torch f64"), got, &want[key]);
        assert!(e <= 1e-6, "{what}");
        report(&format!("{what}: torch's own float32 run vs torch f64"), &floats(&torch32[key]), &want[key]);
    }
    // y: relative 1e-5 (floor 1% of the scale) plus one rounding of the input's magnitude carried through
    // the normalisation, 2⁻²⁴·|x|·rstd: the mean, ≈ 10 here, is held in f32 (as PyTorch's is) and so is
    // known to half an ulp of 10, which the subtraction passes on (torch's own float32 run has twice our
    // error). dx: plain metric.
    let (xs, rstd_max) = (pick(x), rstd.iter().fold(0.0f32, |a, &b| a.max(b)) as f64);
    for (what, got, key) in [("y", pick(&y), "y"), ("dx", pick(&dx), "dx")] {
        let w = f64s(&want[key]);
        let scale = w.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        let bound = |i: usize| TOL * w[i].abs().max(1e-2 * scale) + if key == "y" { 2f64.powi(-24) * xs[i].abs() as f64 * rstd_max } else { 0.0 };
        let worst = |v: &[f32]| (0..v.len()).map(|i| (v[i] as f64 - w[i]).abs() / bound(i)).fold(0.0, f64::max);
        let (ours, t32) = (worst(&got), worst(&floats(&torch32[key])));
        println!("  {what} vs torch f64: max err/bound {ours:.2} (torch's own float32 run: {t32:.2})");
        assert!(ours <= 1.0, "{what}: err/bound {ours}");
    }
}

#[test]
fn layernorm_and_groupnorm_match_torch() {
    let g = golden();
    for c in g["layernorm"].as_array().unwrap() {
        let shape: Vec<usize> = c["shape"].as_array().unwrap().iter().map(usize_of).collect();
        let normalized: Vec<usize> = c["normalized"].as_array().unwrap().iter().map(usize_of).collect();
        let affine = c["affine"].as_bool().unwrap();
        let ln = LayerNorm::new(&shape, &normalized, 1e-5, affine).unwrap();
        let (len, d, rows) = (ln.numel(), ln.row_len(), ln.rows());
        let (x, dy) = (input(&c["x"], len), input(&c["dy"], len));
        let (w, b) = if affine { (input(&c["weight"], d), input(&c["bias"], d)) } else { (vec![], vec![]) };
        let p = if affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
        let (mut mean, mut rstd, mut y) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; len]);
        ln.forward(&x, p, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
        let (mut dx, mut dw, mut db) = (vec![0.0; len], vec![0.0; d], vec![0.0; d]);
        let grads = if affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
        ln.backward(&x, p, Stats { mean: &mean, rstd: &rstd }, &dy, Some(&mut dx), grads).unwrap();
        let what = format!("layernorm {shape:?} over {normalized:?}");
        let (ey, edx) = (check(&format!("{what} y"), &y, &c["y"]), check(&format!("{what} dx"), &dx, &c["dx"]));
        let ep = if affine { check(&format!("{what} dweight"), &dw, &c["dweight"]).max(check(&format!("{what} dbias"), &db, &c["dbias"])) } else { 0.0 };
        println!("{what}: y {ey:.1e}, dx {edx:.1e}, dweight/dbias {ep:.1e}");
    }
    for c in g["groupnorm"].as_array().unwrap() {
        let (n, ch, inner, groups) = (usize_of(&c["n"]), usize_of(&c["c"]), usize_of(&c["inner"]), usize_of(&c["groups"]));
        let affine = c["affine"].as_bool().unwrap();
        let gn = GroupNorm::new(n, ch, inner, groups, 1e-5, affine).unwrap();
        let (len, rows) = (gn.numel(), gn.rows());
        let (x, dy) = (input(&c["x"], len), input(&c["dy"], len));
        let (w, b) = if affine { (input(&c["weight"], ch), input(&c["bias"], ch)) } else { (vec![], vec![]) };
        let p = if affine { Affine { weight: Some(&w), bias: Some(&b) } } else { Affine::default() };
        let (mut mean, mut rstd, mut y) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; len]);
        gn.forward(&x, p, StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
        let (mut dx, mut dw, mut db) = (vec![0.0; len], vec![0.0; ch], vec![0.0; ch]);
        let grads = if affine { AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false } } else { AffineGrad::default() };
        gn.backward(&x, p, Stats { mean: &mean, rstd: &rstd }, &dy, Some(&mut dx), grads).unwrap();
        let what = format!("groupnorm {n}×{ch}×{inner} groups {groups}");
        let (ey, edx) = (check(&format!("{what} y"), &y, &c["y"]), check(&format!("{what} dx"), &dx, &c["dx"]));
        let ep = if affine { check(&format!("{what} dweight"), &dw, &c["dweight"]).max(check(&format!("{what} dbias"), &db, &c["dbias"])) } else { 0.0 };
        println!("{what}: y {ey:.1e}, dx {edx:.1e}, dweight/dbias {ep:.1e}");
    }
}

fn reduction(v: &Value) -> Reduction {
    if v.as_str() == Some("sum") { Reduction::Sum } else { Reduction::Mean }
}

#[test]
fn losses_match_torch() {
    let g = golden();
    let l = &g["losses"];
    let ce = &l["crossEntropy"];
    let (n, c) = (usize_of(&ce["n"]), usize_of(&ce["c"]));
    let (z, probs, weight) = (input(&ce["logits"], n * c), floats(&ce["probabilities"]), input(&ce["weight"], c));
    let labels: Vec<i32> = ce["labels"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as i32).collect();
    let mut worst = (0.0f64, 0.0f64);
    for k in ce["cases"].as_array().unwrap() {
        let loss = CrossEntropy::new(n, c, reduction(&k["reduction"]), k["labelSmoothing"].as_f64().unwrap() as f32, -100).unwrap();
        let target = if k["target"] == "labels" { Target::Labels(&labels) } else { Target::Probabilities(&probs) };
        let w = k["weighted"].as_bool().unwrap().then_some(&weight[..]);
        let mut d = vec![0.0; n * c];
        let v = loss.forward_backward(&z, target, w, Some(&mut d)).unwrap();
        let want = k["loss"].as_f64().unwrap();
        assert!(close(v, want, 1e-12), "cross-entropy {k}: {v} vs torch {want}");
        worst = (worst.0.max((v - want).abs() / want), worst.1.max(check(&format!("cross-entropy {k} dlogits"), &d, &k["dlogits"])));
    }
    println!("cross-entropy ({} cases): loss max rel err {:.1e}, dlogits {:.1e}", ce["cases"].as_array().unwrap().len(), worst.0, worst.1);

    let b = &l["bce"];
    let (rows, cols) = (usize_of(&b["rows"]), usize_of(&b["cols"]));
    let (x, t, w, pw) = (input(&b["x"], rows * cols), floats(&b["target"]), input(&b["weight"], cols), input(&b["posWeight"], cols));
    let mut worst = (0.0f64, 0.0f64);
    for k in b["cases"].as_array().unwrap() {
        let weighted = k["weighted"].as_bool().unwrap();
        let mut d = vec![0.0; rows * cols];
        let v = BceWithLogits::new(rows, cols, reduction(&k["reduction"])).unwrap()
            .forward_backward(&x, &t, weighted.then_some(&w[..]), weighted.then_some(&pw[..]), Some(&mut d)).unwrap();
        let want = k["loss"].as_f64().unwrap();
        assert!(close(v, want, 1e-12), "bce {k}: {v} vs torch {want}");
        worst = (worst.0.max((v - want).abs() / want), worst.1.max(check(&format!("bce {k} dx"), &d, &k["dx"])));
    }
    println!("bce with logits ({} cases): loss max rel err {:.1e}, dx {:.1e}", b["cases"].as_array().unwrap().len(), worst.0, worst.1);

    let r = &l["regression"];
    let (x, t) = (floats(&r["x"]), floats(&r["target"]));
    for k in r["cases"].as_array().unwrap() {
        let kind = match k["kind"].as_str().unwrap() {
            "mse" => Kind::Mse,
            "l1" => Kind::L1,
            "huber" => Kind::Huber { delta: k["delta"].as_f64().unwrap() as f32 },
            _ => Kind::SmoothL1 { beta: k["beta"].as_f64().unwrap() as f32 },
        };
        let mut d = vec![0.0; x.len()];
        let v = Regression::new(x.len(), kind, reduction(&k["reduction"])).unwrap().forward_backward(&x, &t, Some(&mut d)).unwrap();
        let want = k["loss"].as_f64().unwrap();
        assert!(close(v, want, 1e-12), "{kind:?}: {v} vs torch {want}");
        let e = check(&format!("{kind:?} dx"), &d, &k["dx"]);
        println!("{kind:?} {}: loss rel err {:.1e}, dx {e:.1e}", k["reduction"], (v - want).abs() / want);
    }
}

#[test]
fn se_gate_matches_torch() {
    let g = golden();
    let c = &g["gate"];
    let (n, ch, inner) = (usize_of(&c["n"]), usize_of(&c["c"]), usize_of(&c["inner"]));
    let gate = Gate::new(n, ch, inner).unwrap();
    let (x, s, dy) = (input(&c["x"], gate.numel()), input(&c["s"], n * ch), input(&c["dy"], gate.numel()));
    let (mut dx, mut ds) = (vec![0.0; x.len()], vec![0.0; n * ch]);
    gate.backward(&x, &s, &dy, Some(Grad { dst: &mut dx, accumulate: false }), Some(Grad { dst: &mut ds, accumulate: false })).unwrap();
    let (edx, eds) = (check("gate dx", &dx, &c["dx"]), check("gate ds", &ds, &c["ds"]));
    println!("se gate: dx {edx:.1e}, ds {eds:.1e}");
}
