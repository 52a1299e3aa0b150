//! The workdir upload's archive work (SkyPilot's `zip_files_and_folders` and
//! `_compute_zip_blob_id`, served from skyutils/skypilot/): files compressed in parallel,
//! large ones in pigz-style blocks (deflate.rs), by a job whose workers run ahead of the
//! caller within a window (job.rs, exported by zip.rs), and the members of any zip inflated
//! and hashed in parallel (members.rs), and the server's extraction of an upload, member by
//! member as SkyPilot's code would do it (extract.rs).
//!
//! Python keeps every byte of the zip's structure (zipfile's own headers and central
//! directory): what comes from here is each file's compressed data, CRC-32, size and SHA-256.

pub mod deflate;
pub mod extract;
pub mod job;
pub mod members;
pub mod zip;
