//! The floor under get_cpu_count, get_mem_size_gb and is_process_alive: the system calls each
//! must make, timed here in Rust with nothing else around them.
//!
//!     cargo run --release --example syscall_floor [CGROUP_ROOT [DIRECTORY]]
//!
//! With DIRECTORY, also a bare getdents64 loop counting its entries (a 32 KiB buffer, as a
//! plain C program would use): the floor under estimate_fd_for_directory.
//!
//! Compare the sums with the `skyutils` column of `skyutils bench`: the difference is what the
//! library and its Python binding add; `skypilot / floor` is the best ratio this machine allows.

#[cfg(target_os = "linux")]
fn main() {
    use std::ffi::CString;
    use std::hint::black_box;
    use std::time::Instant;

    const ROUNDS: u32 = 20_000;
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/sys/fs/cgroup".to_string());
    let v2 = std::path::Path::new(&root)
        .join("cgroup.controllers")
        .is_file();
    let path = |relative: &str| CString::new(format!("{root}/{relative}")).unwrap();
    let controllers = path("cgroup.controllers");
    let cpu_files: Vec<CString> = if v2 {
        vec![path("cpu.max")]
    } else {
        vec![path("cpu/cpu.cfs_quota_us"), path("cpu/cpu.cfs_period_us")]
    };
    let memory_file = if v2 {
        path("memory.max")
    } else {
        path("memory/memory.limit_in_bytes")
    };

    let time = |what: &str, f: &mut dyn FnMut()| -> f64 {
        for _ in 0..ROUNDS / 10 {
            f(); // warm up
        }
        let start = Instant::now();
        for _ in 0..ROUNDS {
            f();
        }
        let micros = start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
        println!("{what:<48} {micros:>8.2} us");
        micros
    };
    let read_small = |file: &CString| {
        let mut buf = [0u8; 256];
        // SAFETY: file is NUL-terminated; buf is writable for its length; fd closed once.
        unsafe {
            let fd = libc::open(file.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                black_box(libc::read(fd, buf.as_mut_ptr().cast(), buf.len()));
                libc::close(fd);
            }
        }
    };

    println!("cgroup {} at {root}", if v2 { "v2" } else { "v1" });
    // SAFETY (each closure): plain libc calls on valid, owned arguments.
    let sysconf = time("sysconf(_SC_NPROCESSORS_ONLN)", &mut || unsafe {
        black_box(libc::sysconf(libc::_SC_NPROCESSORS_ONLN));
    });
    let affinity = time("sched_getaffinity", &mut || unsafe {
        let mut mask = [0u64; 16];
        black_box(libc::syscall(
            libc::SYS_sched_getaffinity,
            0,
            128,
            mask.as_mut_ptr(),
        ));
    });
    let stat = time("stat(cgroup.controllers)", &mut || unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        black_box(libc::stat(controllers.as_ptr(), &mut st));
    });
    let mut cpu_reads = 0.0;
    for file in &cpu_files {
        let label = format!("open+read+close {}", file.to_string_lossy());
        cpu_reads += time(&label, &mut || read_small(file));
    }
    let label = format!("open+read+close {}", memory_file.to_string_lossy());
    let memory_read = time(&label, &mut || read_small(&memory_file));
    let sysinfo = time("sysinfo", &mut || unsafe {
        let mut info: libc::sysinfo = std::mem::zeroed();
        black_box(libc::sysinfo(&mut info));
    });
    let pid = std::process::id() as libc::pid_t;
    let pidfd = time("pidfd_open + poll + close (own pid)", &mut || unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as libc::c_int;
        let mut poll_fd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        black_box(libc::poll(&mut poll_fd, 1, 0));
        libc::close(fd);
    });
    if let Some(directory) = std::env::args().nth(2) {
        let c_dir = CString::new(directory.clone()).unwrap();
        let runs = 20;
        let mut entries = 0u64;
        let start = Instant::now();
        for _ in 0..runs {
            entries = 0;
            // SAFETY: c_dir is NUL-terminated; buf is writable; fd is closed once.
            unsafe {
                let fd = libc::open(c_dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY);
                assert!(fd >= 0, "cannot open {directory}");
                let mut buf = vec![0u64; 4096];
                loop {
                    let got = libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), 32768);
                    if got <= 0 {
                        break;
                    }
                    let bytes = std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), got as usize);
                    let mut offset = 0;
                    while offset < bytes.len() {
                        entries += 1;
                        offset +=
                            u16::from_ne_bytes([bytes[offset + 16], bytes[offset + 17]]) as usize;
                    }
                }
                libc::close(fd);
            }
        }
        let millis = start.elapsed().as_secs_f64() * 1e3 / f64::from(runs);
        println!(
            "{:<48} {millis:>8.2} ms",
            format!("getdents64 loop, {} entries", entries - 2)
        );
    }
    println!();
    println!(
        "floor get_cpu_count   {:>8.2} us",
        sysconf + affinity + stat + cpu_reads
    );
    println!(
        "floor get_mem_size_gb {:>8.2} us",
        sysinfo + stat + memory_read
    );
    println!("floor is_process_alive {:>7.2} us", pidfd);
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("syscall_floor measures the Linux system calls; nothing to measure here");
}
