"""The C ABI as Python sees it: the version, the status codes and state slots, and every
exported function's ctypes signature, declared once.

`native/include/skyutils.h` is the written ABI; tests/test_header.py holds this module, the
header and the Rust crate (read by cbindgen) to one another.
"""

from ctypes import POINTER, c_char, c_char_p, c_int, c_int32, c_int64, c_uint32, c_void_p
from typing import Any, Dict, List, Tuple

ABI_VERSION = 8

# Status codes (SKYUTILS_* in skyutils.h).
OK = 0
MORE = 1
ERR_OS = -1
ERR_ARG = -2
ERR_PANIC = -3
DEFER = -4
NOT_FOUND = -5
STATE_SLOTS = 12
STATE_FD = 0
STATE_ERRNO = 1
STATE_FLAGS = 2
TAIL_N = 3
TAIL_START = 4
TAIL_LEN = 5
TAIL_OFFSET = 11
DIR_COUNT = 3
TAIL_EMPTY_FILE = 1
TAIL_ERROR_UNNAMED = 2
TAIL_PLAIN = 4
TAIL_NOT_SEEKABLE = 8
FLOOR_CPU_COUNT = 1
FLOOR_MEMORY = 2
FLOOR_PROCESS = 3
FLOOR_DIRECTORY = 4
FLOOR_TAIL_READ = 5
ZIP_STORED = -1
ZIP_ENTRY_FIELDS = 6
ZIP_RESULT_FIELDS = 4
ZIP_ENTRY = 3
ZIP_OFFSET = 4
MEMBER_FIELDS = 7
EXTRACT_FIELDS = 9
EXTRACT_FILE = 0
EXTRACT_DIR = 1
EXTRACT_LINK = 2

_bytes_ptr = c_char_p  # a Python bytes object, passed as its buffer (with its length)

# Every exported function: name -> (restype, argtypes).
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {
    'skyutils_abi_version': (c_uint32, []),
    'skyutils_version': (c_char_p, []),
    'skyutils_selftest_panic': (c_int, []),
    'skyutils_base36_encode': (c_char_p, [_bytes_ptr, c_int, POINTER(c_char), c_int]),
    'skyutils_read_last_n_lines': (
        c_int,
        [_bytes_ptr, c_int, POINTER(c_char), c_int, POINTER(c_int64)],
    ),
    'skyutils_text_flags': (c_int, [_bytes_ptr, c_int]),
    'skyutils_count_dir_entries': (c_int, [_bytes_ptr, c_int, POINTER(c_int64)]),
    'skyutils_close_state': (c_int, [POINTER(c_int64)]),
    'skyutils_get_cpu_count': (c_int64, [_bytes_ptr, c_int]),
    'skyutils_get_mem_size_gb': (c_int64, [_bytes_ptr, c_int]),
    'skyutils_is_process_alive': (c_int, [c_int]),
    'skyutils_find_free_port': (c_int, [c_int32, POINTER(c_int32), POINTER(c_int)]),
    'skyutils_zip_start': (
        c_void_p,
        [_bytes_ptr, c_int64, POINTER(c_int64), c_int, c_int, c_int, c_int64],
    ),
    'skyutils_zip_add': (c_int, [c_void_p, POINTER(c_int64), c_int, _bytes_ptr, c_int64]),
    'skyutils_zip_write': (c_int, [c_void_p, c_int, POINTER(c_int64), c_int]),
    'skyutils_zip_results': (c_int, [c_void_p, POINTER(c_int64), POINTER(c_char), c_int]),
    'skyutils_zip_end': (c_int, [c_void_p]),
    'skyutils_zip_hash': (
        c_int,
        [
            _bytes_ptr,
            c_int,
            POINTER(c_int64),
            _bytes_ptr,
            c_int64,
            c_int,
            c_int,
            POINTER(c_char),
            POINTER(c_int64),
        ],
    ),  # fmt: skip
    'skyutils_zip_extract': (
        c_int,
        [c_int, _bytes_ptr, c_int, POINTER(c_int64), _bytes_ptr, c_int64, c_int],
    ),
    'skyutils_floor_ns': (c_int64, [c_int, _bytes_ptr, c_int, c_int, c_int]),
}
