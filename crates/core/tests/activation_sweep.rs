//! Every activation against its float64 definition on a dense sweep: 10,001 points over [−20, 20] plus
//! special values (±0, tiny, the kinks and their neighbours, large magnitudes).
//!
//! Metric, for the f64 value `w` of the definition at the f32 input x and the kernel's f32 result:
//!   |got − w| ≤ 1e-6·|w| + 2⁻²³·|x·w′(x)| + 2⁻²²·T(x) + 1e-4·2⁻¹²⁶
//! - 1e-6 relative;
//! - one ulp of the input's sensitivity |x·w′| (w′ the derivative of what is compared): where a function
//!   is ill-conditioned, an f32 evaluation is only as good as the exact function at an input a rounding
//!   away. This matters for the tanh-GELU's lower tail alone, where the cubic argument makes x·f′/f ≈ 3|v|
//!   (≈ 200 at x = −9, values below 1e-28);
//! - T, the sum of the magnitudes of a derivative's terms (Φ and xφ for GELU′, …): where a derivative
//!   crosses zero (GELU′ at x ≈ −0.75, SiLU′ at −1.28, Hardswish′ at −1.5) any f32 evaluation has an
//!   absolute error of a few ulps of its terms;
//! - subnormal results, which carry fewer bits, compared absolutely.

use wasmcnn_core::op::activation::Activation;

const SQRT_2PI: f64 = 2.506_628_274_631_000_5;
const K: f64 = 0.797_884_560_802_865_4; // √(2/π)

fn sig(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

/// (f(x), f′(x), T(x)) in f64.
fn reference(a: Activation, x: f64) -> (f64, f64, f64) {
    let step = |c: bool| if c { 1.0 } else { 0.0 };
    match a {
        Activation::Relu => (x.max(0.0), step(x > 0.0), 0.0),
        Activation::Relu6 => (x.clamp(0.0, 6.0), step(x > 0.0 && x < 6.0), 0.0),
        Activation::LeakyRelu { negative_slope: s } => {
            let s = s as f64;
            (if x > 0.0 { x } else { x * s }, if x > 0.0 { 1.0 } else { s }, 0.0)
        }
        Activation::Elu { alpha } => {
            let a = alpha as f64;
            (if x > 0.0 { x } else { a * x.exp_m1() }, if x > 0.0 { 1.0 } else { a * x.exp() }, 0.0)
        }
        Activation::Gelu => {
            let cdf = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
            let pdf = (-0.5 * x * x).exp() / SQRT_2PI;
            (x * cdf, cdf + x * pdf, cdf.abs() + (x * pdf).abs())
        }
        Activation::GeluTanh => {
            let v = 2.0 * K * (x + 0.044715 * x * x * x);
            let dv = 2.0 * K * (1.0 + 3.0 * 0.044715 * x * x);
            let (s, sn) = (sig(v), sig(-v));
            let t = x * dv * s * sn;
            (x * s, s + t, s + t.abs())
        }
        Activation::Silu => {
            let (s, sn) = (sig(x), sig(-x));
            (x * s, s + x * s * sn, s + (x * s * sn).abs())
        }
        Activation::Hardswish => {
            let y = if x <= -3.0 { 0.0 } else if x >= 3.0 { x } else { x * (x + 3.0) / 6.0 };
            let d = if x < -3.0 { 0.0 } else if x <= 3.0 { x / 3.0 + 0.5 } else { 1.0 };
            (y, d, if (-3.0..=3.0).contains(&x) { (x / 3.0).abs() + 0.5 } else { 0.0 })
        }
        Activation::Hardsigmoid => ((x + 3.0).clamp(0.0, 6.0) / 6.0, if x > -3.0 && x < 3.0 { 1.0 / 6.0 } else { 0.0 }, 0.0),
        Activation::Sigmoid => (sig(x), sig(x) * sig(-x), 0.0),
        Activation::Tanh => (x.tanh(), 1.0 / (x.cosh() * x.cosh()), 0.0),
    }
}

pub fn all() -> Vec<Activation> {
    use Activation::*;
    vec![Relu, Relu6, LeakyRelu { negative_slope: 0.01 }, LeakyRelu { negative_slope: 0.2 }, Elu { alpha: 1.0 }, Elu { alpha: 0.5 },
         Gelu, GeluTanh, Silu, Hardswish, Hardsigmoid, Sigmoid, Tanh]
}

fn sweep() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=10_000).map(|i| (-20.0 + 40.0 * i as f64 / 10_000.0) as f32).collect();
    for v in [0.0f32, 1e-30, 1e-7, 1e-3, 0.75, 1.278, 1.5, 2.9999998, 3.0, 3.0000002, 5.9999995, 6.0, 6.0000005, 30.0, 50.0, 88.0, 100.0, 1e4, 1e30, 3e38] {
        xs.extend([v, -v]);
    }
    xs
}

const TINY: f64 = f32::MIN_POSITIVE as f64;

/// |x·f′(x)| and |x·f″(x)| of the reference, by f64 central differences (only a tolerance term).
fn sensitivity(a: Activation, x: f64) -> (f64, f64) {
    let h = 1e-6 * x.abs().max(1e-3);
    let (up, down) = (reference(a, x + h), reference(a, x - h));
    let kink = |v: f64| (v - x).abs() <= h; // a kink inside [x − h, x + h]: the one-sided slopes are exact
    if [0.0, 6.0, 3.0, -3.0].iter().any(|&k| kink(k)) {
        return (0.0, 0.0);
    }
    ((x * (up.0 - down.0) / (2.0 * h)).abs(), (x * (up.1 - down.1) / (2.0 * h)).abs())
}

/// The f64 values at x of the forward and of the backward with upstream `dy`, each with the absolute part
/// of the module's bound (the conditioning and subnormal terms; the bound is 1e-6·|w| + that).
fn bounds(a: Activation, x: f32, dy: f32) -> ((f64, f64), (f64, f64)) {
    let (f, d, t) = reference(a, x as f64);
    let (sf, sd) = sensitivity(a, x as f64);
    let (f, d) = (f.clamp(-f32::MAX as f64, f32::MAX as f64), d * dy as f64);
    let af = 2f64.powi(-23) * sf + 1e-4 * TINY;
    let ad = (2f64.powi(-23) * sd + 2f64.powi(-22) * t) * dy as f64 + 1e-4 * TINY;
    ((f, af), (d, ad))
}

#[test]
fn activations_match_their_f64_definitions_on_a_dense_sweep() {
    let xs = sweep();
    let dy: Vec<f32> = (0..xs.len()).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
    for a in all() {
        let mut y = vec![f32::NAN; xs.len()];
        a.forward(&xs, &mut y).unwrap();
        let mut dx = vec![f32::NAN; xs.len()];
        a.backward(&xs, &dy, &mut dx).unwrap();
        let (mut worst_f, mut worst_b) = ((0.0f64, 0.0f32), (0.0f64, 0.0f32));
        for (i, &x) in xs.iter().enumerate() {
            let ((f, af), (d, ad)) = bounds(a, x, dy[i]);
            let (bound_f, bound) = (1e-6 * f.abs() + af, 1e-6 * d.abs() + ad);
            let ef = (y[i] as f64 - f).abs() / bound_f;
            assert!(ef <= 1.0, "{a:?} forward at {x}: {} vs {f}", y[i]);
            let eb = (dx[i] as f64 - d).abs() / bound;
            assert!(eb <= 1.0, "{a:?} backward at {x}: {} vs {d}", dx[i]);
            if ef > worst_f.0 {
                worst_f = (ef, x);
            }
            if eb > worst_b.0 {
                worst_b = (eb, x);
            }
        }
        println!("{a:?}: max err/bound: forward {:.2e} at {}, backward {:.2e} at {}", worst_f.0, worst_f.1, worst_b.0, worst_b.1);
    }
}

#[test]
fn simd_lanes_tails_and_in_place_give_the_same_bits() {
    let xs = sweep();
    let dy: Vec<f32> = (0..xs.len()).map(|i| 1.0 - (i % 7) as f32 * 0.3).collect();
    for a in all() {
        let (mut y, mut dx) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        a.forward(&xs, &mut y).unwrap();
        a.backward(&xs, &dy, &mut dx).unwrap();
        // Element by element: every value goes through the scalar tail.
        for i in 0..xs.len() {
            let (mut y1, mut d1) = ([0.0f32], [0.0f32]);
            a.forward(&xs[i..i + 1], &mut y1).unwrap();
            a.backward(&xs[i..i + 1], &dy[i..i + 1], &mut d1).unwrap();
            assert_eq!(y1[0].to_bits(), y[i].to_bits(), "{a:?} forward at {}", xs[i]);
            assert_eq!(d1[0].to_bits(), dx[i].to_bits(), "{a:?} backward at {}", xs[i]);
        }
        let mut xy = xs.clone();
        a.forward_in_place(&mut xy).unwrap();
        assert_eq!(xy, y);
        let mut g = dy.clone();
        a.backward_in_place(&xs, &mut g).unwrap();
        assert_eq!(g, dx);
    }
}

#[test]
fn refuses_mismatched_buffers_and_non_finite_parameters() {
    use wasmcnn_core::error::Error;
    let a = Activation::Gelu;
    assert_eq!(a.forward(&[1.0; 3], &mut [0.0; 4]), Err(Error::BadBuffer));
    assert_eq!(a.backward(&[1.0; 3], &[1.0; 2], &mut [0.0; 3]), Err(Error::BadBuffer));
    assert_eq!(a.backward_in_place(&[1.0; 3], &mut [0.0; 4]), Err(Error::BadBuffer));
    for bad in [Activation::LeakyRelu { negative_slope: f32::NAN }, Activation::Elu { alpha: f32::INFINITY }] {
        assert_eq!(bad.checked(), Err(Error::BadGeometry));
        assert_eq!(bad.forward(&[1.0], &mut [0.0]), Err(Error::BadGeometry));
    }
}

/// PyTorch's float32 results (test/golden/norm_act_loss.json, `activations`) at a grid of 100 points
/// with special values. A point passes when |ours − torch| ≤ 1e-5·|torch| + 2A (A the absolute part of
/// this file's f64 bound: the ill-conditioning near a derivative's zero and subnormals, which both sides'
/// float32 evaluations incur), or else when ours is closer to the f64 definition than torch's (or torch's
/// is not finite) and within this file's f64 bound (counted as "torch-off" points): torch's float32 formulas lose the tails (1 + erf(x/√2) and 1 + tanh u cancel for x ≲ −4,
/// σ′ = σ(1 − σ) and tanh′ = 1 − tanh² from the rounded output vanish early, the tanh-GELU gradient is
/// NaN at |x| = 1e30), which no accurate kernel can match to 1e-5.
#[test]
fn activations_match_torch_float32() {
    check_against_torch(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/golden/norm_act_loss.json"));
}

/// The same check on torch's results over a dense sweep (10,001 points over [−20, 20] and the special
/// values), too large to commit: write them with
/// `/work/venv/bin/python test/golden/gen_norm_act_loss.py --dense /tmp/act_dense.json`, then run
/// `TORCH_DENSE=/tmp/act_dense.json cargo test --release -p wasmcnn-core --test activation_sweep -- --ignored`.
#[test]
#[ignore]
fn activations_match_torch_float32_on_a_dense_sweep() {
    check_against_torch(&std::env::var("TORCH_DENSE").expect("TORCH_DENSE: the file gen_norm_act_loss.py --dense wrote"));
}

fn check_against_torch(path: &str) {
    let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let g = &g["activations"];
    let vals = |v: &serde_json::Value| -> Vec<Option<f32>> { v.as_array().unwrap().iter().map(|x| x.as_f64().map(|f| f as f32)).collect() };
    let xs: Vec<f32> = vals(&g["x"]).into_iter().map(Option::unwrap).collect();
    let dy: Vec<f32> = (0..xs.len()).map(|i| 0.5 + (i % 5) as f32 * 0.25).collect();
    for c in g["cases"].as_array().unwrap() {
        let p = |k: &str| c[k].as_f64().unwrap() as f32;
        let a = match c["name"].as_str().unwrap() {
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "leaky_relu" => Activation::LeakyRelu { negative_slope: p("negativeSlope") },
            "elu" => Activation::Elu { alpha: p("alpha") },
            "gelu" => Activation::Gelu,
            "gelu_tanh" => Activation::GeluTanh,
            "silu" => Activation::Silu,
            "hardswish" => Activation::Hardswish,
            "hardsigmoid" => Activation::Hardsigmoid,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            other => panic!("unknown activation {other}"),
        };
        let (mut y, mut dx) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
        a.forward(&xs, &mut y).unwrap();
        a.backward(&xs, &dy, &mut dx).unwrap();
        let mut report = String::new();
        for (what, ours, torch) in [("forward", &y, vals(&c["y"])), ("backward", &dx, vals(&c["dx"]))] {
            let (mut worst, mut torch_off) = (0.0f64, 0usize);
            for (i, (&o, t)) in ours.iter().zip(&torch).enumerate() {
                let ((f, af), (d, ad)) = bounds(a, xs[i], dy[i]);
                let (w, abs) = if what == "forward" { (f, af) } else { (d, ad) };
                let near = |v: f64, t: f64| (v - t).abs() <= 1e-5 * t.abs() + 2.0 * abs;
                match t {
                    Some(t) if near(o as f64, *t as f64) => worst = worst.max((o as f64 - *t as f64).abs() / (1e-5 * t.abs() as f64 + 2.0 * abs) * 1e-5),
                    _ => {
                        // Ours is then closer to the exact value than torch's, and within this file's bound.
                        let ours = (o as f64 - w).abs();
                        let closer = t.is_none_or(|t| ours < (t as f64 - w).abs());
                        assert!(closer && ours <= 1e-6 * w.abs() + abs, "{a:?} {what} at {}: ours {o}, torch {t:?}, f64 {w}", xs[i]);
                        torch_off += 1;
                    }
                }
            }
            report += &format!("{what} {worst:.1e} ({torch_off} torch-off points)  ");
        }
        println!("{a:?} vs torch float32 at {} points, max rel diff: {report}", xs.len());
    }
}
