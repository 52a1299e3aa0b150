"""The twelve functions: one row each, read by every part of the package that names them.

A row says where SkyPilot defines the function, which domain module holds its two twins
(`skyutils/_pure/<domain>.py`, `skyutils/_bindings/<domain>.py`, `native/src/<domain>.rs` or
`native/src/<domain>/`), which C symbols its binding calls, and why it is served natively or
by Python. `__init__`, `_dispatch`, `_patch`, `migrate`, `bench` and `check` read it; adding a
function is CONTRIBUTING.md's recipe. This module imports nothing, so anything may read it.
"""

from typing import Dict, NamedTuple, Optional, Tuple


class Function(NamedTuple):
    """One public function."""

    name: str
    # SkyPilot's module that defines it; None where SkyPilot inlines the code instead.
    skypilot_module: Optional[str]
    domain: str  # text | files | system | process
    c_symbols: Tuple[str, ...]  # what its binding calls; () when it has no binding
    # Why native pays, measured by `skyutils bench`; None when Python always serves it.
    native: Optional[str]
    # Why Python serves it even with the library loaded; None when native serves it.
    python: Optional[str] = None


COMMON_UTILS = 'sky.utils.common_utils'
SUBPROCESS_UTILS = 'sky.utils.subprocess_utils'

FUNCTIONS: Tuple[Function, ...] = (
    Function(
        'base36_encode',
        COMMON_UTILS,
        'text',
        ('skyutils_base36_encode',),
        native='one C call replaces a divmod loop, from 4 hex digits (SkyPilot passes 32); '
        'shorter strings stay in Python, which is as fast there',
    ),
    Function(
        'read_last_n_lines',
        COMMON_UTILS,
        'files',
        ('skyutils_read_last_n_lines', 'skyutils_text_flags', 'skyutils_close_state'),
        native='memrchr scans the tail backwards; cost follows the tail, not the file',
    ),
    Function(
        'find_free_port',
        COMMON_UTILS,
        'process',
        ('skyutils_find_free_port',),
        native='socket/bind/close per port without Python socket objects',
    ),
    Function(
        'format_float',
        COMMON_UTILS,
        'text',
        (),
        native=None,
        python='a ctypes call (~0.3-0.5 us) costs more than Python formatting',
    ),
    Function(
        'truncate_long_string',
        COMMON_UTILS,
        'text',
        (),
        native=None,
        python='a ctypes call costs more than the slicing, and str would need encoding',
    ),
    Function(
        'hash_file',
        COMMON_UTILS,
        'files',
        (),
        native=None,
        python='hashlib is OpenSSL: already native, and returns the hash object callers use',
    ),
    Function(
        'get_cpu_count',
        COMMON_UTILS,
        'system',
        ('skyutils_get_cpu_count',),
        native='affinity and cgroup quota read in one call, without psutil',
    ),
    Function(
        'get_mem_size_gb',
        COMMON_UTILS,
        'system',
        ('skyutils_get_mem_size_gb',),
        native="MemTotal of /proc/meminfo (what psutil reads) and the cgroup limit in one call, "
        'without psutil',
    ),
    Function(
        'get_parallel_threads',
        SUBPROCESS_UTILS,
        'system',
        (),
        native=None,
        python="os.cpu_count() is the whole cost; a ctypes call only adds to it",
    ),
    Function(
        'get_max_workers_for_file_mounts',
        SUBPROCESS_UTILS,
        'system',
        ('skyutils_count_dir_entries', 'skyutils_close_state'),
        native='counts directory entries with getdents64, builds no names',
    ),
    Function(
        'estimate_fd_for_directory',
        None,
        'files',
        ('skyutils_count_dir_entries', 'skyutils_close_state'),
        native='counts entries with getdents64, builds no names',
    ),
    Function(
        'is_process_alive',
        None,
        'process',
        ('skyutils_is_process_alive',),
        native='pidfd_open, then the state letter of /proc/<pid>/stat as psutil reads it, '
        'without psutil objects',
    ),
)


class Wait(NamedTuple):
    """A SkyPilot function beyond the twelve whose wait the startup hook serves (only there:
    it is not a public function of skyutils)."""

    name: str
    skypilot_module: str
    # The part served: the block under `if <parameter> is not None:` (the rest stays
    # SkyPilot's own code, whatever its release), or None for the whole function; and why it
    # pays.
    block_parameter: Optional[str]
    native: str


WAITS: Tuple[Wait, ...] = (
    Wait(
        '_tail_log_file',
        'sky.server.stream_utils',
        'tail',
        "`sky api logs --tail N`: the last N lines found from the file's end by the library's "
        'tail scan, where SkyPilot reads every line of the log',
    ),
    Wait(
        'zip_files_and_folders',
        'sky.data.storage_utils',
        None,
        'the workdir zip of an upload: every file compressed by the library on every core '
        '(large files in blocks), the entries written by zipfile as SkyPilot writes them',
    ),
    Wait(
        '_compute_zip_blob_id',
        'sky.client.common',
        None,
        "the upload's content id: free for a zip just written (its entries hashed while "
        'compressed), members inflated and hashed in parallel otherwise',
    ),
    Wait(
        'stream_response',
        'sky.client.sdk',
        None,
        'every streamed log (`sky logs`, `sky api logs`, `sky launch`): each received chunk of '
        'plain lines written and flushed once, where SkyPilot prints and flushes each line',
    ),
    Wait(
        '_extract_members',
        'sky.server.server',
        None,
        "the API server's extraction of an upload: member after member by the library, every "
        'path walked without following a symlink, SkyPilot\'s own from the first member it '
        'cannot decide as SkyPilot would',
    ),
)

# SkyPilot functions in other modules whose code a served function replicates or relies on
# (the stream's decoder, and the two helpers it calls only for lines that need them): served
# only while the file defining each is one whose function has the reference release's
# fingerprint (HELPER_FILES in _skyutils_verified.py), checked at the first call.
HELPERS: Tuple[Tuple[str, str], ...] = (
    ('sky.utils.rich_utils', 'decode_rich_status'),
    ('sky.utils.message_utils', 'decode_payload'),
    ('sky.client.interactive_utils', 'handle_interactive_auth'),
)

NAMES: Tuple[str, ...] = tuple(function.name for function in FUNCTIONS)
BY_NAME: Dict[str, Function] = {function.name: function for function in FUNCTIONS}

# Served by Python on one Python implementation only, where a ctypes call costs more than the
# work it saves (measured with `skyutils bench` under that implementation; docs/platforms.md).
PYTHON_ON: Dict[str, Dict[str, str]] = {
    'pypy': {
        'base36_encode': "PyPy's JIT runs the divmod loop about 5x faster than a ctypes call "
        'returns',
        'read_last_n_lines': "PyPy's ctypes copies the tail out of the library's buffer about "
        '7x slower than its JIT-compiled reader reads it',
    },
}


def skypilot_modules() -> Dict[str, Tuple[str, ...]]:
    """SkyPilot module -> the functions it defines that skyutils serves under the same name."""
    modules: Dict[str, Tuple[str, ...]] = {}
    for function in FUNCTIONS:
        if function.skypilot_module is not None:
            modules[function.skypilot_module] = modules.get(function.skypilot_module, ()) + (
                function.name,
            )
    return modules
