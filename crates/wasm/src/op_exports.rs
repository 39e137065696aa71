//! Operator objects over the ABI (`wasmcnn_core::operator`): a handle table, and create → forward /
//! backward → destroy. Every function returns 0 or an `Error` code (create: a handle ≥ 1, or -code); what
//! a refusal was about is read back with `wcnn_op_refusal`.
//!
//! - `wcnn_op_create(kind, desc, n, fdesc, nf) -> handle | -code`: `desc` holds `n` u32 attributes,
//!   `fdesc` `nf` f64 attributes (each operator's file documents its layout).
//! - `wcnn_op_io(op) -> *mut u32`: the operator's own io block (its slot count of u32 addresses), for the
//!   caller to fill; any other block may be passed to forward / backward instead.
//! - `wcnn_op_forward(op, io, batch, flags)` / `wcnn_op_backward(...)`: `flags` is `operator::flags`.
//! - `wcnn_op_destroy(op)`.
//!
//! A call that finds an earlier one still marked as running returns `Trapped`: the earlier one trapped,
//! and nothing in this instance's memory can be trusted any more. A dead worker pool gives `PoolDead`.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;
use wasmcnn_core::error::{Error, MAX_BUFFER_BYTES};
use wasmcnn_core::operator::{self, Desc, Io, Memory, Operator, Refusal, Subject};

/// The ABI's version: operator kinds, descriptor and io layouts, flags and codes. TS checks it.
pub const ABI_VERSION: u32 = 2;

/// Handles are `(generation << INDEX_BITS) | (index + 1)`: a destroyed handle stays invalid after its
/// slot is reused.
const INDEX_BITS: u32 = 20;
const INDEX_MASK: i32 = (1 << INDEX_BITS) - 1;
/// Attributes a descriptor may have.
const MAX_FIELDS: usize = 64;

struct Entry {
    op: Box<dyn Operator>,
    io: Box<[u32]>,
}

struct Table {
    slots: Vec<(i32, Option<Entry>)>,
    free: Vec<usize>,
    live: usize,
}

static TABLE: Mutex<Table> = Mutex::new(Table { slots: Vec::new(), free: Vec::new(), live: 0 });
/// Set while a create / forward / backward runs; still set at the next call only if that one trapped.
static IN_CALL: AtomicBool = AtomicBool::new(false);
static LAST_FIELD: AtomicI32 = AtomicI32::new(-1);
static LAST_SUBJECT: AtomicI32 = AtomicI32::new(0);
static LAST_BYTES: AtomicU64 = AtomicU64::new(0);

fn table() -> std::sync::MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` as one ABI call: refused if an earlier call trapped or the pool died; records a refusal.
fn call(f: impl FnOnce() -> Result<i32, Refusal>) -> i32 {
    if IN_CALL.swap(true, Ordering::Acquire) {
        return -Error::Trapped.code();
    }
    let r = if wasmcnn_core::par::pool_dead() { Err(Refusal::from(Error::PoolDead)) } else { f() };
    IN_CALL.store(false, Ordering::Release);
    match r {
        Ok(v) => v,
        Err(r) => {
            LAST_FIELD.store(r.field, Ordering::Relaxed);
            LAST_SUBJECT.store(r.subject as i32, Ordering::Relaxed);
            LAST_BYTES.store(r.bytes.to_bits(), Ordering::Relaxed);
            -r.error.code()
        }
    }
}

fn memory() -> Memory {
    #[cfg(target_arch = "wasm32")]
    return Memory::current();
    // Natively (this crate's own build for tests) there is no linear memory: the whole address space.
    // SAFETY: only the exports' callers, which pass real pointers, use it.
    #[cfg(not(target_arch = "wasm32"))]
    unsafe {
        Memory::new(0, usize::MAX as u64)
    }
}

/// `n` values of `T` at `p`, checked to lie in memory.
fn fields<'a, T>(p: *const T, n: usize) -> Result<&'a [T], Refusal> {
    if n > MAX_FIELDS {
        return Err(Refusal::at(Error::BadDescriptor, MAX_FIELDS as i32, Subject::None, 0.0));
    }
    let bytes = (n * std::mem::size_of::<T>()) as u64;
    let q = memory().check(p as usize, bytes, std::mem::align_of::<T>()).map_err(|e| Refusal::at(e, -1, Subject::Buffer, bytes as f64))?;
    // SAFETY: checked above; read-only and copied out before anything writes memory.
    Ok(unsafe { std::slice::from_raw_parts(q as *const T, n) })
}

/// Where a caller may write a descriptor for `wcnn_op_create`: `MAX_FIELDS` u32 at `wcnn_op_stage()`, then
/// `MAX_FIELDS` f64 8-aligned right after. No allocation, so a create is refused with its own code even
/// when the heap is unusable (a dead pool).
#[repr(C, align(16))]
struct Stage(std::cell::UnsafeCell<[u64; 3 * MAX_FIELDS / 2]>);
// SAFETY: only the calling thread writes it (through the pointer it gets), between calls.
unsafe impl Sync for Stage {}
static STAGE: Stage = Stage(std::cell::UnsafeCell::new([0; 3 * MAX_FIELDS / 2]));

/// The staging area's address (see `Stage`).
#[no_mangle]
pub extern "C" fn wcnn_op_stage() -> *mut u8 {
    STAGE.0.get().cast()
}

/// Creates an operator: a handle ≥ 1, or -code (the field it is about from `wcnn_op_refusal`).
///
/// # Safety
/// `desc` and `fdesc` are read only where they lie in memory.
#[no_mangle]
pub unsafe extern "C" fn wcnn_op_create(kind: u32, desc: *const u32, n: usize, fdesc: *const f64, nf: usize) -> i32 {
    call(|| {
        let op = operator::create(kind, &Desc::new(fields(desc, n)?, fields(fdesc, nf)?))?;
        let io = vec![0u32; op.slots()].into_boxed_slice();
        let mut t = table();
        let index = match t.free.pop() {
            Some(i) => i,
            None if t.slots.len() < INDEX_MASK as usize => {
                t.slots.push((0, None));
                t.slots.len() - 1
            }
            None => return Err(Refusal::at(Error::TooLarge, -1, Subject::None, 0.0)),
        };
        t.live += 1;
        let slot = &mut t.slots[index];
        slot.0 = (slot.0 + 1) & (i32::MAX >> INDEX_BITS);
        slot.1 = Some(Entry { op, io });
        Ok((slot.0 << INDEX_BITS) | (index as i32 + 1))
    })
}

fn index(t: &Table, op: i32) -> Option<usize> {
    let i = ((op & INDEX_MASK) as usize).checked_sub(1)?;
    let (gen, entry) = t.slots.get(i)?;
    (op > 0 && *gen == op >> INDEX_BITS && entry.is_some()).then_some(i)
}

/// The operator's own io block (its slot count of u32 addresses, zeroed at creation); 0 for a bad handle.
#[no_mangle]
pub extern "C" fn wcnn_op_io(op: i32) -> *mut u32 {
    let mut t = table();
    match index(&t, op) {
        Some(i) => t.slots[i].1.as_mut().map_or(std::ptr::null_mut(), |e| e.io.as_mut_ptr()),
        None => std::ptr::null_mut(),
    }
}

/// Runs `f` on the operator, taken out of the table meanwhile (the table's lock is not held during the
/// kernels, so a trap there cannot leave it locked).
fn with_op(op: i32, io: *const u32, f: impl FnOnce(&mut dyn Operator, &Io) -> Result<(), Refusal>) -> i32 {
    call(|| {
        let bad = Refusal::at(Error::BadHandle, -1, Subject::None, 0.0);
        let i = index(&table(), op).ok_or(bad)?;
        let mut entry = table().slots[i].1.take().ok_or(bad)?;
        let r = Io::new(memory(), io as usize, entry.op.slots()).and_then(|io| f(&mut *entry.op, &io));
        table().slots[i].1 = Some(entry);
        r.map(|()| 0)
    })
}

/// 0, or the code of a refusal (`wcnn_op_refusal` tells what it was about).
///
/// # Safety
/// Nothing else accesses the io block's buffers during the call.
#[no_mangle]
pub unsafe extern "C" fn wcnn_op_forward(op: i32, io: *const u32, batch: usize, flags: u32) -> i32 {
    -with_op(op, io, |o, io| o.forward(io, batch, flags))
}

/// As `wcnn_op_forward`, for the backward pass.
///
/// # Safety
/// As `wcnn_op_forward`.
#[no_mangle]
pub unsafe extern "C" fn wcnn_op_backward(op: i32, io: *const u32, batch: usize, flags: u32) -> i32 {
    -with_op(op, io, |o, io| o.backward(io, batch, flags))
}

/// Frees the operator (a bad or destroyed handle is ignored; nothing is freed once the pool is dead or
/// retired, as `wcnn_free`).
#[no_mangle]
pub extern "C" fn wcnn_op_destroy(op: i32) {
    if wasmcnn_core::par::pool_dead() {
        return;
    }
    let entry = {
        let mut t = table();
        let Some(i) = index(&t, op) else { return };
        t.free.push(i);
        t.live -= 1;
        t.slots[i].1.take()
    };
    drop(entry);
}

/// Live operators (for leak tests).
#[no_mangle]
pub extern "C" fn wcnn_op_count() -> usize {
    table().live
}

/// What the last refusal was about: 0 → the descriptor field (integer fields first, then float ones) or
/// io slot, -1 for none / the batch; 1 → the `Subject` (0 none, 1 input, 2 output, 3 parameters, 4 scratch,
/// 5 an io buffer); 2 → its size in bytes (0 when not a size); 3 → the most bytes one buffer may span.
#[no_mangle]
pub extern "C" fn wcnn_op_refusal(what: u32) -> f64 {
    match what {
        0 => LAST_FIELD.load(Ordering::Relaxed) as f64,
        1 => LAST_SUBJECT.load(Ordering::Relaxed) as f64,
        2 => f64::from_bits(LAST_BYTES.load(Ordering::Relaxed)),
        3 => MAX_BUFFER_BYTES as f64,
        _ => f64::NAN,
    }
}

/// The ABI's version (`ABI_VERSION`).
#[no_mangle]
pub extern "C" fn wcnn_abi_version() -> u32 {
    ABI_VERSION
}
