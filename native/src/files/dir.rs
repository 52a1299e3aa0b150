//! estimate_fd_for_directory: the entries directly in a directory, counted without building
//! names. On Linux a call reads at most DIR_BUDGET bytes of records and then returns MORE,
//! keeping the directory open in the caller's state, so Ctrl-C reaches Python between calls.

use std::ffi::{c_int, CStr};

use crate::ffi::{self, path_arg};
use crate::files::fd::{self, Fd, State};

/// State slot of the entries counted so far.
pub const DIR_COUNT: usize = 3;
/// Bytes of directory records one call reads before it returns MORE: about 130,000 entries,
/// 50 ms here.
#[cfg(target_os = "linux")]
pub(crate) const DIR_BUDGET: usize = 4 << 20;

/// Where one call of [`count_step`] left the count.
pub enum DirStep {
    Done(u64),
    More { fd: Fd, count: u64 },
}

/// Opens a directory to count: O_DIRECTORY fails on anything else (ENOTDIR) before a FIFO
/// could block the open.
fn open_dir(path: &CStr) -> Result<Fd, c_int> {
    fd::open(path, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NONBLOCK)
}

/// One call's part of a count: a fresh count of `path` (`held` None) or the rest of an
/// earlier call's. Err holds errno, as os.listdir reports it.
#[cfg(target_os = "linux")]
pub fn count_step(path: &CStr, held: Option<(Fd, u64)>, budget: usize) -> Result<DirStep, c_int> {
    let (dir, mut count) = match held {
        Some(held) => held,
        None => (open_dir(path)?, 0),
    };
    // u64 elements keep the buffer aligned for the dirent64 records the kernel writes.
    let mut buf = vec![0u64; 32 * 1024];
    let buf_bytes = buf.len() * 8;
    let mut spent = 0;
    loop {
        if spent >= budget {
            return Ok(DirStep::More { fd: dir, count });
        }
        // SAFETY: the descriptor is an open directory; buf is writable for buf_bytes bytes.
        let got =
            unsafe { libc::syscall(libc::SYS_getdents64, dir.raw(), buf.as_mut_ptr(), buf_bytes) };
        if got < 0 {
            let errno = ffi::last_errno();
            if errno == libc::EINTR {
                continue;
            }
            return Err(errno);
        }
        if got == 0 {
            return Ok(DirStep::Done(count));
        }
        // SAFETY: the kernel filled `got` <= buf_bytes bytes of buf.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), got as usize) };
        count += count_dirents(bytes);
        spent += got as usize;
    }
}

/// Counts linux_dirent64 records in a getdents64 buffer, skipping `.` and `..`.
/// Layout: d_ino u64, d_off i64, d_reclen u16 (offset 16), d_type u8, d_name (offset 19).
#[cfg(target_os = "linux")]
pub fn count_dirents(bytes: &[u8]) -> u64 {
    const NAME: usize = 19;
    let mut count = 0;
    let mut offset = 0;
    while offset + NAME < bytes.len() {
        let reclen = u16::from_ne_bytes([bytes[offset + 16], bytes[offset + 17]]) as usize;
        if reclen == 0 || offset + reclen > bytes.len() {
            break;
        }
        let name = &bytes[offset + NAME..offset + reclen];
        let is_dot = name.starts_with(b".\0") || name.starts_with(b"..\0");
        if !is_dot {
            count += 1;
        }
        offset += reclen;
    }
    count
}

/// Elsewhere, readdir in one call (a DIR* cannot wait in the state array for the next call).
#[cfg(not(target_os = "linux"))]
pub fn count_step(path: &CStr, held: Option<(Fd, u64)>, _budget: usize) -> Result<DirStep, c_int> {
    debug_assert!(held.is_none(), "the export refuses a held descriptor here");
    // fdopendir takes the descriptor over: opened once, closed by closedir.
    let dir = open_dir(path)?.into_raw();
    // SAFETY: dir is an open directory descriptor this function owns.
    let stream = unsafe { libc::fdopendir(dir) };
    if stream.is_null() {
        let errno = ffi::last_errno();
        // SAFETY: fdopendir failed, so the descriptor is still ours to close.
        unsafe { libc::close(dir) };
        return Err(errno);
    }
    let mut count = 0u64;
    let result = loop {
        // readdir signals errors only through errno, so clear it first.
        errno_clear();
        // SAFETY: stream is an open DIR* that only this loop uses.
        let entry = unsafe { libc::readdir(stream) };
        if entry.is_null() {
            let errno = ffi::last_errno();
            break if errno == 0 {
                Ok(DirStep::Done(count))
            } else {
                Err(errno)
            };
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            count += 1;
        }
    };
    // SAFETY: stream came from fdopendir and is closed once (with its descriptor).
    unsafe { libc::closedir(stream) };
    result
}

#[cfg(not(target_os = "linux"))]
const DIR_BUDGET: usize = usize::MAX;

#[cfg(not(target_os = "linux"))]
fn errno_clear() {
    // SAFETY: __error() returns this thread's errno location.
    unsafe { *libc::__error() = 0 };
}

/// Serves estimate_fd_for_directory and get_max_workers_for_file_mounts.
/// Counts the entries directly in the directory at `path` (`.` and `..` left out), in as
/// many calls as it takes: while this returns `MORE`, call it again with the same arguments
/// and state (the path is not opened again). `state` must be zeroed before the first call.
/// OK: the count in `state[DIR_COUNT]`, nothing left open. ERR_OS: errno in
/// `state[STATE_ERRNO]` (ENOENT, ENOTDIR, EACCES, ... as os.listdir reports them).
///
/// # Safety
/// `path` must point to `path_len` readable bytes and `state` to SKYUTILS_STATE_SLOTS int64
/// values, none of them touched by anything else during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_count_dir_entries(
    path: *const u8,
    path_len: c_int,
    state: *mut i64,
) -> c_int {
    ffi::guard(|| {
        // SAFETY: forwarded from this function's contract.
        let Some(mut state) = (unsafe { State::from_ptr(state) }) else {
            return ffi::ERR_ARG;
        };
        let Some(path_len) = ffi::int_len(path_len) else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller passes path_len readable bytes.
        let Some(path) = (unsafe { path_arg(path, path_len) }) else {
            return ffi::ERR_ARG;
        };
        let held = match state.take_fd() {
            None => None,
            // Only Linux leaves a directory open between calls.
            Some(dir) => match u64::try_from(state.get(DIR_COUNT)) {
                Ok(count) if cfg!(target_os = "linux") => Some((dir, count)),
                _ => {
                    state.hold(dir); // not ours to close: the caller's state is off
                    return ffi::ERR_ARG;
                }
            },
        };
        match count_step(&path, held, DIR_BUDGET) {
            Ok(DirStep::Done(count)) => {
                state.set(DIR_COUNT, count as i64);
                ffi::OK
            }
            Ok(DirStep::More { fd, count }) => {
                state.set(DIR_COUNT, count as i64);
                state.hold(fd);
                ffi::MORE
            }
            Err(errno) => state.os_error(errno, 0),
        }
    })
}

// The tests drive the Linux getdents64 path; other systems count with readdir.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn dirent_parsing_skips_dots_and_stops_on_bad_lengths() {
        fn record(name: &[u8]) -> Vec<u8> {
            let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
            let mut rec = vec![0u8; reclen];
            rec[16..18].copy_from_slice(&(reclen as u16).to_ne_bytes());
            rec[19..19 + name.len()].copy_from_slice(name);
            rec
        }
        let mut buf = Vec::new();
        for name in [&b"."[..], b"..", b"a", b".hidden", b"..x"] {
            buf.extend(record(name));
        }
        assert_eq!(count_dirents(&buf), 3);
        let mut broken = record(b"a");
        broken[16] = 0;
        broken[17] = 0;
        assert_eq!(count_dirents(&broken), 0);
        assert_eq!(count_dirents(&buf[..buf.len() - 3]), 2);
    }

    #[test]
    fn a_small_budget_splits_the_count_and_changes_nothing() {
        use std::os::unix::ffi::OsStrExt;
        let dir = std::env::temp_dir().join(format!("skyutils-dir-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        for i in 0..3000 {
            std::fs::write(dir.join(format!("entry-{i}")), b"").unwrap();
        }
        let c_dir = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut calls = 1;
        let mut step = count_step(&c_dir, None, 1).unwrap();
        let count = loop {
            match step {
                DirStep::Done(count) => break count,
                DirStep::More { fd, count } => {
                    calls += 1;
                    step = count_step(&c_dir, Some((fd, count)), 1).unwrap();
                }
            }
        };
        assert_eq!(count, 3000);
        assert!(calls > 1, "{calls} calls");
        let Ok(DirStep::Done(whole)) = count_step(&c_dir, None, DIR_BUDGET) else {
            panic!("one call should do")
        };
        assert_eq!(whole, 3000);
        std::fs::remove_dir_all(&dir).unwrap();
        let file = std::ffi::CString::new("/dev/null").unwrap();
        assert_eq!(
            count_step(&file, None, DIR_BUDGET).err(),
            Some(libc::ENOTDIR)
        );
    }
}
