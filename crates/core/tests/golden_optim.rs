//! The fused optimizer steps against torch.optim trajectories (test/golden/optim.json, shared with vitest).
//! Tolerance: |ours − torch| ≤ 1e-5 · max(|torch|, |p₀|, 1e-2) per element (see test/optim-golden.test.ts).

use serde_json::Value;
use wasmcnn_core::optim::{adagrad, adam, rmsprop};

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn optimizers_follow_pytorch_trajectories() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/golden/optim.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let o = &c["options"];
        let f = |k: &str| o[k].as_f64().unwrap();
        let b = |k: &str| o[k].as_bool().unwrap();
        let n = c["n"].as_u64().unwrap() as usize;
        let p0 = floats(&c["params0"]);
        let mut p = p0.clone();
        let (mut s1, mut s2, mut s3) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let kind = c["optimizer"].as_str().unwrap();
        if kind == "adagrad" {
            s1.fill(f("initialAccumulatorValue") as f32);
        }
        let mut worst = 0.0f32;
        for (t, (g, want)) in c["grads"].as_array().unwrap().iter().zip(c["params"].as_array().unwrap()).enumerate() {
            let g = floats(g);
            let step = t as u64 + 1;
            match kind {
                "adagrad" => {
                    let cfg = adagrad::Adagrad { lr: f("lr"), lr_decay: f("lrDecay"), weight_decay: f("weightDecay"), eps: f("eps") };
                    adagrad::adagrad_step(&cfg, step, &mut p, &g, &mut s1);
                }
                "rmsprop" => {
                    let cfg = rmsprop::RmsProp { lr: f("lr"), alpha: f("alpha"), eps: f("eps"), weight_decay: f("weightDecay"), momentum: f("momentum") };
                    let ga = b("centered").then_some(&mut s2[..]);
                    let mb = (cfg.momentum > 0.0).then_some(&mut s3[..]);
                    rmsprop::rmsprop_step(&cfg, &mut p, &g, &mut s1, ga, mb);
                }
                "adam" => {
                    let betas = o["betas"].as_array().unwrap();
                    let cfg = adam::Adam {
                        lr: f("lr"),
                        beta1: betas[0].as_f64().unwrap(),
                        beta2: betas[1].as_f64().unwrap(),
                        eps: f("eps"),
                        weight_decay: f("weightDecay"),
                    };
                    let vmax = b("amsgrad").then_some(&mut s3[..]);
                    adam::adam_step(&cfg, step, &mut p, &g, &mut s1, &mut s2, vmax);
                }
                other => panic!("unknown optimizer {other}"),
            }
            for (i, (got, want)) in p.iter().zip(floats(want)).enumerate() {
                let scale = want.abs().max(p0[i].abs()).max(1e-2);
                let err = (got - want).abs() / scale;
                assert!(err <= 1e-5, "{name} step {step} element {i}: {got} vs torch {want} (rel {err:e})");
                worst = worst.max(err);
            }
        }
        println!("{name}: max relative error {worst:e}");
    }
}
