/* skyutils.h: the C ABI of the skypilot-rust native library (libskyutils).
 *
 * Every function returns an int status unless noted, and writes results through
 * out-pointers. Strings and paths are (pointer, length) byte buffers owned by the
 * caller; lengths are C ints; paths are raw OS bytes (no encoding assumed) and must not
 * contain NUL.
 *
 * What outlives a call: nothing of a call is kept in the library. Results go into memory
 * the caller owns (out buffers, state arrays). A read that may run long stops after a
 * bounded share of the work with SKYUTILS_MORE and keeps its place, and its open
 * descriptor, in the caller's state array; the caller calls again, or releases the
 * descriptor with skyutils_close_state. Two exceptions: skyutils_floor_ns (the benchmark's)
 * keeps its prepared system calls per thread until the thread exits, and a zip job lives from
 * skyutils_zip_start to skyutils_zip_end, with its worker threads and open files.
 * tests/test_header.py checks skyutils/_abi.py and the Rust crate (read by cbindgen) against
 * this file.
 */
#ifndef SKYUTILS_H
#define SKYUTILS_H

#include <stddef.h>
#include <stdint.h>

#define SKYUTILS_ABI_VERSION 8

#define SKYUTILS_OK 0
#define SKYUTILS_MORE 1         /* not done: call again with the same arguments and state */
#define SKYUTILS_ERR_OS (-1)    /* an OS call failed; errno is in the state or *err_no */
#define SKYUTILS_ERR_ARG (-2)   /* null pointer, bad length, NUL in a path, a state not ours */
#define SKYUTILS_ERR_PANIC (-3) /* a Rust panic, caught at the boundary */
#define SKYUTILS_DEFER (-4)     /* input outside the native fast path: use Python */
#define SKYUTILS_NOT_FOUND (-5) /* nothing matched (no free port) */

/* State arrays: SKYUTILS_STATE_SLOTS int64 values the caller owns for one whole read, zeroed
 * before the first call. */
#define SKYUTILS_STATE_SLOTS 12
#define SKYUTILS_STATE_FD 0    /* a descriptor left open between calls plus one; 0: none */
#define SKYUTILS_STATE_ERRNO 1 /* errno, with SKYUTILS_ERR_OS */
#define SKYUTILS_STATE_FLAGS 2 /* SKYUTILS_TAIL_* flags */
#define SKYUTILS_TAIL_N 3      /* skyutils_read_last_n_lines, in: n (>= 1) */
#define SKYUTILS_TAIL_START 4  /* skyutils_read_last_n_lines, out: where the tail starts */
#define SKYUTILS_TAIL_LEN 5    /* skyutils_read_last_n_lines, out: its length */
#define SKYUTILS_TAIL_OFFSET 11 /* skyutils_read_last_n_lines, out: where it starts in the file */
#define SKYUTILS_DIR_COUNT 3   /* skyutils_count_dir_entries, out: the count */

#define SKYUTILS_TAIL_EMPTY_FILE 1u    /* the file is empty */
#define SKYUTILS_TAIL_ERROR_UNNAMED 2u /* with ERR_OS: a seek/read error (Python names no file) */
#define SKYUTILS_TAIL_PLAIN 4u         /* ASCII with no line break but '\n' */
#define SKYUTILS_TAIL_NOT_SEEKABLE 8u  /* with ERR_OS: the file cannot seek at all (a FIFO) */

uint32_t skyutils_abi_version(void);
const char *skyutils_version(void); /* static, never freed */
int skyutils_selftest_panic(void);  /* panics inside the guard: returns SKYUTILS_ERR_PANIC */

/* text: base36 of the hex text, NUL-terminated, written into out (at least
 * hex_len - hex_len / 5 + 3 bytes); returns out, or NULL when Python must decide. */
const char *skyutils_base36_encode(const uint8_t *hex, int hex_len, char *out, int out_cap);

/* files */
/* The last state[TAIL_N] lines of the file at path, without its final newline; the path is
 * opened once, never blocking. While it returns MORE, call again with the same arguments
 * and state. OK: state[TAIL_LEN] bytes from offset state[TAIL_START], in out when
 * state[STATE_FD] is 0, else in the file open at descriptor state[STATE_FD] - 1, which the
 * caller reads and then releases with skyutils_close_state. ERR_OS: errno in
 * state[STATE_ERRNO], flags in state[STATE_FLAGS]. DEFER: not a file read here, or it shrank. Any status but OK and MORE
 * leaves no descriptor open. */
int skyutils_read_last_n_lines(const uint8_t *path, int path_len, uint8_t *out, int out_cap,
                               int64_t *state);
/* read_last_n_lines: SKYUTILS_TAIL_PLAIN or 0 for the len bytes at data, or a negative status */
int skyutils_text_flags(const uint8_t *data, int len);
/* estimate_fd_for_directory, get_max_workers_for_file_mounts:
 * Entries directly in the directory at path ('.' and '..' not counted): while it returns MORE,
 * call again with the same arguments and state. OK: the count in state[DIR_COUNT], nothing
 * open. ERR_OS: errno in state[STATE_ERRNO]. */
int skyutils_count_dir_entries(const uint8_t *path, int path_len, int64_t *state);
/* read_last_n_lines, estimate_fd_for_directory, get_max_workers_for_file_mounts:
 * Closes the descriptor in state[STATE_FD], if any, and marks it none (0): always OK for a
 * non-null state. */
int skyutils_close_state(int64_t *state);

/* system */
/* the answer or a negative status; get_mem_size_gb's is in bytes (Python divides by 2**30) */
int64_t skyutils_get_cpu_count(const uint8_t *cgroup_root, int root_len);
int64_t skyutils_get_mem_size_gb(const uint8_t *cgroup_root, int root_len);

/* process */
int skyutils_is_process_alive(int pid); /* 1 alive, 0 not, or a negative status */
int skyutils_find_free_port(int32_t start, int32_t *port, int *err_no);

/* archive: the workdir zip (SkyPilot's zip_files_and_folders and _compute_zip_blob_id) */
/* A job writing an archive: `count` files (paths holds each path followed by a NUL, sizes
 * their sizes when planned) compressed on `threads` threads from the start, large ones in
 * blocks of `block` bytes (pigz-style, each primed with the 32 KiB before it), at most twice
 * `threads` blocks (or that many blocks' bytes, for small files) ahead of the writing. level
 * 0-9 deflates (raw deflate, as zip stores it), SKYUTILS_ZIP_STORED stores. NULL for bad
 * arguments. */
#define SKYUTILS_ZIP_STORED (-1)
#define SKYUTILS_ZIP_ENTRY_FIELDS 6
#define SKYUTILS_ZIP_RESULT_FIELDS 4
#define SKYUTILS_ZIP_ENTRY 3
#define SKYUTILS_ZIP_OFFSET 4
void *skyutils_zip_start(const uint8_t *paths, int64_t paths_len, const int64_t *sizes,
                         int count, int level, int threads, int64_t block);
/* Adds `count` entries to write after those added before: SKYUTILS_ZIP_ENTRY_FIELDS int64 each
 * in layout (kind: 0 bytes written as they are, 1 the job's next file; 0; 0; the offset and
 * length in blob of the bytes, or of the file's local header as zipfile makes it without
 * ZIP64; 0). ERR_ARG (nothing added): a bad layout, or more files than the job has. */
int skyutils_zip_add(void *job, const int64_t *layout, int count, const uint8_t *blob,
                     int64_t blob_len);
/* Writes the entries added so far to fd, the first at state[ZIP_OFFSET] (set before the first
 * call), as far as the files' data is ready within wait_ms; each file's header gets its CRC-32
 * and sizes where zipfile's has them. OK: all those written, state[ZIP_OFFSET] is the end. MORE: call
 * again. DEFER: entry state[ZIP_ENTRY]'s file changed while read (not a regular file, shorter,
 * grown by a block or more, a block's dictionary not the data before it) or outgrew a header
 * without ZIP64. ERR_OS: errno in state[STATE_ERRNO]. Either repeats on every later call. */
int skyutils_zip_write(void *job, int fd, int64_t *state, int wait_ms);
/* After OK from skyutils_zip_write with every file added: per entry SKYUTILS_ZIP_RESULT_FIELDS int64 in results
 * (header offset; a file's CRC-32, compressed size, size) and a file's SHA-256 in digests
 * (32 bytes each, zeros for the others). count must be the job's. */
int skyutils_zip_results(void *job, int64_t *results, uint8_t *digests, int count);
/* Ends a job (its workers finish their block, its files close); ERR_ARG: no live job. */
int skyutils_zip_end(void *job);
/* The SHA-256 of `count` members of the zip at path into out (32 bytes each), on up to
 * `threads` threads. members: SKYUTILS_MEMBER_FIELDS int64 each (header offset, compressed
 * size, size, method, CRC, length of its raw name, end offset or -1; the names follow one
 * another in names). OK; DEFER: zipfile must read it (a local header not as listed, a method
 * but stored and deflate, data past the end offset, a size or CRC not the data's); ERR_OS:
 * errno in state[STATE_ERRNO]. */
#define SKYUTILS_MEMBER_FIELDS 7
int skyutils_zip_hash(const uint8_t *path, int path_len, const int64_t *members,
                      const uint8_t *names, int64_t names_len, int count, int threads,
                      uint8_t *out, int64_t *state);
/* Extracts `count` members of the zip open at zip_fd (read with pread) into the directory dir,
 * in order, each exactly as SkyPilot's _extract_members would, walking every path with
 * O_NOFOLLOW; stops at the first member it cannot decide so (a symlink or non-directory on its
 * path, a symlink target not plainly inside, a local header, size or CRC not as listed, an
 * error) and returns how many were done (count: all), or ERR_ARG. members:
 * SKYUTILS_EXTRACT_FIELDS int64 each (kind: SKYUTILS_EXTRACT_FILE, _DIR or _LINK; header
 * offset, compressed size, size, method, CRC, end offset or -1, length of its path, length of
 * its raw name; each path, normalised and relative, then the raw name follow in names). */
#define SKYUTILS_EXTRACT_FIELDS 9
#define SKYUTILS_EXTRACT_FILE 0
#define SKYUTILS_EXTRACT_DIR 1
#define SKYUTILS_EXTRACT_LINK 2
int skyutils_zip_extract(int zip_fd, const uint8_t *dir, int dir_len, const int64_t *members,
                         const uint8_t *names, int64_t names_len, int count);

/* bench: nanoseconds for `rounds` runs of the bare system calls under a function (no parsing;
 * prepared on a thread's first call for a floor, reused after), or a negative status (DEFER:
 * no such floor on this platform). arg: the cgroup root, directory or file; amount: the pid
 * (PROCESS) or the bytes to read (TAIL_READ). */
#define SKYUTILS_FLOOR_CPU_COUNT 1
#define SKYUTILS_FLOOR_MEMORY 2
#define SKYUTILS_FLOOR_PROCESS 3
#define SKYUTILS_FLOOR_DIRECTORY 4
#define SKYUTILS_FLOOR_TAIL_READ 5
int64_t skyutils_floor_ns(int kind, const uint8_t *arg, int arg_len, int amount, int rounds);

#endif /* SKYUTILS_H */
