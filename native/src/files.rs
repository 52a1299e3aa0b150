//! read_last_n_lines (the byte tail) and estimate_fd_for_directory (the entry count).

use std::ffi::{c_int, CStr};

use crate::ffi::{self, os_error, path_arg, put};

/// `skyutils_tail_range` flag: the file is empty (Python returns `[]`, not `['']`).
pub const TAIL_EMPTY_FILE: u32 = 1;
/// `skyutils_tail_range` flag with ERR_OS: an error of seeking or reading, which Python
/// raises without a file name; without it, an error open() would raise, naming the file.
pub const TAIL_ERROR_UNNAMED: u32 = 2;

/// `skyutils_read_tail` / `skyutils_text_flags` flag: the bytes are ASCII and hold no line
/// break str.splitlines() knows but b'\n' (none of \r \x0b \x0c \x1c \x1d \x1e), so
/// decoding them whole and splitting at line breaks gives SkyPilot's lines.
pub const TAIL_PLAIN: u32 = 4;

/// [`TAIL_PLAIN`] when `bytes` deserve it: three SIMD passes, where Python needed seven.
pub fn text_flags(bytes: &[u8]) -> u32 {
    let plain = bytes.is_ascii()
        && memchr::memchr3(b'\r', 0x0b, 0x0c, bytes).is_none()
        && memchr::memchr3(0x1c, 0x1d, 0x1e, bytes).is_none();
    if plain {
        TAIL_PLAIN
    } else {
        0
    }
}

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
    read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
    scratch: &mut Vec<u8>,
) -> Result<(u64, u64), TailError> {
    scan_tail(read_at, size, n, &mut [], scratch).map(|scan| (scan.start, scan.end))
}

/// What a backward scan found: the tail's range, and whether every block it read went into
/// the caller's buffer (then the tail is there, ending at the buffer's end: no second read).
struct Scan {
    start: u64,
    end: u64,
    in_out: bool,
}

/// Reads blocks backwards from `size` until they hold `n` newlines. Each block goes into
/// `out`, back to front, while everything read so far fits there; then into `scratch`.
fn scan_tail(
    mut read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
    out: &mut [u8],
    scratch: &mut Vec<u8>,
) -> Result<Scan, TailError> {
    let mut end = size;
    let mut pos = size;
    let mut newlines: u64 = 0;
    let mut step_size = FIRST_BLOCK;
    let mut first = true;
    let mut in_out = true;
    while pos > 0 {
        let step = step_size.min(pos as usize);
        pos -= step as u64;
        // Bytes read so far, this block included: at most size, which fit in memory as usize
        // whenever they fit in `out`.
        let read_so_far = size - pos;
        let block: &mut [u8] = match usize::try_from(read_so_far) {
            Ok(from_end) if in_out && from_end <= out.len() => {
                let at = out.len() - from_end;
                &mut out[at..at + step]
            }
            _ => {
                in_out = false;
                scratch.resize(step, 0);
                &mut scratch[..step]
            }
        };
        read_at(block, pos)?;
        let mut block: &[u8] = block;
        if first {
            first = false;
            if block.last() == Some(&b'\n') {
                end -= 1; // A final newline ends the last line; it does not start another.
                block = &block[..step - 1];
            }
        }
        let found = |start| Scan { start, end, in_out };
        if n == 0 {
            return Ok(found(end));
        }
        for index in memchr::memrchr_iter(b'\n', block) {
            newlines += 1;
            if newlines == n {
                return Ok(found(pos + index as u64 + 1));
            }
        }
        step_size = (step_size * 2).min(SCAN_BLOCK); // read about what the tail needs
    }
    Ok(Scan {
        start: 0,
        end,
        in_out,
    })
}

/// The scan of [`read_tail`] on any reader: the tail's range, and where in `out` it lies when
/// every block the scan read went there (None: read the range again).
pub fn tail_into(
    read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
    out: &mut [u8],
) -> Result<(u64, u64, Option<usize>), TailError> {
    let scan = with_scan_buffer(|scratch| scan_tail(read_at, size, n, out, scratch))?;
    // The scan read straight into `out`, whose end stands for the file's end.
    let offset = scan
        .in_out
        .then(|| out.len() - (size - scan.start) as usize);
    Ok((scan.start, scan.end, offset))
}

/// [`tail_range_in`] with this thread's reusable scan buffer.
pub fn tail_range(
    read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
    size: u64,
    n: u64,
) -> Result<(u64, u64), TailError> {
    with_scan_buffer(|scratch| tail_range_in(read_at, size, n, scratch))
}

fn with_scan_buffer<T>(work: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    SCAN_BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => work(&mut scratch),
        // Only re-entry could hold the borrow; a private buffer keeps that case correct.
        Err(_) => work(&mut Vec::new()),
    })
}

/// The size of the open file `fd` as SkyPilot's reads see it; errors as Python reports them.
fn tail_file_size(fd: &Fd) -> Result<u64, TailError> {
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
    Ok(end as u64)
}

/// The tail range of the open file `fd`: Python opened it, so open() errors are Python's.
fn tail_range_of(fd: &Fd, n: u64) -> Result<(u64, u64, u32), TailError> {
    let size = tail_file_size(fd)?;
    if size == 0 {
        return Ok((0, 0, TAIL_EMPTY_FILE));
    }
    let (start, end) = tail_range(|buf, offset| read_exact_at(fd, buf, offset), size, n)?;
    Ok((start, end, 0))
}

/// Where [`read_tail`] left the tail.
#[derive(Debug, PartialEq, Eq)]
pub enum Tail {
    /// The file is empty.
    Empty,
    /// The tail's bytes are `len` bytes of the caller's buffer from `offset`; `flags` as
    /// [`text_flags`] gives them.
    Copied {
        offset: usize,
        len: usize,
        flags: u32,
    },
    /// Too long for the buffer: the caller reads [start, end) from the still open `fd`.
    Open { fd: c_int, start: u64, end: u64 },
}

/// The last `n` lines of the file at `path`, in one call: open, then scan backwards reading
/// straight into `out` (its end standing for the file's end), so a tail that fits is read
/// once, where the caller wants it. Any error: the caller takes the slower path through
/// skyutils_tail_range, which reports errors exactly as Python's calls do.
pub fn read_tail(path: &CStr, n: u64, out: &mut [u8]) -> Result<Tail, TailError> {
    // O_NONBLOCK: a FIFO must not block here, where Ctrl-C cannot reach Python; it opens at
    // once, fstat finds it is no regular file, and Python's own open() waits for a writer
    // (interruptibly), as SkyPilot's does. Regular files read alike either way.
    let fd = open(path, libc::O_RDONLY | libc::O_NONBLOCK).map_err(TailError::Open)?;
    let size = tail_file_size(&fd)?;
    if size == 0 {
        return Ok(Tail::Empty);
    }
    let (start, end, offset) = tail_into(|buf, at| read_exact_at(&fd, buf, at), size, n, out)?;
    if let Some(offset) = offset {
        let len = (end - start) as usize;
        return Ok(Tail::Copied {
            offset,
            len,
            flags: text_flags(&out[offset..offset + len]),
        });
    }
    // Ownership of the descriptor passes to the caller, which closes it.
    let fd = std::mem::ManuallyDrop::new(fd);
    Ok(Tail::Open {
        fd: fd.0,
        start,
        end,
    })
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

/// `skyutils_read_tail` info slots.
const INFO_LEN: usize = 0;
const INFO_FLAGS: usize = 1;
const INFO_FD: usize = 2;
const INFO_START: usize = 3; // the offset in the file (descriptor) or in `out`
const INFO_SLOTS: usize = 4;

/// The last `n` lines of the file at `path` (without its final newline) in one call.
/// OK: `info[0]` the tail's length, `info[1]` flags (`TAIL_EMPTY_FILE`, and `TAIL_PLAIN` for
/// bytes in `out`), and `info[2]` -1 when the tail is in `out`, `info[0]` bytes from offset
/// `info[3]`; otherwise `info[2]` is an open descriptor the caller reads `info[0]` bytes from
/// at file offset `info[3]` and then closes. Any other status leaves no
/// descriptor open: the caller uses skyutils_tail_range, whose errors match Python's.
///
/// Only pointers and C ints, so ctypes calls it without argtypes (see skyutils_base36_encode):
/// for a short tail the call, not the reading, was the larger cost.
///
/// # Safety
/// `path` must point to `path_len` readable bytes, `out` to `out_cap` writable bytes, and
/// `info` to 4 writable int64 values.
#[no_mangle]
pub unsafe extern "C" fn skyutils_read_tail(
    path: *const u8,
    path_len: c_int,
    n: c_int,
    out: *mut u8,
    out_cap: c_int,
    info: *mut i64,
) -> c_int {
    ffi::guard(|| {
        let (Some(path_len), Some(out_len)) = (ffi::int_len(path_len), ffi::int_len(out_cap))
        else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller passes path_len readable bytes.
        let Some(path) = (unsafe { path_arg(path, path_len) }) else {
            return ffi::ERR_ARG;
        };
        if n < 1 || out.is_null() || info.is_null() {
            return ffi::ERR_ARG;
        }
        // SAFETY: out is non-null and the caller guarantees out_cap writable bytes that
        // nothing else touches during the call.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        // SAFETY: info is non-null and the caller guarantees 4 writable int64 slots.
        let info = unsafe { std::slice::from_raw_parts_mut(info, INFO_SLOTS) };
        let (len, flags, fd, start) = match read_tail(&path, n as u64, out) {
            Ok(Tail::Empty) => (0, TAIL_EMPTY_FILE, -1, 0),
            Ok(Tail::Copied { offset, len, flags }) => (len as i64, flags, -1, offset as i64),
            Ok(Tail::Open { fd, start, end }) => ((end - start) as i64, 0, fd, start as i64),
            Err(TailError::Defer) => return ffi::DEFER,
            Err(TailError::Open(_) | TailError::Os(_)) => return ffi::ERR_OS,
        };
        info[INFO_LEN] = len;
        info[INFO_FLAGS] = i64::from(flags);
        info[INFO_FD] = i64::from(fd);
        info[INFO_START] = start;
        ffi::OK
    })
}

/// `TAIL_PLAIN` when the `len` bytes at `data` are plain ASCII text (see [`text_flags`]), else
/// 0; a negative status for a bad pointer or length. For tails Python read itself: the scan
/// runs without the GIL, where Python's own checks held it.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn skyutils_text_flags(data: *const u8, len: c_int) -> c_int {
    ffi::guard(|| {
        let Some(len) = ffi::int_len(len) else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller passes len readable bytes.
        match unsafe { ffi::bytes_arg(data, len) } {
            Some(bytes) => text_flags(bytes) as c_int,
            None => ffi::ERR_ARG,
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

    fn temp_file(data: &[u8]) -> (std::path::PathBuf, std::ffi::CString) {
        use std::os::unix::ffi::OsStrExt;
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let index = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("skyutils-read-tail-{}-{index}", std::process::id()));
        std::fs::write(&path, data).unwrap();
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        (path, c_path)
    }

    #[test]
    fn read_tail_copies_short_tails_and_hands_over_long_ones() {
        let mut data = Vec::new();
        for i in 0..20_000u32 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let (path, c_path) = temp_file(&data);
        let mut out = vec![0u8; 64 * 1024];
        // Inside the first 8 KiB block, read straight into the end of `out`.
        let Ok(Tail::Copied { offset, len, flags }) = read_tail(&c_path, 3, &mut out) else {
            panic!("short tail not copied");
        };
        assert_eq!(offset + len + 1, out.len()); // the file's final newline stays out
        assert_eq!(
            &out[offset..offset + len],
            b"line 19997\nline 19998\nline 19999"
        );
        assert_eq!(flags, TAIL_PLAIN);
        // Several scan blocks (8 + 16 + 32 KiB), all of them in `out`.
        let Ok(Tail::Copied { offset, len, .. }) = read_tail(&c_path, 5000, &mut out) else {
            panic!("5000 lines not copied");
        };
        let tail = &out[offset..offset + len];
        assert!(tail.starts_with(b"line 15000\n") && tail.ends_with(b"line 19999"));
        assert_eq!(tail.split(|&b| b == b'\n').count(), 5000);
        // Larger than a buffer of 4000 bytes: the scan goes on in its own buffer.
        let Ok(Tail::Open { fd, start, end }) = read_tail(&c_path, 1000, &mut out[..4000]) else {
            panic!("1000 lines not handed over");
        };
        let owned = Fd(fd); // closes it
        let mut tail = vec![0u8; (end - start) as usize];
        read_exact_at(&owned, &mut tail, start).unwrap();
        assert!(tail.starts_with(b"line 19000\n") && tail.ends_with(b"line 19999"));
        drop(owned);
        let small = &mut [0u8; 16][..];
        let Ok(Tail::Open { fd, start, end }) = read_tail(&c_path, 3, small) else {
            panic!("long tail not handed over");
        };
        let owned = Fd(fd); // closes it
        let mut tail = vec![0u8; (end - start) as usize];
        read_exact_at(&owned, &mut tail, start).unwrap();
        assert_eq!(tail, b"line 19997\nline 19998\nline 19999");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn read_tail_errors_and_empty_files() {
        let (path, c_path) = temp_file(b"");
        assert_eq!(read_tail(&c_path, 1, &mut [0u8; 8]), Ok(Tail::Empty));
        std::fs::write(&path, b"a\r\nb").unwrap();
        assert_eq!(
            read_tail(&c_path, 5, &mut [0u8; 8]),
            Ok(Tail::Copied {
                offset: 4,
                len: 4,
                flags: 0
            })
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            read_tail(&c_path, 1, &mut [0u8; 8]),
            Err(TailError::Open(libc::ENOENT))
        );
        let fifo = std::env::temp_dir().join(format!("skyutils-fifo-{}", std::process::id()));
        let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: c_fifo is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would hang here.
        assert_eq!(read_tail(&c_fifo, 1, &mut [0u8; 8]), Err(TailError::Defer));
        std::fs::remove_file(&fifo).unwrap();
        let dir = std::ffi::CString::new("/").unwrap();
        assert_eq!(
            read_tail(&dir, 1, &mut [0u8; 8]),
            Err(TailError::Open(libc::EISDIR))
        );
    }

    #[test]
    fn text_flags_marks_plain_ascii_only() {
        assert_eq!(text_flags(b""), TAIL_PLAIN);
        assert_eq!(text_flags(b"a\nb\x1f\x7f"), TAIL_PLAIN);
        for odd in [
            &b"a\rb"[..],
            b"\x0b",
            b"\x0c",
            b"\x1c",
            b"\x1d",
            b"\x1e",
            b"\x80",
            "é".as_bytes(),
        ] {
            assert_eq!(text_flags(odd), 0, "{odd:?}");
        }
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
