//! Dropout (per element) and channel dropout (PyTorch's `Dropout2d`: a whole (n, c) plane at once), with
//! inverted scaling: in training a kept value is multiplied by 1/(1 − p), a dropped one is 0; in eval the
//! layer is the identity. p = 1 drops everything (PyTorch returns zeros).
//!
//! Which units are kept is a pure function of (seed, call counter, unit index): the unit's 32 random bits
//! are half of SplitMix64's output (Steele, Lea & Flood 2014; the finaliser passes BigCrush over a Weyl
//! sequence) at state key + ⌊unit/2⌋·γ, the key mixed from the seed and the counter. So the mask is the
//! same for any thread count, any chunking and any runtime, and the caller advances the counter per call.
//! A unit is kept when its bits are below round((1 − p)·2³²): the keep probability is 1 − p within 2⁻³³.
//!
//! The backward reapplies the forward's mask, stored as a bitmask: bit b of word w is unit 32w + b (one
//! bit per element for `Dropout`, per (n, c) channel for the channel form).

use crate::error::{self, Error, Result};
use crate::par;

/// The weyl increment of SplitMix64 (2⁶⁴/φ, odd).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline(always)]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream key for one call: distinct (seed, counter) pairs give unrelated streams.
#[inline]
fn stream_key(seed: u64, counter: u64) -> u64 {
    mix64(seed ^ mix64(counter.wrapping_add(GAMMA)))
}

/// The 32 random bits of `unit` in the stream `key`.
#[inline(always)]
fn unit_bits(key: u64, unit: usize) -> u32 {
    let w = mix64(key.wrapping_add((unit as u64 >> 1).wrapping_mul(GAMMA)));
    (w >> ((unit as u32 & 1) * 32)) as u32
}

/// A validated dropout layer: `units` independent units of `inner` consecutive values each.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    units: usize,
    inner: usize,
    p: f32,
    /// Keep when the unit's bits are below this (0 ..= 2³²).
    keep_below: u64,
    scale: f32,
}

impl Dropout {
    /// Elementwise dropout over `len` values. Refuses p outside [0, 1] (`BadGeometry`) and sizes beyond
    /// wasm32 (`TooLarge`).
    pub fn new(len: usize, p: f32) -> Result<Self> {
        Self::channelwise(len, 1, 1, p)
    }

    /// Channel dropout over (n, c, inner): each of the n·c planes is kept or dropped whole.
    pub fn channelwise(n: usize, c: usize, inner: usize, p: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::BadGeometry);
        }
        error::numel(&[n, c, inner])?;
        let keep_below = ((1.0 - p as f64) * 4_294_967_296.0).round() as u64;
        // p = 1 keeps nothing; the scale is then never applied.
        let scale = if p < 1.0 { 1.0 / (1.0 - p) } else { 0.0 };
        Ok(Dropout { units: n * c, inner, p, keep_below, scale })
    }

    pub fn numel(&self) -> usize {
        self.units * self.inner
    }

    /// u32 words of the mask.
    pub fn mask_words(&self) -> usize {
        self.units.div_ceil(32)
    }

    /// 1/(1 − p), the kept values' factor.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Whether `unit` is kept in the call (seed, counter).
    pub fn keeps(&self, seed: u64, counter: u64, unit: usize) -> bool {
        (unit_bits(stream_key(seed, counter), unit) as u64) < self.keep_below
    }

    /// Training: y = x·mask/(1 − p) and the mask written; eval: y = x (the mask is left alone).
    pub fn forward(&self, training: bool, seed: u64, counter: u64, x: &[f32], y: &mut [f32], mask: &mut [u32]) -> Result {
        if x.len() != self.numel() || y.len() != self.numel() || mask.len() != self.mask_words() {
            return Err(Error::BadBuffer);
        }
        if !training {
            y.copy_from_slice(x);
            return Ok(());
        }
        let key = stream_key(seed, counter);
        let words = self.chunk_words();
        let l = self.inner;
        par::try_chunks_mut2(mask, words, y, words * 32 * l, |k, mw, yc| {
            let u0 = k * words * 32;
            let xc = &x[u0 * l..][..yc.len()];
            for (w, bits) in mw.iter_mut().enumerate() {
                let (first, count) = (32 * w, 32.min(self.units - u0 - 32 * w));
                *bits = self.word(key, u0 + first, count);
                let (xs, ys) = (&xc[first * l..][..count * l], &mut yc[first * l..][..count * l]);
                masked(*bits, self.scale, l, xs, ys);
            }
            Ok(())
        })
    }

    /// The keep bits of units `u..u + count` (u even, count ≤ 32): one SplitMix64 output per pair.
    #[inline]
    fn word(&self, key: u64, u: usize, count: usize) -> u32 {
        let mut bits = 0u32;
        for b in (0..count).step_by(2) {
            let r = mix64(key.wrapping_add(((u + b) as u64 >> 1).wrapping_mul(GAMMA)));
            bits |= (((r as u32 as u64) < self.keep_below) as u32) << b;
            if b + 1 < count {
                bits |= ((((r >> 32) as u32 as u64) < self.keep_below) as u32) << (b + 1);
            }
        }
        bits
    }

    /// Training: dx = dy·mask/(1 − p) with the forward's mask; eval: dx = dy.
    pub fn backward(&self, training: bool, dy: &[f32], mask: &[u32], dx: &mut [f32]) -> Result {
        if dy.len() != self.numel() || dx.len() != self.numel() || mask.len() != self.mask_words() {
            return Err(Error::BadBuffer);
        }
        if !training {
            dx.copy_from_slice(dy);
            return Ok(());
        }
        let (words, l) = (self.chunk_words(), self.inner);
        par::chunks_mut(dx, words * 32 * l, |k, dc| {
            let u0 = k * words * 32;
            let dyc = &dy[u0 * l..][..dc.len()];
            for (w, (ds, gs)) in dc.chunks_mut(32 * l).zip(dyc.chunks(32 * l)).enumerate() {
                masked(mask[u0 / 32 + w], self.scale, l, gs, ds);
            }
        });
        Ok(())
    }

    /// Mask words per parallel chunk (a whole number of words, so chunks never share one).
    fn chunk_words(&self) -> usize {
        (par::ELEMENTWISE_CHUNK / (32 * self.inner)).max(1)
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }
}

/// dst = src·scale for the units whose bit is set in `bits` (unit b = values b·inner..(b + 1)·inner), 0
/// for the others. Per element, a multiply by the bit (exact: ·1 or ·0), which vectorises.
#[inline(always)]
fn masked(bits: u32, scale: f32, inner: usize, src: &[f32], dst: &mut [f32]) {
    if inner == 1 {
        for (b, (d, &s)) in dst.iter_mut().zip(src).enumerate() {
            *d = s * scale * ((bits >> b) & 1) as f32;
        }
        return;
    }
    for (b, (d, s)) in dst.chunks_exact_mut(inner).zip(src.chunks_exact(inner)).enumerate() {
        if (bits >> b) & 1 == 1 {
            for (d, &s) in d.iter_mut().zip(s) {
                *d = s * scale;
            }
        } else {
            d.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Rng;

    #[test]
    fn keep_rate_is_binomial_and_values_are_scaled_or_zero() {
        let mut rng = Rng::new(2);
        for (p, len) in [(0.5f32, 100_003usize), (0.1, 65_537), (0.9, 50_001), (0.0, 1000), (1.0, 1000)] {
            let d = Dropout::new(len, p).unwrap();
            let x: Vec<f32> = rng.normal_vec(len);
            let (mut y, mut mask) = (vec![f32::NAN; len], vec![0u32; d.mask_words()]);
            d.forward(true, 42, 7, &x, &mut y, &mut mask).unwrap();
            let kept = (0..len).filter(|&i| mask[i / 32] >> (i % 32) & 1 == 1).count();
            let q = 1.0 - p as f64;
            // Within 5 binomial standard deviations (a false failure has probability below 6e-7).
            let sd = (len as f64 * q * (1.0 - q)).sqrt();
            assert!((kept as f64 - len as f64 * q).abs() <= 5.0 * sd + 1e-9, "p {p}: kept {kept} of {len}");
            for i in 0..len {
                let k = mask[i / 32] >> (i % 32) & 1 == 1;
                assert_eq!(k, d.keeps(42, 7, i));
                assert_eq!(y[i], if k { x[i] * (1.0 / (1.0 - p)) } else { 0.0 }, "p {p} at {i}");
                assert!(!k || y[i].to_bits() == (x[i] * (1.0 / (1.0 - p))).to_bits());
            }
            // Padding bits of the last word stay clear.
            if len % 32 != 0 {
                assert_eq!(mask[len / 32] >> (len % 32), 0);
            }
            let dy = rng.normal_vec(len);
            let mut dx = vec![f32::NAN; len];
            d.backward(true, &dy, &mask, &mut dx).unwrap();
            for i in 0..len {
                let k = mask[i / 32] >> (i % 32) & 1 == 1;
                assert_eq!(dx[i], if k { dy[i] * d.scale() } else { 0.0 });
            }
            println!("dropout p={p}: kept {kept}/{len} (expected {:.0} ± {sd:.0})", len as f64 * q);
        }
    }

    #[test]
    fn channel_dropout_keeps_or_drops_whole_planes_and_eval_is_identity() {
        let (n, c, l) = (7, 9, 13);
        let d = Dropout::channelwise(n, c, l, 0.3).unwrap();
        let x: Vec<f32> = (0..n * c * l).map(|i| i as f32 + 1.0).collect();
        let (mut y, mut mask) = (vec![0.0; x.len()], vec![0u32; d.mask_words()]);
        assert_eq!(d.mask_words(), 2);
        d.forward(true, 1, 0, &x, &mut y, &mut mask).unwrap();
        for u in 0..n * c {
            let k = mask[u / 32] >> (u % 32) & 1 == 1;
            for e in 0..l {
                let i = u * l + e;
                assert_eq!(y[i], if k { x[i] * d.scale() } else { 0.0 });
            }
        }
        let mut e = vec![0.0; x.len()];
        d.forward(false, 1, 0, &x, &mut e, &mut mask).unwrap();
        assert_eq!(e, x);
        d.backward(false, &x, &mask, &mut e).unwrap();
        assert_eq!(e, x);
        // Different counters give different masks; the same (seed, counter) the same one.
        let mut m2 = vec![0u32; 2];
        d.forward(true, 1, 1, &x, &mut y, &mut m2).unwrap();
        assert_ne!(m2, mask);
        d.forward(true, 1, 0, &x, &mut y, &mut m2).unwrap();
        assert_eq!(m2, mask);
    }

    #[test]
    fn units_are_uncorrelated_across_neighbours_and_calls() {
        // Pairs of neighbouring units and of the same unit in consecutive calls: each of the four
        // (keep, keep) combinations near its product probability (p = 0.5: 1/4 each).
        let d = Dropout::new(1 << 16, 0.5).unwrap();
        let (mut both_next, mut both_call) = (0usize, 0usize);
        let n = 1 << 16;
        for u in 0..n - 1 {
            both_next += (d.keeps(9, 3, u) && d.keeps(9, 3, u + 1)) as usize;
            both_call += (d.keeps(9, 3, u) && d.keeps(9, 4, u)) as usize;
        }
        let sd = (n as f64 * 0.25 * 0.75).sqrt();
        for both in [both_next, both_call] {
            assert!((both as f64 - n as f64 / 4.0).abs() < 5.0 * sd, "{both}");
        }
    }

    #[test]
    fn refuses_bad_probabilities_and_buffers() {
        assert_eq!(Dropout::new(10, 1.5), Err(Error::BadGeometry));
        assert_eq!(Dropout::new(10, -0.1), Err(Error::BadGeometry));
        assert_eq!(Dropout::new(10, f32::NAN), Err(Error::BadGeometry));
        assert_eq!(Dropout::channelwise(1 << 20, 1 << 10, 1 << 2, 0.5), Err(Error::TooLarge));
        let d = Dropout::new(40, 0.5).unwrap();
        let (x, mut y) = (vec![0.0; 40], vec![0.0; 40]);
        assert_eq!(d.forward(true, 0, 0, &x, &mut y, &mut [0u32; 1]), Err(Error::BadBuffer));
        assert_eq!(d.backward(true, &x, &[0u32; 2], &mut y[..39]), Err(Error::BadBuffer));
    }
}
