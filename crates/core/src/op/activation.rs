//! ReLU forward and backward, SIMD over four lanes with a scalar tail.

use crate::error::Result;
use crate::par::{self, ELEMENTWISE_CHUNK};
use crate::simd::F32x4;

/// `y = max(x, 0)`; `y` may alias nothing (call with a copy for in-place use).
pub fn relu_forward(x: &[f32], y: &mut [f32]) -> Result {
    assert_eq!(x.len(), y.len(), "relu: lengths");
    par::try_chunks_mut(y, ELEMENTWISE_CHUNK, |c, yc| {
        relu_forward_serial(&x[c * ELEMENTWISE_CHUNK..][..yc.len()], yc);
        Ok(())
    })
}

/// `y = max(y, 0)` in place, serially: the fused epilogue of a conv or dense layer followed by ReLU, run on
/// output its GEMM just wrote (still in cache).
pub fn relu_in_place(y: &mut [f32]) {
    let n4 = y.len() / 4 * 4;
    let zero = F32x4::zero();
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= y.len().
        unsafe { F32x4::load(y.as_ptr().add(i)).max(zero).store(y.as_mut_ptr().add(i)) };
    }
    for v in &mut y[n4..] {
        *v = v.max(0.0);
    }
}

/// `y = max(y, 0)` in place, on the pool for large buffers.
pub fn relu_forward_in_place(y: &mut [f32]) -> Result {
    par::try_chunks_mut(y, ELEMENTWISE_CHUNK, |_, yc| {
        relu_in_place(yc);
        Ok(())
    })
}

/// `dst = dy · [y > 0]` serially (the fused ReLU backward mask, into a cache-resident scratch).
pub fn relu_mask_into(y: &[f32], dy: &[f32], dst: &mut [f32]) {
    assert!(y.len() == dy.len() && dy.len() == dst.len(), "relu mask: lengths");
    relu_backward_serial(y, dy, dst);
}

fn relu_forward_serial(x: &[f32], y: &mut [f32]) {
    let n4 = x.len() / 4 * 4;
    let zero = F32x4::zero();
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= len of both slices.
        unsafe { F32x4::load(x.as_ptr().add(i)).max(zero).store(y.as_mut_ptr().add(i)) };
    }
    for i in n4..x.len() {
        y[i] = x[i].max(0.0);
    }
}

/// `dx = dy · [y > 0]` (the mask from the forward output, as PyTorch's `threshold_backward`).
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) -> Result {
    assert!(y.len() == dy.len() && dy.len() == dx.len(), "relu: lengths");
    par::try_chunks_mut(dx, ELEMENTWISE_CHUNK, |c, dxc| {
        let at = c * ELEMENTWISE_CHUNK;
        relu_backward_serial(&y[at..][..dxc.len()], &dy[at..][..dxc.len()], dxc);
        Ok(())
    })
}

fn relu_backward_serial(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n4 = y.len() / 4 * 4;
    for i in (0..n4).step_by(4) {
        // SAFETY: i + 4 <= n4 <= len of all three slices.
        unsafe {
            let g = F32x4::load(dy.as_ptr().add(i)).where_positive(F32x4::load(y.as_ptr().add(i)));
            g.store(dx.as_mut_ptr().add(i));
        }
    }
    for i in n4..y.len() {
        dx[i] = if y[i] > 0.0 { dy[i] } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn matches_scalar_on_odd_lengths() {
        let mut rng = Rng::new(9);
        for len in [0usize, 1, 3, 4, 5, 17, 1031] {
            let x = rng.normal_vec(len);
            let dy = rng.normal_vec(len);
            let mut y = vec![f32::NAN; len];
            relu_forward(&x, &mut y).unwrap();
            let mut dx = vec![f32::NAN; len];
            relu_backward(&y, &dy, &mut dx).unwrap();
            for i in 0..len {
                assert_eq!(y[i], if x[i] > 0.0 { x[i] } else { 0.0 });
                assert_eq!(dx[i], if x[i] > 0.0 { dy[i] } else { 0.0 });
            }
        }
    }
}
