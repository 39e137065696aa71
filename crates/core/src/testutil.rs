//! Test helpers: a seeded RNG and closeness checks (compiled for tests only).

// The xorshift test data, one copy for the unit tests here and the integration tests in tests/ (which
// cannot see `#[cfg(test)]` items of the crate).
#[path = "../tests/common/mod.rs"]
mod common;
pub use common::{data, fd_grad, max_rel_err};

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }
    /// splitmix64
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    pub fn normal_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal()).collect()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }
}

/// Finite-difference check of the gradients `grads` of `loss(x, w, b)` (the convolutions' L = Σ y·dy of an
/// f64 definition): linear in each argument, so the central difference with h = 0.5 is exact up to f64
/// rounding. `count` random elements of each argument, `|got - num| <= 2e-5 · max(|num|, 1)`.
pub fn check_linear_grads(rng: &mut Rng, count: usize, args: [&[f32]; 3], grads: [&[f32]; 3], loss: impl Fn(&[f32], &[f32], &[f32]) -> f64, what: &str) {
    for _ in 0..count {
        for a in 0..3 {
            let i = rng.below(args[a].len());
            let at = |h: f32| {
                let mut p = args[a].to_vec();
                p[i] += h;
                let mut v = args;
                v[a] = &p;
                loss(v[0], v[1], v[2])
            };
            let num = at(0.5) - at(-0.5);
            let got = grads[a][i] as f64;
            assert!((got - num).abs() <= 2e-5 * num.abs().max(1.0), "{what}: gradient {a} [{i}]: {got} vs {num}");
        }
    }
}

/// Elementwise `|got - want| <= tol · max(|want|, 1)`.
pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs();
        assert!(err <= tol * w.abs().max(1.0), "{what}: element {i}: got {g}, want {w}, err {err}");
    }
}
