//! The floor under the system-bound functions, for `skyutils bench`: the bare system calls a
//! function cannot do without, timed here in Rust with no ctypes, no Python and no parsing.
//! `skypilot time / floor` is the best ratio this machine allows any implementation.
//!
//! Which calls are bare minimum is decided once, before timing, from the same files the
//! function reads: e.g. cgroup v1 needs the period file only when a quota is set.
// The floors are Linux's system calls; elsewhere only the export (answering DEFER) is used.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::cell::RefCell;
use std::ffi::{c_int, CString, OsStr};
use std::hint::black_box;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use crate::ffi::{self, bytes_arg};

/// `skyutils_floor_ns` kinds (SKYUTILS_FLOOR_* in skyutils.h).
pub const FLOOR_CPU_COUNT: c_int = 1;
pub const FLOOR_MEMORY: c_int = 2;
pub const FLOOR_PROCESS: c_int = 3;
pub const FLOOR_DIRECTORY: c_int = 4;
pub const FLOOR_TAIL_READ: c_int = 5;

/// One run of the minimal system calls, prepared once; None where there is no floor to time.
type Run = Box<dyn FnMut()>;

fn c_path(text: &[u8]) -> Option<CString> {
    CString::new(text).ok()
}

/// The joined path `root/relative` as a C string.
fn join(root: &[u8], relative: &str) -> Option<CString> {
    let mut path = root.to_vec();
    path.push(b'/');
    path.extend_from_slice(relative.as_bytes());
    c_path(&path)
}

/// open + fstat + one small read + close: how the library reads a cgroup file (the fstat
/// keeps it from reading a FIFO).
fn read_small(path: &CString) -> [u8; 64] {
    let mut buf = [0u8; 64];
    // SAFETY: path is NUL-terminated; buf and st are writable; fd is closed once.
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        );
        if fd >= 0 {
            let mut st: libc::stat = std::mem::zeroed();
            black_box(libc::fstat(fd, &mut st));
            black_box(libc::read(fd, buf.as_mut_ptr().cast(), buf.len()));
            libc::close(fd);
        }
    }
    buf
}

fn stat(path: &CString) {
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct; path is
    // NUL-terminated and `st` writable.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        black_box(libc::stat(path.as_ptr(), &mut st));
    }
}

/// Whether the cgroup v1 quota file holds a positive quota (then the period is read too).
fn v1_quota_set(quota: &CString) -> bool {
    let text = read_small(quota);
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    !digits.is_empty() && digits.iter().any(|&d| d != b'0')
}

#[cfg(target_os = "linux")]
fn prepare(kind: c_int, arg: &[u8], amount: i64) -> Option<Run> {
    match kind {
        FLOOR_CPU_COUNT | FLOOR_MEMORY => {
            let controllers = join(arg, "cgroup.controllers")?;
            let v2 = Path::new(OsStr::from_bytes(controllers.as_bytes())).is_file();
            let files: Vec<CString> = match (kind, v2) {
                (FLOOR_CPU_COUNT, true) => vec![join(arg, "cpu.max")?],
                (FLOOR_CPU_COUNT, false) => {
                    let quota = join(arg, "cpu/cpu.cfs_quota_us")?;
                    if v1_quota_set(&quota) {
                        vec![quota, join(arg, "cpu/cpu.cfs_period_us")?]
                    } else {
                        vec![quota]
                    }
                }
                (_, true) => vec![join(arg, "memory.max")?],
                (_, false) => vec![join(arg, "memory/memory.limit_in_bytes")?],
            };
            let cpu = kind == FLOOR_CPU_COUNT;
            let meminfo = c_path(b"/proc/meminfo")?;
            Some(Box::new(move || {
                // SAFETY (both arms): plain libc calls on owned, writable arguments.
                if cpu {
                    unsafe {
                        black_box(libc::sysconf(libc::_SC_NPROCESSORS_ONLN));
                        let mut mask = [0u64; 16];
                        black_box(libc::syscall(
                            libc::SYS_sched_getaffinity,
                            0,
                            128,
                            mask.as_mut_ptr(),
                        ));
                    }
                } else {
                    black_box(read_small(&meminfo)); // what psutil reads, not sysinfo(2)
                }
                stat(&controllers);
                for file in &files {
                    black_box(read_small(file));
                }
            }))
        }
        FLOOR_PROCESS => {
            let pid = libc::pid_t::try_from(amount).ok()?;
            let stat = c_path(format!("/proc/{pid}/stat").as_bytes())?;
            Some(Box::new(move || {
                // SAFETY: pidfd_open takes integers; the fd is closed once.
                unsafe {
                    let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as c_int;
                    libc::close(fd);
                }
                black_box(read_small(&stat));
            }))
        }
        FLOOR_DIRECTORY => {
            let path = c_path(arg)?;
            // A plain C program's buffer: 32 KiB.
            let mut buf = vec![0u64; 4096];
            Some(Box::new(move || {
                // SAFETY: path is NUL-terminated; buf is writable for 32 KiB; fd closed once.
                unsafe {
                    let fd = libc::open(
                        path.as_ptr(),
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                    );
                    while libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), 32768) > 0 {}
                    libc::close(fd);
                }
            }))
        }
        FLOOR_TAIL_READ => {
            let path = c_path(arg)?;
            let mut buf = vec![0u8; usize::try_from(amount).ok()?];
            Some(Box::new(move || {
                // SAFETY: path is NUL-terminated; st and buf are writable; fd closed once.
                unsafe {
                    let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                    let mut st: libc::stat = std::mem::zeroed();
                    libc::fstat(fd, &mut st);
                    let size = libc::lseek(fd, 0, libc::SEEK_END);
                    let start = (size - buf.len() as libc::off_t).max(0);
                    black_box(libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), start));
                    libc::close(fd);
                }
            }))
        }
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn prepare(_kind: c_int, _arg: &[u8], _amount: i64) -> Option<Run> {
    None // The floors are written for Linux's system calls.
}

/// A prepared floor and what it was prepared for, kept per thread so that the benchmark can
/// call the floor once per round from Python, as it calls the functions themselves.
struct Prepared {
    kind: c_int,
    arg: Vec<u8>,
    amount: c_int,
    run: Run,
}

thread_local! {
    static PREPARED: RefCell<Option<Prepared>> = const { RefCell::new(None) };
}

/// Nanoseconds for `rounds` runs of the bare system calls of floor `kind` (FLOOR_*), or a
/// negative status: DEFER when this platform or input has no such floor. `arg` is the cgroup
/// root, directory or file; `amount` the pid (FLOOR_PROCESS) or the bytes to read
/// (FLOOR_TAIL_READ). The calls are prepared (paths built, the cgroup files that need reading
/// found) and run once untimed on the first call for a floor; later calls on the same thread
/// for the same floor reuse that, so one round from Python costs one ctypes call and the bare
/// system calls. Pointers and C ints only: called like the hot functions (see _native.direct).
///
/// # Safety
/// `arg` must point to `arg_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn skyutils_floor_ns(
    kind: c_int,
    arg: *const u8,
    arg_len: c_int,
    amount: c_int,
    rounds: c_int,
) -> i64 {
    ffi::guard_or(i64::from(ffi::ERR_PANIC), || {
        let Some(arg_len) = ffi::int_len(arg_len) else {
            return i64::from(ffi::ERR_ARG);
        };
        // SAFETY: the caller passes arg_len readable bytes.
        let Some(arg) = (unsafe { bytes_arg(arg, arg_len) }) else {
            return i64::from(ffi::ERR_ARG);
        };
        if rounds < 1 {
            return i64::from(ffi::ERR_ARG);
        }
        PREPARED.with(|cell| {
            let Ok(mut kept) = cell.try_borrow_mut() else {
                return i64::from(ffi::DEFER); // only re-entry could hold it
            };
            let current = matches!(&*kept,
                Some(p) if p.kind == kind && p.arg == arg && p.amount == amount);
            if !current {
                let Some(mut run) = prepare(kind, arg, i64::from(amount)) else {
                    *kept = None;
                    return i64::from(ffi::DEFER);
                };
                run(); // warm up: the first run pays for cold caches
                *kept = Some(Prepared {
                    kind,
                    arg: arg.to_vec(),
                    amount,
                    run,
                });
            }
            let Some(prepared) = kept.as_mut() else {
                return i64::from(ffi::DEFER);
            };
            let start = Instant::now();
            for _ in 0..rounds {
                (prepared.run)();
            }
            i64::try_from(start.elapsed().as_nanos()).unwrap_or(i64::MAX)
        })
    })
}
