/* skyutils.h: the C ABI of the skypilot-rust native library (libskyutils).
 *
 * Every function returns an int status unless noted, and writes results through
 * out-pointers. Strings and paths are (pointer, length) byte buffers owned by the
 * caller; paths are raw OS bytes (no encoding assumed) and must not contain NUL.
 * The library allocates nothing that outlives a call.
 * tests/test_header.py checks skyutils/_native.py against this file.
 */
#ifndef SKYUTILS_H
#define SKYUTILS_H

#include <stddef.h>
#include <stdint.h>

#define SKYUTILS_ABI_VERSION 1

#define SKYUTILS_OK 0
#define SKYUTILS_ERR_OS (-1)    /* an OS call failed; *err_no holds errno */
#define SKYUTILS_ERR_ARG (-2)   /* null pointer, bad length, NUL in a path */
#define SKYUTILS_ERR_PANIC (-3) /* a Rust panic, caught at the boundary */
#define SKYUTILS_DEFER (-4)     /* input outside the native fast path: use Python */
#define SKYUTILS_NOT_FOUND (-5) /* nothing matched (no free port) */

#define SKYUTILS_TAIL_EMPTY_FILE 1u    /* skyutils_tail_range: the file is empty */
#define SKYUTILS_TAIL_ERROR_UNNAMED 2u /* skyutils_tail_range, ERR_OS: a seek/read error */

uint32_t skyutils_abi_version(void);
const char *skyutils_version(void); /* static, never freed */
int skyutils_selftest_panic(void);  /* panics inside the guard: returns SKYUTILS_ERR_PANIC */

/* text: returns the length written to out, or a negative status */
int64_t skyutils_base36_encode(const uint8_t *hex, size_t hex_len, uint8_t *out, size_t out_cap);

/* files */
/* The byte range [*start, *end) of the last n lines of the open file fd, without the file's
 * final newline. The caller opened fd, reads the range, and closes fd. */
int skyutils_tail_range(int fd, uint64_t n, uint64_t *start, uint64_t *end, uint32_t *flags,
                        int *err_no);
int skyutils_count_dir_entries(const uint8_t *path, size_t path_len, uint64_t *count,
                               int *err_no);

/* system */
int skyutils_cpu_count(const uint8_t *cgroup_root, size_t root_len, int64_t *count);
int skyutils_memory_bytes(const uint8_t *cgroup_root, size_t root_len, uint64_t *bytes);

/* process */
int skyutils_process_alive(int64_t pid); /* 1 alive, 0 not, or a negative status */
int skyutils_find_free_port(int32_t start, int32_t *port, int *err_no);

#endif /* SKYUTILS_H */
