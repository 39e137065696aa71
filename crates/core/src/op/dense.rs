//! Dense (fully connected) layer with PyTorch's `Linear` layout: weight is `out × in`,
//! `y[b] = W · x[b] + bias`.

use super::activation::{relu_forward_in_place, relu_mask_into};
use crate::error::{self, Result};
use crate::gemm::{sgemm_par as sgemm, Mat};

/// `y[batch×out] = x[batch×in] · Wᵀ + bias`, then `max(y, 0)` when `relu` (a following ReLU fused).
#[allow(clippy::too_many_arguments)]
pub fn dense_forward(batch: usize, inp: usize, out: usize, x: &[f32], w: &[f32], bias: Option<&[f32]>, relu: bool, y: &mut [f32]) -> Result {
    assert_eq!(x.len(), batch * inp, "dense: x length");
    assert_eq!(w.len(), out * inp, "dense: weight length");
    assert_eq!(y.len(), batch * out, "dense: y length");
    if let Some(b) = bias {
        assert_eq!(b.len(), out, "dense: bias length");
        for row in y.chunks_exact_mut(out) {
            row.copy_from_slice(b);
        }
    }
    sgemm(batch, out, inp, Mat::row_major(x, inp), Mat::transposed(w, inp), y, out, bias.is_some())?;
    if relu {
        relu_forward_in_place(y)?;
    }
    Ok(())
}

/// Gradients of `dense_forward`. `dw`/`db` are overwritten or added to (`accumulate`); `dx`, if asked for,
/// is overwritten. With `relu_y` (the forward's output of a fused ReLU), `dy` is the gradient after the
/// ReLU and is masked by `relu_y > 0` first.
#[allow(clippy::too_many_arguments)]
pub fn dense_backward(
    batch: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    relu_y: Option<&[f32]>,
    dy: &[f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    accumulate: bool,
) -> Result {
    assert_eq!(x.len(), batch * inp, "dense: x length");
    assert_eq!(w.len(), out * inp, "dense: weight length");
    assert_eq!(dy.len(), batch * out, "dense: dy length");
    assert_eq!(dw.len(), w.len(), "dense: dw length");
    let masked;
    let dy = match relu_y {
        Some(ry) => {
            // batch × out is small next to the GEMMs: one masked copy.
            masked = {
                let mut m = error::zeroed::<f32>(dy.len())?;
                relu_mask_into(ry, dy, &mut m);
                m
            };
            &masked[..]
        }
        None => dy,
    };
    // dW[out×in] (+)= dYᵀ[out×batch] · X[batch×in]
    sgemm(out, inp, batch, Mat::transposed(dy, out), Mat::row_major(x, inp), dw, inp, accumulate)?;
    if let Some(db) = db {
        assert_eq!(db.len(), out, "dense: db length");
        for (j, d) in db.iter_mut().enumerate() {
            let s: f64 = (0..batch).map(|b| dy[b * out + j] as f64).sum();
            *d = if accumulate { *d + s as f32 } else { s as f32 };
        }
    }
    if let Some(dx) = dx {
        assert_eq!(dx.len(), x.len(), "dense: dx length");
        // dX[batch×in] = dY[batch×out] · W[out×in]
        sgemm(batch, inp, out, Mat::row_major(dy, out), Mat::row_major(w, inp), dx, inp, false)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, Rng};

    #[test]
    fn forward_and_backward_match_references() {
        let mut rng = Rng::new(5);
        for &(batch, inp, out) in &[(3, 7, 5), (4, 256, 10), (1, 1, 1), (9, 13, 17)] {
            let x = rng.normal_vec(batch * inp);
            let w = rng.normal_vec(out * inp);
            let b = rng.normal_vec(out);
            let dy = rng.normal_vec(batch * out);
            let fwd = |x: &[f32], w: &[f32], b: &[f32]| -> Vec<f64> {
                let mut y = vec![0.0; batch * out];
                for r in 0..batch {
                    for j in 0..out {
                        y[r * out + j] = b[j] as f64 + (0..inp).map(|i| x[r * inp + i] as f64 * w[j * inp + i] as f64).sum::<f64>();
                    }
                }
                y
            };
            let mut y = vec![0.0; batch * out];
            dense_forward(batch, inp, out, &x, &w, Some(&b), false, &mut y).unwrap();
            let want: Vec<f32> = fwd(&x, &w, &b).iter().map(|&v| v as f32).collect();
            assert_close(&y, &want, 1e-5 * (inp as f32).sqrt(), "dense forward");

            let (mut dx, mut dw, mut db) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; out]);
            dense_backward(batch, inp, out, &x, &w, None, &dy, Some(&mut dx), &mut dw, Some(&mut db), false).unwrap();
            let loss = |x: &[f32], w: &[f32], b: &[f32]| fwd(x, w, b).iter().zip(&dy).map(|(a, d)| a * *d as f64).sum::<f64>();
            let h = 0.5f32; // the loss is linear in each argument: central differences are exact in f64
            let check = |got: f32, f: &dyn Fn(f32) -> f64, what: &str| {
                let num = (f(h) - f(-h)) / (2.0 * h as f64);
                assert!((got as f64 - num).abs() <= 2e-5 * num.abs().max(1.0), "{what}: {got} vs {num}");
            };
            for i in 0..x.len().min(20) {
                check(dx[i], &|d| { let mut p = x.clone(); p[i] += d; loss(&p, &w, &b) }, "dx");
            }
            for i in 0..w.len().min(20) {
                check(dw[i], &|d| { let mut p = w.clone(); p[i] += d; loss(&x, &p, &b) }, "dw");
            }
            for i in 0..out {
                check(db[i], &|d| { let mut p = b.clone(); p[i] += d; loss(&x, &w, &p) }, "db");
            }
        }
    }

    /// The fused ReLU gives exactly the bits of dense then a separate ReLU, forward and backward.
    #[test]
    fn fused_relu_equals_separate_relu_bitwise() {
        use crate::op::activation::{relu_backward, relu_forward};
        let mut rng = Rng::new(6);
        for &(batch, inp, out) in &[(3, 7, 5), (9, 13, 17), (64, 300, 128)] {
            let x = rng.normal_vec(batch * inp);
            let w = rng.normal_vec(out * inp);
            let b = rng.normal_vec(out);
            let dy = rng.normal_vec(batch * out);
            let (mut pre, mut sep, mut fused) = (vec![0.0; dy.len()], vec![0.0; dy.len()], vec![0.0; dy.len()]);
            dense_forward(batch, inp, out, &x, &w, Some(&b), false, &mut pre).unwrap();
            relu_forward(&pre, &mut sep).unwrap();
            dense_forward(batch, inp, out, &x, &w, Some(&b), true, &mut fused).unwrap();
            assert_eq!(fused, sep);
            let mut dpre = vec![0.0; dy.len()];
            relu_backward(&sep, &dy, &mut dpre).unwrap();
            let (mut dx1, mut dw1, mut db1) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; out]);
            let (mut dx2, mut dw2, mut db2) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; out]);
            dense_backward(batch, inp, out, &x, &w, None, &dpre, Some(&mut dx1), &mut dw1, Some(&mut db1), false).unwrap();
            dense_backward(batch, inp, out, &x, &w, Some(&fused), &dy, Some(&mut dx2), &mut dw2, Some(&mut db2), false).unwrap();
            assert_eq!((dx1, dw1, db1), (dx2, dw2, db2));
        }
    }
}
