/* skyutils.h: the C ABI of the skypilot-rust native library (libskyutils).
 *
 * Every function returns an int status unless noted, and writes results through
 * out-pointers. Strings and paths are (pointer, length) byte buffers owned by the
 * caller; paths are raw OS bytes (no encoding assumed) and must not contain NUL.
 * The library allocates nothing that outlives a call but one buffer per thread that
 * skyutils_base36_encode returns.
 * tests/test_header.py checks skyutils/_native.py against this file.
 */
#ifndef SKYUTILS_H
#define SKYUTILS_H

#include <stddef.h>
#include <stdint.h>

#define SKYUTILS_ABI_VERSION 2

#define SKYUTILS_OK 0
#define SKYUTILS_ERR_OS (-1)    /* an OS call failed; *err_no holds errno */
#define SKYUTILS_ERR_ARG (-2)   /* null pointer, bad length, NUL in a path */
#define SKYUTILS_ERR_PANIC (-3) /* a Rust panic, caught at the boundary */
#define SKYUTILS_DEFER (-4)     /* input outside the native fast path: use Python */
#define SKYUTILS_NOT_FOUND (-5) /* nothing matched (no free port) */

#define SKYUTILS_TAIL_EMPTY_FILE 1u    /* skyutils_read_tail, skyutils_tail_range: empty file */
#define SKYUTILS_TAIL_ERROR_UNNAMED 2u /* skyutils_tail_range, ERR_OS: a seek/read error */
/* skyutils_read_tail, skyutils_text_flags: ASCII with no line break but '\n' */
#define SKYUTILS_TAIL_PLAIN 4u

uint32_t skyutils_abi_version(void);
const char *skyutils_version(void); /* static, never freed */
int skyutils_selftest_panic(void);  /* panics inside the guard: returns SKYUTILS_ERR_PANIC */

/* text: base36 of the hex text, NUL-terminated, in a buffer of the calling thread that stays
 * valid until that thread's next call; NULL when Python must decide. */
const char *skyutils_base36_encode(const uint8_t *hex, int hex_len);

/* files */
/* The last n lines of the file at path, without its final newline, in one call. OK: info[0]
 * the length, info[1] flags, info[2] -1 when the bytes are in out from offset info[3], else
 * an open descriptor the caller reads info[0] bytes from at file offset info[3] and closes.
 * Any other status leaves nothing open: use skyutils_tail_range (errors match Python's). */
int skyutils_read_tail(const uint8_t *path, int path_len, int n, uint8_t *out, int out_cap,
                       int64_t *info);
/* The byte range [*start, *end) of the last n lines of the open file fd, without the file's
 * final newline. The caller opened fd, reads the range, and closes fd. */
/* SKYUTILS_TAIL_PLAIN or 0 for the len bytes at data, or a negative status */
int skyutils_text_flags(const uint8_t *data, int len);
int skyutils_tail_range(int fd, uint64_t n, uint64_t *start, uint64_t *end, uint32_t *flags,
                        int *err_no);
int skyutils_count_dir_entries(const uint8_t *path, size_t path_len, uint64_t *count,
                               int *err_no);

/* system */
/* the answer (a count, bytes) or a negative status */
int64_t skyutils_cpu_count(const uint8_t *cgroup_root, int root_len);
int64_t skyutils_memory_bytes(const uint8_t *cgroup_root, int root_len);

/* process */
int skyutils_process_alive(int pid); /* 1 alive, 0 not, or a negative status */
int skyutils_find_free_port(int32_t start, int32_t *port, int *err_no);

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
