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
#[cfg(target_os = "linux")]
fn process_alive(pid: i64) -> Option<bool> {
    match thread_pidfd_alive(pid) {
        Ok(answer) => answer,
        // A kernel before 6.9: the process's pidfd, and /proc for a zombie leader.
        Err(()) => match pidfd_alive(pid) {
            Some(true) => status_alive(pid),
            answer => answer.or_else(|| status_alive(pid)),
        },
    }
}

/// pidfd_open(2)'s flag for a pidfd of one thread (Linux 6.9); the kernel's value is O_EXCL.
#[cfg(target_os = "linux")]
const PIDFD_THREAD: c_int = libc::O_EXCL;

/// ioctl(PIDFD_GET_INFO) (Linux 6.13): _IOWR(0xFF, 11, struct pidfd_info), whose first version
/// is 64 bytes: mask, cgroupid, then pid, tgid, ... as u32.
#[cfg(target_os = "linux")]
const PIDFD_GET_INFO: libc::c_ulong = (3 << 30) | (64 << 16) | (0xFF << 8) | 11;
/// The mask bit that asks for pid and tgid.
#[cfg(target_os = "linux")]
const PIDFD_INFO_PID: u64 = 1;

#[cfg(target_os = "linux")]
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    pid: u32,
    tgid: u32,
    rest: [u32; 10],
}

/// An open pidfd, closed on drop.
#[cfg(target_os = "linux")]
struct Pidfd(c_int);

#[cfg(target_os = "linux")]
impl Pidfd {
    /// pidfd_open(pid, flags); Err(errno).
    fn open(pid: i64, flags: c_int) -> Result<Pidfd, c_int> {
        // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, flags) };
        if fd < 0 {
            return Err(ffi::last_errno());
        }
        Ok(Pidfd(fd as c_int))
    }

    /// Whether it polls readable (its thread or process has exited); None: poll failed.
    fn exited(&self) -> Option<bool> {
        let mut poll_fd = libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll_fd is one valid pollfd; timeout 0 never blocks.
        match unsafe { libc::poll(&mut poll_fd, 1, 0) } {
            0 => Some(false),
            1 if poll_fd.revents & libc::POLLIN != 0 => Some(true),
            _ => None,
        }
    }

    /// The thread group id of its task, or None where the kernel has no PIDFD_GET_INFO.
    fn tgid(&self) -> Option<u32> {
        let mut info = PidfdInfo {
            mask: PIDFD_INFO_PID,
            ..PidfdInfo::default()
        };
        // SAFETY: info is a writable 64-byte pidfd_info, the size the request encodes.
        let rc = unsafe { libc::ioctl(self.0, PIDFD_GET_INFO as _, &mut info) };
        (rc == 0 && info.mask & PIDFD_INFO_PID != 0).then_some(info.tgid)
    }
}

#[cfg(target_os = "linux")]
impl Drop for Pidfd {
    fn drop(&mut self) {
        // SAFETY: self.0 is a pidfd this struct opened and nothing else closes.
        unsafe { libc::close(self.0) };
    }
}

/// The cheap way (no procfs text), as psutil answers: a thread pidfd of `pid` polls readable
/// once that thread has exited, which for a group leader is what /proc shows as a zombie ('Z'),
/// whether the process is a zombie or its other threads still run. A live thread is a process
/// only when it leads its group (psutil compares Tgid with the pid): PIDFD_GET_INFO gives the
/// tgid, or else pidfd_open with flags 0 refuses other threads (EINVAL). Err: this kernel has
/// no thread pidfds (before 6.9).
#[cfg(target_os = "linux")]
fn thread_pidfd_alive(pid: i64) -> Result<Option<bool>, ()> {
    let thread = match Pidfd::open(pid, PIDFD_THREAD) {
        Ok(thread) => thread,
        Err(libc::ESRCH) => return Ok(Some(false)),
        Err(libc::EINVAL) => return Err(()), // an unknown flag: pid > 0 is valid
        Err(_) => return Ok(None),           // ENOSYS, EMFILE, EPERM: /proc decides
    };
    match thread.exited() {
        Some(true) => return Ok(Some(false)),
        None => return Ok(None),
        Some(false) => {}
    }
    if let Some(tgid) = thread.tgid() {
        return Ok(Some(i64::from(tgid) == pid));
    }
    Ok(match Pidfd::open(pid, 0) {
        Ok(_) => Some(true),
        Err(libc::EINVAL) | Err(libc::ESRCH) => Some(false), // another thread, or gone since
        Err(_) => None,
    })
}

/// The process's pidfd: ESRCH for a pid that is no process, EINVAL (None: ask /proc) for a
/// thread that does not lead its group; readable once the whole process has exited.
#[cfg(target_os = "linux")]
fn pidfd_alive(pid: i64) -> Option<bool> {
    match Pidfd::open(pid, 0) {
        Err(libc::ESRCH) => Some(false),
        Err(_) => None, // EINVAL/ENOENT for thread ids, ENOSYS, EMFILE, EPERM: /proc decides.
        Ok(process) => process.exited().map(|exited| !exited),
    }
}

/// The State and Tgid lines of /proc/<pid>/status, as psutil reads them.
#[cfg(target_os = "linux")]
fn status_alive(pid: i64) -> Option<bool> {
    use std::io::Read;
    let mut file = match std::fs::File::open(format!("/proc/{pid}/status")) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Some(false),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Some(false),
        Err(_) => return None,
    };
    // State and Tgid are among the first lines; Name (at most 64 escaped bytes) precedes them.
    let mut buf = [0u8; 1024];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(got) => filled += got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Some(false),
            Err(_) => return None,
        }
    }
    alive_from_status(&buf[..filled], pid)
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
pub extern "C" fn skyutils_process_alive(pid: c_int) -> c_int {
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
