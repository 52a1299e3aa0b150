//! get_cpu_count and get_mem_size_gb: host count, affinity and cgroup in one call.
//! (The SKYPILOT_POD_* overrides are read by Python before these are called.)

use std::ffi::{c_int, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::cgroup::{Cgroup, Parse};
use crate::ffi::{self, bytes_arg};

/// Logical CPUs online, as psutil.cpu_count() reports them.
#[cfg(target_os = "linux")]
fn logical_cpus() -> Option<i64> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let count = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (count > 0).then_some(count as i64)
}

#[cfg(target_os = "macos")]
fn logical_cpus() -> Option<i64> {
    sysctl_value::<c_int>(c"hw.logicalcpu")
        .filter(|&n| n > 0)
        .map(i64::from)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn logical_cpus() -> Option<i64> {
    None
}

/// Reads a fixed-size sysctl value by name.
#[cfg(target_os = "macos")]
fn sysctl_value<T: Default + Copy>(name: &std::ffi::CStr) -> Option<T> {
    let mut value = T::default();
    let mut size = std::mem::size_of::<T>();
    // SAFETY: `value` is writable for `size` bytes; name is NUL-terminated.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&mut value as *mut T).cast(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    (rc == 0 && size == std::mem::size_of::<T>()).then_some(value)
}

/// CPUs in this process's affinity mask, as len(os.sched_getaffinity(0)).
#[cfg(target_os = "linux")]
fn affinity_cpus() -> Option<i64> {
    // Grow the mask until the kernel accepts its size (machines with > 1024 CPUs).
    let mut words = 16usize;
    loop {
        let mut mask = vec![0u64; words];
        let bytes = words * 8;
        // SAFETY: mask is writable for `bytes` bytes; pid 0 is this thread.
        let rc = unsafe { libc::syscall(libc::SYS_sched_getaffinity, 0, bytes, mask.as_mut_ptr()) };
        if rc > 0 {
            let used = (rc as usize).div_ceil(8);
            return Some(mask[..used].iter().map(|w| w.count_ones() as i64).sum());
        }
        if ffi::last_errno() != libc::EINVAL || words >= 1 << 16 {
            return None;
        }
        words *= 2;
    }
}

#[cfg(not(target_os = "linux"))]
fn affinity_cpus() -> Option<i64> {
    None // macOS has no affinity sets; Python has no os.sched_getaffinity there.
}

/// Total physical memory in bytes, as psutil.virtual_memory().total: MemTotal of
/// /proc/meminfo, which containers virtualise (LXCFS) where sysinfo(2) tells the host's.
#[cfg(target_os = "linux")]
fn physical_memory() -> Option<u64> {
    use std::io::Read;

    let mut text = Vec::new();
    let file = std::fs::File::open("/proc/meminfo").ok()?; // an error: Python's, psutil's
    file.take(MEMINFO_MAX as u64 + 1)
        .read_to_end(&mut text)
        .ok()?;
    (text.len() <= MEMINFO_MAX).then_some(())?;
    meminfo_total(&text)
}

/// /proc/meminfo is about 1.5 KiB; a longer one is not a kernel's, and Python reads it.
#[cfg(target_os = "linux")]
const MEMINFO_MAX: usize = 64 << 10;

/// The fields psutil.virtual_memory() reads without a warning when one is missing.
#[cfg(any(target_os = "linux", test))]
const MEMINFO_FIELDS: [&[u8]; 8] = [
    b"MemTotal:",
    b"MemFree:",
    b"Buffers:",
    b"Cached:",
    b"Shmem:",
    b"Active:",
    b"Inactive:",
    b"MemAvailable:",
];

/// MemTotal in bytes where psutil would read this text without an error or a warning: every
/// line a name and a decimal count of KiB (psutil's int() of the second field), and every
/// field it reads there. Anything else is Python's to answer (None).
#[cfg(any(target_os = "linux", test))]
fn meminfo_total(text: &[u8]) -> Option<u64> {
    let mut total = None;
    let mut seen = [false; MEMINFO_FIELDS.len()];
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    for line in text.split(|&b| b == b'\n') {
        let mut fields = line
            .split(|b| b" \t\r\x0b\x0c".contains(b))
            .filter(|f| !f.is_empty());
        let (name, value) = (fields.next()?, fields.next()?);
        if !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let kib: u64 = std::str::from_utf8(value).ok()?.parse().ok()?;
        if let Some(index) = MEMINFO_FIELDS.iter().position(|f| *f == name) {
            seen[index] = true;
            if index == 0 {
                total = Some(kib.checked_mul(1024)?); // the last one, as psutil's dict keeps
            }
        }
    }
    seen.iter().all(|&s| s).then_some(total?)
}

#[cfg(target_os = "macos")]
fn physical_memory() -> Option<u64> {
    sysctl_value::<u64>(c"hw.memsize")
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn physical_memory() -> Option<u64> {
    None
}

/// Runs `query` on the cgroup tree at (root, root_len) and returns its answer, or a negative
/// status: the body every exported function of this module shares. The answer is the return
/// value and the length a C int, so ctypes calls these without argtypes (see
/// skyutils_base36_encode): the call was a fifth of get_mem_size_gb's time.
///
/// # Safety
/// `root` must point to `root_len` readable bytes.
unsafe fn answer<T: TryInto<i64>>(
    root: *const u8,
    root_len: c_int,
    query: impl FnOnce(&Cgroup) -> Parse<T>,
) -> i64 {
    ffi::guard_or(i64::from(ffi::ERR_PANIC), || {
        let Some(root_len) = ffi::int_len(root_len) else {
            return i64::from(ffi::ERR_ARG);
        };
        // SAFETY: the caller passes root_len readable bytes.
        let Some(root) = (unsafe { bytes_arg(root, root_len) }) else {
            return i64::from(ffi::ERR_ARG);
        };
        match query(&Cgroup::new(Path::new(OsStr::from_bytes(root)))) {
            // A value beyond i64 (memory over 8 EiB) is not something to guess at: Python.
            Parse::Value(found) => found.try_into().unwrap_or(i64::from(ffi::DEFER)),
            Parse::Defer => i64::from(ffi::DEFER),
        }
    })
}

/// min(logical CPUs, affinity set, floor of the cgroup quota).
pub fn cpu_count(cgroup: &Cgroup) -> Parse<i64> {
    let Some(mut count) = logical_cpus() else {
        return Parse::Defer;
    };
    if let Some(affinity) = affinity_cpus() {
        count = count.min(affinity);
    }
    match cgroup.cpu_limit() {
        Parse::Value(Some(cores)) => Parse::Value(count.min(cores.trunc() as i64)),
        Parse::Value(None) => Parse::Value(count),
        Parse::Defer => Parse::Defer,
    }
}

/// min(physical memory, cgroup limit) in bytes.
pub fn memory_bytes(cgroup: &Cgroup) -> Parse<u64> {
    let Some(total) = physical_memory() else {
        return Parse::Defer;
    };
    match cgroup.memory_limit() {
        Parse::Value(Some(limit)) => Parse::Value(total.min(limit)),
        Parse::Value(None) => Parse::Value(total),
        Parse::Defer => Parse::Defer,
    }
}

/// The usable CPU count, reading cgroup files under `cgroup_root`, or a negative status.
/// DEFER: a cgroup file holds text that Python must parse.
///
/// # Safety
/// `cgroup_root` must point to `root_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn skyutils_get_cpu_count(cgroup_root: *const u8, root_len: c_int) -> i64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { answer(cgroup_root, root_len, cpu_count) }
}

/// min(physical memory, cgroup limit) in bytes, or a negative status; Python divides by 2**30
/// (get_mem_size_gb), so the float rounding is Python's, as in SkyPilot.
/// DEFER: a cgroup file holds text that Python must parse.
///
/// # Safety
/// `cgroup_root` must point to `root_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn skyutils_get_mem_size_gb(cgroup_root: *const u8, root_len: c_int) -> i64 {
    // SAFETY: forwarded from this function's contract.
    unsafe { answer(cgroup_root, root_len, memory_bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &[u8] = b"MemTotal:        1048576 kB\nMemFree:  524288 kB\n\
        MemAvailable:     600000 kB\nBuffers: 1000 kB\nCached: 10000 kB\nShmem: 100 kB\n\
        Active: 2000 kB\nInactive: 3000 kB\nHugePages_Total:       0\n";

    #[test]
    fn meminfo_total_is_psutil_s() {
        assert_eq!(meminfo_total(MEMINFO), Some(1 << 30));
        let twice = [MEMINFO, b"MemTotal: 1 kB\n"].concat();
        assert_eq!(meminfo_total(&twice), Some(1024)); // the last, as psutil's dict keeps
    }

    #[test]
    fn meminfo_that_psutil_would_fail_or_warn_on_is_python_s() {
        for odd in [
            &b"MemTotal: 1 kB\n"[..],                 // psutil warns: fields missing
            &[MEMINFO, b"\n"].concat()[..],           // an empty line: IndexError
            &[MEMINFO, b"Odd: x kB\n"].concat()[..],  // int() fails: ValueError
            &[MEMINFO, b"Odd: +5 kB\n"].concat()[..], // int() takes it: Python decides
            &[MEMINFO, b"Lonely\n"].concat()[..],     // one field: IndexError
        ] {
            assert_eq!(meminfo_total(odd), None, "{}", String::from_utf8_lossy(odd));
        }
    }
}
