//! The fused optimizer steps against reference trajectories, shared with vitest:
//! test/golden/optim.json (torch.optim: Adagrad, RMSprop, Adam) and test/golden/optim_extra.json (torch.optim
//! for every option of those and AdamW, SGD, Adamax, Adadelta; an f64 numpy reference for the Keras
//! ε-inside modes, Adafactor and Lookahead). Both written by test/golden/generate.py.
//! Tolerance: |ours − ref| ≤ 1e-5 · max(|ref|, |p₀|, 1e-2) per element (see test/optim-golden.test.ts).

use serde_json::Value;
use wasmcnn_core::optim::adafactor::{self, SecondMoment};
use wasmcnn_core::optim::{adadelta, adagrad, adam, adamax, lookahead, rmsprop, sgd, EpsMode};

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

/// One optimizer with its state: `step(t, p, g)`.
type Stepper = Box<dyn FnMut(u64, &mut [f32], &[f32])>;

/// Options as the JSON gives them; keys added after optim.json was written default when absent there.
struct Opts<'a>(&'a Value);

impl Opts<'_> {
    fn f(&self, k: &str) -> f64 {
        self.0[k].as_f64().unwrap_or_else(|| panic!("option {k}"))
    }
    fn b(&self, k: &str) -> bool {
        self.0.get(k).map_or(false, |v| v.as_bool().unwrap())
    }
    fn betas(&self) -> (f64, f64) {
        let b = self.0["betas"].as_array().unwrap();
        (b[0].as_f64().unwrap(), b[1].as_f64().unwrap())
    }
    fn eps_mode(&self) -> EpsMode {
        match self.0.get("epsMode").and_then(Value::as_str) {
            None | Some("outside") => EpsMode::Outside,
            Some("inside") => EpsMode::Inside,
            Some(other) => panic!("epsMode {other}"),
        }
    }
}

fn stepper(kind: &str, o: &Value, n: usize, shape: Option<(usize, usize)>, p0: &[f32]) -> Stepper {
    let o = Opts(o);
    let z = || vec![0.0f32; n];
    match kind {
        "adagrad" => {
            let cfg = adagrad::Adagrad {
                lr: o.f("lr"),
                lr_decay: o.f("lrDecay"),
                weight_decay: o.f("weightDecay"),
                eps: o.f("eps"),
                eps_mode: o.eps_mode(),
                maximize: o.b("maximize"),
            };
            let mut sum = vec![o.f("initialAccumulatorValue") as f32; n];
            Box::new(move |t, p, g| adagrad::adagrad_step(&cfg, t, p, g, &mut sum, None))
        }
        "rmsprop" => {
            let cfg = rmsprop::RmsProp {
                lr: o.f("lr"),
                alpha: o.f("alpha"),
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                momentum: o.f("momentum"),
                centered: o.b("centered"),
                eps_mode: o.eps_mode(),
                lr_in_momentum: o.b("lrInMomentum"),
                maximize: o.b("maximize"),
            };
            let (mut v, mut ga, mut mb) = (z(), z(), z());
            Box::new(move |_, p, g| {
                let ga = cfg.centered.then_some(&mut ga[..]);
                let mb = (cfg.momentum > 0.0).then_some(&mut mb[..]);
                rmsprop::rmsprop_step(&cfg, p, g, &mut v, ga, mb, None)
            })
        }
        "adam" | "adamw" => {
            let (beta1, beta2) = o.betas();
            let cfg = adam::Adam {
                lr: o.f("lr"),
                beta1,
                beta2,
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                amsgrad: o.b("amsgrad"),
                decoupled_weight_decay: kind == "adamw",
                eps_mode: o.eps_mode(),
                maximize: o.b("maximize"),
            };
            let (mut m, mut v, mut vm) = (z(), z(), z());
            Box::new(move |t, p, g| adam::adam_step(&cfg, t, p, g, &mut m, &mut v, cfg.amsgrad.then_some(&mut vm[..]), None))
        }
        "sgd" => {
            let cfg = sgd::Sgd {
                lr: o.f("lr"),
                momentum: o.f("momentum"),
                dampening: o.f("dampening"),
                nesterov: o.b("nesterov"),
                weight_decay: o.f("weightDecay"),
                maximize: o.b("maximize"),
            };
            let mut mb = z();
            Box::new(move |t, p, g| sgd::sgd_step(&cfg, t, p, g, (cfg.momentum != 0.0).then_some(&mut mb[..]), None))
        }
        "adamax" => {
            let (beta1, beta2) = o.betas();
            let cfg = adamax::Adamax { lr: o.f("lr"), beta1, beta2, eps: o.f("eps"), weight_decay: o.f("weightDecay"), maximize: o.b("maximize") };
            let (mut m, mut u) = (z(), z());
            Box::new(move |t, p, g| adamax::adamax_step(&cfg, t, p, g, &mut m, &mut u, None))
        }
        "adadelta" => {
            let cfg = adadelta::Adadelta { lr: o.f("lr"), rho: o.f("rho"), eps: o.f("eps"), weight_decay: o.f("weightDecay"), maximize: o.b("maximize") };
            let (mut v, mut a) = (z(), z());
            Box::new(move |_, p, g| adadelta::adadelta_step(&cfg, p, g, &mut v, &mut a, None))
        }
        "adafactor" => {
            let eps = o.0["eps"].as_array().unwrap();
            let cfg = adafactor::Adafactor {
                lr: o.0["lr"].as_f64().unwrap_or(0.0),
                eps1: eps[0].as_f64().unwrap(),
                eps2: eps[1].as_f64().unwrap(),
                clip_threshold: o.f("clipThreshold"),
                decay_rate: o.f("decayRate"),
                beta1: o.0["beta1"].as_f64(),
                weight_decay: o.f("weightDecay"),
                scale_parameter: o.b("scaleParameter"),
                relative_step: o.b("relativeStep"),
                warmup_init: o.b("warmupInit"),
                maximize: o.b("maximize"),
            };
            let (rows, cols) = shape.unwrap_or((0, 0));
            let (mut r, mut c, mut v, mut m) = (vec![0.0f32; rows], vec![0.0f32; cols], z(), z());
            Box::new(move |t, p, g| {
                let second = match shape {
                    Some(_) => SecondMoment::Factored { rows, cols, row: &mut r, col: &mut c },
                    None => SecondMoment::Full(&mut v),
                };
                adafactor::adafactor_step(&cfg, t, p, g, second, cfg.beta1.is_some().then_some(&mut m[..]), None);
            })
        }
        "lookahead" => {
            let mut inner = stepper(o.0["inner"].as_str().unwrap(), &o.0["innerOptions"], n, None, p0);
            let (k, alpha) = (o.0["k"].as_u64().unwrap(), o.f("alpha"));
            let mut slow = p0.to_vec();
            Box::new(move |t, p, g| {
                inner(t, p, g);
                if t % k == 0 {
                    lookahead::lookahead_sync(alpha, p, &mut slow, None);
                }
            })
        }
        other => panic!("unknown optimizer {other}"),
    }
}

/// Replays every case of `file`; returns the number of cases.
fn replay(file: &str) -> usize {
    let path = format!("{}/../../test/golden/{file}", env!("CARGO_MANIFEST_DIR"));
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let kind = c["optimizer"].as_str().unwrap();
        let n = c["n"].as_u64().unwrap() as usize;
        let shape = c.get("shape").and_then(Value::as_array).map(|s| (s[0].as_u64().unwrap() as usize, s[1].as_u64().unwrap() as usize));
        let p0 = floats(&c["params0"]);
        let mut p = p0.clone();
        let mut step = stepper(kind, &c["options"], n, shape, &p0);
        let (grads, params) = (c["grads"].as_array().unwrap(), c["params"].as_array().unwrap());
        assert_eq!(grads.len(), c["steps"].as_u64().unwrap() as usize);
        let mut worst = 0.0f32;
        for (t, (g, want)) in grads.iter().zip(params).enumerate() {
            let t = t as u64 + 1;
            step(t, &mut p, &floats(g));
            for (i, (got, want)) in p.iter().zip(floats(want)).enumerate() {
                let scale = want.abs().max(p0[i].abs()).max(1e-2);
                let err = (got - want).abs() / scale;
                assert!(err <= 1e-5, "{file} {name} step {t} element {i}: {got} vs reference {want} (rel {err:e})");
                worst = worst.max(err);
            }
        }
        let reference = c.get("reference").and_then(Value::as_str).unwrap_or("torch");
        println!("{file} {name} ({reference}, {} steps, n {n}): max relative error {worst:e}", grads.len());
    }
    cases.len()
}

#[test]
fn optimizers_follow_pytorch_trajectories() {
    assert!(replay("optim.json") >= 10);
}

#[test]
fn every_option_follows_its_reference_trajectory() {
    assert!(replay("optim_extra.json") >= 30);
}
