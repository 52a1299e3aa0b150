//! The exported zip job (skyutils.h, "archive"): the archive's files, compressed from the
//! start (job.rs), and its entries in order, added while that runs: each either bytes Python
//! made (zipfile's own entries: directories, symlinks) or the next file with the local header
//! zipfile made for it. The writer puts every entry to the output in order, each file's header
//! completed with its CRC-32 and sizes at the places zipfile's own header has them. Python
//! then writes the central directory with zipfile, from the results.
//!
//! A job is the one thing of the library that outlives a call: the caller holds its handle
//! from skyutils_zip_start to skyutils_zip_end, and a handle is checked against the jobs
//! alive before it is used.

use std::collections::HashSet;
use std::ffi::{c_int, c_void, CString};
use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

use super::job::{Done, Failure, Input, Job, Piece};
use crate::ffi;
use crate::files::fd::{State, STATE_ERRNO};

/// int64 values per entry of the layout: kind, two fields kept 0, the range of its bytes (a
/// file's local header, or a whole entry Python made) in the blob, and one more kept 0.
pub const ZIP_ENTRY_FIELDS: usize = 6;
/// int64 values per entry of the results: header offset, CRC-32, compressed size, size.
pub const ZIP_RESULT_FIELDS: usize = 4;
/// State slots: the entry a status is about, and where the next byte goes in the output.
pub const ZIP_ENTRY: usize = 3;
pub const ZIP_OFFSET: usize = 4;
/// The level that stores the data uncompressed (ZIP_STORED).
pub const ZIP_STORED: c_int = -1;

// Where zipfile's local header (without ZIP64) holds the CRC-32 and the two sizes.
const HEADER_CRC: usize = 14;
const HEADER_MIN: usize = 30;
const FLUSH_AT: usize = 1 << 20;

enum Entry {
    Bytes(Range<usize>),
    File { header: Range<usize> },
}

/// A live job: the layout, the writer's place, and each entry's results.
struct Live {
    job: Job,
    files: usize,       // the job's files
    files_added: usize, // ... of which the layout has placed so far
    placed: bool,       // the first entry's offset is set
    blob: Vec<u8>,
    entries: Vec<Entry>,
    next: usize,     // the entry being written
    started: bool,   // its header is in the output (a file of several pieces)
    header_at: u64,  // where its header starts in the output
    compressed: u64, // its data so far
    out: Vec<u8>,    // bytes not yet written, which start at `out_at`
    out_at: u64,
    results: Vec<[i64; ZIP_RESULT_FIELDS]>,
    digests: Vec<[u8; 32]>,
    failed: Option<c_int>, // the status every later call repeats
}

static LIVE: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

fn live() -> std::sync::MutexGuard<'static, Option<HashSet<usize>>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// # Safety
/// `job` must have been checked live (`is_live`), and used by one thread at a time.
unsafe fn job_ref<'a>(job: *mut c_void) -> &'a mut Live {
    // SAFETY: a live handle is a Box<Live> made by skyutils_zip_start and freed only by
    // skyutils_zip_end, which removes it from the live set first.
    unsafe { &mut *job.cast::<Live>() }
}

fn is_live(job: *mut c_void) -> bool {
    live()
        .as_ref()
        .is_some_and(|jobs| jobs.contains(&(job as usize)))
}

fn range(blob_len: usize, at: i64, len: i64) -> Option<Range<usize>> {
    let at = usize::try_from(at).ok()?;
    let end = at.checked_add(usize::try_from(len).ok()?)?;
    (end <= blob_len).then_some(at..end)
}

/// Starts a job on `count` files: `paths` holds each path followed by a NUL byte, `sizes`
/// their sizes when planned; their workers start at once. The entries to write (the files in
/// order, and bytes between them) are given later with skyutils_zip_add. `level` 0-9
/// deflates, ZIP_STORED stores. Null for bad arguments.
///
/// # Safety
/// `paths` must hold paths_len bytes and `sizes` count int64 values, unchanged during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_start(
    paths: *const u8,
    paths_len: i64,
    sizes: *const i64,
    count: c_int,
    level: c_int,
    threads: c_int,
    block: i64,
) -> *mut c_void {
    ffi::guard_or(std::ptr::null_mut(), || {
        let (Some(count), Ok(paths_len), Ok(block)) = (
            ffi::int_len(count),
            usize::try_from(paths_len),
            u64::try_from(block),
        ) else {
            return std::ptr::null_mut();
        };
        if !(ZIP_STORED..=9).contains(&level) || block == 0 || (sizes.is_null() && count > 0) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller guarantees paths_len readable bytes.
        let Some(paths) = (unsafe { ffi::bytes_arg(paths, paths_len) }) else {
            return std::ptr::null_mut();
        };
        let sizes = if count == 0 {
            &[][..]
        } else {
            // SAFETY: non-null (checked), and the caller guarantees `count` int64 values.
            unsafe { std::slice::from_raw_parts(sizes, count) }
        };
        let names: Vec<&[u8]> = paths.split(|&b| b == 0).collect();
        // Each path ends with a NUL: the split leaves one empty piece after the last.
        if names.len() != count + 1 || !names[count].is_empty() {
            return std::ptr::null_mut();
        }
        let mut inputs = Vec::with_capacity(count);
        for (name, &size) in names[..count].iter().zip(sizes) {
            let (Ok(path), Ok(size)) = (CString::new(*name), u64::try_from(size)) else {
                return std::ptr::null_mut();
            };
            if name.is_empty() {
                return std::ptr::null_mut();
            }
            inputs.push(Input { path, size });
        }
        let level = u32::try_from(level).ok();
        let threads = usize::try_from(threads).unwrap_or(1).max(1);
        let job = Box::new(Live {
            job: Job::start(inputs, level, threads, block),
            files: count,
            files_added: 0,
            blob: Vec::new(),
            results: Vec::new(),
            digests: Vec::new(),
            entries: Vec::new(),
            next: 0,
            started: false,
            header_at: 0,
            compressed: 0,
            out: Vec::new(),
            out_at: 0,
            placed: false,
            failed: None,
        });
        let handle = Box::into_raw(job);
        live()
            .get_or_insert_with(HashSet::new)
            .insert(handle as usize);
        handle.cast()
    })
}

/// Adds `count` entries to write after those added before: ZIP_ENTRY_FIELDS int64 each in
/// `layout` (kind: 0 bytes written as they are, 1 the job's next file; the offset and length
/// in `blob` of the bytes, or of the file's local header as zipfile makes it without ZIP64;
/// the other fields 0). OK, or ERR_ARG (nothing added) for a bad layout, or more files than
/// the job has.
///
/// # Safety
/// As for skyutils_zip_write; `layout` must hold count * ZIP_ENTRY_FIELDS int64 values and
/// `blob` blob_len bytes, unchanged during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_add(
    job: *mut c_void,
    layout: *const i64,
    count: c_int,
    blob: *const u8,
    blob_len: i64,
) -> c_int {
    ffi::guard(|| {
        let (Some(count), Ok(blob_len)) = (ffi::int_len(count), usize::try_from(blob_len)) else {
            return ffi::ERR_ARG;
        };
        if !is_live(job) || (layout.is_null() && count > 0) {
            return ffi::ERR_ARG;
        }
        // SAFETY: the caller guarantees blob_len readable bytes.
        let Some(blob) = (unsafe { ffi::bytes_arg(blob, blob_len) }) else {
            return ffi::ERR_ARG;
        };
        let fields = if count == 0 {
            &[][..]
        } else {
            // SAFETY: non-null (checked), and the caller guarantees the values.
            unsafe { std::slice::from_raw_parts(layout, count * ZIP_ENTRY_FIELDS) }
        };
        // SAFETY: checked live just now.
        let live = unsafe { job_ref(job) };
        let base = live.blob.len();
        let mut entries = Vec::with_capacity(count);
        let mut files = live.files_added;
        for f in fields.chunks(ZIP_ENTRY_FIELDS) {
            let Some(bytes) = range(blob.len(), f[3], f[4]) else {
                return ffi::ERR_ARG;
            };
            let bytes = base + bytes.start..base + bytes.end;
            match f[0] {
                0 => entries.push(Entry::Bytes(bytes)),
                1 if files < live.files && bytes.len() >= HEADER_MIN => {
                    files += 1;
                    entries.push(Entry::File { header: bytes });
                }
                _ => return ffi::ERR_ARG,
            }
        }
        live.files_added = files;
        live.blob.extend_from_slice(blob);
        live.results
            .resize(live.results.len() + entries.len(), [0; ZIP_RESULT_FIELDS]);
        live.digests
            .resize(live.digests.len() + entries.len(), [0; 32]);
        live.entries.extend(entries);
        ffi::OK
    })
}

fn pwrite_all(fd: c_int, mut data: &[u8], mut at: u64) -> Result<(), c_int> {
    while !data.is_empty() {
        let Ok(offset) = libc::off_t::try_from(at) else {
            return Err(libc::EFBIG);
        };
        // SAFETY: data is a valid readable slice for the call; fd is the caller's descriptor.
        let n = unsafe { libc::pwrite(fd, data.as_ptr().cast(), data.len(), offset) };
        if n < 0 {
            let errno = ffi::last_errno();
            if errno == libc::EINTR {
                continue;
            }
            return Err(errno);
        }
        if n == 0 {
            return Err(libc::EIO);
        }
        data = &data[n as usize..];
        at += n as u64;
    }
    Ok(())
}

impl Live {
    fn flush(&mut self, fd: c_int) -> Result<(), c_int> {
        pwrite_all(fd, &self.out, self.out_at)?;
        self.out_at += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    fn put(&mut self, fd: c_int, data: &[u8]) -> Result<(), c_int> {
        self.out.extend_from_slice(data);
        if self.out.len() >= FLUSH_AT {
            self.flush(fd)?;
        }
        Ok(())
    }

    fn at(&self) -> u64 {
        self.out_at + self.out.len() as u64
    }

    /// Writes the file entry's header with its results (zipfile's: CRC, compressed size,
    /// size, little-endian), in the buffer or, already written, in the file.
    fn patch_header(&mut self, fd: c_int, header_at: u64, fields: [u32; 3]) -> Result<(), c_int> {
        let mut bytes = [0u8; 12];
        for (i, v) in fields.iter().enumerate() {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        let at = header_at + HEADER_CRC as u64;
        if at >= self.out_at {
            let i = (at - self.out_at) as usize;
            self.out[i..i + 12].copy_from_slice(&bytes);
            Ok(())
        } else {
            pwrite_all(fd, &bytes, at)
        }
    }

    /// Writes what is ready, in order, waiting at most `wait` for a piece.
    fn write(&mut self, fd: c_int, wait: Duration) -> Result<bool, (Failure, usize)> {
        let os = |e: c_int, at: usize| (Failure::Os(e), at);
        while self.next < self.entries.len() {
            let index = self.next;
            let header = match &self.entries[index] {
                Entry::Bytes(bytes) => {
                    let bytes = bytes.clone();
                    self.results[index][0] = self.at() as i64;
                    let blob = std::mem::take(&mut self.blob);
                    let put = self.put(fd, &blob[bytes]);
                    self.blob = blob;
                    put.map_err(|e| os(e, index))?;
                    self.next += 1;
                    continue;
                }
                Entry::File { header } => header.clone(),
            };
            let piece: Piece = match self.job.next(wait) {
                Ok(Some(piece)) => piece,
                Ok(None) => return Ok(false),
                Err(failure) => return Err((failure, index)),
            };
            if !self.started {
                self.started = true;
                self.header_at = self.at();
                self.compressed = 0;
                let blob = std::mem::take(&mut self.blob);
                let put = self.put(fd, &blob[header]);
                self.blob = blob;
                put.map_err(|e| os(e, index))?;
            }
            self.compressed += piece.data.len() as u64;
            self.put(fd, &piece.data).map_err(|e| os(e, index))?;
            if let Some(Done { crc, size, sha256 }) = piece.done {
                let (Ok(csize), Ok(usize_)) = (u32::try_from(self.compressed), u32::try_from(size))
                else {
                    return Err((Failure::Changed, index)); // past what a header without ZIP64 holds
                };
                self.patch_header(fd, self.header_at, [crc, csize, usize_])
                    .map_err(|e| os(e, index))?;
                self.results[index] = [
                    self.header_at as i64,
                    i64::from(crc),
                    i64::from(csize),
                    size as i64,
                ];
                self.digests[index] = sha256;
                self.started = false;
                self.next += 1;
            }
        }
        self.flush(fd).map_err(|e| os(e, self.entries.len()))?;
        Ok(true)
    }
}

/// Writes the entries added so far to descriptor `fd`, the first at offset state[ZIP_OFFSET]
/// (set by the caller before the first call), in order, as far as the files' data is ready
/// within `wait_ms`. OK: all those written, state[ZIP_OFFSET] is where the next byte goes.
/// MORE: call again. DEFER: entry state[ZIP_ENTRY]'s file changed while read, or outgrew a header
/// without ZIP64; ERR_OS: errno in state[STATE_ERRNO]. After DEFER or ERR_OS every call
/// returns the same.
///
/// # Safety
/// `job` must be null or a handle from skyutils_zip_start not yet ended (others are refused
/// with ERR_ARG, unless freed memory was reused for a new job), used by one thread at a time;
/// `state` must hold STATE_SLOTS int64 values.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_write(
    job: *mut c_void,
    fd: c_int,
    state: *mut i64,
    wait_ms: c_int,
) -> c_int {
    ffi::guard(|| {
        if !is_live(job) || fd < 0 {
            return ffi::ERR_ARG;
        }
        // SAFETY: the caller guarantees STATE_SLOTS int64 values.
        let Some(mut state) = (unsafe { State::from_ptr(state) }) else {
            return ffi::ERR_ARG;
        };
        // SAFETY: checked live just now.
        let live = unsafe { job_ref(job) };
        if let Some(code) = live.failed {
            return code;
        }
        if !live.placed {
            let Ok(start) = u64::try_from(state.get(ZIP_OFFSET)) else {
                return ffi::ERR_ARG;
            };
            live.out_at = start;
            live.placed = true;
        }
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
        let code = match live.write(fd, wait) {
            Ok(true) => {
                state.set(ZIP_OFFSET, live.at() as i64);
                return ffi::OK;
            }
            Ok(false) => return ffi::MORE,
            Err((failure, at)) => {
                state.set(ZIP_ENTRY, at as i64);
                match failure {
                    Failure::Changed => ffi::DEFER,
                    Failure::Os(errno) => {
                        state.set(STATE_ERRNO, i64::from(errno));
                        ffi::ERR_OS
                    }
                }
            }
        };
        live.failed = Some(code);
        code
    })
}

/// Each entry's results once skyutils_zip_write returned OK: ZIP_RESULT_FIELDS int64 per
/// entry in `results` (header offset; for a file also CRC-32, compressed size and size) and
/// a file's SHA-256 in `digests` (32 bytes per entry; zeros for the others). ERR_ARG for a
/// job not written to the end.
///
/// # Safety
/// As for skyutils_zip_write; `results` must hold count * ZIP_RESULT_FIELDS writable int64
/// and `digests` count * 32 writable bytes, for the job's `count` entries.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_results(
    job: *mut c_void,
    results: *mut i64,
    digests: *mut u8,
    count: c_int,
) -> c_int {
    ffi::guard(|| {
        if !is_live(job) || results.is_null() || digests.is_null() {
            return ffi::ERR_ARG;
        }
        // SAFETY: checked live just now.
        let live = unsafe { job_ref(job) };
        let n = live.entries.len();
        if ffi::int_len(count) != Some(n)
            || live.next < n
            || live.failed.is_some()
            || live.files_added < live.files
        {
            return ffi::ERR_ARG;
        }
        // SAFETY: the caller guarantees room for `count` (== n) entries in both.
        let (out, sha) = unsafe {
            (
                std::slice::from_raw_parts_mut(results, n * ZIP_RESULT_FIELDS),
                std::slice::from_raw_parts_mut(digests, n * 32),
            )
        };
        for (i, r) in live.results.iter().enumerate() {
            out[i * ZIP_RESULT_FIELDS..(i + 1) * ZIP_RESULT_FIELDS].copy_from_slice(r);
            sha[i * 32..(i + 1) * 32].copy_from_slice(&live.digests[i]);
        }
        ffi::OK
    })
}

/// Ends a job: its workers stop after their current block, its files close. OK, or ERR_ARG
/// for a handle that is no live job.
///
/// # Safety
/// As for skyutils_zip_write; the handle is invalid afterwards.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_end(job: *mut c_void) -> c_int {
    ffi::guard(|| {
        let known = live()
            .as_mut()
            .is_some_and(|jobs| jobs.remove(&(job as usize)));
        if !known {
            return ffi::ERR_ARG;
        }
        // SAFETY: a live handle is a Box<Live> from skyutils_zip_start, removed from the live
        // set just now, so it is freed exactly once.
        drop(unsafe { Box::from_raw(job.cast::<Live>()) });
        ffi::OK
    })
}
