//! read_last_n_lines (the byte tail) and estimate_fd_for_directory (the entry count).

use std::ffi::{c_int, CStr};

use crate::ffi::{self, os_error, path_arg, put};

/// `skyutils_tail_range` flag: the file is empty (Python returns `[]`, not `['']`).
pub const TAIL_EMPTY_FILE: u32 = 1;
/// `skyutils_tail_range` flag with ERR_OS: an error of seeking or reading, which Python
/// raises without a file name; without it, an error open() would raise, naming the file.
pub const TAIL_ERROR_UNNAMED: u32 = 2;

/// First read: enough for short tails of typical log lines (later reads are SCAN_BLOCK).
const FIRST_BLOCK: usize = 8 * 1024;

/// A file descriptor closed on drop.
struct Fd(c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: self.0 is a descriptor this struct opened and nothing else closes.
        unsafe { libc::close(self.0) };
    }
}

fn open(path: &CStr, flags: c_int) -> Result<Fd, c_int> {
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

fn fstat(fd: &Fd) -> Result<libc::stat, c_int> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open and `st` is a writable stat buffer.
    if unsafe { libc::fstat(fd.0, &mut st) } != 0 {
        return Err(ffi::last_errno());
    }
    Ok(st)
}

/// Why a tail read could not finish natively.
#[derive(Debug, PartialEq, Eq)]
pub enum TailError {
    /// errno of an error Python's open() would raise (its message names the file).
    Open(c_int),
    /// errno of a failed seek or read (Python's error names no file).
    Os(c_int),
    /// Not a regular file, or it shrank while read: Python decides.
    Defer,
}

/// Fills `buf` from `offset`; a short read means the file shrank under us.
fn read_exact_at(fd: &Fd, buf: &mut [u8], offset: u64) -> Result<(), TailError> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: fd is open and `rest` is writable for rest.len() bytes.
        let got = unsafe {
            libc::pread(
                fd.0,
                rest.as_mut_ptr().cast(),
                rest.len(),
                (offset + done as u64) as libc::off_t,
            )
        };
        if got < 0 {
            let errno = ffi::last_errno();
            if errno == libc::EINTR {
                continue;
            }
            return Err(TailError::Os(errno));
        }
        if got == 0 {
            return Err(TailError::Defer);
        }
        done += got as usize;
    }
    Ok(())
}

/// Where the scan for newlines reads; reused by every call on a thread, because touching
/// fresh memory on each call (page faults) cost more than the reads themselves.
const SCAN_BLOCK: usize = 256 * 1024;

thread_local! {
    static SCAN_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The range [start, end) of the last `n` lines of a file of `size` bytes, found by reading
/// backwards into `scratch` (reused, so no fresh memory is touched per call); `end` leaves out
/// the file's final newline. The first block also supplies the last byte, so a short tail
/// costs one read. Cost follows the tail, not the file.
pub fn tail_range_in(
    mut read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
    scratch: &mut Vec<u8>,
) -> Result<(u64, u64), TailError> {
    let mut end = size;
    let mut pos = size;
    let mut newlines: u64 = 0;
    let mut step_size = FIRST_BLOCK;
    let mut first = true;
    while pos > 0 {
        let step = step_size.min(pos as usize);
        pos -= step as u64;
        scratch.resize(step, 0);
        read_at(&mut scratch[..step], pos)?;
        let mut block = &scratch[..step];
        if first {
            first = false;
            if block.last() == Some(&b'\n') {
                end -= 1; // A final newline ends the last line; it does not start another.
                block = &block[..step - 1];
            }
        }
        if n == 0 {
            return Ok((end, end));
        }
        for index in memchr::memrchr_iter(b'\n', block) {
            newlines += 1;
            if newlines == n {
                return Ok((pos + index as u64 + 1, end));
            }
        }
        step_size = (step_size * 2).min(SCAN_BLOCK); // read about what the tail needs
    }
    Ok((0, end))
}

/// [`tail_range_in`] with this thread's reusable scan buffer.
pub fn tail_range(
    read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
) -> Result<(u64, u64), TailError> {
    SCAN_BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => tail_range_in(read_at, size, n, &mut scratch),
        // Only re-entry could hold the borrow; a private buffer keeps that case correct.
        Err(_) => tail_range_in(read_at, size, n, &mut Vec::new()),
    })
}

/// The tail range of the open file `fd`: Python opened it, so open() errors are Python's.
fn tail_range_of(fd: &Fd, n: u64) -> Result<(u64, u64, u32), TailError> {
    let kind = fstat(fd).map_err(TailError::Os)?.st_mode & libc::S_IFMT;
    if kind == libc::S_IFDIR {
        // Python's open() refuses directories (os.open does not); that error names the file.
        return Err(TailError::Open(libc::EISDIR));
    }
    if kind != libc::S_IFREG {
        return Err(TailError::Defer); // FIFOs, devices: Python's own reads decide.
    }
    // The size as SkyPilot's f.seek(0, SEEK_END) finds it: procfs files fail here (EINVAL)
    // there too, where fstat would report a size of 0.
    // SAFETY: fd is open; lseek has no memory-safety preconditions.
    let end = unsafe { libc::lseek(fd.0, 0, libc::SEEK_END) };
    if end < 0 {
        return Err(TailError::Os(ffi::last_errno()));
    }
    let size = end as u64;
    if size == 0 {
        return Ok((0, 0, TAIL_EMPTY_FILE));
    }
    let (start, end) = tail_range(|buf, offset| read_exact_at(fd, buf, offset), size, n)?;
    Ok((start, end, 0))
}

/// Finds the byte range [`*start`, `*end`) of the last `n` lines of the open regular file
/// `fd` (end leaves out the file's final newline); the caller reads it and closes `fd`.
/// `*flags` gets `TAIL_EMPTY_FILE` for an empty file. ERR_OS: `*err_no` holds errno, and
/// `*flags` `TAIL_ERROR_UNNAMED` unless the error is one open() would raise (EISDIR).
/// DEFER: not a regular file, or it shrank while read.
///
/// # Safety
/// The out-pointers must be valid for one write each. `fd` is only read from, never closed.
#[no_mangle]
pub unsafe extern "C" fn skyutils_tail_range(
    fd: c_int,
    n: u64,
    start: *mut u64,
    end: *mut u64,
    flags: *mut u32,
    err_no: *mut c_int,
) -> c_int {
    ffi::guard(|| {
        if fd < 0 || start.is_null() || end.is_null() || flags.is_null() || err_no.is_null() {
            return ffi::ERR_ARG;
        }
        // Borrowed, not owned: the caller closes fd, so this wrapper must never drop.
        let borrowed = std::mem::ManuallyDrop::new(Fd(fd));
        match tail_range_of(&borrowed, n) {
            // SAFETY: all four out-pointers were checked non-null; ctypes passes byref.
            Ok((first, last, found_flags)) => unsafe {
                put(start, first);
                put(end, last);
                put(flags, found_flags);
                ffi::OK
            },
            // SAFETY: flags and err_no checked non-null above.
            Err(TailError::Open(errno)) => unsafe {
                put(flags, 0);
                os_error(err_no, errno)
            },
            // SAFETY: flags and err_no checked non-null above.
            Err(TailError::Os(errno)) => unsafe {
                put(flags, TAIL_ERROR_UNNAMED);
                os_error(err_no, errno)
            },
            Err(TailError::Defer) => ffi::DEFER,
        }
    })
}

/// Entries directly in a directory, `.` and `..` not counted, without building names.
#[cfg(target_os = "linux")]
fn count_entries(path: &CStr) -> Result<u64, c_int> {
    let fd = open(path, libc::O_RDONLY | libc::O_DIRECTORY)?;
    // u64 elements keep the buffer aligned for the dirent64 records the kernel writes.
    let mut buf = vec![0u64; 32 * 1024];
    let buf_bytes = buf.len() * 8;
    let mut count = 0u64;
    loop {
        // SAFETY: fd is an open directory; buf is writable for buf_bytes bytes.
        let got = unsafe { libc::syscall(libc::SYS_getdents64, fd.0, buf.as_mut_ptr(), buf_bytes) };
        if got < 0 {
            let errno = ffi::last_errno();
            if errno == libc::EINTR {
                continue;
            }
            return Err(errno);
        }
        if got == 0 {
            return Ok(count);
        }
        // SAFETY: the kernel filled `got` <= buf_bytes bytes of buf.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), got as usize) };
        count += count_dirents(bytes);
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

#[cfg(not(target_os = "linux"))]
fn count_entries(path: &CStr) -> Result<u64, c_int> {
    // SAFETY: path is a valid NUL-terminated string.
    let dir = unsafe { libc::opendir(path.as_ptr()) };
    if dir.is_null() {
        return Err(ffi::last_errno());
    }
    let mut count = 0u64;
    let result = loop {
        // readdir signals errors only through errno, so clear it first.
        errno_clear();
        // SAFETY: dir is an open DIR* that only this loop uses.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            let errno = ffi::last_errno();
            break if errno == 0 { Ok(count) } else { Err(errno) };
        }
        // SAFETY: readdir returned a valid dirent whose d_name is NUL-terminated.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name != b"." && name != b".." {
            count += 1;
        }
    };
    // SAFETY: dir came from opendir and is closed once.
    unsafe { libc::closedir(dir) };
    result
}

#[cfg(not(target_os = "linux"))]
fn errno_clear() {
    // SAFETY: __error() returns this thread's errno location.
    unsafe { *libc::__error() = 0 };
}

/// Writes the number of entries directly in the directory at `path` to `*count`.
/// ERR_OS: `*err_no` holds errno (ENOENT, ENOTDIR, EACCES, ... as os.listdir reports).
///
/// # Safety
/// `path` must point to `path_len` readable bytes; `count` and `err_no` must be valid for
/// one write each.
#[no_mangle]
pub unsafe extern "C" fn skyutils_count_dir_entries(
    path: *const u8,
    path_len: usize,
    count: *mut u64,
    err_no: *mut c_int,
) -> c_int {
    ffi::guard(|| {
        // SAFETY: the caller passes path_len readable bytes.
        let Some(path) = (unsafe { path_arg(path, path_len) }) else {
            return ffi::ERR_ARG;
        };
        if count.is_null() || err_no.is_null() {
            return ffi::ERR_ARG;
        }
        match count_entries(&path) {
            // SAFETY: count checked non-null above.
            Ok(found) => unsafe {
                put(count, found);
                ffi::OK
            },
            // SAFETY: err_no checked non-null above.
            Err(errno) => unsafe { os_error(err_no, errno) },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail(data: &[u8], n: u64) -> Vec<u8> {
        let read = |buf: &mut [u8], offset: u64| {
            let start = offset as usize;
            buf.copy_from_slice(&data[start..start + buf.len()]);
            Ok(())
        };
        let (start, end) = tail_range(read, data.len() as u64, n).unwrap();
        data[start as usize..end as usize].to_vec()
    }

    #[test]
    fn spec_table_bytes() {
        assert_eq!(tail(b"a\nb\nc\n", 1), b"c");
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\nc\n", 5), b"a\nb\nc");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"\n", 1), b"");
        assert_eq!(tail(b"\n\n", 2), b"\n");
        assert_eq!(tail(b"a\n\nb\n", 2), b"\nb");
        assert_eq!(tail(b"abc", 3), b"abc");
    }

    #[test]
    fn tail_across_many_blocks() {
        let mut data = Vec::new();
        for i in 0..200_000u32 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let got = tail(&data, 150_000);
        let text = String::from_utf8(got).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 150_000);
        assert_eq!(lines[0], "line 50000");
        assert_eq!(lines[149_999], "line 199999");
        assert_eq!(tail(&data, u64::MAX).len(), data.len() - 1);
    }

    #[test]
    fn shrinking_file_defers() {
        let read = |_: &mut [u8], _: u64| Err(TailError::Defer);
        assert_eq!(tail_range(read, 10, 1), Err(TailError::Defer));
    }

    #[cfg(target_os = "linux")]
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
}
