//! With the `threads` feature: the grouped, depthwise and transposed convolutions and the average and
//! adaptive poolings give bitwise the same forward and backward results on pools of 1, 2, 3 and 4 threads.
#![cfg(feature = "threads")]

use wasmcnn_core::op::adaptive_pool::AdaptivePool2d;
use wasmcnn_core::op::avgpool::AvgPool2d;
use wasmcnn_core::op::conv2d::Conv2d;
use wasmcnn_core::op::conv_transpose2d::ConvTranspose2d;
use wasmcnn_core::op::depthwise::Depthwise2d;
use wasmcnn_core::op::geom::Window;

mod common;
use common::data;

/// Every op's forward output and gradients, in one list of tensors.
fn all_outputs() -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    let n = 19; // not a multiple of the conv backward's sample chunks
    for (win, o, groups) in [
        (Window::conv(n, 6, (9, 10), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)).unwrap(), 9, 3),
        (Window::conv(n, 4, (9, 10), (3, 3), (2, 2), (0, 1, 1, 0), (1, 1)).unwrap(), 4, 2),
    ] {
        let conv = Conv2d::new(win, o, groups).unwrap();
        let (x, w, b, dy) = (data(conv.x_len(), 1), data(conv.w_len(), 2), data(o, 3), data(conv.y_len(), 4));
        let (mut y, mut dx, mut dw, mut db) = (vec![0.0; conv.y_len()], vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
        conv.forward(&x, &w, Some(&b), true, &mut y).unwrap();
        conv.backward(&x, &w, Some(&y), &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
        out.extend([y, dx, dw, db]);
    }
    for (s, m) in [(1, 1), (2, 2)] {
        let win = Window::conv(n, 5, (13, 18), (3, 3), (s, s), (1, 1, 1, 1), (1, 1)).unwrap();
        let op = Depthwise2d::new(win, m).unwrap();
        let (x, w, b, dy) = (data(op.x_len(), 5), data(op.w_len(), 6), data(5 * m, 7), data(op.y_len(), 8));
        let (mut y, mut dx, mut dw, mut db) = (vec![0.0; op.y_len()], vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; 5 * m]);
        op.forward(&x, &w, Some(&b), &mut y).unwrap();
        op.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
        out.extend([y, dx, dw, db]);
    }
    {
        let t = ConvTranspose2d::torch(n, 4, (5, 6), 6, (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2).unwrap();
        let (x, w, b, dy) = (data(t.x_len(), 9), data(t.w_len(), 10), data(6, 11), data(t.y_len(), 12));
        let (mut y, mut dx, mut dw, mut db) = (vec![0.0; t.y_len()], vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; 6]);
        t.forward(&x, &w, Some(&b), &mut y).unwrap();
        t.backward(&x, &w, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
        out.extend([y, dx, dw, db]);
    }
    {
        let p = AvgPool2d::new(n, 3, (11, 12), (3, 3), (2, 2), (1, 1), true, false, None).unwrap();
        let (x, dy) = (data(p.x_len(), 13), data(p.y_len(), 14));
        let (mut y, mut dx) = (vec![0.0; p.y_len()], vec![0.0; x.len()]);
        p.forward(&x, &mut y).unwrap();
        p.backward(&dy, &mut dx).unwrap();
        out.extend([y, dx]);
    }
    for o in [(1, 1), (3, 5)] {
        let p = AdaptivePool2d::new(n, 7, (9, 11), o).unwrap();
        let (x, dy) = (data(p.x_len(), 15), data(p.y_len(), 16));
        let (mut ya, mut dxa, mut ym, mut am, mut dxm) = (vec![0.0; p.y_len()], vec![0.0; x.len()], vec![0.0; p.y_len()], vec![0u32; p.y_len()], vec![0.0; x.len()]);
        p.avg_forward(&x, &mut ya).unwrap();
        p.avg_backward(&dy, &mut dxa).unwrap();
        p.max_forward(&x, &mut ym, &mut am).unwrap();
        p.max_backward(&dy, &am, &mut dxm).unwrap();
        out.extend([ya, dxa, ym, dxm]);
    }
    out
}

fn bits(v: &[Vec<f32>]) -> Vec<Vec<u32>> {
    v.iter().map(|t| t.iter().map(|f| f.to_bits()).collect()).collect()
}

#[test]
fn conv_and_pool_kernels_are_bitwise_equal_on_1_to_4_threads() {
    let run = |threads: usize| rayon_core::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(all_outputs);
    let one = bits(&run(1));
    for threads in 2..=4 {
        assert_eq!(bits(&run(threads)), one, "{threads} threads differ from 1");
    }
}
