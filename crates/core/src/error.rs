//! Why a kernel refused to run. Kernels validate what they are given and return one of these instead of
//! panicking: a panic in wasm is a trap, which leaves the heap in an unknown state.
//!
//! The codes are the ABI's: the wasm exports return 0 for success and `code()` otherwise, and the
//! TypeScript side turns the code into a `RangeError` naming the layer and the size.

/// A kernel's refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Error {
    /// A size (elements or bytes, a product of dimensions) does not fit the 32-bit address space.
    TooLarge = 1,
    /// Scratch memory could not be allocated.
    OutOfMemory = 2,
    /// The geometry is inconsistent (an output size that does not follow from input, kernel, stride, …).
    BadGeometry = 3,
    /// A buffer is missing, too short, or outside the module's memory.
    BadBuffer = 4,
}

impl Error {
    pub const fn code(self) -> i32 {
        self as i32
    }
}

pub type Result<T = ()> = core::result::Result<T, Error>;

/// The most bytes one buffer may span: what a 32-bit `usize` can index, minus a page (wasm32's linear
/// memory is at most 4 GiB, and the allocator needs room for its own bookkeeping).
pub const MAX_BUFFER_BYTES: usize = (u32::MAX as usize) - (1 << 16) + 1;

/// The product of `dims` as an element count whose byte size (`× 4`) fits `MAX_BUFFER_BYTES`.
pub fn numel(dims: &[usize]) -> Result<usize> {
    let n = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or(Error::TooLarge)?;
    if n > MAX_BUFFER_BYTES / 4 {
        return Err(Error::TooLarge);
    }
    Ok(n)
}

/// `a · b` without wrapping.
pub fn mul(a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or(Error::TooLarge)
}

/// `a + b` without wrapping.
pub fn add(a: usize, b: usize) -> Result<usize> {
    a.checked_add(b).ok_or(Error::TooLarge)
}

/// Grows a grow-only scratch vector to at least `len` zeroed values, refusing instead of aborting when the
/// allocator cannot provide them.
pub fn grow<T: Copy + Default>(v: &mut Vec<T>, len: usize) -> Result {
    if v.len() < len {
        if len > MAX_BUFFER_BYTES / core::mem::size_of::<T>().max(1) {
            return Err(Error::TooLarge);
        }
        v.try_reserve_exact(len - v.len()).map_err(|_| Error::OutOfMemory)?;
        v.resize(len, T::default());
    }
    Ok(())
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
            1 => Err(Error::TooLarge),
            2 => Err(Error::OutOfMemory),
            3 => Err(Error::BadGeometry),
            _ => Err(Error::BadBuffer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numel_refuses_products_that_wrap_or_exceed_the_address_space() {
        assert_eq!(numel(&[2, 3, 4]), Ok(24));
        assert_eq!(numel(&[]), Ok(1));
        assert_eq!(numel(&[1 << 30]), Err(Error::TooLarge)); // 4 GiB of f32
        assert_eq!(numel(&[usize::MAX, 2]), Err(Error::TooLarge));
        assert_eq!(numel(&[65536, 16384]), Err(Error::TooLarge));
        assert_eq!(numel(&[(1 << 30) - (1 << 14)]), Ok((1 << 30) - (1 << 14)));
    }

    #[test]
    fn grow_is_grow_only_and_refuses_absurd_sizes() {
        let mut v: Vec<f32> = vec![1.0; 4];
        grow(&mut v, 2).unwrap();
        assert_eq!(v.len(), 4);
        grow(&mut v, 8).unwrap();
        assert_eq!(&v[..], &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(grow(&mut v, usize::MAX / 2), Err(Error::TooLarge));
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
