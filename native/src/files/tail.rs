//! read_last_n_lines: the byte range of a file's last n lines, found by scanning backwards.
//!
//! The path is opened once, without blocking (a FIFO opens at once), and every decision is
//! made on what was opened, as SkyPilot's `open()` then `seek(0, SEEK_END)` would make it.
//! A scan reads at most SCAN_BUDGET bytes a call and then returns MORE with its state in the
//! caller's array, so Ctrl-C reaches Python between calls however long the tail is.

use std::ffi::{c_int, CStr};

use crate::ffi::{self, path_arg};
use crate::files::fd::{self, Fd, State, STATE_FLAGS};

/// Flag: the file is empty (Python returns `[]`, not `['']`).
pub const TAIL_EMPTY_FILE: u32 = 1;
/// Flag with ERR_OS: an error of seeking or reading, which Python raises without a file name;
/// without it, an error open() would raise, naming the file.
pub const TAIL_ERROR_UNNAMED: u32 = 2;
/// Flag with ERR_OS: the file cannot seek at all (a FIFO, a tty). SkyPilot's buffered reader
/// asks `seekable()` (a seek to the current position) before it seeks, and raises
/// io.UnsupportedOperation("File or stream is not seekable.") rather than the OS error.
pub const TAIL_NOT_SEEKABLE: u32 = 8;
/// Flag: the bytes are ASCII and hold no line break str.splitlines() knows but b'\n' (none
/// of \r \x0b \x0c \x1c \x1d \x1e), so decoding them whole and splitting at line breaks gives
/// SkyPilot's lines.
pub const TAIL_PLAIN: u32 = 4;

/// State slots of a tail read (after the shared ones of fd.rs).
pub const TAIL_N: usize = 3; // in: n, at least 1
pub const TAIL_START: usize = 4; // out: where the tail starts (in `out`, or in the file)
pub const TAIL_LEN: usize = 5; // out: the tail's length
const TAIL_SIZE: usize = 6; // the scan between calls: see Scan
const TAIL_END: usize = 7;
const TAIL_POS: usize = 8;
const TAIL_NEWLINES: usize = 9;
const TAIL_STEP: usize = 10;
pub const TAIL_OFFSET: usize = 11; // out: where the tail starts in the file

/// First read: enough for short tails of typical log lines (later reads double).
pub(crate) const FIRST_BLOCK: usize = 8 * 1024;
/// The largest read of a scan.
pub(crate) const SCAN_BLOCK: usize = 256 * 1024;
/// Bytes one call reads before it returns MORE (about 5 ms from the page cache here).
pub(crate) const SCAN_BUDGET: u64 = 16 << 20;

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

/// Why a tail read could not finish natively.
#[derive(Debug, PartialEq, Eq)]
pub enum TailError {
    /// errno of an error Python's open() would raise (its message names the file).
    Open(c_int),
    /// errno of a failed seek or read (Python's error names no file).
    Os(c_int),
    /// The file cannot seek at all: Python's io.UnsupportedOperation.
    NotSeekable,
    /// Not a file this code reads, or it shrank while read: Python decides.
    Defer,
}

/// Fills `buf` from `offset` of the open file; a short read means the file shrank under us.
pub fn read_exact_at(fd: &Fd, buf: &mut [u8], offset: u64) -> Result<(), TailError> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: fd is open and `rest` is writable for rest.len() bytes.
        let got = unsafe {
            libc::pread(
                fd.raw(),
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

/// A backward scan for the last `n` lines of a file of `size` bytes; everything it needs
/// between calls, so it can stop and go on (the state array holds it meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub size: u64,
    pub n: u64,
    /// The tail's end: `size`, less the file's final newline once the last block is read.
    pub end: u64,
    /// Everything from here to `size` has been read.
    pub pos: u64,
    pub newlines: u64,
    /// The next block's size: it doubles from FIRST_BLOCK to SCAN_BLOCK, reading about what
    /// the tail needs.
    pub step: u64,
}

/// Where a call of [`Scan::run`] left the scan.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The tail is [start, end); `in_out`: every block went into the caller's buffer, whose
    /// end stands for the file's end, so the tail's bytes are there.
    Done { start: u64, in_out: bool },
    /// The budget ran out: call again.
    More,
}

impl Scan {
    pub fn new(size: u64, n: u64) -> Scan {
        Scan {
            size,
            n,
            end: size,
            pos: size,
            newlines: 0,
            step: FIRST_BLOCK as u64,
        }
    }

    /// Reads blocks backwards until they hold `n` newlines or the file starts, or `budget`
    /// bytes went into `scratch`. Blocks go into `out`, back to front, while everything read
    /// so far fits there (only a scan that starts in this call can use `out`).
    pub fn run(
        &mut self,
        mut read_at: impl FnMut(&mut [u8], u64) -> Result<(), TailError>,
        out: &mut [u8],
        scratch: &mut Vec<u8>,
        budget: u64,
    ) -> Result<Progress, TailError> {
        let mut in_out = self.pos == self.size;
        let mut spent = 0u64;
        while self.pos > 0 {
            if !in_out && spent >= budget {
                return Ok(Progress::More);
            }
            let first = self.pos == self.size;
            let step = self.step.min(self.pos) as usize;
            self.pos -= step as u64;
            // Bytes read so far, this block included: when they fit in `out`, in usize too.
            let block: &mut [u8] = match usize::try_from(self.size - self.pos) {
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
            read_at(block, self.pos)?;
            spent += step as u64;
            let mut block: &[u8] = block;
            if first && block.last() == Some(&b'\n') {
                self.end -= 1; // A final newline ends the last line; it does not start another.
                block = &block[..step - 1];
            }
            for index in memchr::memrchr_iter(b'\n', block) {
                self.newlines += 1;
                if self.newlines == self.n {
                    let start = self.pos + index as u64 + 1;
                    return Ok(Progress::Done { start, in_out });
                }
            }
            self.step = (self.step * 2).min(SCAN_BLOCK as u64);
        }
        Ok(Progress::Done { start: 0, in_out })
    }

    fn save(&self, state: &mut State) {
        state.set(TAIL_SIZE, self.size as i64);
        state.set(TAIL_N, self.n as i64);
        state.set(TAIL_END, self.end as i64);
        state.set(TAIL_POS, self.pos as i64);
        state.set(TAIL_NEWLINES, self.newlines as i64);
        state.set(TAIL_STEP, self.step as i64);
    }

    /// The scan an earlier call saved, or None when the slots cannot be one.
    fn load(state: &State) -> Option<Scan> {
        let slot = |index| u64::try_from(state.get(index)).ok();
        let scan = Scan {
            size: slot(TAIL_SIZE)?,
            n: slot(TAIL_N)?,
            end: slot(TAIL_END)?,
            pos: slot(TAIL_POS)?,
            newlines: slot(TAIL_NEWLINES)?,
            step: slot(TAIL_STEP)?,
        };
        let sound = scan.pos < scan.size
            && scan.end <= scan.size
            && scan.end + 1 >= scan.size
            && scan.newlines < scan.n
            && (FIRST_BLOCK as u64..=SCAN_BLOCK as u64).contains(&scan.step);
        sound.then_some(scan)
    }
}

/// Opens the file at `path` for a tail of `n` lines: its descriptor and a fresh scan, or None
/// for an empty file. Errors are those of SkyPilot's `open()` and `seek(0, SEEK_END)`.
///
/// O_NONBLOCK: a FIFO opens at once (a blocking open would wait for a writer where Ctrl-C
/// cannot reach Python) and then fails the seek with ESPIPE, as SkyPilot's does once a writer
/// comes. Regular files read alike either way.
pub fn open_tail(path: &CStr, n: u64) -> Result<Option<(Fd, Scan)>, TailError> {
    let file = fd::open(path, libc::O_RDONLY | libc::O_NONBLOCK).map_err(TailError::Open)?;
    let kind = fd::fstat(&file).map_err(TailError::Os)?.st_mode & libc::S_IFMT;
    if kind == libc::S_IFDIR {
        // Python's open() refuses directories (os.open does not); that error names the file.
        return Err(TailError::Open(libc::EISDIR));
    }
    // The size as SkyPilot's f.seek(0, SEEK_END) finds it: procfs files fail here (EINVAL)
    // there too, where fstat would report a size of 0. FIFOs and ttys cannot seek at all,
    // which Python finds first (seekable() seeks to the current position): asked only when
    // the end could not be found, so the common path pays nothing for it.
    // SAFETY: the descriptor is open; lseek has no memory-safety preconditions.
    let size = unsafe { libc::lseek(file.raw(), 0, libc::SEEK_END) };
    if size < 0 {
        let errno = ffi::last_errno();
        // SAFETY: as above.
        if unsafe { libc::lseek(file.raw(), 0, libc::SEEK_CUR) } < 0 {
            return Err(TailError::NotSeekable);
        }
        return Err(TailError::Os(errno));
    }
    if size == 0 {
        return Ok(None); // empty files, and devices such as /dev/null
    }
    if kind != libc::S_IFREG && kind != libc::S_IFBLK {
        // A character device with a size: its reads might wait, which Python does
        // interruptibly. Rare enough to hand over.
        return Err(TailError::Defer);
    }
    Ok(Some((file, Scan::new(size as u64, n))))
}

/// Where one call of [`tail_step`] left the tail.
pub enum TailStep {
    /// The file is empty.
    Empty,
    /// The tail is `len` bytes of `out` from `offset`, read from `start` in the file; `flags`
    /// as [`text_flags`] gives them.
    Copied {
        offset: usize,
        len: usize,
        start: u64,
        flags: u32,
    },
    /// The tail is [start, end) of the open file: the caller reads it and closes `fd`.
    InFile { fd: Fd, start: u64, end: u64 },
    /// The budget ran out: call again with this descriptor and scan.
    More { fd: Fd, scan: Scan },
}

/// One call's part of a tail: a fresh read of `path` (`held` None) or the rest of an earlier
/// call's scan. A tail that fits in `out` is read once, straight into it.
pub fn tail_step(
    path: &CStr,
    n: u64,
    held: Option<(Fd, Scan)>,
    out: &mut [u8],
) -> Result<TailStep, TailError> {
    let (file, mut scan, out) = match held {
        Some((file, scan)) => (file, scan, &mut [][..]),
        None => match open_tail(path, n)? {
            Some((file, scan)) => (file, scan, out),
            None => return Ok(TailStep::Empty),
        },
    };
    let mut scratch = Vec::new();
    let read_at = |buf: &mut [u8], at| read_exact_at(&file, buf, at);
    match scan.run(read_at, out, &mut scratch, SCAN_BUDGET)? {
        Progress::More => Ok(TailStep::More { fd: file, scan }),
        Progress::Done {
            start,
            in_out: true,
        } => {
            let len = (scan.end - start) as usize;
            // The scan read straight into `out`, whose end stands for the file's end.
            let offset = out.len() - (scan.size - start) as usize;
            Ok(TailStep::Copied {
                offset,
                len,
                start,
                flags: text_flags(&out[offset..offset + len]),
            })
        }
        Progress::Done { start, .. } => Ok(TailStep::InFile {
            fd: file,
            start,
            end: scan.end,
        }),
    }
}

/// The last `state[TAIL_N]` lines of the file at `path` (without its final newline), in as
/// many calls as it takes: while this returns `MORE`, call it again with the same arguments
/// and state (the path is not opened again). `state` must be zeroed before the first call.
///
/// OK: `state[TAIL_LEN]` bytes from offset `state[TAIL_START]`, in `out` when `state[STATE_FD]`
/// is 0 (`state[STATE_FLAGS]`: TAIL_EMPTY_FILE, TAIL_PLAIN), else in the file open at descriptor
/// `state[STATE_FD] - 1`, which the caller reads and then closes with skyutils_close_state.
/// ERR_OS: errno in `state[STATE_ERRNO]`, TAIL_ERROR_UNNAMED in `state[STATE_FLAGS]` for an
/// error of seeking or reading (Python's names no file), with TAIL_NOT_SEEKABLE when the file
/// cannot seek at all. DEFER: not a file read here, or it
/// shrank while read. Any status but OK and MORE leaves no descriptor open.
///
/// Only pointers and C ints, so ctypes calls it without argtypes (see _native.direct): for a
/// short tail the call, not the reading, was the larger cost.
///
/// # Safety
/// `path` must point to `path_len` readable bytes, `out` to `out_cap` writable bytes, and
/// `state` to SKYUTILS_STATE_SLOTS int64 values, none of them touched by anything else
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_read_last_n_lines(
    path: *const u8,
    path_len: c_int,
    out: *mut u8,
    out_cap: c_int,
    state: *mut i64,
) -> c_int {
    ffi::guard(|| {
        // SAFETY: forwarded from this function's contract.
        let Some(mut state) = (unsafe { State::from_ptr(state) }) else {
            return ffi::ERR_ARG;
        };
        let (Some(path_len), Some(out_len)) = (ffi::int_len(path_len), ffi::int_len(out_cap))
        else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller passes path_len readable bytes.
        let Some(path) = (unsafe { path_arg(path, path_len) }) else {
            return ffi::ERR_ARG;
        };
        let Ok(n @ 1..) = u64::try_from(state.get(TAIL_N)) else {
            return ffi::ERR_ARG;
        };
        if out.is_null() {
            return ffi::ERR_ARG;
        }
        let held = match state.take_fd() {
            None => None,
            Some(file) => match Scan::load(&state) {
                Some(scan) if scan.n == n => Some((file, scan)),
                _ => {
                    state.hold(file); // not ours to close: the caller's state is off
                    return ffi::ERR_ARG;
                }
            },
        };
        // SAFETY: out is non-null and the caller guarantees out_cap writable bytes that
        // nothing else touches during the call.
        let out = unsafe { std::slice::from_raw_parts_mut(out, out_len) };
        let (start, len, in_file, flags) = match tail_step(&path, n, held, out) {
            Ok(TailStep::Empty) => (0, 0, 0, TAIL_EMPTY_FILE),
            Ok(TailStep::Copied {
                offset,
                len,
                start,
                flags,
            }) => (offset as u64, len as u64, start, flags),
            Ok(TailStep::InFile { fd, start, end }) => {
                state.hold(fd);
                (start, end - start, start, 0)
            }
            Ok(TailStep::More { fd, scan }) => {
                scan.save(&mut state);
                state.hold(fd);
                return ffi::MORE;
            }
            Err(TailError::Open(errno)) => return state.os_error(errno, 0),
            Err(TailError::Os(errno)) => return state.os_error(errno, TAIL_ERROR_UNNAMED),
            Err(TailError::NotSeekable) => {
                return state.os_error(libc::ESPIPE, TAIL_ERROR_UNNAMED | TAIL_NOT_SEEKABLE)
            }
            Err(TailError::Defer) => return ffi::DEFER,
        };
        state.set(TAIL_START, start as i64);
        state.set(TAIL_LEN, len as i64);
        state.set(TAIL_OFFSET, in_file as i64);
        state.set(STATE_FLAGS, i64::from(flags));
        ffi::OK
    })
}

/// Part of read_last_n_lines.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The tail's bytes of `data`, scanning with `budget` and an `out` of `cap` bytes.
    fn scan_all(data: &[u8], n: u64, cap: usize, budget: u64) -> (Vec<u8>, usize) {
        let read = |buf: &mut [u8], offset: u64| {
            let start = offset as usize;
            buf.copy_from_slice(&data[start..start + buf.len()]);
            Ok(())
        };
        let mut scan = Scan::new(data.len() as u64, n);
        let mut out = vec![0u8; cap];
        let mut calls = 1;
        let mut progress = scan.run(read, &mut out, &mut Vec::new(), budget).unwrap();
        while progress == Progress::More {
            calls += 1;
            progress = scan.run(read, &mut [], &mut Vec::new(), budget).unwrap();
        }
        let Progress::Done { start, in_out } = progress else {
            unreachable!()
        };
        let got = if in_out {
            let offset = out.len() - (scan.size - start) as usize;
            out[offset..offset + (scan.end - start) as usize].to_vec()
        } else {
            data[start as usize..scan.end as usize].to_vec()
        };
        (got, calls)
    }

    fn tail(data: &[u8], n: u64) -> Vec<u8> {
        scan_all(data, n, 0, SCAN_BUDGET).0
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

    fn numbered_lines(count: u32) -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..count {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        data
    }

    #[test]
    fn tail_across_many_blocks() {
        let data = numbered_lines(200_000);
        let got = tail(&data, 150_000);
        let text = String::from_utf8(got).unwrap();
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines.len(), 150_000);
        assert_eq!(lines[0], "line 50000");
        assert_eq!(lines[149_999], "line 199999");
        assert_eq!(tail(&data, u64::MAX).len(), data.len() - 1);
    }

    #[test]
    fn a_small_budget_splits_the_scan_and_changes_nothing() {
        let data = numbered_lines(100_000);
        let (whole, calls) = scan_all(&data, 90_000, 4096, SCAN_BUDGET);
        assert_eq!(calls, 1);
        let (split, calls) = scan_all(&data, 90_000, 4096, 64 * 1024);
        assert_eq!(split, whole);
        assert!(calls >= 5, "{calls} calls"); // 1 MB in blocks of up to 256 KiB
                                              // Blocks that fit in `out` are never cut short by the budget.
        let (copied, calls) = scan_all(&data, 3, 1 << 20, 1);
        assert_eq!(
            (copied, calls),
            (b"line 99997\nline 99998\nline 99999".to_vec(), 1)
        );
    }

    #[test]
    fn saved_scans_load_and_odd_slots_do_not() {
        let mut slots = [0i64; fd::STATE_SLOTS];
        // SAFETY: slots has STATE_SLOTS writable values.
        let mut state = unsafe { State::from_ptr(slots.as_mut_ptr()) }.unwrap();
        let mut scan = Scan::new(1 << 30, 7);
        scan.pos -= 8192;
        scan.step = 16384;
        scan.save(&mut state);
        assert_eq!(Scan::load(&state), Some(scan));
        state.set(TAIL_STEP, 3);
        assert_eq!(Scan::load(&state), None);
        state.set(TAIL_STEP, 16384);
        state.set(TAIL_POS, -1);
        assert_eq!(Scan::load(&state), None);
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

    fn step(path: &CStr, n: u64, out: &mut [u8]) -> Result<TailStep, TailError> {
        tail_step(path, n, None, out)
    }

    #[test]
    fn copies_short_tails_and_hands_over_long_ones() {
        let data = numbered_lines(20_000);
        let (path, c_path) = temp_file(&data);
        let mut out = vec![0u8; 64 * 1024];
        // Inside the first 8 KiB block, read straight into the end of `out`.
        let Ok(TailStep::Copied {
            offset, len, flags, ..
        }) = step(&c_path, 3, &mut out)
        else {
            panic!("short tail not copied");
        };
        assert_eq!(offset + len + 1, out.len()); // the file's final newline stays out
        assert_eq!(
            &out[offset..offset + len],
            b"line 19997\nline 19998\nline 19999"
        );
        assert_eq!(flags, TAIL_PLAIN);
        // Several scan blocks (8 + 16 + 32 KiB), all of them in `out`.
        let Ok(TailStep::Copied { offset, len, .. }) = step(&c_path, 5000, &mut out) else {
            panic!("5000 lines not copied");
        };
        let tail = &out[offset..offset + len];
        assert!(tail.starts_with(b"line 15000\n") && tail.ends_with(b"line 19999"));
        assert_eq!(tail.split(|&b| b == b'\n').count(), 5000);
        // Larger than a buffer of 4000 bytes: the caller reads it from the descriptor.
        let Ok(TailStep::InFile { fd, start, end }) = step(&c_path, 1000, &mut out[..4000]) else {
            panic!("1000 lines not handed over");
        };
        let mut tail = vec![0u8; (end - start) as usize];
        read_exact_at(&fd, &mut tail, start).unwrap();
        assert!(tail.starts_with(b"line 19000\n") && tail.ends_with(b"line 19999"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn errors_empty_files_and_special_files() {
        let (path, c_path) = temp_file(b"");
        assert!(matches!(
            step(&c_path, 1, &mut [0u8; 8]),
            Ok(TailStep::Empty)
        ));
        std::fs::write(&path, b"a\r\nb").unwrap();
        let Ok(TailStep::Copied {
            offset, len, flags, ..
        }) = step(&c_path, 5, &mut [0u8; 8])
        else {
            panic!("not copied");
        };
        assert_eq!((offset, len, flags), (4, 4, 0));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            step(&c_path, 1, &mut [0u8; 8]).err(),
            Some(TailError::Open(libc::ENOENT))
        );
        let fifo = std::env::temp_dir().join(format!("skyutils-fifo-{}", std::process::id()));
        let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: c_fifo is NUL-terminated.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would hang here; it cannot seek, as SkyPilot finds.
        assert_eq!(
            step(&c_fifo, 1, &mut [0u8; 8]).err(),
            Some(TailError::NotSeekable)
        );
        std::fs::remove_file(&fifo).unwrap();
        let dir = std::ffi::CString::new("/").unwrap();
        assert_eq!(
            step(&dir, 1, &mut [0u8; 8]).err(),
            Some(TailError::Open(libc::EISDIR))
        );
        let null = std::ffi::CString::new("/dev/null").unwrap();
        assert!(matches!(step(&null, 1, &mut [0u8; 8]), Ok(TailStep::Empty)));
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
        let mut scan = Scan::new(10, 1);
        assert_eq!(
            scan.run(read, &mut [], &mut Vec::new(), SCAN_BUDGET),
            Err(TailError::Defer)
        );
    }
}
