//! Fused optimizer steps over flat buffers: one pass reads each parameter's gradient and state slots and
//! writes them back with the parameter. Per-step scalars (bias corrections, decayed rates) are computed
//! once per call in f64 and rounded to f32, as PyTorch does with its Python-float scalars.
//!
//! Operation order inside each update follows PyTorch 1.13's single-tensor CPU path
//! (`add(alpha)`: `a + α·b`; `addcmul(v)`: `a + v·b·c`; `addcdiv(v)`: `a + v·b/c`), so results agree to
//! float32 rounding rather than merely to a tolerance.
//!
//! Sorted in order of increasing complexity: `sgd`, `adagrad`, `rmsprop`, `adadelta`, `adam` (and AdamW),
//! `adamax`, `adafactor` (the one with reductions), then `lookahead` (a wrapper's elementwise sync),
//! `grad` (norms, scaling and clipping of gradients) and `stats` (per-range telemetry).
//!
//! Every step takes an optional `delta` buffer: when given it receives `p_new − p_old` per element,
//! computed from the registers already holding both, so telemetry costs one store, and nothing when absent.

pub mod adabelief;
pub mod adadelta;
pub mod adafactor;
pub mod adagrad;
pub mod adam;
pub mod adamax;
pub mod dadapt;
pub mod grad;
pub mod lamb;
pub mod lars;
pub mod lion;
pub mod lookahead;
pub mod nadam;
pub mod prodigy;
pub mod radam;
pub mod reduce;
pub mod rmsprop;
pub mod schedulefree;
pub mod sgd;
pub mod stats;
pub mod swats;
pub mod table;

use crate::par::SyncPtr;
use crate::simd::Lane;

/// Where ε sits in the denominator of the adaptive methods (Adagrad, RMSprop, Adam).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpsMode {
    /// `√v + ε`: PyTorch, and tfjs's Adam.
    #[default]
    Outside,
    /// `√(v + ε)`: Keras / TF / tfjs Adagrad and RMSprop; for Adam `√(v̂ + ε)` (Optax's `eps_root`).
    Inside,
}

impl EpsMode {
    /// 0 → Outside, anything else → Inside (the exports' i32 flag).
    pub fn from_flag(inside: i32) -> Self {
        if inside != 0 {
            EpsMode::Inside
        } else {
            EpsMode::Outside
        }
    }

    /// ε as the pair (inside, outside) for `√(x + ε_in) + ε_out`: one branch-free form for both modes,
    /// bitwise equal to `√x + ε` and to `√(x + ε)`, since the unused one is −0 (x + (−0) = x for every x).
    pub(crate) fn split(self, eps: f32) -> (f32, f32) {
        match self {
            EpsMode::Outside => (-0.0, eps),
            EpsMode::Inside => (eps, -0.0),
        }
    }
}

/// `√(x + ε_in) + ε_out` (see `EpsMode::split`).
#[inline(always)]
pub(crate) fn denom<L: Lane>(x: L, (eps_in, eps_out): (f32, f32)) -> L {
    x.add(L::splat(eps_in)).sqrt().add(L::splat(eps_out))
}

/// The gradient's sign factor: −1 when maximizing (multiplying by ±1 is exact, and cheaper in the loop than
/// a branch).
pub(crate) fn sign(maximize: bool) -> f32 {
    if maximize {
        -1.0
    } else {
        1.0
    }
}

/// Exact negation (`-1·x` keeps the sign of zero, unlike `0 - x`).
#[inline(always)]
pub(crate) fn neg<L: Lane>(x: L) -> L {
    x.mul(L::splat(-1.0))
}

/// Loads a parameter and its gradient at `i`, the gradient times `sign` (−1 when maximizing, see `sign`),
/// with PyTorch's coupled L2 weight decay folded in (`g + wd·p`), as every PyTorch optimizer starts its
/// update.
///
/// # Safety
/// `p.add(i)` and `g.add(i)` must be readable for `L::WIDTH` values.
#[inline(always)]
pub(crate) unsafe fn load_param_grad<L: Lane>(p: *const f32, g: *const f32, i: usize, wd: f32, sign: f32) -> (L, L) {
    let pv = L::load(p.add(i));
    let gv = L::load(g.add(i)).mul(L::splat(sign));
    (pv, if wd != 0.0 { gv.add(L::splat(wd).mul(pv)) } else { gv })
}

/// Stores the new parameter, and `new − old` into the telemetry buffer when there is one.
///
/// # Safety
/// `p.add(i)` (and `delta.add(i)` when given) writable for `L::WIDTH` values.
#[inline(always)]
pub(crate) unsafe fn store_param<L: Lane>(p: *mut f32, delta: Option<SyncPtr<f32>>, i: usize, old: L, new: L) {
    new.store(p.add(i));
    if let Some(d) = delta {
        new.sub(old).store(d.get().add(i));
    }
}

/// Loop unswitching by hand: `unswitch!(cond, { name = constant, … }, body)` emits `body` twice, once
/// where each `name` is shadowed by its compile-time `constant` (taken when `cond` holds), once with the
/// runtime values. The constant copy is PyTorch's default path (no maximize, ε outside, no telemetry): there
/// the neutral factors and addends (×1, + −0) and the delta store fold away, so it is the loop it was
/// before those options existed; the other copy pays a few exact multiplies and adds instead of branches.
#[macro_export]
#[doc(hidden)]
macro_rules! unswitch {
    ($cond:expr, { $($name:ident = $plain:expr),* $(,)? }, $body:block) => {
        if $cond {
            $(let $name = $plain;)*
            $body
        } else {
            $body
        }
    };
}

pub(crate) fn check_len(what: &str, want: usize, got: usize) {
    assert_eq!(got, want, "{what}: buffer length {got}, parameters {want}");
}

/// The pointer of an optional slot of length `n`, after checking that length.
pub(crate) fn opt_ptr(what: &str, n: usize, s: Option<&mut [f32]>) -> Option<SyncPtr<f32>> {
    s.map(|s| {
        check_len(what, n, s.len());
        SyncPtr(s.as_mut_ptr())
    })
}

/// `1 − βᵗ` in f64, with `t` as a float power as Python's `beta ** step` computes it.
pub(crate) fn bias_correction(beta: f64, t: u64) -> f64 {
    1.0 - beta.powf(t.max(1) as f64)
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

#[cfg(test)]
pub(crate) mod lanes {
    //! The microkernel-tester idea for elementwise steps: every element must get the same bits whether it
    //! falls in the 4-lane body or in the scalar tail, for every length around the lane width.

    pub use crate::testutil::data;

    /// Runs `step(buffers, t)` over `slots` buffers (buffer 0 is the parameter) for `steps` steps, once over
    /// the whole length `n` and once element by element (all in the tail), and compares the bits of every
    /// buffer. `init[k]` fills buffer k, `grads` gives the gradient per step.
    pub fn body_equals_tail(n: usize, init: &[Vec<f32>], steps: u64, mut step: impl FnMut(&mut [Vec<f32>], &[f32], u64)) {
        let grads: Vec<Vec<f32>> = (0..steps).map(|t| data(n, 100 + t as u32)).collect();
        let mut whole: Vec<Vec<f32>> = init.to_vec();
        for t in 1..=steps {
            step(&mut whole, &grads[t as usize - 1], t);
        }
        for i in 0..n {
            let mut one: Vec<Vec<f32>> = init.iter().map(|b| vec![b[i]]).collect();
            for t in 1..=steps {
                step(&mut one, &grads[t as usize - 1][i..i + 1], t);
            }
            for (k, b) in one.iter().enumerate() {
                assert_eq!(b[0].to_bits(), whole[k][i].to_bits(), "buffer {k} element {i} of {n}: tail {} vs body {}", b[0], whole[k][i]);
            }
        }
    }
}
