//! Native timing of the depthwise convolution on MobileNetV2-like shapes (3×3, padding 1; the last two are
//! the small planes of its late stages): GFLOPS of the
//! forward and of the backward (dx + dW + db), best of several calls. One thread unless built with
//! `--features threads`. The wasm-vs-tfjs comparison belongs in bench/; this is for comparing kernel
//! variants natively:
//!
//!     cargo run --release -p wasmcnn-core --example depthwise_timing

use std::time::Instant;
use wasmcnn_core::op::depthwise::Depthwise2d;
use wasmcnn_core::op::geom::Window;

fn best_seconds(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps).map(|_| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64()
    }).fold(f64::INFINITY, f64::min)
}

fn main() {
    println!("{:<32} {:>10} {:>10}", "shape (N, C, H×W, stride)", "fwd GFLOPS", "bwd GFLOPS");
    for (n, c, hw, s) in [(32, 96, 56, 1), (32, 144, 56, 2), (32, 144, 32, 1), (32, 96, 32, 2), (32, 144, 28, 1), (32, 144, 28, 2), (32, 144, 14, 1), (32, 384, 7, 1)] {
        let win = Window::conv(n, c, (hw, hw), (3, 3), (s, s), (1, 1, 1, 1), (1, 1)).unwrap();
        let op = Depthwise2d::new(win, 1).unwrap();
        let x: Vec<f32> = (0..op.x_len()).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let w: Vec<f32> = (0..op.w_len()).map(|i| ((i * 104729) % 1000) as f32 * 1e-3 - 0.5).collect();
        let b = vec![0.1f32; c];
        let mut y = vec![0.0f32; op.y_len()];
        let flops = 2.0 * 9.0 * op.y_len() as f64;
        let fwd = best_seconds(10, || op.forward(&x, &w, Some(&b), &mut y).unwrap());
        let (mut dx, mut dw, mut db) = (vec![0.0f32; x.len()], vec![0.0f32; w.len()], vec![0.0f32; c]);
        let bwd = best_seconds(5, || op.backward(&x, &w, &y, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap());
        let name = format!("{n}, {c}, {hw}×{hw}, s{s}");
        println!("{name:<32} {:>10.2} {:>10.2}", flops / fwd / 1e9, 2.0 * flops / bwd / 1e9);
    }
}
