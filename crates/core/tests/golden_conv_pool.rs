//! Issue 13's convolution and pooling vocabulary against PyTorch (test/golden/conv_pool.json, written by
//! test/golden/gen_conv_pool.py: torch in float64 on float32 inputs, outputs rounded to float32): grouped,
//! depthwise and transposed convolutions, average, max (ceil mode) and adaptive pooling, the forward output
//! and every input's gradient.
//!
//! Metric, per tensor: `max_i |got_i - ref_i| / max(‖ref‖_∞, 1e-2) ≤ 1e-5` (an error relative to the
//! tensor's scale, so elements near zero are not held to a relative bound they cannot meet in float32).
//! `cargo test --release --test golden_conv_pool -- --nocapture` prints every case's errors.

use serde_json::Value;
use wasmcnn_core::op::adaptive_pool::AdaptivePool2d;
use wasmcnn_core::op::avgpool::AvgPool2d;
use wasmcnn_core::op::conv2d::Conv2d;
use wasmcnn_core::op::conv_transpose2d::ConvTranspose2d;
use wasmcnn_core::op::depthwise::Depthwise2d;
use wasmcnn_core::op::geom::Window;
use wasmcnn_core::op::pool;

mod common;
use common::data;

const TOL: f64 = 1e-5;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn pair(v: &Value) -> (usize, usize) {
    let a = v.as_array().unwrap();
    (a[0].as_u64().unwrap() as usize, a[1].as_u64().unwrap() as usize)
}

fn int(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

/// `max |got - want| / max(‖want‖_∞, 1e-2)`.
fn scaled_error(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "length");
    let scale = want.iter().fold(1e-2f64, |m, &v| m.max(v.abs() as f64));
    got.iter().zip(want).map(|(&a, &b)| (a as f64 - b as f64).abs()).fold(0.0, f64::max) / scale
}

/// Runs one case: returns (tensor name, computed) for y and each gradient.
fn run(case: &Value, input: &dyn Fn(&str) -> Vec<f32>) -> Vec<(&'static str, Vec<f32>)> {
    let a = &case["attrs"];
    let dy = input("dy");
    match case["op"].as_str().unwrap() {
        op @ ("conv2d" | "depthwise2d") => {
            let p: Vec<usize> = a["pad"].as_array().unwrap().iter().map(int).collect();
            let (n, c, o, groups) = (int(&a["n"]), int(&a["c"]), int(&a["o"]), int(&a["groups"]));
            let win = Window::conv(n, c, pair(&a["hw"]), pair(&a["k"]), pair(&a["stride"]), (p[0], p[1], p[2], p[3]), pair(&a["dilation"])).unwrap();
            let (x, w, b) = (input("x"), input("w"), input("b"));
            let (mut y, mut dx, mut dw, mut db) = (vec![0.0; dy.len()], vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
            if op == "conv2d" {
                let conv = Conv2d::new(win, o, groups).unwrap();
                conv.forward(&x, &w, Some(&b), false, &mut y).unwrap();
                conv.backward(&x, &w, None, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            } else {
                assert_eq!(groups, c);
                let dwc = Depthwise2d::new(win, o / c).unwrap();
                dwc.forward(&x, &w, Some(&b), &mut y).unwrap();
                dwc.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            }
            vec![("y", y), ("dx", dx), ("dw", dw), ("db", db)]
        }
        "conv_transpose2d" => {
            let t = ConvTranspose2d::torch(int(&a["n"]), int(&a["cin"]), pair(&a["hw"]), int(&a["cout"]), pair(&a["k"]), pair(&a["stride"]), pair(&a["padding"]), pair(&a["outputPadding"]), pair(&a["dilation"]), int(&a["groups"])).unwrap();
            let (x, w, b) = (input("x"), input("w"), input("b"));
            let (mut y, mut dx, mut dw, mut db) = (vec![0.0; dy.len()], vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()]);
            t.forward(&x, &w, Some(&b), &mut y).unwrap();
            t.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            vec![("y", y), ("dx", dx), ("dw", dw), ("db", db)]
        }
        "avg_pool2d" => {
            let divisor = a["divisorOverride"].as_u64().map(|d| d as usize);
            let p = AvgPool2d::new(int(&a["n"]), int(&a["c"]), pair(&a["hw"]), pair(&a["k"]), pair(&a["stride"]), pair(&a["padding"]), a["ceilMode"].as_bool().unwrap(), a["countIncludePad"].as_bool().unwrap(), divisor).unwrap();
            let x = input("x");
            let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
            p.forward(&x, &mut y).unwrap();
            p.backward(&dy, &mut dx).unwrap();
            vec![("y", y), ("dx", dx)]
        }
        "max_pool2d" => {
            let g = Window::pool(int(&a["n"]), int(&a["c"]), pair(&a["hw"]), pair(&a["k"]), pair(&a["stride"]), pair(&a["padding"]), pair(&a["dilation"]), a["ceilMode"].as_bool().unwrap()).unwrap();
            let x = input("x");
            let (mut y, mut am, mut dx) = (vec![0.0; dy.len()], vec![0u32; dy.len()], vec![0.0; x.len()]);
            pool::maxpool2d_forward(&g, &x, &mut y, &mut am).unwrap();
            pool::maxpool2d_backward(&g, &dy, &am, &mut dx).unwrap();
            vec![("y", y), ("dx", dx)]
        }
        op @ ("adaptive_avg_pool2d" | "adaptive_max_pool2d") => {
            let p = AdaptivePool2d::new(int(&a["n"]), int(&a["c"]), pair(&a["hw"]), pair(&a["out"])).unwrap();
            let x = input("x");
            let (mut y, mut dx) = (vec![0.0; dy.len()], vec![0.0; x.len()]);
            if op == "adaptive_avg_pool2d" {
                p.avg_forward(&x, &mut y).unwrap();
                p.avg_backward(&dy, &mut dx).unwrap();
            } else {
                let mut am = vec![0u32; dy.len()];
                p.max_forward(&x, &mut y, &mut am).unwrap();
                p.max_backward(&dy, &am, &mut dx).unwrap();
            }
            vec![("y", y), ("dx", dx)]
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn conv_and_pool_follow_torch() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/golden/conv_pool.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    // The generator's copy of the input data agrees with ours.
    assert_eq!(floats(&golden["probe"]), data(8, 1), "gen_conv_pool.py's data() differs from tests/common");
    let cases = golden["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut worst = 0.0f64;
    println!("{:<20} {:<55} {:>9} {:>9} {:>9} {:>9}", "op", "case", "y", "dx", "dw", "db");
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let spec = &case["inputs"];
        let input = |k: &str| {
            let s = &spec[k];
            let n: usize = s["shape"].as_array().unwrap().iter().map(int).product();
            data(n, s["seed"].as_u64().unwrap() as u32)
        };
        let mut row = format!("{:<20} {:<55}", case["op"].as_str().unwrap(), name);
        for (tensor, got) in run(case, &input) {
            let want = if tensor == "y" { floats(&case["y"]) } else { floats(&case["grads"][&tensor[1..]]) };
            let err = scaled_error(&got, &want);
            row += &format!(" {err:>9.1e}");
            assert!(err <= TOL, "{} {name}: {tensor} error {err:.2e} > {TOL:e}", case["op"]);
            worst = worst.max(err);
        }
        println!("{row}");
    }
    println!("worst {worst:.2e} (tolerance {TOL:e})");
}
