//! Why a kernel or an operator refused to run. Kernels validate what they are given and return one of
//! these instead of panicking: a panic in wasm is a trap, which leaves the heap in an unknown state.
//!
//! The codes are the ABI's: the wasm exports return 0 for success and `code()` otherwise, and the
//! TypeScript side turns the code into a `RangeError` naming the layer and the size (or, for `Trapped` and
//! `PoolDead`, marks the engine unusable).

use std::sync::atomic::{AtomicUsize, Ordering};

/// A kernel's refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Error {
    /// A size (elements or bytes, a product of dimensions) does not fit one wasm32 buffer.
    TooLarge = 1,
    /// Scratch memory could not be allocated.
    OutOfMemory = 2,
    /// The geometry is inconsistent (a zero size, an output size that does not follow from input, kernel,
    /// stride and padding, a pooling window that holds no input element).
    BadGeometry = 3,
    /// A buffer is missing, misaligned, outside the module's memory, or overlaps another one it may not.
    BadBuffer = 4,
    /// An operator kind, descriptor length, attribute value or flag bit this build does not know.
    BadDescriptor = 5,
    /// Not a live operator handle (never created, or destroyed).
    BadHandle = 6,
    /// An input holds a value the operator cannot take (a class index ≥ classes, an argmax outside its plane).
    BadValue = 7,
    /// An earlier call trapped inside this instance (it left a call or a kernel's scratch marked busy): its
    /// memory can no longer be trusted.
    Trapped = 8,
    /// A worker thread of the pool trapped: the pool cannot finish work, and its memory can no longer be
    /// trusted.
    PoolDead = 9,
}

impl Error {
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The error with this code, if it is one.
    pub fn from_code(code: i32) -> Option<Error> {
        use Error::*;
        [TooLarge, OutOfMemory, BadGeometry, BadBuffer, BadDescriptor, BadHandle, BadValue, Trapped, PoolDead]
            .into_iter()
            .find(|e| e.code() == code)
    }
}

pub type Result<T = ()> = core::result::Result<T, Error>;

/// The most bytes one buffer may span: Rust allows no allocation (`Layout`) and no slice beyond
/// `isize::MAX` bytes, 2 GiB − 1 on wasm32, rounded down to the 16-byte alignment of every buffer. The same
/// figure natively, so native tests see wasm32's refusals.
pub const MAX_BUFFER_BYTES: usize = (1 << 31) - 16;

/// The product of `dims` as an element count whose byte size (`× 4`) fits `MAX_BUFFER_BYTES`.
pub fn numel(dims: &[usize]) -> Result<usize> {
    let n = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or(Error::TooLarge)?;
    if n > MAX_BUFFER_BYTES / 4 {
        return Err(Error::TooLarge);
    }
    Ok(n)
}

/// The product of `dims` in f64: the size to report when `numel` refuses it (exact below 2⁵³).
pub fn product(dims: &[usize]) -> f64 {
    dims.iter().map(|&d| d as f64).product()
}

/// `a · b` without wrapping.
pub fn mul(a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or(Error::TooLarge)
}

/// `a + b` without wrapping.
pub fn add(a: usize, b: usize) -> Result<usize> {
    a.checked_add(b).ok_or(Error::TooLarge)
}

/// Bytes held by the kernels' grow-only scratch arenas (every thread's), for leak tests: `wcnn_live_bytes`
/// counts only what the caller allocated.
static SCRATCH_BYTES: AtomicUsize = AtomicUsize::new(0);

pub fn scratch_bytes() -> usize {
    SCRATCH_BYTES.load(Ordering::Relaxed)
}

/// Grows `v` to at least `len` zeroed values, refusing instead of aborting when the allocator cannot
/// provide them.
fn reserve_zeroed<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> Result {
    if v.len() < len {
        if len > MAX_BUFFER_BYTES / core::mem::size_of::<T>().max(1) {
            return Err(Error::TooLarge);
        }
        v.try_reserve_exact(len - v.len()).map_err(|_| Error::OutOfMemory)?;
        v.resize(len, T::default());
    }
    Ok(())
}

/// Grows a grow-only scratch arena to at least `len` values (new ones zeroed), refusing instead of
/// aborting; the growth is counted in `scratch_bytes`.
pub fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> Result {
    let before = v.capacity();
    reserve_zeroed(v, len)?;
    SCRATCH_BYTES.fetch_add((v.capacity() - before) * core::mem::size_of::<T>(), Ordering::Relaxed);
    Ok(())
}

/// A zeroed vector of `len` values for one call's temporaries, refusing instead of aborting.
pub fn zeroed<T: Copy + Default>(len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    reserve_zeroed(&mut v, len)?;
    Ok(v)
}

/// The first refusal among tasks that cannot return one (closures run through `par`): each task
/// `record`s its outcome, the caller returns `result()` after the loop.
#[derive(Debug, Default)]
pub struct FirstError(core::sync::atomic::AtomicI32);

impl FirstError {
    pub fn record(&self, r: Result) {
        if let Err(e) = r {
            use core::sync::atomic::Ordering::Relaxed;
            let _ = self.0.compare_exchange(0, e.code(), Relaxed, Relaxed);
        }
    }

    pub fn result(&self) -> Result {
        match self.0.load(core::sync::atomic::Ordering::Relaxed) {
            0 => Ok(()),
            code => Err(Error::from_code(code).unwrap_or(Error::BadBuffer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numel_refuses_products_that_wrap_or_exceed_a_wasm32_buffer() {
        assert_eq!(numel(&[2, 3, 4]), Ok(24));
        assert_eq!(numel(&[]), Ok(1));
        assert_eq!(numel(&[1 << 29]), Err(Error::TooLarge)); // 2 GiB of f32
        assert_eq!(numel(&[usize::MAX, 2]), Err(Error::TooLarge));
        assert_eq!(numel(&[65536, 16384]), Err(Error::TooLarge));
        assert_eq!(numel(&[(1 << 29) - 4]), Ok((1 << 29) - 4));
        assert_eq!(product(&[65536, 16384]), 1073741824.0);
    }

    #[test]
    fn grow_is_grow_only_counts_its_bytes_and_refuses_absurd_sizes() {
        let mut v: Vec<f32> = vec![1.0; 4];
        grow(&mut v, 2).unwrap();
        assert_eq!(v.len(), 4);
        let before = scratch_bytes();
        grow(&mut v, 8).unwrap();
        assert_eq!(&v[..], &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(scratch_bytes() >= before + 4 * 4);
        assert_eq!(grow(&mut v, usize::MAX / 2), Err(Error::TooLarge));
        assert_eq!(zeroed::<f64>(3), Ok(vec![0.0; 3]));
    }

    #[test]
    fn codes_round_trip() {
        for c in 1..=9 {
            assert_eq!(Error::from_code(c).unwrap().code(), c);
        }
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(10), None);
    }

    #[test]
    fn first_error_keeps_the_first_refusal() {
        let f = FirstError::default();
        f.record(Ok(()));
        assert_eq!(f.result(), Ok(()));
        f.record(Err(Error::OutOfMemory));
        f.record(Err(Error::TooLarge));
        assert_eq!(f.result(), Err(Error::OutOfMemory));
        for e in [Error::TooLarge, Error::OutOfMemory, Error::BadGeometry, Error::BadBuffer] {
            let f = FirstError::default();
            f.record(Err(e));
            assert_eq!(f.result(), Err(e));
        }
    }
}
