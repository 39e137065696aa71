//! An operator call's pointer block, resolved into slices only after every check: each buffer present
//! when required, aligned, inside linear memory, and not overlapping another buffer when either is
//! written. A bad pointer or size is a `BadBuffer` refusal naming the slot, never a trap.

use super::{Refusal, Subject};
use crate::error::Error;
use std::cell::RefCell;
use std::ptr::NonNull;

/// The most slots an io block may have.
pub const MAX_SLOTS: usize = 16;

/// Linear memory as an address range: addresses (wasm32 pointers, or offsets natively) `p` with
/// `p + bytes <= len` are inside. `base` is what address 0 means to the host (0 on wasm32).
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    base: usize,
    len: u64,
}

impl Memory {
    /// # Safety
    /// `base + a` must be readable and writable for every `a < len`, for as long as the `Memory` is used,
    /// and nothing else may access the buffers its users resolve while they are in use.
    pub unsafe fn new(base: usize, len: u64) -> Self {
        Self { base, len }
    }

    /// The module's own linear memory, at its current size (it only grows during a call).
    #[cfg(target_arch = "wasm32")]
    pub fn current() -> Self {
        Self { base: 0, len: core::arch::wasm32::memory_size::<0>() as u64 * 65536 }
    }

    /// Refuses (`BadBuffer`) a range that is null (when `bytes > 0`), misaligned or not inside memory;
    /// returns its host pointer. Zero bytes need no memory (a dangling pointer serves).
    pub fn check(&self, addr: usize, bytes: u64, align: usize) -> Result<*mut u8, Error> {
        if bytes == 0 {
            return Ok(NonNull::<u64>::dangling().as_ptr().cast());
        }
        let inside = addr != 0 && addr.is_multiple_of(align) && (addr as u64).checked_add(bytes).is_some_and(|end| end <= self.len);
        if !inside {
            return Err(Error::BadBuffer);
        }
        Ok(std::ptr::with_exposed_provenance_mut(self.base + addr))
    }
}

/// Element types a slot may hold.
pub trait Elem: Copy {}
impl Elem for f32 {}
impl Elem for u32 {}
impl Elem for i32 {}
impl Elem for f64 {}

/// Byte ranges resolved so far in a call, (start, end, written), and how many.
type Taken = ([(u64, u64, bool); MAX_SLOTS], usize);

/// One call's io block: `MAX_SLOTS` or fewer addresses, copied out of memory at the start.
pub struct Io {
    mem: Memory,
    slots: [u32; MAX_SLOTS],
    count: usize,
    taken: RefCell<Taken>,
}

impl Io {
    /// Reads `count` slots from the block at `addr` (refused with `BadBuffer` if it is not inside memory).
    pub fn new(mem: Memory, addr: usize, count: usize) -> Result<Self, Refusal> {
        assert!(count <= MAX_SLOTS, "io: {count} slots");
        let p = mem.check(addr, 4 * count as u64, 4).map_err(|e| Refusal::at(e, -1, Subject::Buffer, 4.0 * count as f64))?;
        let mut slots = [0u32; MAX_SLOTS];
        // SAFETY: checked above: `count` aligned u32s inside memory.
        slots[..count].copy_from_slice(unsafe { std::slice::from_raw_parts(p as *const u32, count) });
        Ok(Self { mem, slots, count, taken: RefCell::new(([(0, 0, false); MAX_SLOTS], 0)) })
    }

    /// An io block from addresses given directly (native tests).
    pub fn from_slots(mem: Memory, addrs: &[u32]) -> Self {
        assert!(addrs.len() <= MAX_SLOTS);
        let mut slots = [0u32; MAX_SLOTS];
        slots[..addrs.len()].copy_from_slice(addrs);
        Self { mem, slots, count: addrs.len(), taken: RefCell::new(([(0, 0, false); MAX_SLOTS], 0)) }
    }

    /// True when slot `i` holds a buffer (not 0).
    pub fn present(&self, i: usize) -> bool {
        i < self.count && self.slots[i] != 0
    }

    /// Slot `i` as `len` elements, or `None` when it is 0 (absent). Every range is checked against memory
    /// and against the ranges resolved before it in this call.
    fn resolve<T: Elem>(&self, i: usize, len: usize, written: bool) -> Result<Option<*mut T>, Refusal> {
        if !self.present(i) {
            return Ok(None);
        }
        let bytes = len as u64 * std::mem::size_of::<T>() as u64;
        let bad = |e| Refusal::at(e, i as i32, Subject::Buffer, bytes as f64);
        let p = self.mem.check(self.slots[i] as usize, bytes, std::mem::align_of::<T>()).map_err(bad)?;
        if bytes > 0 {
            let (start, end) = (self.slots[i] as u64, self.slots[i] as u64 + bytes);
            let mut taken = self.taken.borrow_mut();
            let (ranges, n) = &mut *taken;
            if ranges[..*n].iter().any(|&(s, e, w)| (w || written) && start < e && s < end) {
                return Err(bad(Error::BadBuffer));
            }
            ranges[*n] = (start, end, written);
            *n += 1;
        }
        Ok(Some(p.cast()))
    }

    fn required<T: Elem>(&self, i: usize, len: usize, written: bool) -> Result<*mut T, Refusal> {
        match self.resolve::<T>(i, len, written)? {
            Some(p) => Ok(p),
            None if len == 0 => Ok(NonNull::<T>::dangling().as_ptr()),
            None => Err(Refusal::at(Error::BadBuffer, i as i32, Subject::Buffer, (len * std::mem::size_of::<T>()) as f64)),
        }
    }

    /// A required input.
    pub fn input<T: Elem>(&self, i: usize, len: usize) -> Result<&[T], Refusal> {
        // SAFETY: `required` checked the range (inside memory, aligned, not written through another slot).
        self.required::<T>(i, len, false).map(|p| unsafe { std::slice::from_raw_parts(p, len) })
    }

    /// An optional input (`None` when the slot is 0).
    pub fn input_opt<T: Elem>(&self, i: usize, len: usize) -> Result<Option<&[T]>, Refusal> {
        // SAFETY: as in `input`.
        Ok(self.resolve::<T>(i, len, false)?.map(|p| unsafe { std::slice::from_raw_parts(p, len) }))
    }

    /// A required output: overlaps no other buffer of the call.
    #[allow(clippy::mut_from_ref)]
    pub fn output<T: Elem>(&self, i: usize, len: usize) -> Result<&mut [T], Refusal> {
        // SAFETY: as in `input`, and no other resolved range overlaps this one, so the slice is exclusive.
        self.required::<T>(i, len, true).map(|p| unsafe { std::slice::from_raw_parts_mut(p, len) })
    }

    /// An optional output (`None` when the slot is 0).
    #[allow(clippy::mut_from_ref)]
    pub fn output_opt<T: Elem>(&self, i: usize, len: usize) -> Result<Option<&mut [T]>, Refusal> {
        // SAFETY: as in `output`.
        Ok(self.resolve::<T>(i, len, true)?.map(|p| unsafe { std::slice::from_raw_parts_mut(p, len) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_null_misaligned_outside_and_overlapping_buffers() {
        let mut arena = vec![0u64; 64]; // 512 bytes
        // SAFETY: the arena outlives the Memory and nothing else touches it.
        let mem = unsafe { Memory::new(arena.as_mut_ptr().expose_provenance(), 512) };
        let io = Io::from_slots(mem, &[16, 0, 18, 500, 64, 64, 32]);
        assert_eq!(io.input::<f32>(0, 4).unwrap().len(), 4);
        assert_eq!(io.input_opt::<f32>(1, 4).unwrap(), None);
        assert_eq!(io.input::<f32>(1, 4).unwrap_err().field, 1); // required but absent
        assert_eq!(io.input::<f32>(1, 0).unwrap().len(), 0); // nothing to read: absence is fine
        assert_eq!(io.input::<f32>(2, 1).unwrap_err().error, Error::BadBuffer); // misaligned
        assert_eq!(io.input::<f32>(3, 4).unwrap_err().bytes, 16.0); // 500 + 16 > 512
        assert!(io.input::<f32>(3, 3).is_ok()); // 500 + 12 = 512
        assert!(io.input::<f32>(4, 4).is_ok());
        assert!(io.input::<f32>(5, 4).is_ok()); // two inputs may share bytes
        assert!(io.output::<f32>(6, 4).is_ok()); // 32..48 only touches input 0 (16..32)
        let io = Io::from_slots(mem, &[16, 24]);
        io.input::<f32>(0, 4).unwrap();
        assert_eq!(io.output::<f32>(1, 4).unwrap_err().field, 1); // 24..40 overlaps 16..32
        assert!(Io::new(mem, 510, 2).is_err());
    }
}
