//! With the `threads` feature: the normalisation, activation, dropout, loss and merge kernels give bitwise
//! the same results on pools of 1, 2, 3 and 4 threads, on sizes that split into many parallel chunks.
#![cfg(feature = "threads")]

use wasmcnn_core::op::activation::Activation;
use wasmcnn_core::op::dropout::Dropout;
use wasmcnn_core::op::loss::bce::BceWithLogits;
use wasmcnn_core::op::loss::cross_entropy::{CrossEntropy, Target};
use wasmcnn_core::op::loss::regression::{Kind, Regression};
use wasmcnn_core::op::loss::Reduction;
use wasmcnn_core::op::merge::{add_backward, add_forward, Concat, Gate, Grad};
use wasmcnn_core::op::norm::batchnorm::{BatchNorm, BatchNormConfig, Running};
use wasmcnn_core::op::norm::groupnorm::GroupNorm;
use wasmcnn_core::op::norm::layernorm::LayerNorm;
use wasmcnn_core::op::norm::{Affine, AffineGrad, Stats, StatsOut};

mod common;
use common::data;

/// Every kernel's outputs, as bits.
fn run_all() -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<f32>> = vec![];
    let big = 131_072 + 17;
    let (x, dy) = (data(big, 1), data(big, 2));
    // BatchNorm 2d (train with fused ReLU, then eval) and 1d.
    for (n, c, l) in [(8, 16, 1024), (4096, 16, 1)] {
        let len = n * c * l;
        let bn = BatchNorm::new(n, c, l, BatchNormConfig { relu: true, ..Default::default() }).unwrap();
        let (w, b) = (data(c, 3), data(c, 4));
        let p = Affine { weight: Some(&w), bias: Some(&b) };
        let (mut rm, mut rv, mut t) = (vec![0.0; c], vec![1.0; c], 0i64);
        for training in [true, false] {
            let (mut m, mut r, mut y) = (vec![0.0; c], vec![0.0; c], vec![0.0; len]);
            let running = Running { mean: &mut rm, var: &mut rv, batches_tracked: &mut t };
            bn.forward(training, &x[..len], p, Some(running), StatsOut { mean: &mut m, rstd: &mut r }, &mut y).unwrap();
            let (mut dx, mut dw, mut db) = (vec![0.0; len], vec![0.0; c], vec![0.0; c]);
            let g = AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false };
            bn.backward(training, &x[..len], p, Stats { mean: &m, rstd: &r }, &dy[..len], Some(&mut dx), g).unwrap();
            out.extend([y, dx, dw, db, m, r]);
        }
        out.extend([rm, rv]);
    }
    // LayerNorm over rows of 3000; GroupNorm.
    let ln = LayerNorm::new(&[40, 3000], &[3000], 1e-5, true).unwrap();
    let (w, b) = (data(3000, 5), data(3000, 6));
    let p = Affine { weight: Some(&w), bias: Some(&b) };
    let (mut m, mut r, mut y) = (vec![0.0; 40], vec![0.0; 40], vec![0.0; 120_000]);
    ln.forward(&x[..120_000], p, StatsOut { mean: &mut m, rstd: &mut r }, &mut y).unwrap();
    let (mut dx, mut dw, mut db) = (vec![0.0; 120_000], vec![0.0; 3000], vec![0.0; 3000]);
    ln.backward(&x[..120_000], p, Stats { mean: &m, rstd: &r }, &dy[..120_000], Some(&mut dx), AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false }).unwrap();
    out.extend([y, dx, dw, db]);
    let gn = GroupNorm::new(4, 32, 1024, 8, 1e-5, true).unwrap();
    let (w, b) = (data(32, 7), data(32, 8));
    let p = Affine { weight: Some(&w), bias: Some(&b) };
    let (mut m, mut r, mut y) = (vec![0.0; 32], vec![0.0; 32], vec![0.0; 131_072]);
    gn.forward(&x[..131_072], p, StatsOut { mean: &mut m, rstd: &mut r }, &mut y).unwrap();
    let (mut dx, mut dw, mut db) = (vec![0.0; 131_072], vec![0.0; 32], vec![0.0; 32]);
    gn.backward(&x[..131_072], p, Stats { mean: &m, rstd: &r }, &dy[..131_072], Some(&mut dx), AffineGrad { weight: Some(&mut dw), bias: Some(&mut db), accumulate: false }).unwrap();
    out.extend([y, dx, dw, db]);
    // Activations.
    let xs: Vec<f32> = x.iter().map(|v| v * 8.0).collect();
    for a in [Activation::Gelu, Activation::GeluTanh, Activation::Silu, Activation::Tanh, Activation::Elu { alpha: 1.0 }, Activation::Hardswish] {
        let (mut y, mut dx) = (vec![0.0; big], vec![0.0; big]);
        a.forward(&xs, &mut y).unwrap();
        a.backward(&xs, &dy, &mut dx).unwrap();
        out.extend([y, dx]);
    }
    // Dropout (elementwise and per channel): the masks as floats' bits.
    for d in [Dropout::new(big, 0.3).unwrap(), Dropout::channelwise(17, 7711, 1, 0.5).unwrap()] {
        let n = d.numel();
        let (mut y, mut mask, mut dx) = (vec![0.0; n], vec![0u32; d.mask_words()], vec![0.0; n]);
        d.forward(true, 11, 3, &x[..n], &mut y, &mut mask).unwrap();
        d.backward(true, &dy[..n], &mask, &mut dx).unwrap();
        out.extend([y, dx, mask.iter().map(|&m| f32::from_bits(m)).collect()]);
    }
    // Losses: values as two f32 halves of the f64 bits.
    let split = |v: f64| vec![f32::from_bits((v.to_bits() >> 32) as u32), f32::from_bits(v.to_bits() as u32)];
    let (n, c) = (300, 100);
    let labels: Vec<i32> = (0..n as i32).map(|i| i * 7 % 100).collect();
    let weight = data(c, 9).iter().map(|v| v + 1.5).collect::<Vec<f32>>();
    let mut d = vec![0.0; n * c];
    let ce = CrossEntropy::new(n, c, Reduction::Mean, 0.1, -100).unwrap();
    out.push(split(ce.forward_backward(&xs[..n * c], Target::Labels(&labels), Some(&weight), Some(&mut d)).unwrap()));
    out.push(d.clone());
    let t: Vec<f32> = x[..100_000].iter().map(|v| (v + 1.0) / 2.0).collect();
    let bce = BceWithLogits::new(200, 500, Reduction::Mean).unwrap();
    let mut d = vec![0.0; 100_000];
    out.push(split(bce.forward_backward(&xs[..100_000], &t, None, None, Some(&mut d)).unwrap()));
    out.push(d.clone());
    let reg = Regression::new(100_000, Kind::Huber { delta: 0.5 }, Reduction::Mean).unwrap();
    out.push(split(reg.forward_backward(&xs[..100_000], &t, Some(&mut d)).unwrap()));
    out.push(d);
    // Merges.
    let mut y = vec![0.0; big];
    add_forward(&x, &dy, true, &mut y).unwrap();
    let (mut da, mut db) = (vec![0.0; big], vec![1.0; big]);
    add_backward(&dy, Some(&y), Some(Grad { dst: &mut da, accumulate: false }), Some(Grad { dst: &mut db, accumulate: true })).unwrap();
    let cat = Concat::new(16, 1024, &[3, 5]).unwrap();
    let mut yc = vec![0.0; cat.numel()];
    cat.forward(&[&x[..16 * 3 * 1024], &dy[..16 * 5 * 1024]], &mut yc).unwrap();
    let gate = Gate::new(8, 16, 1024).unwrap();
    let (mut yg, mut dxg, mut ds) = (vec![0.0; gate.numel()], vec![0.0; gate.numel()], vec![0.0; 128]);
    gate.forward(&x[..gate.numel()], &x[..128], &mut yg).unwrap();
    gate.backward(&x[..gate.numel()], &x[..128], &dy[..gate.numel()], Some(Grad { dst: &mut dxg, accumulate: false }), Some(Grad { dst: &mut ds, accumulate: false })).unwrap();
    out.extend([y, da, db, yc, yg, dxg, ds]);
    out.iter().map(|v| v.iter().map(|f| f.to_bits()).collect()).collect()
}

#[test]
fn kernels_are_bitwise_equal_on_1_to_4_threads() {
    let run = |threads: usize| rayon_core::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(run_all);
    let one = run(1);
    for threads in 2..=4 {
        let got = run(threads);
        for (i, (a, b)) in got.iter().zip(&one).enumerate() {
            assert!(a == b, "output {i} differs on {threads} threads");
        }
    }
}
