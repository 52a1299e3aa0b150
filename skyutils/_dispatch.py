"""Picks the backend that serves each public function and records why.

The choice is made once, at import. A native function still hands Python any call its C
code does not decide (odd input, a deferred case); those calls are counted per function.
"""
import sys
from typing import Any, Callable, Dict

from skyutils import _fallbacks, _native, _pure
from skyutils._version import __version__

FUNCTION_NAMES = (
    'base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
    'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb',
    'get_parallel_threads', 'get_max_workers_for_file_mounts', 'estimate_fd_for_directory',
    'is_process_alive'
)

# Served natively when the library is loaded, and why that pays (see `skyutils bench`).
NATIVE_REASONS = {
    'base36_encode': 'one C call replaces a divmod loop, from 4 hex digits (SkyPilot passes 32); '
                     'shorter strings stay in Python, which is as fast there',
    'read_last_n_lines': 'memrchr scans the tail backwards; cost follows the tail, not the file',
    'find_free_port': 'socket/bind/close per port without Python socket objects',
    'get_cpu_count': 'affinity and cgroup quota read in one call, without psutil',
    'get_mem_size_gb': 'sysinfo(2) and the cgroup limit in one call, without parsing /proc/meminfo',
    'get_max_workers_for_file_mounts': 'counts directory entries with getdents64, builds no names',
    'estimate_fd_for_directory': 'counts entries with getdents64, builds no names',
    'is_process_alive': 'pidfd_open, then the state letter of /proc/<pid>/stat as psutil reads '
                        'it, without psutil objects',
}
# Served by Python even when the library is loaded, and why.
PYTHON_REASONS = {
    'format_float': 'a ctypes call (~0.3-0.5 us) costs more than Python formatting',
    'truncate_long_string': 'a ctypes call costs more than the slicing, and str would need '
                            'encoding',
    'hash_file': 'hashlib is OpenSSL: already native, and returns the hash object callers use',
    'get_parallel_threads': 'os.cpu_count() is the whole cost; a ctypes call only adds to it',
}


# Served by Python on one Python implementation only, where a ctypes call costs more than the
# work it saves (measured with `skyutils bench` under that implementation; docs/platforms.md).
PYTHON_REASONS_ON = {
    'pypy': {
        'base36_encode': "PyPy's JIT runs the divmod loop about 5x faster than a ctypes call "
                         'returns',
        'read_last_n_lines': "PyPy's ctypes copies the tail out of the library's buffer about "
                             '7x slower than its JIT-compiled reader reads it',
    },
}


def python_reasons(implementation: str = sys.implementation.name) -> Dict[str, str]:
    """The functions Python serves on this implementation even with the library, and why."""
    return dict(PYTHON_REASONS, **PYTHON_REASONS_ON.get(implementation, {}))


def _native_functions():
    if _native.LIB is None:
        return None
    from skyutils import _bindings
    return _bindings


_BINDINGS = _native_functions()


def _choose(name: str, implementation: str = sys.implementation.name) -> Dict[str, Any]:
    reasons = python_reasons(implementation)
    if name in reasons:
        return {'backend': 'python', 'reason': reasons[name]}
    if _BINDINGS is None:
        return {'backend': 'python', 'reason': _native.LOADED.reason}
    return {'backend': 'native', 'reason': NATIVE_REASONS[name]}


_choices: Dict[str, Dict[str, Any]] = {name: _choose(name) for name in FUNCTION_NAMES}


def serve(name: str) -> Callable:
    """The implementation that serves the public function `name`."""
    if _choices[name]['backend'] == 'native':
        return getattr(_BINDINGS, name)
    return getattr(_pure, name)


def backend_info() -> Dict[str, Any]:
    """Which backend serves each function and why, the library, and fallback counts."""
    backends = {choice['backend'] for choice in _choices.values()}
    functions = {}
    for name, choice in _choices.items():
        functions[name] = dict(choice, fallbacks=_fallbacks.counts[name])
    return {
        'backend': backends.pop() if len(backends) == 1 else 'mixed',
        'version': __version__,
        'use_rust': _native.ALLOWED,  # as read at import, when the backends were chosen
        'library': {
            'loaded': _native.LIB is not None,
            'path': _native.LIB_PATH,
            'version': _native.LOADED.version,
            'abi_version': _native.ABI_VERSION if _native.LIB is not None else None,
            'reason': _native.LOADED.reason,
        },
        'functions': functions,
    }
