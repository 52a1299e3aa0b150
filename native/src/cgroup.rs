//! cgroup CPU and memory limits, read and parsed as SkyPilot does.
//!
//! The kernel writes these files as plain integers (or `max`). Those forms are decided
//! here; any other text (Python's float() and int() accept much more: `1e5`, `1_000`,
//! `inf`, Unicode digits) is `Parse::Defer`, and Python parses the whole file instead.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::ffi;
use crate::files::fd;

/// What one file says, or that Python must decide.
#[derive(Debug, PartialEq, Clone, Copy)]
pub enum Parse<T> {
    Value(T),
    Defer,
}

/// A limit: `None` is "no limit" (SkyPilot also uses None for unreadable or odd files).
pub type Limit<T> = Parse<Option<T>>;

/// Bytes that Python's str.split()/strip() treat as whitespace, ASCII only.
fn is_space(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f
    )
}

/// An integer token as both float() and int() read it when it is plain: an optional '-'
/// and 1 to 18 ASCII digits (so it is exact in i64, and float() of it rounds like Rust's).
fn plain_integer(token: &[u8]) -> Option<i64> {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(token).ok()?.parse().ok()
}

fn tokens(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| is_space(b)).filter(|t| !t.is_empty())
}

fn strip(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    &text[start..end]
}

/// cgroup v2 `cpu.max` ("QUOTA PERIOD"), in cores.
pub fn parse_cpu_max(text: &[u8]) -> Limit<f64> {
    if !text.is_ascii() {
        return Parse::Defer;
    }
    let parts: Vec<&[u8]> = tokens(text).collect();
    let [quota, period] = parts[..] else {
        return Parse::Value(None); // Python: unpacking fails, ValueError, no limit.
    };
    if quota == b"max" {
        return Parse::Value(None);
    }
    let (Some(quota), Some(period)) = (plain_integer(quota), plain_integer(period)) else {
        return Parse::Defer;
    };
    if quota <= 0 || period == 0 {
        // Period 0 is "no limit" here (the reference divides by zero: allowed difference).
        return Parse::Value(None);
    }
    Parse::Value(Some(quota as f64 / period as f64))
}

/// cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, in cores.
pub fn parse_cfs(quota: &[u8], period: &[u8]) -> Limit<f64> {
    let (Some(quota), Some(period)) = (plain_integer(strip(quota)), plain_integer(strip(period)))
    else {
        return Parse::Defer;
    };
    if quota > 0 && period > 0 {
        Parse::Value(Some(quota as f64 / period as f64))
    } else {
        Parse::Value(None)
    }
}

/// `memory.max` / `memory.limit_in_bytes`, in bytes.
pub fn parse_memory_limit(text: &[u8]) -> Limit<u64> {
    let value = strip(text);
    if value == b"max" || value.is_empty() {
        return Parse::Value(None);
    }
    let digits = value.strip_prefix(b"-").unwrap_or(value);
    if digits.is_empty() || digits.len() > 38 || !digits.iter().all(u8::is_ascii_digit) {
        return Parse::Defer;
    }
    let Some(limit) = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.parse::<i128>().ok())
    else {
        return Parse::Defer;
    };
    if limit <= 0 {
        Parse::Value(None)
    } else {
        // Larger than any machine's memory: min() with the physical total ignores it.
        Parse::Value(Some(u64::try_from(limit).unwrap_or(u64::MAX)))
    }
}

/// What reading one cgroup file gave.
enum Read {
    Text(Vec<u8>),
    /// It cannot be opened or read: Python's OSError, which SkyPilot takes as "no limit".
    Unreadable,
    /// Not a regular file (a FIFO would block, where Ctrl-C cannot reach Python): Python
    /// reads it, interruptibly, as SkyPilot does.
    Special,
}

/// A file's bytes. cgroup files are a few bytes: open, fstat, one read into a small buffer,
/// close; filesystem calls are what these functions cost, so std's EOF read is left out.
/// O_NONBLOCK and the fstat check: a FIFO opens at once and is never read here.
fn read_file(path: &Path) -> Read {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return Read::Unreadable;
    };
    let file = match fd::open(&c_path, libc::O_RDONLY | libc::O_NONBLOCK) {
        Ok(file) => file,
        Err(_) => return Read::Unreadable, // EINTR is retried by fd::open: a signal is no error
    };
    match fd::fstat(&file) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {}
        Ok(_) => return Read::Special,
        Err(_) => return Read::Unreadable,
    }
    let mut text = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        // SAFETY: the descriptor is open and chunk is writable for its length.
        let got = unsafe { libc::read(file.raw(), chunk.as_mut_ptr().cast(), chunk.len()) };
        if got < 0 {
            if ffi::last_errno() == libc::EINTR {
                continue;
            }
            return Read::Unreadable;
        }
        text.extend_from_slice(&chunk[..got as usize]);
        // A short read of these small files is their end; a full one may have more behind it.
        if (got as usize) < chunk.len() {
            return Read::Text(text);
        }
    }
}

/// Python's os.path.isfile: stat follows links, and any failure means "not a file".
fn is_file(path: &Path) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated and `st` is writable.
    let ok = unsafe { libc::stat(c_path.as_ptr(), &mut st) } == 0;
    ok && st.st_mode & libc::S_IFMT == libc::S_IFREG
}

/// A cgroup tree rooted at `root` (normally /sys/fs/cgroup).
pub struct Cgroup {
    root: PathBuf,
}

impl Cgroup {
    pub fn new(root: &Path) -> Self {
        Cgroup {
            root: root.to_path_buf(),
        }
    }

    fn is_v2(&self) -> bool {
        is_file(&self.root.join("cgroup.controllers"))
    }

    /// The CPU quota in cores.
    pub fn cpu_limit(&self) -> Limit<f64> {
        if self.is_v2() {
            return match read_file(&self.root.join("cpu.max")) {
                Read::Text(text) => parse_cpu_max(&text),
                Read::Unreadable => Parse::Value(None),
                Read::Special => Parse::Defer,
            };
        }
        let quota = match read_file(&self.root.join("cpu/cpu.cfs_quota_us")) {
            Read::Text(text) => text,
            Read::Unreadable => return Parse::Value(None),
            Read::Special => return Parse::Defer,
        };
        if !quota.is_ascii() {
            return Parse::Defer;
        }
        let stripped = strip(&quota);
        if stripped.is_empty() {
            return Parse::Value(None); // float('') fails: no limit, period never read.
        }
        let Some(quota_value) = plain_integer(stripped) else {
            return Parse::Defer;
        };
        if quota_value <= 0 {
            // No quota, whatever the period file says, and SkyPilot's answer is None too when
            // that file is unreadable or odd: one file read saved (about a third of the call).
            return Parse::Value(None);
        }
        match read_file(&self.root.join("cpu/cpu.cfs_period_us")) {
            Read::Text(period) if period.is_ascii() => {
                if strip(&period).is_empty() {
                    return Parse::Value(None);
                }
                parse_cfs(&quota, &period)
            }
            Read::Text(_) | Read::Special => Parse::Defer,
            Read::Unreadable => Parse::Value(None),
        }
    }

    /// The memory limit in bytes.
    pub fn memory_limit(&self) -> Limit<u64> {
        let path = if self.is_v2() {
            self.root.join("memory.max")
        } else {
            self.root.join("memory/memory.limit_in_bytes")
        };
        match read_file(&path) {
            Read::Text(text) if text.is_ascii() => parse_memory_limit(&text),
            Read::Text(_) | Read::Special => Parse::Defer,
            Read::Unreadable => Parse::Value(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_max_forms() {
        assert_eq!(parse_cpu_max(b"max 100000\n"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"50000 100000\n"), Parse::Value(Some(0.5)));
        assert_eq!(parse_cpu_max(b"250000 100000"), Parse::Value(Some(2.5)));
        assert_eq!(parse_cpu_max(b"-1 100000"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"0 100000"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"50000 0"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b""), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"1 2 3"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"max"), Parse::Value(None));
        assert_eq!(parse_cpu_max(b"1e5 100000"), Parse::Defer);
        assert_eq!(parse_cpu_max(b"nan 100000"), Parse::Defer);
        assert_eq!(parse_cpu_max(b"50000 -100000"), Parse::Value(Some(-0.5)));
        assert_eq!(parse_cpu_max("５ 1".as_bytes()), Parse::Defer);
        assert_eq!(parse_cpu_max(b"1234567890123456789 1"), Parse::Defer);
    }

    #[test]
    fn cfs_forms() {
        assert_eq!(parse_cfs(b"50000\n", b"100000\n"), Parse::Value(Some(0.5)));
        assert_eq!(parse_cfs(b"-1", b"100000"), Parse::Value(None));
        assert_eq!(parse_cfs(b"100000", b"0"), Parse::Value(None));
        assert_eq!(parse_cfs(b"1_0", b"1"), Parse::Defer);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(parse_memory_limit(b"max\n"), Parse::Value(None));
        assert_eq!(parse_memory_limit(b""), Parse::Value(None));
        assert_eq!(parse_memory_limit(b" \n"), Parse::Value(None));
        assert_eq!(parse_memory_limit(b"0"), Parse::Value(None));
        assert_eq!(parse_memory_limit(b"-5"), Parse::Value(None));
        assert_eq!(
            parse_memory_limit(b"1073741824\n"),
            Parse::Value(Some(1 << 30))
        );
        assert_eq!(
            parse_memory_limit(b"9223372036854771712"),
            Parse::Value(Some(9223372036854771712))
        );
        assert_eq!(
            parse_memory_limit(b"1180591620717411303424"),
            Parse::Value(Some(u64::MAX))
        );
        assert_eq!(parse_memory_limit(b"+5"), Parse::Defer);
        assert_eq!(parse_memory_limit(b"1e9"), Parse::Defer);
        assert_eq!(parse_memory_limit(b"junk"), Parse::Defer);
    }
}
