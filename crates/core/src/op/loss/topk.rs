//! Top-k accuracy counts: a row is correct at k when its label's logit ranks among the k largest. Ties are
//! broken by class index (an equal logit of a lower class ranks first), so counts are deterministic.

use crate::error::{Error, Result};

/// Adds to `correct[i]` the number of rows whose label ranks below `ks[i]` (rank = #{j : z_j > z_y} +
/// #{j < y : z_j = z_y}). Refuses mismatched buffers and labels outside [0, classes) (`BadBuffer`).
pub fn topk_correct(batch: usize, classes: usize, logits: &[f32], labels: &[i32], ks: &[usize], correct: &mut [u64]) -> Result {
    if Some(logits.len()) != batch.checked_mul(classes) || labels.len() != batch || ks.len() != correct.len() {
        return Err(Error::BadBuffer);
    }
    if labels.iter().any(|&l| !(0..classes as i64).contains(&(l as i64))) {
        return Err(Error::BadBuffer);
    }
    for (z, &y) in logits.chunks_exact(classes.max(1)).zip(labels) {
        let (y, zy) = (y as usize, z[y as usize]);
        let rank = z.iter().enumerate().filter(|&(j, &v)| v > zy || (v == zy && j < y)).count();
        for (c, &k) in correct.iter_mut().zip(ks) {
            *c += (rank < k) as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ranks_with_ties_broken_by_class() {
        let logits = [0.1, 0.5, 0.3, 0.5, /* row 2 */ 2.0, 1.0, 0.0, -1.0, /* row 3 */ 0.0, 0.0, 0.0, 0.0];
        // Row 1: label 3 ties class 1 (ranks after it): rank 1. Row 2: label 2, rank 2. Row 3: label 0, rank 0.
        let mut c = [0u64; 3];
        topk_correct(3, 4, &logits, &[3, 2, 0], &[1, 2, 3], &mut c).unwrap();
        assert_eq!(c, [1, 2, 3]);
        assert_eq!(topk_correct(3, 4, &logits, &[3, 4, 0], &[1], &mut c[..1]), Err(Error::BadBuffer));
        assert_eq!(topk_correct(3, 4, &logits[..11], &[3, 2, 0], &[1], &mut c[..1]), Err(Error::BadBuffer));
    }
}
