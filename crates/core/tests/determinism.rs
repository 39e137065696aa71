//! With the `threads` feature: every parallel kernel gives bitwise the same result on pools of 1, 2, 3
//! and 4 threads (work is split so that no floating-point sum depends on the thread count).
#![cfg(feature = "threads")]

use wasmcnn_core::gemm::{sgemm, sgemm_par, Mat};
use wasmcnn_core::op::geom::Window;
use wasmcnn_core::op::{activation, conv2d, dense, loss, pool};
use wasmcnn_core::optim::adam;

mod common;
use common::data;

/// Three training steps of a small CNN (conv → relu → pool → dense → softmax-CE, Adam); returns the weights.
fn train() -> Vec<Vec<f32>> {
    let b = 19; // not a multiple of the backward's sample groups
    let g1 = Window { n: b, c: 3, h: 12, w: 12, kh: 3, kw: 3, sh: 1, sw: 1, pt: 1, pl: 1, dh: 1, dw: 1, oh: 12, ow: 12 };
    let gp = Window { n: b, c: 8, h: 12, w: 12, kh: 2, kw: 2, sh: 2, sw: 2, pt: 0, pl: 0, dh: 1, dw: 1, oh: 6, ow: 6 };
    let (feat, classes) = (8 * 36, 10);
    let x = data(b * 3 * 144, 1);
    let labels: Vec<u32> = (0..b as u32).map(|i| i * 7 % 10).collect();
    let mut w1 = data(8 * 27, 2);
    let mut b1 = vec![0.0f32; 8];
    let mut w2 = data(classes * feat, 3).iter().map(|v| v * 0.1).collect::<Vec<_>>();
    let mut b2 = vec![0.0f32; classes];
    let cfg = adam::Adam { lr: 1e-2, ..Default::default() };
    let mut st: Vec<(Vec<f32>, Vec<f32>)> = [216, 8, classes * feat, classes].iter().map(|&n| (vec![0.0; n], vec![0.0; n])).collect();
    for t in 1..=3 {
        let mut y1 = vec![0.0; b * 8 * 144];
        conv2d::conv2d_forward(&g1, 8, &x, &w1, Some(&b1), false, &mut y1).unwrap();
        let mut r1 = vec![0.0; y1.len()];
        activation::relu_forward(&y1, &mut r1).unwrap();
        let mut p1 = vec![0.0; b * feat];
        let mut am = vec![0u32; p1.len()];
        pool::maxpool2d_forward(&gp, &r1, &mut p1, &mut am).unwrap();
        let mut z = vec![0.0; b * classes];
        dense::dense_forward(b, feat, classes, &p1, &w2, Some(&b2), false, &mut z).unwrap();
        let mut dz = vec![0.0; z.len()];
        loss::softmax_cross_entropy(b, classes, &z, &labels, Some(&mut dz)).unwrap();
        let (mut dp1, mut dw2, mut db2) = (vec![0.0; p1.len()], vec![0.0; w2.len()], vec![0.0; classes]);
        dense::dense_backward(b, feat, classes, &p1, &w2, None, &dz, Some(&mut dp1), &mut dw2, Some(&mut db2), false).unwrap();
        let mut dr1 = vec![0.0; r1.len()];
        pool::maxpool2d_backward(&gp, &dp1, &am, &mut dr1).unwrap();
        let mut dy1 = vec![0.0; y1.len()];
        activation::relu_backward(&r1, &dr1, &mut dy1).unwrap();
        let (mut dw1, mut db1) = (vec![0.0; w1.len()], vec![0.0; 8]);
        let mut dx = vec![0.0; x.len()];
        conv2d::conv2d_backward(&g1, 8, &x, &w1, None, &dy1, Some(&mut dx), &mut dw1, Some(&mut db1), false).unwrap();
        for (i, (p, g)) in [(&mut w1, &dw1), (&mut b1, &db1), (&mut w2, &dw2), (&mut b2, &db2)].into_iter().enumerate() {
            let (m, v) = &mut st[i];
            adam::adam_step(&cfg, t, p, g, m, v, None, None);
        }
    }
    vec![w1, b1, w2, b2]
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter().map(|t| t.iter().map(|f| f.to_bits()).collect()).collect()
}

#[test]
fn training_steps_are_bitwise_equal_on_1_to_4_threads() {
    let run = |threads: usize| rayon_core::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(train);
    let one = bits(&run(1));
    for threads in 2..=4 {
        assert_eq!(bits(&run(threads)), one, "{threads} threads differ from 1");
    }
}

#[test]
fn parallel_gemm_equals_serial_bitwise() {
    // Wide C (split by columns) and narrow C (split by rows), both above the parallel cut-off.
    for (m, n, k) in [(203, 77, 300), (300, 20, 800)] {
        let a = data(m * k, 5);
        let b = data(k * n, 6);
        let mut want = vec![0.0; m * n];
        sgemm(m, n, k, Mat::row_major(&a, k), Mat::transposed(&b, k), &mut want, n, false).unwrap();
        for threads in 1..=4 {
            let mut got = vec![0.0; m * n];
            rayon_core::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
                sgemm_par(m, n, k, Mat::row_major(&a, k), Mat::transposed(&b, k), &mut got, n, false).unwrap()
            });
            assert!(got.iter().zip(&want).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{n}×{k}, {threads} threads");
        }
    }
}
