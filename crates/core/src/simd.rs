//! A four-lane f32 vector: wasm SIMD128 `v128` when compiled for it, a plain `[f32; 4]` otherwise.
//!
//! Kernels are written once against `F32x4`; the portable version is what native `cargo test` runs and
//! compares against naive scalar references, the wasm version is what ships. Every operation here is
//! lane-wise IEEE single precision with the same rounding in both versions, so the two produce the same
//! bits; `mul_add` alone fuses, in the relaxed-SIMD build only (the GEMM and depthwise microkernels use it). `max` is the one exception on NaN inputs (wasm propagates NaN, the portable
//! version follows `f32::max`); inputs are validated finite before they reach a kernel.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    #[repr(transparent)]
    pub struct F32x4(v128);

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        #[inline(always)]
        pub fn zero() -> Self {
            Self(f32x4_splat(0.0))
        }
        /// # Safety
        /// `p..p+4` must be readable; no alignment needed.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(v128_load(p as *const v128))
        }
        /// # Safety
        /// `p` must be readable. One `v128.load32_splat`, not a scalar load and a splat.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self(v128_load32_splat(p as *const u32))
        }
        /// # Safety
        /// `p..p+4` must be writable; no alignment needed.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(f32x4_add(self.0, o.0))
        }
        /// `self + a·b`: one fused multiply-add in the relaxed-SIMD build (rounded once, so its last bits may
        /// differ from the other builds'), a multiply then an add everywhere else.
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            return Self(f32x4_relaxed_madd(a.0, b.0, self.0));
            #[cfg(not(target_feature = "relaxed-simd"))]
            self.add(a.mul(b))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(f32x4_sqrt(self.0))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(f32x4_max(self.0, o.0))
        }
        /// `self` where `mask_src > 0`, else 0 (ReLU's backward mask).
        #[inline(always)]
        pub fn where_positive(self, mask_src: Self) -> Self {
            Self(v128_and(self.0, f32x4_gt(mask_src.0, f32x4_splat(0.0))))
        }
        /// `o < self ? o : self` (wasm's `pmin`: no NaN or signed-zero special cases, so both builds agree).
        #[inline(always)]
        pub fn pmin(self, o: Self) -> Self {
            Self(f32x4_pmin(self.0, o.0))
        }
        /// `self < o ? o : self` (wasm's `pmax`).
        #[inline(always)]
        pub fn pmax(self, o: Self) -> Self {
            Self(f32x4_pmax(self.0, o.0))
        }
        /// The sign bit cleared.
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(f32x4_abs(self.0))
        }
        /// The sign bit flipped.
        #[inline(always)]
        pub fn neg(self) -> Self {
            Self(f32x4_neg(self.0))
        }
        /// A lane mask (all bits set where `self < o`), for `select`.
        #[inline(always)]
        pub fn lt(self, o: Self) -> Self {
            Self(f32x4_lt(self.0, o.0))
        }
        /// A lane mask (all bits set where `self <= o`), for `select`.
        #[inline(always)]
        pub fn le(self, o: Self) -> Self {
            Self(f32x4_le(self.0, o.0))
        }
        /// Bitwise `mask ? a : b` (a mask from `lt`/`le`).
        #[inline(always)]
        pub fn select(mask: Self, a: Self, b: Self) -> Self {
            Self(v128_bitselect(a.0, b.0, mask.0))
        }
        /// `2^n` for lanes holding integers `n` in [-126, 127], built from the exponent bits.
        #[inline(always)]
        pub fn pow2i(self) -> Self {
            Self(i32x4_shl(i32x4_add(i32x4_trunc_sat_f32x4(self.0), i32x4_splat(127)), 23))
        }
        /// Transposes the 4×4 matrix whose rows are `r`: returns its columns.
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            let t0 = i32x4_shuffle::<0, 4, 1, 5>(r[0].0, r[1].0);
            let t1 = i32x4_shuffle::<2, 6, 3, 7>(r[0].0, r[1].0);
            let t2 = i32x4_shuffle::<0, 4, 1, 5>(r[2].0, r[3].0);
            let t3 = i32x4_shuffle::<2, 6, 3, 7>(r[2].0, r[3].0);
            [
                Self(i32x4_shuffle::<0, 1, 4, 5>(t0, t2)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(t0, t2)),
                Self(i32x4_shuffle::<0, 1, 4, 5>(t1, t3)),
                Self(i32x4_shuffle::<2, 3, 6, 7>(t1, t3)),
            ]
        }
        /// The even and odd lanes of the eight floats `a, b`: `([a0, a2, b0, b2], [a1, a3, b1, b3])`.
        #[inline(always)]
        pub fn deinterleave2(a: Self, b: Self) -> (Self, Self) {
            (Self(i32x4_shuffle::<0, 2, 4, 6>(a.0, b.0)), Self(i32x4_shuffle::<1, 3, 5, 7>(a.0, b.0)))
        }
        /// The inverse of `deinterleave2`: `([e0, o0, e1, o1], [e2, o2, e3, o3])`.
        #[inline(always)]
        pub fn interleave2(e: Self, o: Self) -> (Self, Self) {
            (Self(i32x4_shuffle::<0, 4, 1, 5>(e.0, o.0)), Self(i32x4_shuffle::<2, 6, 3, 7>(e.0, o.0)))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            [
                f32x4_extract_lane::<0>(self.0),
                f32x4_extract_lane::<1>(self.0),
                f32x4_extract_lane::<2>(self.0),
                f32x4_extract_lane::<3>(self.0),
            ]
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod imp {
    #[derive(Clone, Copy)]
    pub struct F32x4([f32; 4]);

    #[inline(always)]
    fn map2(a: [f32; 4], b: [f32; 4], f: impl Fn(f32, f32) -> f32) -> [f32; 4] {
        [f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])]
    }

    /// Lane by lane as an array literal, like `map2` (LLVM keeps this in one vector register; the
    /// generic `array::map` / `from_fn` defeat that).
    #[inline(always)]
    fn map1(a: [f32; 4], f: impl Fn(f32) -> f32) -> [f32; 4] {
        [f(a[0]), f(a[1]), f(a[2]), f(a[3])]
    }

    impl F32x4 {
        #[inline(always)]
        pub fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        #[inline(always)]
        pub fn zero() -> Self {
            Self([0.0; 4])
        }
        /// # Safety
        /// `p..p+4` must be readable; no alignment needed.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> Self {
            Self(core::ptr::read_unaligned(p as *const [f32; 4]))
        }
        /// # Safety
        /// `p` must be readable.
        #[inline(always)]
        pub unsafe fn load_splat(p: *const f32) -> Self {
            Self([*p; 4])
        }
        /// # Safety
        /// `p..p+4` must be writable; no alignment needed.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            core::ptr::write_unaligned(p as *mut [f32; 4], self.0)
        }
        #[inline(always)]
        pub fn add(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| a + b))
        }
        /// `self + a·b`, as a multiply then an add (the relaxed-SIMD wasm build fuses them).
        #[inline(always)]
        pub fn mul_add(self, a: Self, b: Self) -> Self {
            self.add(a.mul(b))
        }
        #[inline(always)]
        pub fn sub(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| a - b))
        }
        #[inline(always)]
        pub fn mul(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| a * b))
        }
        #[inline(always)]
        pub fn div(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| a / b))
        }
        #[inline(always)]
        pub fn sqrt(self) -> Self {
            Self(self.0.map(f32::sqrt))
        }
        #[inline(always)]
        pub fn max(self, o: Self) -> Self {
            Self(map2(self.0, o.0, f32::max))
        }
        /// `self` where `mask_src > 0`, else 0 (ReLU's backward mask).
        #[inline(always)]
        pub fn where_positive(self, mask_src: Self) -> Self {
            Self(map2(self.0, mask_src.0, |v, m| if m > 0.0 { v } else { 0.0 }))
        }
        /// `o < self ? o : self` (wasm's `pmin`).
        #[inline(always)]
        pub fn pmin(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| if b < a { b } else { a }))
        }
        /// `self < o ? o : self` (wasm's `pmax`).
        #[inline(always)]
        pub fn pmax(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| if a < b { b } else { a }))
        }
        #[inline(always)]
        pub fn abs(self) -> Self {
            Self(map1(self.0, f32::abs))
        }
        #[inline(always)]
        pub fn neg(self) -> Self {
            Self(map1(self.0, |v| -v))
        }
        #[inline(always)]
        pub fn lt(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| f32::from_bits(if a < b { !0 } else { 0 })))
        }
        #[inline(always)]
        pub fn le(self, o: Self) -> Self {
            Self(map2(self.0, o.0, |a, b| f32::from_bits(if a <= b { !0 } else { 0 })))
        }
        #[inline(always)]
        pub fn select(mask: Self, a: Self, b: Self) -> Self {
            let sel = |m: f32, a: f32, b: f32| f32::from_bits((a.to_bits() & m.to_bits()) | (b.to_bits() & !m.to_bits()));
            let (m, a, b) = (mask.0, a.0, b.0);
            Self([sel(m[0], a[0], b[0]), sel(m[1], a[1], b[1]), sel(m[2], a[2], b[2]), sel(m[3], a[3], b[3])])
        }
        #[inline(always)]
        pub fn pow2i(self) -> Self {
            Self(map1(self.0, |n| f32::from_bits(((n as i32 + 127) << 23) as u32)))
        }
        /// Transposes the 4×4 matrix whose rows are `r`: returns its columns.
        #[inline(always)]
        pub fn transpose4(r: [Self; 4]) -> [Self; 4] {
            core::array::from_fn(|j| Self(core::array::from_fn(|i| r[i].0[j])))
        }
        /// The even and odd lanes of the eight floats `a, b`: `([a0, a2, b0, b2], [a1, a3, b1, b3])`.
        #[inline(always)]
        pub fn deinterleave2(a: Self, b: Self) -> (Self, Self) {
            let (a, b) = (a.0, b.0);
            (Self([a[0], a[2], b[0], b[2]]), Self([a[1], a[3], b[1], b[3]]))
        }
        /// The inverse of `deinterleave2`: `([e0, o0, e1, o1], [e2, o2, e3, o3])`.
        #[inline(always)]
        pub fn interleave2(e: Self, o: Self) -> (Self, Self) {
            let (e, o) = (e.0, o.0);
            (Self([e[0], o[0], e[1], o[1]]), Self([e[2], o[2], e[3], o[3]]))
        }
        #[inline(always)]
        pub fn lanes(self) -> [f32; 4] {
            self.0
        }
    }
}

pub use imp::F32x4;

impl F32x4 {
    /// Stores lanes `0..n` (`n ≤ 4`) as scalar stores: a `copy_nonoverlapping` of a runtime length becomes a
    /// `memory.copy` call in wasm, which costs more than a short row's arithmetic.
    ///
    /// # Safety
    /// `p..p+n` must be writable.
    #[inline(always)]
    pub unsafe fn store_first(self, p: *mut f32, n: usize) {
        let l = self.lanes();
        match n {
            0 => {}
            1 => *p = l[0],
            2 => (*p, *p.add(1)) = (l[0], l[1]),
            3 => (*p, *p.add(1), *p.add(2)) = (l[0], l[1], l[2]),
            _ => self.store(p),
        }
    }

    /// Loads lanes `0..n` (`n ≤ 4`), zero in the others, without reading past `p + n`.
    ///
    /// # Safety
    /// `p..p+n` must be readable.
    #[inline(always)]
    pub unsafe fn load_first(p: *const f32, n: usize) -> Self {
        let l = match n {
            0 => [0.0; 4],
            1 => [*p, 0.0, 0.0, 0.0],
            2 => [*p, *p.add(1), 0.0, 0.0],
            3 => [*p, *p.add(1), *p.add(2), 0.0],
            _ => return Self::load(p),
        };
        Self::load(l.as_ptr())
    }
}

/// True when this build runs the wasm SIMD128 version of `F32x4`.
pub const SIMD128: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// True when `F32x4::mul_add` is a fused (relaxed-SIMD) multiply-add.
pub const RELAXED_SIMD: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"));

/// What an elementwise update loop needs of its element type, so one body serves the 4-lane SIMD loop and
/// its scalar tail (`f32`) with the same operation order, hence the same rounding per element.
pub trait Lane: Copy {
    const WIDTH: usize;
    fn splat(x: f32) -> Self;
    /// # Safety
    /// `p..p+WIDTH` readable.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p..p+WIDTH` writable.
    unsafe fn store(self, p: *mut f32);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    fn max(self, o: Self) -> Self;
}

impl Lane for f32 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        *p
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        *p = self
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        f32::max(self, o)
    }
}

impl Lane for F32x4 {
    const WIDTH: usize = 4;
    #[inline(always)]
    fn splat(x: f32) -> Self {
        F32x4::splat(x)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        F32x4::load(p)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        F32x4::store(self, p)
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F32x4::add(self, o)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        F32x4::sub(self, o)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F32x4::mul(self, o)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F32x4::div(self, o)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        F32x4::sqrt(self)
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        F32x4::max(self, o)
    }
}

/// Calls `body::<F32x4>(i)` for every full group of four from `start`, then `body::<f32>(i)` for the tail
/// up to `end`. The macro form lets one generic body serve both widths without a trait object.
#[macro_export]
macro_rules! for_each_lane {
    ($start:expr, $end:expr, |$i:ident, $L:ident| $body:block) => {{
        let start: usize = $start;
        let end: usize = $end;
        let n4 = start + (end - start) / 4 * 4;
        {
            type $L = $crate::simd::F32x4;
            let mut $i = start;
            while $i < n4 {
                $body
                $i += 4;
            }
        }
        {
            type $L = f32;
            let mut $i = n4;
            while $i < end {
                $body
                $i += 1;
            }
        }
    }};
}
