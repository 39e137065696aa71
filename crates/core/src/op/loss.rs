//! Losses: each returns its value in f64 and writes the gradient with respect to its input.
//! `softmax_cross_entropy` (below) is the original fused mean cross-entropy over integer labels; the
//! submodules hold PyTorch's loss vocabulary: `cross_entropy` (labels or probabilities, class weights,
//! label smoothing, ignore index), `bce` (with logits, pos_weight), `regression` (MSE, L1, Huber,
//! SmoothL1) and `topk` (accuracy counts).

pub mod bce;
pub mod cross_entropy;
pub mod regression;
pub mod topk;

/// How per-element (or per-row) losses are combined (PyTorch's `reduction`; `none` is not offered: the
/// graph's loss node is a scalar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    #[default]
    Mean,
    Sum,
}

/// Fused softmax + cross-entropy, mean over the batch (PyTorch's `F.cross_entropy` default).

use crate::error::{Error, Result};

/// Returns the mean loss and, when asked for, writes `dlogits = (softmax(z) - onehot(label)) / batch`.
/// A label ≥ `classes` is refused (`BadValue`) before anything is written.
///
/// Stable for any finite logits: the row maximum is subtracted before `exp`, and the loss is computed as
/// `logsumexp(z) - z[label]` rather than `-log(softmax)`, so it never takes `log(0)`. Exponentials and sums
/// are in f64 (a row is at most a few thousand classes), then rounded once to f32.
pub fn softmax_cross_entropy(batch: usize, classes: usize, logits: &[f32], labels: &[u32], mut dlogits: Option<&mut [f32]>) -> Result<f64> {
    assert_eq!(logits.len(), batch * classes, "softmax_cross_entropy: logits length");
    assert_eq!(labels.len(), batch, "softmax_cross_entropy: labels length");
    if let Some(d) = dlogits.as_deref() {
        assert_eq!(d.len(), logits.len(), "softmax_cross_entropy: dlogits length");
    }
    if labels.iter().any(|&l| l as usize >= classes) {
        return Err(Error::BadValue);
    }
    let mut total = 0.0f64;
    let inv_batch = 1.0 / batch as f64;
    for b in 0..batch {
        let z = &logits[b * classes..(b + 1) * classes];
        let label = labels[b] as usize;
        let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
        let sum: f64 = z.iter().map(|&v| (v as f64 - max).exp()).sum();
        let lse = max + sum.ln();
        total += lse - z[label] as f64;
        if let Some(d) = dlogits.as_deref_mut() {
            for (j, dj) in d[b * classes..(b + 1) * classes].iter_mut().enumerate() {
                let p = (z[j] as f64 - lse).exp();
                let t = if j == label { 1.0 } else { 0.0 };
                *dj = ((p - t) * inv_batch) as f32;
            }
        }
    }
    Ok(if batch == 0 { 0.0 } else { total * inv_batch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn gradient_matches_finite_differences_and_large_logits_stay_finite() {
        let mut rng = Rng::new(21);
        for &(batch, classes, scale) in &[(5usize, 10usize, 1.0f32), (3, 4, 80.0), (1, 2, 1.0)] {
            let z: Vec<f32> = rng.normal_vec(batch * classes).iter().map(|v| v * scale).collect();
            let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
            let mut d = vec![0.0; z.len()];
            let loss = softmax_cross_entropy(batch, classes, &z, &labels, Some(&mut d)).unwrap();
            assert_eq!(softmax_cross_entropy(batch, classes, &z, &labels, None), Ok(loss));
            assert!(loss.is_finite() && loss >= 0.0);
            for i in 0..z.len() {
                let h = 1e-2f32 * scale.max(1.0) / 8.0;
                let mut zp = z.clone();
                zp[i] += h;
                let mut scratch = vec![0.0; z.len()];
                let up = softmax_cross_entropy(batch, classes, &zp, &labels, Some(&mut scratch)).unwrap();
                zp[i] -= 2.0 * h;
                let down = softmax_cross_entropy(batch, classes, &zp, &labels, Some(&mut scratch)).unwrap();
                // Central difference error is O(h²·f'''), here below 1e-5 for these h.
                let num = (up - down) / (2.0 * h as f64);
                assert!((d[i] as f64 - num).abs() <= 1e-5, "d[{i}] {} vs {num}", d[i]);
            }
        }
    }

    #[test]
    fn a_label_out_of_range_is_refused_before_anything_is_written() {
        let mut d = vec![7.0f32; 6];
        assert_eq!(softmax_cross_entropy(2, 3, &[0.0; 6], &[1, 3], Some(&mut d)), Err(Error::BadValue));
        assert_eq!(d, vec![7.0; 6]);
    }
}
