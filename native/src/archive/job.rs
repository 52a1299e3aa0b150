//! A zip job: the files of one archive, read and compressed by worker threads while the
//! caller takes the results in order. A file larger than a block is split into blocks that
//! workers compress at once (deflate.rs); the caller's side joins them (CRC-32 combined,
//! SHA-256 over the data in order) and checks that each block's dictionary is the data
//! before it (else the file changed while read).
//!
//! Memory: at most `window` blocks (twice the workers) are read and not yet taken, each
//! holding its input and its output: bounded by the workers and the block size, not by the
//! archive. The job owns its files' descriptors; dropping it stops the workers (each ends
//! its current block) and closes them.

use std::collections::BTreeMap;
use std::ffi::{c_int, CString};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::deflate::{Deflater, WINDOW};
use crate::files::fd;

/// One file of the archive: its path and the size it had when planned (its blocks').
pub struct Input {
    pub path: CString,
    pub size: u64,
}

/// Why a job cannot give a file's data: the caller lets SkyPilot's own code zip the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// An OS call failed on the file (errno).
    Os(c_int),
    /// The file is not a regular file now, or changed while read (shrank, grew by more than
    /// a block, or a block's dictionary is not the data before it).
    Changed,
}

/// What the caller gets of one file once all its blocks are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub crc: u32,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// A piece of output, in order: some compressed data of file `file`, and `done` with its
/// last piece.
pub struct Piece {
    pub file: usize,
    pub data: Vec<u8>,
    pub done: Option<Done>,
}

struct Unit {
    file: usize,
    offset: u64,
    len: u64,
    first: bool,
    last: bool,
}

struct Block {
    dictionary: Vec<u8>,
    raw: Vec<u8>, // kept for the caller's SHA-256 when the file has several blocks
    data: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
    sha256: Option<[u8; 32]>, // a file of one block: hashed by the worker
}

#[derive(Default)]
struct Slots {
    ready: BTreeMap<usize, Result<Block, Failure>>,
    taken: usize,           // units the caller has taken
    caller_waits: bool,     // the caller waits on `filled`
    workers_waiting: usize, // workers wait on `freed`
    first_waiting: usize,   // the lowest unit a waiting worker holds (usize::MAX: none)
}

enum Opened {
    Not,
    Open(Arc<File>),
    Failed(Failure),
    Closed,
}

struct Shared {
    inputs: Vec<Input>,
    units: Vec<Unit>,
    level: Option<u32>, // None: stored
    block: u64,
    window: usize,     // units always allowed ahead of the caller
    window_bytes: u64, // ... and beyond those, as many as fit in this many planned bytes
    ends: Vec<u64>,    // planned bytes of units 0..=i, cumulated
    claimed: AtomicUsize,
    stop: AtomicBool,
    slots: Mutex<Slots>,
    filled: Condvar, // a unit is ready
    freed: Condvar,  // the caller took one: room in the window
    files: Vec<Mutex<Opened>>,
}

pub struct Job {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    next: usize,
    crc: crc32fast::Hasher,
    sha: Sha256,
    size: u64,
    tail: Vec<u8>, // the last WINDOW bytes of the file's data so far
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked holding the lock left whole values behind (each is replaced
    // at once): the data is still sound.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Job {
    /// Starts `threads` workers (at least one) on `inputs`; `level` None stores the data.
    pub fn start(inputs: Vec<Input>, level: Option<u32>, threads: usize, block: u64) -> Job {
        let block = block.max(WINDOW as u64);
        let mut units = Vec::new();
        for (file, input) in inputs.iter().enumerate() {
            let count = input.size.div_ceil(block).max(1);
            for i in 0..count {
                let offset = i * block;
                let len = if i + 1 == count {
                    input.size - offset
                } else {
                    block
                };
                units.push(Unit {
                    file,
                    offset,
                    len,
                    first: i == 0,
                    last: i + 1 == count,
                });
            }
        }
        let threads = threads.clamp(1, units.len().max(1));
        let mut ends = Vec::with_capacity(units.len());
        let mut total = 0u64;
        for unit in &units {
            total += unit.len;
            ends.push(total);
        }
        let files = inputs.iter().map(|_| Mutex::new(Opened::Not)).collect();
        let shared = Arc::new(Shared {
            inputs,
            units,
            level,
            block,
            window: 2 * threads,
            window_bytes: 2 * threads as u64 * block,
            ends,
            claimed: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            slots: Mutex::new(Slots {
                first_waiting: usize::MAX,
                ..Slots::default()
            }),
            filled: Condvar::new(),
            freed: Condvar::new(),
            files,
        });
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let shared = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name("skyutils-zip".into())
                .spawn(move || work(&shared))
            {
                Ok(handle) => workers.push(handle),
                Err(_) if !workers.is_empty() => break, // fewer workers: still correct
                Err(_) => break, // none: next() reports it (no worker ever fills a slot)
            }
        }
        Job {
            shared,
            workers,
            next: 0,
            crc: crc32fast::Hasher::new(),
            sha: Sha256::new(),
            size: 0,
            tail: Vec::new(),
        }
    }

    /// The next piece in order, waiting at most `wait` for it: Ok(None) when the wait ended
    /// first (call again), Err where the file cannot be given. None at the end: see `finished`.
    pub fn next(&mut self, wait: Duration) -> Result<Option<Piece>, Failure> {
        let shared = Arc::clone(&self.shared);
        if self.finished() {
            return Ok(None);
        }
        if self.workers.is_empty() {
            return Err(Failure::Os(libc::EAGAIN)); // no thread could be started
        }
        let index = self.next;
        let got = {
            let mut slots = lock(&shared.slots);
            if !slots.ready.contains_key(&index) {
                slots.caller_waits = true;
                slots = shared
                    .filled
                    .wait_timeout_while(slots, wait, |s| !s.ready.contains_key(&index))
                    .map(|r| r.0)
                    .unwrap_or_else(|e| e.into_inner().0);
                slots.caller_waits = false;
            }
            match slots.ready.remove(&index) {
                None => return Ok(None),
                Some(got) => {
                    slots.taken = index + 1;
                    // A wake-up is a system call: made only for a worker that waits.
                    let first = slots.first_waiting;
                    if slots.workers_waiting > 0
                        && (first == usize::MAX || shared.may_resume(first, index + 1))
                    {
                        shared.freed.notify_all();
                    }
                    got
                }
            }
        };
        self.next += 1;
        let block = got?;
        let unit = &shared.units[index];
        if unit.first {
            self.crc = crc32fast::Hasher::new();
            self.sha = Sha256::new();
            self.size = 0;
            self.tail.clear();
        } else {
            // The dictionary the block was primed with must be the data before it.
            let want = &self.tail[self.tail.len() - block.dictionary.len().min(self.tail.len())..];
            if block.dictionary.as_slice() != want || self.size != unit.offset {
                return Err(Failure::Changed);
            }
        }
        self.crc.combine(&block.crc);
        self.size += block.len;
        if block.sha256.is_none() {
            self.sha.update(&block.raw);
            let keep = block.raw.len().min(WINDOW);
            if keep == WINDOW {
                self.tail.clear();
            } else {
                let drop = (self.tail.len() + keep).saturating_sub(WINDOW);
                self.tail.drain(..drop);
            }
            self.tail
                .extend_from_slice(&block.raw[block.raw.len() - keep..]);
        }
        let done = if unit.last {
            let sha256 = match block.sha256 {
                Some(digest) => digest,
                None => std::mem::take(&mut self.sha).finalize().into(),
            };
            close(&shared, unit.file);
            Some(Done {
                crc: self.crc.clone().finalize(),
                size: self.size,
                sha256,
            })
        } else {
            None
        };
        Ok(Some(Piece {
            file: unit.file,
            data: block.data,
            done,
        }))
    }

    pub fn finished(&self) -> bool {
        self.next >= self.shared.units.len()
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _slots = lock(&self.shared.slots);
            self.shared.freed.notify_all();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        // Files the workers opened and nobody closed yet are closed with `shared`.
    }
}

/// What a file's last unit reads past its planned end in its first read.
const PROBE: u64 = 4096;

/// Units of small files taken ahead at most (each costs a little bookkeeping).
const MAX_AHEAD: usize = 4096;

impl Shared {
    /// Whether unit `index` must wait for the caller, who has taken `taken` units: beyond the
    /// `window` units always allowed, only as many as fit in `window_bytes` of input.
    fn too_far(&self, index: usize, taken: usize) -> bool {
        self.beyond(index, taken, MAX_AHEAD, self.window_bytes)
    }

    /// Whether a worker that waits with unit `index` may go on: once half the window is free
    /// (waking a worker is a system call: not one for every unit taken).
    fn may_resume(&self, index: usize, taken: usize) -> bool {
        !self.beyond(index, taken, MAX_AHEAD / 2, self.window_bytes / 2)
    }

    fn beyond(&self, index: usize, taken: usize, units: usize, bytes: u64) -> bool {
        if index < taken + self.window {
            return false;
        }
        let before = if taken == 0 { 0 } else { self.ends[taken - 1] };
        index >= taken + units || self.ends[index] - before > bytes
    }
}

fn close(shared: &Shared, file: usize) {
    *lock(&shared.files[file]) = Opened::Closed;
}

/// The file open for reading (opened once, by the first block's worker; the others share it).
fn open(shared: &Shared, file: usize) -> Result<Arc<File>, Failure> {
    let mut slot = lock(&shared.files[file]);
    match &*slot {
        Opened::Open(f) => return Ok(Arc::clone(f)),
        Opened::Failed(e) => return Err(*e),
        Opened::Closed => return Err(Failure::Changed),
        Opened::Not => {}
    }
    // O_NONBLOCK: a FIFO put where the file was opens at once (and is refused below) instead
    // of waiting for a writer.
    let opened = fd::open(&shared.inputs[file].path, libc::O_RDONLY | libc::O_NONBLOCK)
        .map_err(Failure::Os)
        .and_then(|f| {
            let st = fd::fstat(&f).map_err(Failure::Os)?;
            if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(Failure::Changed);
            }
            // SAFETY: into_raw gives up the Fd's ownership; File takes it and closes it once.
            Ok(Arc::new(unsafe { File::from_raw_fd(f.into_raw()) }))
        });
    *slot = match &opened {
        Ok(f) => Opened::Open(Arc::clone(f)),
        Err(e) => Opened::Failed(*e),
    };
    opened
}

fn read_at(file: &File, buf: &mut Vec<u8>, offset: u64, len: usize) -> Result<(), Failure> {
    let start = buf.len();
    buf.resize(start + len, 0);
    let mut got = 0;
    while got < len {
        match file.read_at(&mut buf[start + got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::Os(e.raw_os_error().unwrap_or(libc::EIO))),
        }
    }
    buf.truncate(start + got);
    Ok(())
}

/// Reads and compresses one unit: the input before it (its dictionary), its own range, and
/// for a file's last unit whatever the file has grown by, up to one more block.
fn make(shared: &Shared, unit: &Unit, deflater: &mut Option<Deflater>) -> Result<Block, Failure> {
    let file = open(shared, unit.file)?;
    let dict_len = if shared.level.is_some() {
        unit.offset.min(WINDOW as u64) as usize
    } else {
        0
    };
    let mut buf = Vec::new();
    read_at(&file, &mut buf, unit.offset - dict_len as u64, dict_len)?;
    if buf.len() != dict_len {
        return Err(Failure::Changed);
    }
    // A file's last unit reads on to the end, as SkyPilot's copy does, up to one more block:
    // a page more in the same read, then more only if that filled (most files do not grow).
    let mut probe = if unit.last {
        PROBE.min(shared.block)
    } else {
        0
    };
    read_at(&file, &mut buf, unit.offset, (unit.len + probe) as usize)?;
    let mut got = (buf.len() - dict_len) as u64;
    while unit.last && got == unit.len + probe && probe < shared.block {
        let more = (probe * 4).min(shared.block) - probe;
        read_at(&file, &mut buf, unit.offset + got, more as usize)?;
        got = (buf.len() - dict_len) as u64;
        probe += more;
    }
    if (!unit.last && got != unit.len) || (unit.last && got >= unit.len + shared.block) {
        return Err(Failure::Changed); // short inside the file, or grown by a block or more
    }
    let raw = buf.split_off(dict_len);
    let dictionary = buf;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&raw);
    let data = match (shared.level, deflater) {
        (None, _) => raw.clone(),
        (Some(level), slot) => {
            let d = slot.get_or_insert_with(|| Deflater::new(level));
            let mut out = Vec::new();
            d.block(&dictionary, &raw, unit.last, &mut out);
            out
        }
    };
    let whole = unit.first && unit.last;
    let sha256 = whole.then(|| Sha256::digest(&raw).into());
    let len = raw.len() as u64;
    Ok(Block {
        dictionary,
        raw: if whole { Vec::new() } else { raw },
        data,
        crc,
        len,
        sha256,
    })
}

fn work(shared: &Shared) {
    let mut deflater = None;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let index = shared.claimed.fetch_add(1, Ordering::SeqCst);
        if index >= shared.units.len() {
            return;
        }
        {
            // Wait for room: at most `window` units ahead of what the caller has taken.
            let mut slots = lock(&shared.slots);
            if shared.too_far(index, slots.taken) {
                slots.workers_waiting += 1;
                while !shared.may_resume(index, slots.taken) && !shared.stop.load(Ordering::SeqCst)
                {
                    slots.first_waiting = slots.first_waiting.min(index);
                    slots = shared.freed.wait(slots).unwrap_or_else(|e| e.into_inner());
                }
                slots.workers_waiting -= 1;
                // Unknown until a waiting worker wakes (the next unit taken wakes them) and
                // sets its own again.
                slots.first_waiting = usize::MAX;
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let unit = &shared.units[index];
        let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            make(shared, unit, &mut deflater)
        }))
        .unwrap_or_else(|_| {
            deflater = None; // its state may be half-updated
            Err(Failure::Changed)
        });
        let mut slots = lock(&shared.slots);
        slots.ready.insert(index, made);
        if slots.caller_waits {
            shared.filled.notify_all();
        }
    }
}
