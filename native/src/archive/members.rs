//! The SHA-256 of members of any zip (what SkyPilot's `_compute_zip_blob_id` hashes), in
//! parallel: the caller lists the members as zipfile read them from the central directory;
//! each is found by its local header, inflated (or copied) and hashed. Anything zipfile would
//! treat otherwise than a plain read (a local name not the central one, another method, a
//! size or CRC that does not match) is DEFER: the caller lets zipfile read the zip.

use std::ffi::c_int;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::FromRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use flate2::{Decompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};

use crate::ffi;
use crate::files::fd::{self, State, STATE_ERRNO};

/// int64 values per member in the caller's array.
pub const MEMBER_FIELDS: usize = 7;
const CHUNK: usize = 256 * 1024;

/// One member as the central directory gives it.
#[derive(Clone, Copy)]
pub struct Member {
    pub header_offset: u64,
    pub compress_size: u64,
    pub file_size: u64,
    pub method: i64,
    pub crc: u32,
    pub name: (usize, usize), // where its raw name is in the names buffer
    /// Where zipfile (3.12+) knows the next member starts: data past it is refused.
    pub end_offset: Option<u64>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Defer,
    Os(c_int),
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> Result<(), Outcome> {
    match file.read_exact_at(buf, offset) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Outcome::Defer),
        Err(e) => Err(Outcome::Os(e.raw_os_error().unwrap_or(libc::EIO))),
    }
}

/// Where a member's data starts: its local header checked against the central directory's
/// listing as zipfile checks it (signature, raw name), and its data within `end_offset` (where
/// zipfile knows the next member's offset, it refuses overlapping data).
pub fn locate(
    file: &File,
    member: &Member,
    name: &[u8],
    end_offset: Option<u64>,
) -> Result<u64, Outcome> {
    let mut header = [0u8; 30];
    read_exact_at(file, &mut header, member.header_offset)?;
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([header[i], header[i + 1]]));
    if header[..4] != *b"PK\x03\x04" || u16_at(26) != name.len() as u64 {
        return Err(Outcome::Defer);
    }
    let mut local_name = vec![0u8; name.len()];
    read_exact_at(file, &mut local_name, member.header_offset + 30)?;
    if local_name != name || (member.method != 0 && member.method != 8) {
        return Err(Outcome::Defer);
    }
    let start = member.header_offset + 30 + u16_at(26) + u16_at(28);
    let end = start
        .checked_add(member.compress_size)
        .ok_or(Outcome::Defer)?;
    if end_offset.is_some_and(|limit| end > limit) {
        return Err(Outcome::Defer);
    }
    Ok(start)
}

/// What reading members needs, made once a thread and reused member after member (a fresh
/// 256 KiB buffer each would be an mmap and munmap for every small file).
pub struct Reader {
    input: Vec<u8>,
    output: Vec<u8>,
    inflater: Decompress,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            input: vec![0u8; CHUNK],
            output: Vec::with_capacity(CHUNK),
            inflater: Decompress::new(false),
        }
    }
}

/// A member's data from `start` (found by [`locate`]), inflated or copied, handed to `sink`
/// piece by piece; Defer unless it is exactly the listed size with the listed CRC (zipfile
/// reads it otherwise). The pieces before a Defer have been handed on.
pub fn stream(
    reader: &mut Reader,
    file: &File,
    member: &Member,
    start: u64,
    mut sink: impl FnMut(&[u8]) -> Result<(), Outcome>,
) -> Result<(), Outcome> {
    let mut at = start;
    let end = at.checked_add(member.compress_size).ok_or(Outcome::Defer)?;
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    let Reader {
        input,
        output,
        inflater,
    } = reader;
    inflater.reset(false);
    let mut inflater = (member.method == 8).then_some(inflater);
    let mut ended = false;
    while at < end {
        let n = (end - at).min(input.len() as u64) as usize;
        read_exact_at(file, &mut input[..n], at)?;
        at += n as u64;
        let Some(inflater) = inflater.as_mut() else {
            crc.update(&input[..n]);
            size += n as u64;
            if size > member.file_size {
                return Err(Outcome::Defer);
            }
            sink(&input[..n])?;
            continue;
        };
        let mut used = 0;
        while used < n && !ended {
            output.clear();
            let before = inflater.total_in();
            let status = inflater.decompress_vec(&input[used..n], output, FlushDecompress::None);
            used += (inflater.total_in() - before) as usize;
            crc.update(output);
            size += output.len() as u64;
            if size > member.file_size {
                return Err(Outcome::Defer);
            }
            sink(output)?;
            match status {
                Ok(Status::StreamEnd) => ended = true,
                Ok(_) if output.is_empty() && inflater.total_in() == before => break,
                Ok(_) => {}
                Err(_) => return Err(Outcome::Defer),
            }
        }
    }
    if let Some(inflater) = inflater.as_mut() {
        // Output still held after all input (the stream's end): drain it.
        while !ended {
            output.clear();
            let status = inflater.decompress_vec(&[], output, FlushDecompress::Finish);
            crc.update(output);
            size += output.len() as u64;
            if size > member.file_size {
                return Err(Outcome::Defer);
            }
            sink(output)?;
            match status {
                Ok(Status::StreamEnd) => ended = true,
                Ok(_) if !output.is_empty() => {}
                _ => return Err(Outcome::Defer),
            }
        }
    }
    if size != member.file_size || crc.finalize() != member.crc {
        return Err(Outcome::Defer);
    }
    Ok(())
}

/// The SHA-256 of one member's data, checked against its size and CRC.
pub fn hash_member(
    reader: &mut Reader,
    file: &File,
    member: &Member,
    name: &[u8],
) -> Result<[u8; 32], Outcome> {
    let start = locate(file, member, name, member.end_offset)?;
    let mut sha = Sha256::new();
    stream(reader, file, member, start, |piece| {
        sha.update(piece);
        Ok(())
    })?;
    Ok(sha.finalize().into())
}

/// The SHA-256 of each of `count` members of the zip at `path` into `out` (32 bytes each), on
/// up to `threads` threads. `members` holds MEMBER_FIELDS int64 per member: header offset,
/// compressed size, size, method, CRC, the length of its raw name, and its end offset (-1:
/// none), the names following
/// one another in `names`. OK; DEFER where zipfile must read the zip; ERR_OS with errno in
/// state[STATE_ERRNO].
///
/// # Safety
/// Each pointer must hold its stated length (members: count * MEMBER_FIELDS int64, out:
/// count * 32 writable bytes, state: STATE_SLOTS int64), unchanged by anyone else during the
/// call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_hash(
    path: *const u8,
    path_len: c_int,
    members: *const i64,
    names: *const u8,
    names_len: i64,
    count: c_int,
    threads: c_int,
    out: *mut u8,
    state: *mut i64,
) -> c_int {
    ffi::guard(|| {
        let (Some(path_len), Some(count), Ok(names_len)) = (
            ffi::int_len(path_len),
            ffi::int_len(count),
            usize::try_from(names_len),
        ) else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller's guarantees, as documented above.
        let (Some(path), Some(names), Some(mut state)) = (
            unsafe { ffi::path_arg(path, path_len) },
            unsafe { ffi::bytes_arg(names, names_len) },
            unsafe { State::from_ptr(state) },
        ) else {
            return ffi::ERR_ARG;
        };
        if count > 0 && (members.is_null() || out.is_null()) {
            return ffi::ERR_ARG;
        }
        let (fields, digests) = if count == 0 {
            (&[][..], &mut [][..])
        } else {
            // SAFETY: non-null (checked) and of the documented lengths.
            unsafe {
                (
                    std::slice::from_raw_parts(members, count * MEMBER_FIELDS),
                    std::slice::from_raw_parts_mut(out, count * 32),
                )
            }
        };
        let mut list = Vec::with_capacity(count);
        let mut at = 0usize;
        for f in fields.chunks(MEMBER_FIELDS) {
            let values: Option<(u64, u64, u64, u32, usize)> = (|| {
                Some((
                    u64::try_from(f[0]).ok()?,
                    u64::try_from(f[1]).ok()?,
                    u64::try_from(f[2]).ok()?,
                    u32::try_from(f[4]).ok()?,
                    usize::try_from(f[5]).ok()?,
                ))
            })();
            let Some((header_offset, compress_size, file_size, crc, name_len)) = values else {
                return ffi::ERR_ARG;
            };
            let Some(name_end) = at.checked_add(name_len).filter(|&e| e <= names.len()) else {
                return ffi::ERR_ARG;
            };
            list.push(Member {
                header_offset,
                compress_size,
                file_size,
                method: f[3],
                crc,
                name: (at, name_end),
                end_offset: u64::try_from(f[6]).ok(),
            });
            at = name_end;
        }
        let opened = fd::open(&path, libc::O_RDONLY | libc::O_NONBLOCK).and_then(|f| {
            let st = fd::fstat(&f)?;
            Ok((f, st.st_mode & libc::S_IFMT == libc::S_IFREG))
        });
        let file = match opened {
            Ok((f, true)) => {
                // SAFETY: File takes over the descriptor the Fd gave up, and closes it once.
                unsafe { File::from_raw_fd(f.into_raw()) }
            }
            Ok((_, false)) => return ffi::DEFER,
            Err(errno) => {
                state.set(STATE_ERRNO, i64::from(errno));
                return ffi::ERR_OS;
            }
        };
        match hash_all(
            &file,
            &list,
            names,
            digests,
            usize::try_from(threads).unwrap_or(1),
        ) {
            Ok(()) => ffi::OK,
            Err(Outcome::Defer) => ffi::DEFER,
            Err(Outcome::Os(errno)) => {
                state.set(STATE_ERRNO, i64::from(errno));
                ffi::ERR_OS
            }
        }
    })
}

/// Each worker's digests, by member index.
type Digests = Result<Vec<(usize, [u8; 32])>, Outcome>;

fn hash_all(
    file: &File,
    list: &[Member],
    names: &[u8],
    out: &mut [u8],
    threads: usize,
) -> Result<(), Outcome> {
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, list.len().max(1));
    let results: Vec<Digests> = std::thread::scope(|scope| {
        let work = || {
            let mut done = Vec::new();
            let mut reader = Reader::default();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= list.len() {
                    return Ok(done);
                }
                let m = &list[i];
                done.push((
                    i,
                    hash_member(&mut reader, file, m, &names[m.name.0..m.name.1])?,
                ));
            }
        };
        let handles: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mine = work();
        let mut all = vec![mine];
        all.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(Outcome::Defer))),
        );
        all
    });
    for result in results {
        for (i, digest) in result? {
            out[i * 32..i * 32 + 32].copy_from_slice(&digest);
        }
    }
    Ok(())
}
