//! Helpers shared by the integration tests and, through `#[path]` in src/testutil.rs, by the unit tests
//! (integration tests cannot see the crate's `#[cfg(test)]` items).

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
