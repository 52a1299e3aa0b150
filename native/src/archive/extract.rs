//! SkyPilot's server extraction of an upload (`_extract_members`, served from
//! skyutils/skypilot/extract.py), member after member in the archive's order, each done
//! exactly as SkyPilot's code would do it, or not at all: at the first member whose outcome
//! is not certain here (a name through an existing symlink or a non-directory, a symlink whose
//! target is not plainly inside, a local header, size or CRC not as listed, any error), the
//! call stops and returns how many members were done; SkyPilot's own code does that member
//! and the rest, with its own checks and errors.
//!
//! Every path is walked from the target directory with `openat(O_NOFOLLOW)`, one component at
//! a time, so nothing here follows a symlink: a member whose path meets one is SkyPilot's.
//! What a stopped member may have left (its parent directories, its file, written in full) is
//! what SkyPilot's code makes again, identically, before it goes on.

use std::ffi::{c_int, CString};
use std::fs::File;
use std::io::Write;
use std::os::unix::io::FromRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::archive::members::{self, Member, Outcome, Reader};
use crate::ffi;
use crate::files::fd::{self, Fd};

/// int64 values per member in the caller's array: kind, header offset, compressed size, size,
/// method, CRC, end offset (-1: none), length of its path, length of its raw name.
pub const EXTRACT_FIELDS: usize = 9;
pub const EXTRACT_FILE: i64 = 0;
pub const EXTRACT_DIR: i64 = 1;
pub const EXTRACT_LINK: i64 = 2;
/// A symlink's target longer than this is left to SkyPilot (the kernel refuses past PATH_MAX).
const LINK_MAX: u64 = 4096;
const DIR_FLAGS: c_int = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// This member is SkyPilot's own to do.
struct Stop;

impl From<Outcome> for Stop {
    fn from(_: Outcome) -> Stop {
        Stop
    }
}

struct Item<'a> {
    kind: i64,
    member: Member,
    end_offset: Option<u64>,
    path: &'a [u8],
    raw: &'a [u8],
}

/// The directories of the last member's path, open: the next member in the same directory
/// (the usual case) walks nothing again.
struct Walker {
    root: Fd,
    open: Vec<(Vec<u8>, Fd)>,
}

fn cstr(bytes: &[u8]) -> Result<CString, Stop> {
    CString::new(bytes).map_err(|_| Stop)
}

fn retry<T: PartialOrd + Default>(mut call: impl FnMut() -> T) -> Result<T, c_int> {
    loop {
        let value = call();
        if value >= T::default() {
            return Ok(value);
        }
        let errno = ffi::last_errno();
        if errno != libc::EINTR {
            return Err(errno);
        }
    }
}

fn open_at(dir: c_int, name: &CString, flags: c_int, mode: libc::c_uint) -> Result<Fd, c_int> {
    // SAFETY: dir is an open descriptor and name a NUL-terminated string, both alive for the
    // call; the new descriptor is owned by the Fd alone.
    retry(|| unsafe { libc::openat(dir, name.as_ptr(), flags, mode) }).map(|fd| {
        // SAFETY: a descriptor openat just returned, owned by nothing else.
        unsafe { fd::Fd::from_raw(fd) }
    })
}

/// What is at `name` in `dir`, not following a symlink; None when nothing is.
fn stat_at(dir: c_int, name: &CString) -> Result<Option<libc::mode_t>, Stop> {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dir is open, name NUL-terminated, st writable; all alive for the call.
    let done =
        retry(|| unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) });
    match done {
        Ok(_) => Ok(Some(st.st_mode & libc::S_IFMT)),
        Err(libc::ENOENT) => Ok(None),
        Err(_) => Err(Stop),
    }
}

impl Walker {
    fn top(&self) -> c_int {
        self.open.last().map_or(self.root.raw(), |(_, fd)| fd.raw())
    }

    /// The directory `components` name under the root, made where missing (as SkyPilot's
    /// `mkdir(parents=True, exist_ok=True)` makes it); Stop at a symlink or a non-directory.
    fn enter(&mut self, components: &[&[u8]]) -> Result<c_int, Stop> {
        let same = self
            .open
            .iter()
            .zip(components)
            .take_while(|((name, _), component)| name.as_slice() == **component)
            .count();
        self.open.truncate(same);
        for component in &components[same..] {
            let name = cstr(component)?;
            let top = self.top();
            let fd = match open_at(top, &name, DIR_FLAGS, 0) {
                Ok(fd) => fd,
                Err(libc::ENOENT) => {
                    // SAFETY: top is open and name NUL-terminated for the call.
                    match retry(|| unsafe { libc::mkdirat(top, name.as_ptr(), 0o777) }) {
                        Ok(_) | Err(libc::EEXIST) => {}
                        Err(_) => return Err(Stop),
                    }
                    open_at(top, &name, DIR_FLAGS, 0).map_err(|_| Stop)?
                }
                Err(_) => return Err(Stop), // ELOOP (a symlink), ENOTDIR, EACCES...
            };
            self.open.push((component.to_vec(), fd));
        }
        Ok(self.top())
    }
}

/// A path's components, as pathlib joins it: empty ones and "." dropped; Stop at "..".
fn components(path: &[u8]) -> Result<Vec<&[u8]>, Stop> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty() && *p != b".")
        .collect();
    if parts.is_empty() || parts.iter().any(|p| *p == b"..") {
        return Err(Stop);
    }
    Ok(parts)
}

/// True when `target`, read from `dir`, stays inside it however it resolves: no "..", not
/// absolute, and no component that exists as a symlink (or, but last, as a non-directory).
fn plainly_inside(dir: c_int, target: &[u8]) -> Result<(), Stop> {
    if target.first() == Some(&b'/') {
        return Err(Stop);
    }
    let parts = components(target)?;
    let mut held: Option<Fd> = None;
    for (i, part) in parts.iter().enumerate() {
        let at = held.as_ref().map_or(dir, Fd::raw);
        let name = cstr(part)?;
        match stat_at(at, &name)? {
            None => return Ok(()), // the rest resolves lexically, below an existing directory
            Some(libc::S_IFDIR) if i + 1 < parts.len() => {
                held = Some(open_at(at, &name, DIR_FLAGS, 0).map_err(|_| Stop)?);
            }
            Some(libc::S_IFLNK) => return Err(Stop),
            Some(_) if i + 1 == parts.len() => return Ok(()),
            Some(_) => return Err(Stop),
        }
    }
    Ok(())
}

fn extract_one(
    walker: &mut Walker,
    reader: &mut Reader,
    zip: &File,
    item: &Item,
) -> Result<(), Stop> {
    let parts = components(item.path)?;
    if item.kind == EXTRACT_DIR {
        walker.enter(&parts)?;
        return Ok(());
    }
    let (last, parents) = parts.split_last().ok_or(Stop)?;
    let dir = walker.enter(parents)?;
    let name = cstr(last)?;
    let existing = stat_at(dir, &name)?;
    let start = members::locate(zip, &item.member, item.raw, item.end_offset)?;
    if item.kind == EXTRACT_LINK {
        if item.member.file_size > LINK_MAX {
            return Err(Stop);
        }
        let mut target = Vec::new();
        members::stream(reader, zip, &item.member, start, |piece| {
            target.extend_from_slice(piece);
            Ok(())
        })?;
        // SkyPilot decodes it as UTF-8 and refuses an absolute one; NUL is the OS's refusal.
        if std::str::from_utf8(&target).is_err() || target.contains(&0) {
            return Err(Stop);
        }
        plainly_inside(dir, &target)?;
        match existing {
            None => {}
            Some(libc::S_IFREG) => {
                // SAFETY: dir is open and name NUL-terminated for the call.
                retry(|| unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map_err(|_| Stop)?;
            }
            Some(_) => return Err(Stop), // a directory, a symlink, a FIFO...
        }
        let target = cstr(&target)?;
        // SAFETY: both strings NUL-terminated and dir open, for the call.
        retry(|| unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) })
            .map_err(|_| Stop)?;
        return Ok(());
    }
    if !matches!(existing, None | Some(libc::S_IFREG)) {
        return Err(Stop);
    }
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let out = open_at(dir, &name, flags, 0o666).map_err(|_| Stop)?;
    // SAFETY: File takes over the descriptor the Fd gives up, and closes it once.
    let mut out = unsafe { File::from_raw_fd(out.into_raw()) };
    members::stream(reader, zip, &item.member, start, |piece| {
        out.write_all(piece).map_err(|_| Outcome::Defer)
    })?;
    Ok(())
}

fn items<'a>(fields: &[i64], names: &'a [u8]) -> Option<Vec<Item<'a>>> {
    let mut list = Vec::with_capacity(fields.len() / EXTRACT_FIELDS);
    let mut at = 0usize;
    for f in fields.chunks(EXTRACT_FIELDS) {
        let take = |len: i64, at: &mut usize| -> Option<&'a [u8]> {
            let end = at.checked_add(usize::try_from(len).ok()?)?;
            let bytes = names.get(*at..end)?;
            *at = end;
            Some(bytes)
        };
        let path = take(f[7], &mut at)?;
        let raw = take(f[8], &mut at)?;
        list.push(Item {
            kind: f[0],
            member: Member {
                header_offset: u64::try_from(f[1]).ok()?,
                compress_size: u64::try_from(f[2]).ok()?,
                file_size: u64::try_from(f[3]).ok()?,
                method: f[4],
                crc: u32::try_from(f[5]).ok()?,
                name: (0, 0),
                end_offset: None, // the item's own, below
            },
            end_offset: u64::try_from(f[6]).ok(),
            path,
            raw,
        });
    }
    Some(list)
}

/// Extracts members of the zip open at `zip_fd` (read with pread: its offset is untouched)
/// into the directory `dir`, in order, as SkyPilot's `_extract_members` would; returns how
/// many were done (`count`: all), or ERR_ARG. `members` holds EXTRACT_FIELDS int64 per
/// member; its path (normalised, relative) and raw local-header name follow one another in
/// `names`.
///
/// # Safety
/// Each pointer must hold its stated length (members: count * EXTRACT_FIELDS int64),
/// unchanged by anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn skyutils_zip_extract(
    zip_fd: c_int,
    dir: *const u8,
    dir_len: c_int,
    members: *const i64,
    names: *const u8,
    names_len: i64,
    count: c_int,
) -> c_int {
    ffi::guard(|| {
        let (Some(dir_len), Some(count), Ok(names_len)) = (
            ffi::int_len(dir_len),
            ffi::int_len(count),
            usize::try_from(names_len),
        ) else {
            return ffi::ERR_ARG;
        };
        // SAFETY: the caller's guarantees, as documented above.
        let (Some(dir), Some(names)) = (unsafe { ffi::path_arg(dir, dir_len) }, unsafe {
            ffi::bytes_arg(names, names_len)
        }) else {
            return ffi::ERR_ARG;
        };
        if zip_fd < 0 || (count > 0 && members.is_null()) {
            return ffi::ERR_ARG;
        }
        let fields = if count == 0 {
            &[][..]
        } else {
            // SAFETY: non-null (checked) and of the documented length.
            unsafe { std::slice::from_raw_parts(members, count * EXTRACT_FIELDS) }
        };
        let Some(list) = items(fields, names) else {
            return ffi::ERR_ARG;
        };
        // The zip read through a descriptor of its own: the caller's stays as it is.
        // SAFETY: F_DUPFD_CLOEXEC on a descriptor number only reads it; a bad one fails.
        let Ok(zip) = retry(|| unsafe { libc::fcntl(zip_fd, libc::F_DUPFD_CLOEXEC, 0) }) else {
            return 0;
        };
        // SAFETY: a descriptor fcntl just made, owned by this File alone.
        let zip = unsafe { File::from_raw_fd(zip) };
        let Ok(root) = fd::open(&dir, DIR_FLAGS) else {
            return 0;
        };
        let mut walker = Walker {
            root,
            open: Vec::new(),
        };
        let mut reader = Reader::default();
        for (done, item) in list.iter().enumerate() {
            // A panic stops at this member as any doubt does: what it left is SkyPilot's to
            // redo (the walker's and reader's state is remade for nothing after it).
            let one = catch_unwind(AssertUnwindSafe(|| {
                extract_one(&mut walker, &mut reader, &zip, item)
            }));
            if !matches!(one, Ok(Ok(()))) {
                return c_int::try_from(done).unwrap_or(0);
            }
        }
        c_int::try_from(list.len()).unwrap_or(0)
    })
}
