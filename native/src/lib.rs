//! The native backend of skypilot-rust: a plain C ABI (declared in include/skyutils.h)
//! that the `skyutils` Python package loads with ctypes.
//!
//! Every exported function is `extern "C"`, prefixed `skyutils_`, catches panics at the
//! boundary (`ffi::guard`), returns an `int` status and writes results through
//! out-pointers, except the short hot calls, which return their answer (or a negative status)
//! and take only pointers and C ints, so ctypes can call them without argtypes. Work that can
//! run long (a tail, a directory) is done in bounded calls that return `MORE` and keep their
//! place in a state array the caller owns, so Ctrl-C reaches Python between them. Nothing of
//! a call outlives it in the library (the benchmark's floors aside). Modules are named as the
//! Python side's: text, files, system, process (and floor, for the benchmark).

use std::ffi::{c_char, c_int};

pub mod archive;
pub mod cgroup;
pub mod ffi;
pub mod files;
pub mod floor;
pub mod process;
pub mod system;
pub mod text;

/// Raised whenever an exported signature or a status code changes meaning.
pub const ABI_VERSION: u32 = 8;

/// The ABI version; Python binds nothing unless it matches what it was written for.
#[no_mangle]
pub extern "C" fn skyutils_abi_version() -> u32 {
    ABI_VERSION
}

/// The library's version as a static NUL-terminated string (never freed).
#[no_mangle]
pub extern "C" fn skyutils_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Panics inside the boundary guard and returns what the guard makes of it (ERR_PANIC):
/// lets the Python tests prove that a Rust panic cannot take the interpreter down.
#[no_mangle]
pub extern "C" fn skyutils_selftest_panic() -> c_int {
    ffi::guard(|| panic!("skyutils_selftest_panic: deliberate panic"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn guard_turns_panics_into_status() {
        assert_eq!(super::skyutils_selftest_panic(), super::ffi::ERR_PANIC);
    }
}
