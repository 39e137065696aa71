//! Gradient clipping against torch.nn.utils (test/golden/clip.json, written by test/golden/generate.py):
//! clip_grad_norm_ as sum_squares over every buffer → total norm → scale by min(1, max_norm/(total + 1e-6)),
//! clip_grad_value_ as clamp. Tolerance as the optimizer goldens: 1e-5 relative (torch sums in f32).

use serde_json::Value;
use wasmcnn_core::optim::grad;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn close(got: f32, want: f32) -> bool {
    (got - want).abs() <= 1e-5 * want.abs().max(1e-2)
}

#[test]
fn clipping_follows_torch() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/golden/clip.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    for c in golden["clipGradNorm"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert_eq!(c["normType"].as_f64(), Some(2.0));
        let mut gs: Vec<Vec<f32>> = c["grads"].as_array().unwrap().iter().map(floats).collect();
        let total = gs.iter().map(|g| grad::sum_squares(g)).sum::<f64>().sqrt();
        let want_total = c["totalNorm"].as_f64().unwrap() as f32;
        assert!(close(total as f32, want_total), "{name}: total norm {total} vs torch {want_total}");
        let coef = (c["maxNorm"].as_f64().unwrap() / (total + 1e-6)).min(1.0) as f32;
        for (g, want) in gs.iter_mut().zip(c["clipped"].as_array().unwrap()) {
            grad::scale(g, coef);
            for (a, b) in g.iter().zip(floats(want)) {
                assert!(close(*a, b), "{name}: {a} vs torch {b}");
            }
        }
        println!("clip_grad_norm_ {name}: total {total} (torch {want_total}), coefficient {coef}");
    }
    for c in golden["clipGradValue"].as_array().unwrap() {
        let v = c["clipValue"].as_f64().unwrap() as f32;
        for (g, want) in c["grads"].as_array().unwrap().iter().zip(c["clipped"].as_array().unwrap()) {
            let mut g = floats(g);
            grad::clamp(&mut g, -v, v);
            assert_eq!(g, floats(want), "{}", c["name"]);
        }
    }
}
