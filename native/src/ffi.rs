//! What every exported function shares: status codes, the panic guard, and checked
//! access to the caller's pointers.

use std::ffi::{c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Success; the out-parameters hold the result.
pub const OK: c_int = 0;
/// An OS call failed; the `err_no` out-parameter holds errno.
pub const ERR_OS: c_int = -1;
/// A pointer was null, a length out of range, or a path held a NUL byte.
pub const ERR_ARG: c_int = -2;
/// The Rust code panicked; the panic was caught at the boundary.
pub const ERR_PANIC: c_int = -3;
/// The input is outside what the native code decides exactly: Python must serve it.
pub const DEFER: c_int = -4;
/// Nothing matched (find_free_port: no free port in the range).
pub const NOT_FOUND: c_int = -5;
/// Not done yet: the call did its share of the work and keeps its place in the caller's
/// state array; call again with the same arguments and state.
pub const MORE: c_int = 1;

/// Runs an exported function's body, turning a panic into `ERR_PANIC`.
///
/// AssertUnwindSafe: the bodies share no state across calls (what a call keeps for the next
/// is in the caller's state array, written last), so a caught panic leaves nothing
/// half-updated.
pub fn guard<F: FnOnce() -> c_int>(body: F) -> c_int {
    guard_or(ERR_PANIC, body)
}

/// [`guard`] for a function whose result is not a status: `on_panic` stands for the panic.
pub fn guard_or<T, F: FnOnce() -> T>(on_panic: T, body: F) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(on_panic)
}

/// A length passed as a C `int` (the type ctypes gives a Python int when a function is called
/// without argtypes), or None when it is negative.
pub fn int_len(len: c_int) -> Option<usize> {
    usize::try_from(len).ok()
}

/// The caller's bytes as a slice, or None for a null pointer or an impossible length.
///
/// # Safety
/// `ptr` must point to `len` readable bytes that stay unchanged during the call
/// (the Python bindings pass a `bytes` object, which is immutable).
pub unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if len > isize::MAX as usize {
        return None;
    }
    if len == 0 {
        return Some(&[]);
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller guarantees `len` readable, unchanging bytes.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A path argument as a C string; None for a bad pointer or an embedded NUL byte.
///
/// # Safety
/// As for [`bytes_arg`].
pub unsafe fn path_arg(ptr: *const u8, len: usize) -> Option<CString> {
    // SAFETY: forwarded from this function's own contract.
    let bytes = unsafe { bytes_arg(ptr, len)? };
    CString::new(bytes).ok()
}

/// Writes `value` through an out-pointer; false when the pointer is null.
///
/// # Safety
/// A non-null `out` must be valid for writing one `T` (ctypes passes `byref` of a
/// value of the declared type).
pub unsafe fn put<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: non-null and, by the caller's contract, valid and aligned for T.
    unsafe { out.write(value) };
    true
}

/// The calling thread's errno after a failed libc call.
pub fn last_errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Reports an OS error through `err_no` and returns `ERR_OS`.
///
/// # Safety
/// As for [`put`].
pub unsafe fn os_error(err_no: *mut c_int, errno: c_int) -> c_int {
    // SAFETY: forwarded from this function's own contract.
    if unsafe { put(err_no, errno) } {
        ERR_OS
    } else {
        ERR_ARG
    }
}
