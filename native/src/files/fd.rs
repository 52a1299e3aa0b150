//! What the tail and the directory count share: owned descriptors, and the state array in
//! which a call that stops early (`MORE`) keeps its descriptor until the caller calls again.
//!
//! A long read or directory is done in several library calls, each doing bounded work, so
//! that Python runs its signal handlers (Ctrl-C) between them. The state array belongs to
//! the caller for the whole read; the library keeps nothing of a call anywhere else.

use std::ffi::{c_int, CStr};

use crate::ffi;

/// Slot of the descriptor a call left open for the next one (or for the caller), plus one:
/// 0 is none, so a zeroed state array is a fresh one (no value of it names descriptor 0,
/// which a finalizer would otherwise close when an interrupt struck before the slot was set).
pub const STATE_FD: usize = 0;
/// Slot of errno, with `ERR_OS`.
pub const STATE_ERRNO: usize = 1;
/// Slot of the result's flags (`TAIL_*`).
pub const STATE_FLAGS: usize = 2;
/// Slots in a state array (skyutils.h: SKYUTILS_STATE_SLOTS).
pub const STATE_SLOTS: usize = 12;

/// A file descriptor closed on drop.
pub struct Fd(c_int);

impl Fd {
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns or closes.
    pub unsafe fn from_raw(fd: c_int) -> Fd {
        Fd(fd)
    }

    /// The descriptor, handed to whoever stores it (a state array): no longer closed here.
    pub fn into_raw(self) -> c_int {
        std::mem::ManuallyDrop::new(self).0
    }

    pub fn raw(&self) -> c_int {
        self.0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: self.0 is a descriptor this struct owns and nothing else closes.
        unsafe { libc::close(self.0) };
    }
}

/// Opens `path` (close-on-exec), retrying on EINTR; Err holds errno.
pub fn open(path: &CStr, flags: c_int) -> Result<Fd, c_int> {
    loop {
        // SAFETY: path is a valid NUL-terminated string for the call's duration.
        let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd >= 0 {
            return Ok(Fd(fd));
        }
        let errno = ffi::last_errno();
        if errno != libc::EINTR {
            return Err(errno);
        }
    }
}

pub fn fstat(fd: &Fd) -> Result<libc::stat, c_int> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open and `st` is a writable stat buffer.
    if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
        return Err(ffi::last_errno());
    }
    Ok(st)
}

/// The caller's state array of one resumable call.
pub struct State<'a>(&'a mut [i64]);

impl<'a> State<'a> {
    /// # Safety
    /// A non-null `ptr` must point to `STATE_SLOTS` writable int64 values that nothing else
    /// touches during the call.
    pub unsafe fn from_ptr(ptr: *mut i64) -> Option<State<'a>> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null, and the caller guarantees STATE_SLOTS writable, unshared slots.
        Some(State(unsafe {
            std::slice::from_raw_parts_mut(ptr, STATE_SLOTS)
        }))
    }

    pub fn get(&self, slot: usize) -> i64 {
        self.0[slot]
    }

    pub fn set(&mut self, slot: usize, value: i64) {
        self.0[slot] = value;
    }

    /// The descriptor an earlier call left here, now owned by this call (the slot says none
    /// until `hold` puts it back, so a panic in between closes it once, never twice).
    pub fn take_fd(&mut self) -> Option<Fd> {
        let raw = self.0[STATE_FD];
        self.0[STATE_FD] = 0;
        c_int::try_from(raw - 1).ok().filter(|&fd| fd >= 0).map(Fd)
    }

    /// Leaves `fd` open for the next call or the caller.
    pub fn hold(&mut self, fd: Fd) {
        self.0[STATE_FD] = i64::from(fd.into_raw()) + 1;
    }

    /// Reports errno with `ERR_OS`.
    pub fn os_error(&mut self, errno: c_int, flags: u32) -> c_int {
        self.0[STATE_ERRNO] = i64::from(errno);
        self.0[STATE_FLAGS] = i64::from(flags);
        ffi::ERR_OS
    }
}

/// Part of read_last_n_lines, estimate_fd_for_directory and get_max_workers_for_file_mounts.
/// Closes the descriptor a call left in `state` (a no-op when there is none) and marks the
/// slot empty, in one call: Python never holds a closed descriptor's number, so a finalizer
/// that runs after an interrupt cannot close a descriptor someone else has opened since.
///
/// # Safety
/// A non-null `state` must point to `STATE_SLOTS` writable int64 values.
#[no_mangle]
pub unsafe extern "C" fn skyutils_close_state(state: *mut i64) -> c_int {
    ffi::guard(|| {
        // SAFETY: forwarded from this function's contract.
        let Some(mut state) = (unsafe { State::from_ptr(state) }) else {
            return ffi::ERR_ARG;
        };
        drop(state.take_fd());
        ffi::OK
    })
}
