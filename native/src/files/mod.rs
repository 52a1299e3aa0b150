//! The file functions: read_last_n_lines (tail.rs) and estimate_fd_for_directory (dir.rs),
//! over the descriptor and call-state helpers both use (fd.rs).

pub mod dir;
pub mod fd;
pub mod tail;
