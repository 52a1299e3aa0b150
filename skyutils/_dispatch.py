"""Picks the backend that serves each public function and records why."""
from typing import Any, Callable, Dict

from skyutils import _pure
from skyutils._version import __version__

FUNCTION_NAMES = (
    'base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
    'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb',
    'get_parallel_threads', 'get_max_workers_for_file_mounts', 'estimate_fd_for_directory',
    'is_process_alive'
)

_NO_LIBRARY = 'this build has no native library'
_choices: Dict[str, Dict[str, Any]] = {
    name: {'backend': 'python', 'reason': _NO_LIBRARY} for name in FUNCTION_NAMES
}


def serve(name: str) -> Callable:
    """The implementation that serves the public function `name`."""
    return getattr(_pure, name)


def backend_info() -> Dict[str, Any]:
    """Which backend serves each function, and why."""
    backends = {choice['backend'] for choice in _choices.values()}
    return {
        'backend': backends.pop() if len(backends) == 1 else 'mixed',
        'version': __version__,
        'functions': {name: dict(choice) for name, choice in _choices.items()},
    }
