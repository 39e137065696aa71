//! Native timing of the fused BatchNorm + ReLU (training forward then backward, the benchmark row
//! `batchnorm-relu-fwdbwd`) against a memcpy moving the same bytes.
//!
//! Bytes counted: the forward reads x and writes y, the backward reads x and dy and writes dx: 5 tensors.
//! The memcpy copies 2.5 tensors' worth (2.5 read + 2.5 written), the same traffic. Best of 15 runs each.
//! `cargo run --release -p wasmcnn-core --example bn_relu_bandwidth [N C H W]`

use std::time::Instant;
use wasmcnn_core::op::norm::batchnorm::{BatchNorm, BatchNormConfig, Running};
use wasmcnn_core::op::norm::{Affine, AffineGrad, Stats, StatsOut};

fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    }).fold(f64::INFINITY, f64::min)
}

fn main() {
    let a: Vec<usize> = std::env::args().skip(1).map(|s| s.parse().expect("N C H W")).collect();
    let [n, c, h, w] = if a.len() == 4 { [a[0], a[1], a[2], a[3]] } else { [32, 64, 32, 32] };
    let len = n * c * h * w;
    let bn = BatchNorm::new(n, c, h * w, BatchNormConfig { relu: true, ..Default::default() }).unwrap();
    let x: Vec<f32> = (0..len).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.4).collect();
    let dy: Vec<f32> = (0..len).map(|i| ((i * 104729) % 1000) as f32 * 1e-3 - 0.5).collect();
    let (gamma, beta) = (vec![1.0f32; c], vec![0.1f32; c]);
    let (mut rm, mut rv, mut t) = (vec![0.0f32; c], vec![1.0f32; c], 0i64);
    let (mut mean, mut rstd) = (vec![0.0f32; c], vec![0.0f32; c]);
    let (mut y, mut dx, mut dg, mut db) = (vec![0.0f32; len], vec![0.0f32; len], vec![0.0f32; c], vec![0.0f32; c]);
    let p = Affine { weight: Some(&gamma), bias: Some(&beta) };
    let (mut fwd, mut bwd) = (f64::INFINITY, f64::INFINITY);
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(15);
    for _ in 0..runs {
        fwd = fwd.min(best(1, || {
            let run = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
            bn.forward(true, &x, p, Some(run), StatsOut { mean: &mut mean, rstd: &mut rstd }, &mut y).unwrap();
        }));
        bwd = bwd.min(best(1, || {
            let g = AffineGrad { weight: Some(&mut dg), bias: Some(&mut db), accumulate: false };
            bn.backward(true, &x, p, Stats { mean: &mean, rstd: &rstd }, &dy, Some(&mut dx), g).unwrap();
        }));
    }
    let half = len * 5 / 2;
    let src = vec![1.0f32; half];
    let mut dst = vec![0.0f32; half];
    let copy = best(15, || dst.copy_from_slice(std::hint::black_box(&src)));
    let bytes = (5 * len * 4) as f64;
    let gbs = |t: f64| bytes / t / 1e9;
    println!("batchnorm-relu {n}x{c}x{h}x{w} ({:.1} MB traffic), threads {}", bytes / 1e6, wasmcnn_core::par::threads());
    println!("  forward  {:.3} ms, backward {:.3} ms", fwd * 1e3, bwd * 1e3);
    println!("  fwd+bwd  {:.2} GB/s;  memcpy of the same bytes {:.2} GB/s;  ratio {:.2}", gbs(fwd + bwd), gbs(copy), copy / (fwd + bwd));
}
