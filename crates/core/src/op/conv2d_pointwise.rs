//! 1×1 convolutions on small maps, a chunk of samples at a time. A sample's GEMM there is too thin: on a
//! 2×2 map each 8-column tile of the forward and input gradient holds 4 columns, and the weight gradient's
//! per-sample depth is the 4 pixels, so its whole partial sum (O×C floats, larger than L2 deep in a
//! MobileNet) is read and written back per 4 multiply-adds. With the chunk's samples side by side along the
//! pixel axis (`place`), the tiles fill and the weight gradient's depth is the chunk's pixels.
//!
//! The forward and input gradient keep their per-sample bits (each output is the same dot product, blocked
//! the same way); the weight gradient sums a chunk's pixels in one pass, in sample order.

use super::conv2d_implicit::copy_short;
use super::geom::Window;

/// Largest output plane that takes this path: a 4×4 map's weight gradient is 16 deep per sample.
const MAX_PLANE: usize = 16;

/// True for an ungrouped 1×1 unit-stride unpadded convolution whose maps have at most `MAX_PLANE` pixels.
pub fn applies(g: &Window, groups: usize) -> bool {
    groups == 1 && g.is_pointwise() && g.out_plane() <= MAX_PLANE
}

/// Copies one sample's `rows × plane` matrix into columns `j·plane ..` of a `rows × width` matrix.
pub fn place(sample: &[f32], rows: usize, plane: usize, j: usize, width: usize, cat: &mut [f32]) {
    for r in 0..rows {
        copy_short(&sample[r * plane..(r + 1) * plane], &mut cat[r * width + j * plane..][..plane]);
    }
}

/// The inverse of `place`: columns `j·plane ..` of a `rows × width` matrix into one sample.
pub fn unplace(cat: &[f32], rows: usize, plane: usize, j: usize, width: usize, sample: &mut [f32]) {
    for r in 0..rows {
        copy_short(&cat[r * width + j * plane..][..plane], &mut sample[r * plane..(r + 1) * plane]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_and_unplace_are_inverse_column_blocks() {
        let (rows, plane, jn) = (3, 5, 4);
        let width = plane * jn;
        let mut cat = vec![0.0f32; rows * width];
        let samples: Vec<Vec<f32>> = (0..jn).map(|j| (0..rows * plane).map(|i| (j * 100 + i) as f32).collect()).collect();
        for (j, s) in samples.iter().enumerate() {
            place(s, rows, plane, j, width, &mut cat);
        }
        for r in 0..rows {
            for c in 0..width {
                assert_eq!(cat[r * width + c], samples[c / plane][r * plane + c % plane]);
            }
        }
        for (j, s) in samples.iter().enumerate() {
            let mut back = vec![f32::NAN; rows * plane];
            unplace(&cat, rows, plane, j, width, &mut back);
            assert_eq!(&back, s);
        }
    }
}
