//! Fused optimizer steps over flat buffers: one pass reads each parameter's gradient and state slots and
//! writes them back with the parameter. Per-step scalars (bias corrections, decayed rates) are computed
//! once per call in f64 and rounded to f32, as PyTorch does with its Python-float scalars.
//!
//! Operation order inside each update follows PyTorch 1.13's single-tensor CPU path
//! (`add(alpha)`: `a + α·b`; `addcmul(v)`: `a + v·b·c`; `addcdiv(v)`: `a + v·b/c`), so results agree to
//! float32 rounding rather than merely to a tolerance.

pub mod adagrad;
pub mod adam;
pub mod rmsprop;

use crate::simd::Lane;

/// Loads a parameter and its gradient at `i`, with PyTorch's coupled L2 weight decay folded into the
/// gradient (`g + wd·p`), as every optimizer here starts its update.
///
/// # Safety
/// `p.add(i)` and `g.add(i)` must be readable for `L::WIDTH` values.
#[inline(always)]
pub(crate) unsafe fn load_param_grad<L: Lane>(p: *const f32, g: *const f32, i: usize, wd: f32) -> (L, L) {
    let pv = L::load(p.add(i));
    let gv = L::load(g.add(i));
    (pv, if wd != 0.0 { gv.add(L::splat(wd).mul(pv)) } else { gv })
}

pub(crate) fn check_len(what: &str, want: usize, got: usize) {
    assert_eq!(got, want, "{what}: buffer length {got}, parameters {want}");
}

#[cfg(test)]
pub(crate) mod parabola {
    /// Minimises Σ cᵢ(pᵢ - tᵢ)²/2 with `step` from p = 0 and returns the final distance to t.
    pub fn run(steps: usize, mut step: impl FnMut(&mut [f32], &[f32], u64)) -> f32 {
        let c: Vec<f32> = (0..13).map(|i| 0.5 + i as f32 * 0.25).collect();
        let t: Vec<f32> = (0..13).map(|i| (i as f32 - 6.0) * 0.3).collect();
        let mut p = vec![0.0f32; 13];
        for s in 1..=steps {
            let g: Vec<f32> = (0..13).map(|i| c[i] * (p[i] - t[i])).collect();
            step(&mut p, &g, s as u64);
        }
        p.iter().zip(&t).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }
}
