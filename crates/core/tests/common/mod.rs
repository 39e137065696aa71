//! Helpers shared by the integration tests and, through `#[path]` in src/testutil.rs, by the unit tests
//! (integration tests cannot see the crate's `#[cfg(test)]` items).
#![allow(dead_code)] // each test crate uses a different subset

/// Deterministic values in [-1, 1) (xorshift), for test inputs.
pub fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

/// The largest error of `got` against `want` relative to max(|want_i|, floor·‖want‖∞), and its index: a
/// relative error, except that elements far below the tensor's scale (where cancellation in any f32
/// evaluation leaves an absolute error of a few ulps of that scale) are measured against `floor` of it.
pub fn max_rel_err(got: &[f32], want: &[f64], floor: f64) -> (f64, usize) {
    assert_eq!(got.len(), want.len(), "max_rel_err: lengths");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())) * floor;
    let mut worst = (0.0, 0);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let e = (g as f64 - w).abs() / w.abs().max(scale).max(f64::MIN_POSITIVE);
        if e > worst.0 || e.is_nan() {
            worst = (e, i);
        }
    }
    worst
}

/// Central finite differences of `f` at `x` in f64 with step `h·max(|x_i|, 1)`.
pub fn fd_grad(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let step = h * x[i].abs().max(1.0);
            xp[i] = x[i] + step;
            let up = f(&xp);
            xp[i] = x[i] - step;
            let down = f(&xp);
            xp[i] = x[i];
            (up - down) / (2.0 * step)
        })
        .collect()
}
