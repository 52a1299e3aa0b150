//! is_process_alive and find_free_port.

use std::ffi::c_int;

use crate::ffi::{self, os_error, put};

/// What the State and Tgid lines of /proc/<pid>/status say about `pid`.
#[cfg(target_os = "linux")]
pub fn alive_from_status(status: &[u8], pid: i64) -> Option<bool> {
    let mut state = None;
    let mut tgid = None;
    for line in status.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"State:") {
            state = rest.iter().copied().find(|b| !b.is_ascii_whitespace());
        } else if let Some(rest) = line.strip_prefix(b"Tgid:") {
            tgid = std::str::from_utf8(rest).ok()?.trim().parse::<i64>().ok();
        }
        if state.is_some() && tgid.is_some() {
            break;
        }
    }
    // A thread id is not a process (psutil.pid_exists says False); a zombie is not alive.
    Some(tgid? == pid && state? != b'Z')
}

/// Some(answer), or None when Python must decide (an unexpected error or format).
///
/// pidfd_open() answers cheaply for a pid that is no process (ESRCH) and refuses a thread that
/// does not lead its group (EINVAL: /proc/<pid>/status, whose Tgid psutil compares). A group
/// leader is then alive unless /proc shows it as a zombie ('Z'), as psutil's status() reads
/// it: a whole process that has exited, or a leader thread that has exited while the others
/// run on. The pidfd cannot tell the second (the kernel keeps a leader's pidfd unreadable
/// until its whole group has exited), so the leader's state is read, as psutil does.
#[cfg(target_os = "linux")]
fn process_alive(pid: i64) -> Option<bool> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return match ffi::last_errno() {
            libc::ESRCH => Some(false),
            _ => status_alive(pid), // EINVAL/ENOENT for thread ids, ENOSYS, EMFILE, EPERM
        };
    }
    // SAFETY: fd is the pidfd opened above, closed exactly once.
    unsafe { libc::close(fd as c_int) };
    stat_alive(pid)
}

/// The state letter of /proc/<pid>/stat ("pid (comm) S ..."; comm may hold ')' and spaces,
/// so the state follows the last ')'): Some(false) for a zombie or a pid gone since.
#[cfg(target_os = "linux")]
fn stat_alive(pid: i64) -> Option<bool> {
    let text = read_proc(&format!("/proc/{pid}/stat\0"))?;
    let Some(text) = text else {
        return Some(false);
    };
    let close = text.iter().rposition(|&b| b == b')')?;
    let state = *text.get(close + 2)?;
    Some(state != b'Z')
}

/// The first bytes (up to 1 KiB) of a procfs file: Some(None) when the process is gone
/// (ENOENT, ESRCH), None for any other error. `path` ends in a NUL byte.
#[cfg(target_os = "linux")]
fn read_proc(path: &str) -> Option<Option<Vec<u8>>> {
    let c_path = std::ffi::CStr::from_bytes_with_nul(path.as_bytes()).ok()?;
    let gone = |errno| matches!(errno, libc::ENOENT | libc::ESRCH);
    let file = match crate::files::fd::open(c_path, libc::O_RDONLY) {
        Ok(file) => file,
        Err(errno) if gone(errno) => return Some(None),
        Err(_) => return None,
    };
    let mut buf = vec![0u8; 1024];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the descriptor is open and buf[filled..] is writable for its length.
        let got = unsafe {
            libc::read(
                file.raw(),
                buf[filled..].as_mut_ptr().cast(),
                buf.len() - filled,
            )
        };
        match got {
            0 => break,
            got if got > 0 => filled += got as usize,
            _ => match ffi::last_errno() {
                libc::EINTR => continue,
                errno if gone(errno) => return Some(None),
                _ => return None,
            },
        }
    }
    buf.truncate(filled);
    Some(Some(buf))
}

/// The State and Tgid lines of /proc/<pid>/status, as psutil reads them. State and Tgid are
/// among the first lines; Name (at most 64 escaped bytes) precedes them.
#[cfg(target_os = "linux")]
fn status_alive(pid: i64) -> Option<bool> {
    match read_proc(&format!("/proc/{pid}/status\0"))? {
        Some(text) => alive_from_status(&text, pid),
        None => Some(false),
    }
}

#[cfg(target_os = "macos")]
fn process_alive(pid: i64) -> Option<bool> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: kill with signal 0 only checks that the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        match ffi::last_errno() {
            libc::ESRCH => return Some(false),
            libc::EPERM => {} // exists, owned by someone else
            _ => return None,
        }
    }
    // SAFETY: an all-zero proc_bsdinfo is a valid value of this plain C struct.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as c_int;
    // SAFETY: info is writable for `size` bytes.
    let got = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    if got != size {
        return Some(true); // It exists (kill said so); its status is hidden from us.
    }
    Some(info.pbi_status != libc::SZOMB)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn process_alive(_pid: i64) -> Option<bool> {
    None
}

/// 1 when process `pid` exists and is not a zombie, 0 when not (pid <= 0 never is), or a
/// negative status: DEFER when Python must decide. The answer is the return value and the pid
/// a C int: in a loop over many pids, an out-parameter or argtypes conversion each cost a
/// tenth of the call (Python answers for pids beyond a C int).
#[no_mangle]
pub extern "C" fn skyutils_is_process_alive(pid: c_int) -> c_int {
    ffi::guard(|| {
        let answer = if pid <= 0 {
            Some(false)
        } else {
            process_alive(i64::from(pid))
        };
        match answer {
            Some(found) => c_int::from(found),
            None => ffi::DEFER,
        }
    })
}

/// A new IPv4 TCP socket, close-on-exec like Python's sockets.
fn tcp_socket() -> Result<c_int, c_int> {
    #[cfg(target_os = "linux")]
    // SAFETY: socket() has no memory-safety preconditions.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: socket() has no memory-safety preconditions.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(ffi::last_errno());
    }
    #[cfg(not(target_os = "linux"))]
    // SAFETY: fd is a socket this function just opened.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC)
    };
    Ok(fd)
}

/// Whether a fresh socket binds INADDR_ANY:port (no SO_REUSEADDR, no listen), as
/// SkyPilot's `s.bind(('', port))`. Err: socket() itself failed (errno).
fn binds(port: u16) -> Result<bool, c_int> {
    let fd = tcp_socket()?;
    // SAFETY: an all-zero sockaddr_in is a valid value of this plain C struct.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_port = port.to_be();
    addr.sin_addr = libc::in_addr {
        s_addr: libc::INADDR_ANY.to_be(),
    };
    #[cfg(target_os = "macos")]
    {
        addr.sin_len = std::mem::size_of::<libc::sockaddr_in>() as u8;
    }
    // SAFETY: addr is a valid sockaddr_in and the length matches it.
    let rc = unsafe {
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    // SAFETY: fd was opened above and is closed exactly once.
    unsafe { libc::close(fd) };
    Ok(rc == 0)
}

/// Writes the first port in [start, 65535) that binds to `*port`.
/// NOT_FOUND: none does. ERR_OS: socket() failed, errno in `*err_no` (Python raises it, as
/// SkyPilot's socket.socket() would). ERR_ARG: start outside 0..=65535.
///
/// # Safety
/// `port` and `err_no` must be valid for one write each.
#[no_mangle]
pub unsafe extern "C" fn skyutils_find_free_port(
    start: i32,
    port: *mut i32,
    err_no: *mut c_int,
) -> c_int {
    ffi::guard(|| {
        if port.is_null() || err_no.is_null() || !(0..=65535).contains(&start) {
            return ffi::ERR_ARG;
        }
        for candidate in start..65535 {
            match binds(candidate as u16) {
                // SAFETY: port checked non-null above.
                Ok(true) => unsafe {
                    put(port, candidate);
                    return ffi::OK;
                },
                Ok(false) => continue,
                // SAFETY: err_no checked non-null above.
                Err(errno) => return unsafe { os_error(err_no, errno) },
            }
        }
        ffi::NOT_FOUND
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        let live = b"Name:\tpython\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPid:\t42\n";
        assert_eq!(alive_from_status(live, 42), Some(true));
        let zombie = b"Name:\tx\nState:\tZ (zombie)\nTgid:\t42\n";
        assert_eq!(alive_from_status(zombie, 42), Some(false));
        let thread = b"Name:\tx\nState:\tR (running)\nTgid:\t41\n";
        assert_eq!(alive_from_status(thread, 42), Some(false));
        assert_eq!(alive_from_status(b"Name:\tx\n", 42), None);
    }

    #[test]
    fn stat_state_follows_the_last_paren() {
        let pid = i64::from(std::process::id());
        assert_eq!(stat_alive(pid), Some(true));
        assert_eq!(stat_alive(i64::from(i32::MAX)), Some(false));
    }

    #[test]
    fn this_process_is_alive() {
        let pid = i64::from(std::process::id());
        assert_eq!(process_alive(pid), Some(true));
        assert_eq!(process_alive(i64::from(i32::MAX)), Some(false));
        assert_eq!(status_alive(pid), Some(true));
    }

    #[test]
    fn a_thread_is_no_process() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            sender.send(unsafe { libc::gettid() }).unwrap();
            stopped.recv().ok();
        });
        let tid = i64::from(receiver.recv().unwrap());
        assert_eq!(process_alive(tid), Some(false)); // psutil: Tgid != pid
        assert_eq!(status_alive(tid), Some(false));
        stop.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn zombie_and_reaped_child() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i64::from(child.id());
        // Wait until it has exited, without reaping it: a zombie.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while status_alive(pid) != Some(false) {
            assert!(
                std::time::Instant::now() < deadline,
                "child never became a zombie"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(process_alive(pid), Some(false));
        child.wait().unwrap();
        assert_eq!(process_alive(pid), Some(false));
    }
}
