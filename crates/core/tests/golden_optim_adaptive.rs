//! The optimizers of issue 14 against their reference implementations' trajectories:
//! test/golden/optim_adaptive/*.json, written by test/golden/gen_optim_adaptive.py (torch 1.13 RAdam and
//! NAdam, torch-optimizer 0.3.0 AdaBelief, LAMB, LARS and SWATS, lion-pytorch 0.2.5, prodigyopt 1.1.2,
//! dadaptation 3.2, schedulefree 1.4.1). Gradients and initial parameters are generated (the xorshift
//! `noise` of test/helpers.ts), so the file holds only the checkpoints.
//! Tolerance: |ours − ref| ≤ 1e-5 · max(|ref|, |p₀|, 1e-2) per element, as test/optim-golden.test.ts;
//! SWATS switches at the reference's step in each group, carrying its rate within 1e-5.

use serde_json::Value;
use wasmcnn_core::optim::table::{Run, OUT_FIELDS};
use wasmcnn_core::optim::dadapt::{self, DAdapt};
use wasmcnn_core::optim::prodigy::{self, ProdigySlots};
use wasmcnn_core::optim::schedulefree::{self, ScheduleFree};
use wasmcnn_core::optim::swats::{self, SwatsSlots};
use wasmcnn_core::optim::{adabelief, lamb, lars, lion, nadam, radam};
use std::cell::RefCell;
use std::rc::Rc;

/// test/helpers.ts `noise`: xorshift32, (s / 2³²)·2 − 1 in f64, rounded to f32.
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = (seed.wrapping_mul(2654435761).wrapping_add(1) & 0xffff_ffff) as u32;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s as f64 / 4294967296.0) * 2.0 - 1.0) as f32
        })
        .collect()
}

/// The gradient of step t, times `scale` (a power of two: exact).
fn grad(n: usize, seed: u64, t: u64, scale: f32) -> Vec<f32> {
    noise(n, seed).iter().zip(noise(n, seed + t)).map(|(h, e)| (h * 0.5 + e) * scale).collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

struct Opts<'a>(&'a Value);

impl Opts<'_> {
    fn f(&self, k: &str) -> f64 {
        self.0[k].as_f64().unwrap_or_else(|| panic!("option {k}"))
    }
    fn b(&self, k: &str) -> bool {
        self.0[k].as_bool().unwrap_or_else(|| panic!("option {k}"))
    }
    /// growthRate, absent (JSON has no ∞) meaning ∞.
    fn growth(&self) -> f64 {
        self.0["growthRate"].as_f64().unwrap_or(f64::INFINITY)
    }
    fn dadapt(&self) -> DAdapt {
        DAdapt { lr: self.f("lr"), weight_decay: self.f("weightDecay"), d0: self.f("d0"), growth_rate: self.growth() }
    }
    fn betas(&self) -> (f64, f64) {
        let b = self.0["betas"].as_array().unwrap();
        (b[0].as_f64().unwrap(), b[1].as_f64().unwrap())
    }
}

/// One optimizer with its state: `step(t, p, g, out)`; `out` receives OUT_FIELDS values per run; returns
/// d after the step for the methods that estimate one.
type Stepper = Box<dyn FnMut(u64, &mut [f32], &[f32], &mut [f64]) -> Option<f64>>;

/// Schedule-Free's z (shared with the replay, which swaps to x and back at checkpoints) and β.
type Swap = Option<(Rc<RefCell<Vec<f32>>>, f64)>;

/// SWATS's scalar state (shared with the replay, which checks each group's switch).
type Phases = Option<Rc<RefCell<Vec<f64>>>>;

fn stepper(kind: &str, o: &Value, n: usize, runs: Vec<Run>, groups: Vec<usize>, swap: &mut Swap, phases: &mut Phases) -> Stepper {
    let o = Opts(o);
    let z = || vec![0.0f32; n];
    match kind {
        "radam" => {
            let (beta1, beta2) = o.betas();
            let cfg = radam::RAdam { lr: o.f("lr"), beta1, beta2, eps: o.f("eps"), weight_decay: o.f("weightDecay") };
            let (mut m, mut v) = (z(), z());
            Box::new(move |t, p, g, out| {
                radam::radam_step(&cfg, t, &runs, p, g, &mut m, &mut v, None, Some(out));
                None
            })
        }
        "nadam" => {
            let (beta1, beta2) = o.betas();
            let cfg = nadam::NAdam { lr: o.f("lr"), beta1, beta2, eps: o.f("eps"), weight_decay: o.f("weightDecay"), momentum_decay: o.f("momentumDecay") };
            let (mut m, mut v, mut mp) = (z(), z(), 1.0);
            Box::new(move |t, p, g, out| {
                nadam::nadam_step(&cfg, t, &mut mp, &runs, p, g, &mut m, &mut v, None, Some(out));
                None
            })
        }
        "adabelief" => {
            let (beta1, beta2) = o.betas();
            let cfg = adabelief::AdaBelief {
                lr: o.f("lr"),
                beta1,
                beta2,
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                amsgrad: o.b("amsgrad"),
                weight_decouple: o.b("weightDecouple"),
                fixed_decay: o.b("fixedDecay"),
                rectify: o.b("rectify"),
            };
            let (mut m, mut s, mut x) = (z(), z(), z());
            Box::new(move |t, p, g, out| {
                adabelief::adabelief_step(&cfg, t, &runs, p, g, &mut m, &mut s, cfg.amsgrad.then_some(&mut x[..]), None, Some(out));
                None
            })
        }
        "lion" => {
            let (beta1, beta2) = o.betas();
            let cfg = lion::Lion { lr: o.f("lr"), beta1, beta2, weight_decay: o.f("weightDecay"), decoupled_from: o.b("decoupledWeightDecay").then(|| o.f("lr")) };
            let mut m = z();
            Box::new(move |_, p, g, out| {
                lion::lion_step(&cfg, &runs, p, g, &mut m, None, Some(out));
                None
            })
        }
        "lamb" => {
            let (beta1, beta2) = o.betas();
            let cfg = lamb::Lamb {
                lr: o.f("lr"),
                beta1,
                beta2,
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                clamp_value: o.f("clampValue"),
                adam: o.b("adam"),
                debias: o.b("debias"),
            };
            let (mut m, mut v) = (z(), z());
            Box::new(move |t, p, g, out| {
                lamb::lamb_step(&cfg, t, &runs, p, g, &mut m, &mut v, None, Some(out));
                None
            })
        }
        "lars" => {
            let cfg = lars::Lars {
                lr: o.f("lr"),
                momentum: o.f("momentum"),
                dampening: o.f("dampening"),
                weight_decay: o.f("weightDecay"),
                nesterov: o.b("nesterov"),
                trust_coefficient: o.f("trustCoefficient"),
                eps: o.f("eps"),
            };
            let mut b = z();
            Box::new(move |t, p, g, out| {
                lars::lars_step(&cfg, t, &runs, p, g, (cfg.momentum != 0.0).then_some(&mut b[..]), None, Some(out));
                None
            })
        }
        "swats" => {
            let (beta1, beta2) = o.betas();
            let cfg = swats::Swats {
                lr: o.f("lr"),
                beta1,
                beta2,
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                amsgrad: o.b("amsgrad"),
                nesterov: o.b("nesterov"),
            };
            let ngroups = groups.iter().max().map_or(1, |g| g + 1);
            let sc = Rc::new(RefCell::new(vec![0.0; swats::scalars_len(runs.len(), ngroups)]));
            *phases = Some(sc.clone());
            let (mut m, mut v, mut vm, mut b) = (z(), z(), z(), z());
            Box::new(move |t, p, g, out| {
                let slots = SwatsSlots { exp_avg: &mut m, exp_avg_sq: &mut v, max_exp_avg_sq: cfg.amsgrad.then_some(&mut vm[..]), momentum_buffer: &mut b };
                swats::swats_step(&cfg, t, &mut sc.borrow_mut(), &runs, &groups, p, g, slots, None, Some(out));
                None
            })
        }
        "prodigy" => {
            let (beta1, beta2) = o.betas();
            let cfg = prodigy::Prodigy {
                lr: o.f("lr"),
                beta1,
                beta2,
                beta3: o.0["beta3"].as_f64(),
                eps: o.f("eps"),
                weight_decay: o.f("weightDecay"),
                decouple: o.b("decouple"),
                use_bias_correction: o.b("useBiasCorrection"),
                safeguard_warmup: o.b("safeguardWarmup"),
                d0: o.f("d0"),
                d_coef: o.f("dCoef"),
                growth_rate: o.growth(),
            };
            let (mut p0, mut s, mut m, mut v) = (z(), z(), z(), z());
            let mut sc = cfg.initial_scalars();
            Box::new(move |t, p, g, out| {
                let slots = ProdigySlots { p0: &mut p0, s: &mut s, exp_avg: (cfg.beta1 > 0.0).then_some(&mut m[..]), exp_avg_sq: &mut v };
                prodigy::prodigy_step(&cfg, t, &mut sc, &runs, p, g, slots, None, Some(out));
                Some(sc[0])
            })
        }
        "dadapt_adam" => {
            let (beta1, beta2) = o.betas();
            let cfg = dadapt::DAdaptAdam { base: o.dadapt(), beta1, beta2, eps: o.f("eps"), decouple: o.b("decouple"), use_bias_correction: o.b("useBiasCorrection") };
            let (mut s, mut m, mut v) = (z(), z(), z());
            let mut sc = [cfg.base.d0, 0.0, 0.0];
            Box::new(move |_, p, g, out| {
                dadapt::dadapt_adam_step(&cfg, &mut sc, &runs, p, g, &mut s, &mut m, &mut v, None, Some(out));
                Some(sc[0])
            })
        }
        "dadapt_sgd" => {
            let cfg = dadapt::DAdaptSgd { base: o.dadapt(), momentum: o.f("momentum") };
            let (mut s, mut x0) = (z(), z());
            let mut sc = [cfg.base.d0, 0.0, 0.0, 0.0];
            Box::new(move |t, p, g, out| {
                dadapt::dadapt_sgd_step(&cfg, t, &mut sc, &runs, p, g, &mut s, &mut x0, None, Some(out));
                Some(sc[0])
            })
        }
        "dadapt_adagrad" => {
            let cfg = dadapt::DAdaptAdagrad { base: o.dadapt(), momentum: o.f("momentum"), eps: o.f("eps") };
            let (mut al, mut s, mut x0) = (vec![1e-6f32; n], z(), z());
            let mut sc = [cfg.base.d0, 0.0, 0.0, 0.0, 0.0];
            Box::new(move |t, p, g, out| {
                dadapt::dadapt_adagrad_step(&cfg, t, &mut sc, &runs, p, g, &mut al, &mut s, &mut x0, None, Some(out));
                Some(sc[0])
            })
        }
        "schedulefree_adamw" | "schedulefree_sgd" => {
            let adamw = kind == "schedulefree_adamw";
            let (beta1, beta2) = if adamw { let (a, b) = o.betas(); (a, Some(b)) } else { (o.f("momentum"), None) };
            let cfg = ScheduleFree {
                lr: o.f("lr"),
                beta1,
                beta2,
                eps: if adamw { o.f("eps") } else { 0.0 },
                weight_decay: o.f("weightDecay"),
                warmup_steps: o.0["warmupSteps"].as_u64().unwrap(),
                r: o.f("r"),
                weight_lr_power: o.f("weightLrPower"),
            };
            let z = Rc::new(RefCell::new(z()));
            *swap = Some((z.clone(), beta1));
            let (mut v, mut sc) = (vec![0.0f32; n], ScheduleFree::initial_scalars());
            Box::new(move |_, p, g, out| {
                let mut z = z.borrow_mut();
                schedulefree::schedulefree_step(&cfg, &mut sc, &runs, p, g, &mut z, adamw.then_some(&mut v[..]), None, Some(out));
                None
            })
        }
        other => panic!("unknown optimizer {other}"),
    }
}

/// Each tensor's parameter group (SWATS), 0 when absent.
fn groups_of(c: &Value) -> Vec<usize> {
    c["tensors"].as_array().unwrap().iter().map(|t| t.get("group").map_or(0, |g| g.as_u64().unwrap() as usize)).collect()
}

/// The case's tensors as one run each (back to back from 0), excluded ones not adapted.
fn runs_of(c: &Value) -> Vec<Run> {
    let mut at = 0;
    c["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let len: usize = t["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).product();
            let r = Run { offset: at, len, lr_scale: 1.0, wd_scale: 1.0, adapt: !t.get("exclude").map_or(false, |e| e.as_bool().unwrap()) };
            at += len;
            r
        })
        .collect()
}

fn check(what: &str, got: &[f32], want: &[f32], floor: &[f32], rtol: f32, worst: &mut f32) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, ((g, w), f)) in got.iter().zip(want).zip(floor).enumerate() {
        let err = (g - w).abs() / w.abs().max(*f);
        assert!(err <= rtol, "{what} element {i}: {g} vs reference {w} (rel {err:e})");
        *worst = worst.max(err);
    }
}

/// Every case of test/golden/optim_adaptive/*.json, files in name order.
fn cases() -> Vec<Value> {
    let dir = format!("{}/../../test/golden/optim_adaptive", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            let golden: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            golden["cases"].as_array().unwrap().clone()
        })
        .collect()
}

/// SWATS: after step t every group is in the reference's phase, and one that switched at t carries its rate.
fn check_switches(name: &str, c: &Value, runs: usize, scalars: &[f64], t: u64, worst: &mut f32) {
    for (k, want) in c["switches"].as_array().unwrap().iter().enumerate() {
        let g = &scalars[runs * swats::RUN_SCALARS + k * swats::GROUP_SCALARS..][..swats::GROUP_SCALARS];
        let at = want.get("step").and_then(Value::as_u64);
        assert_eq!(g[0] != 0.0, at.is_some_and(|s| t >= s), "{name} group {k} after step {t}: phase {} (reference switches at {at:?})", g[0]);
        if at == Some(t) {
            let rate = want["rate"].as_f64().unwrap();
            let err = ((g[1] - rate) / rate).abs() as f32;
            assert!(err <= 1e-5 && g[2] == t as f64, "{name} group {k}: carried {} at step {} vs reference {rate} at {t}", g[1], g[2]);
            *worst = worst.max(err);
        }
    }
}

#[test]
fn adaptive_optimizers_follow_their_reference_trajectories() {
    let cases = cases();
    for c in &cases {
        let (name, kind) = (c["name"].as_str().unwrap(), c["optimizer"].as_str().unwrap());
        let (n, seed, steps) = (c["n"].as_u64().unwrap() as usize, c["seed"].as_u64().unwrap(), c["steps"].as_u64().unwrap());
        let scale = c.get("gradScale").and_then(Value::as_f64).unwrap_or(1.0) as f32;
        let runs = runs_of(c);
        // 1e-5 unless the case states a looser tolerance and its reason (a trajectory that is not float32-stable).
        let rtol = c.get("rtol").and_then(Value::as_f64).unwrap_or(1e-5) as f32;
        let p0 = noise(n, seed + 1000);
        let sample: Option<Vec<usize>> = c["sample"].as_array().map(|s| s.iter().map(|i| i.as_u64().unwrap() as usize).collect());
        let pick = |v: &[f32]| -> Vec<f32> { sample.as_ref().map_or_else(|| v.to_vec(), |s| s.iter().map(|&i| v[i]).collect()) };
        let floor: Vec<f32> = pick(&p0).iter().map(|v| v.abs().max(1e-2)).collect();
        let (mut swap, mut phases): (Swap, Phases) = (None, None);
        let mut step = stepper(kind, &c["options"], n, runs.clone(), groups_of(c), &mut swap, &mut phases);
        let mut p = p0.clone();
        let mut out = vec![0.0f64; runs.len() * OUT_FIELDS];
        let checkpoints: Vec<u64> = c["checkpoints"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let (mut worst, mut worst_d, mut worst_rate) = (0.0f32, 0.0f32, 0.0f32);
        let mut k = 0;
        for t in 1..=steps {
            let d = step(t, &mut p, &grad(n, seed, t, scale), &mut out);
            if let Some(sc) = &phases {
                check_switches(name, c, runs.len(), &sc.borrow(), t, &mut worst_rate);
            }
            if checkpoints.get(k) == Some(&t) {
                check(&format!("{name} step {t}"), &pick(&p), &floats(&c["params"][k]), &floor, rtol, &mut worst);
                if let (Some(want), Some((z, beta))) = (c.get("evalParams"), &swap) {
                    // optimizer.eval() (y → x), compared, then optimizer.train() back, as the reference did.
                    schedulefree::schedulefree_swap(&runs, &mut p, &z.borrow(), 1.0 - 1.0 / beta);
                    check(&format!("{name} eval weights step {t}"), &pick(&p), &floats(&want[k]), &floor, rtol, &mut worst);
                    schedulefree::schedulefree_swap(&runs, &mut p, &z.borrow(), 1.0 - beta);
                }
                if let Some(want) = c.get("d") {
                    let (ours, want) = (d.unwrap(), want[k].as_f64().unwrap());
                    let err = ((ours - want) / want).abs() as f32;
                    assert!(err <= 1e-5, "{name} d at step {t}: {ours} vs reference {want} (rel {err:e})");
                    worst_d = worst_d.max(err);
                }
                if let Some(trust) = c.get("trust") {
                    // The per-tensor trust ratios our telemetry reports, against the reference's state.
                    let ours: Vec<f32> = out.chunks(OUT_FIELDS).map(|o| o[1] as f32).collect();
                    check(&format!("{name} trust ratios step {t}"), &ours, &floats(&trust[k]), &vec![0.0; ours.len()], rtol, &mut worst);
                }
                k += 1;
            }
        }
        assert_eq!(k, checkpoints.len());
        let dnote = if c.get("d").is_some() { format!(", d {worst_d:e}") } else { String::new() };
        let snote = c.get("switches").map_or(String::new(), |s| format!(", switches {s} (carried rate {worst_rate:e})"));
        println!("{name} ({}, {steps} steps, n {n}): max relative error {worst:e}{dnote}{snote}", c["reference"].as_str().unwrap());
    }
    assert!(cases.len() >= 50);
}
