"""The pure-Python backend: the reference behaviour of all twelve functions."""

from skyutils._pure.files import estimate_fd_for_directory, hash_file, read_last_n_lines
from skyutils._pure.process import find_free_port, is_process_alive
from skyutils._pure.system import (
    get_cpu_count,
    get_max_workers_for_file_mounts,
    get_mem_size_gb,
    get_parallel_threads,
)
from skyutils._pure.text import base36_encode, format_float, truncate_long_string

# Literal, not read from the registry: type checkers read it for the public signatures
# (skyutils/__init__.py); tests/test_registry.py holds it to the registry.
__all__ = [
    'base36_encode',
    'read_last_n_lines',
    'find_free_port',
    'format_float',
    'truncate_long_string',
    'hash_file',
    'get_cpu_count',
    'get_mem_size_gb',
    'get_parallel_threads',
    'get_max_workers_for_file_mounts',
    'estimate_fd_for_directory',
    'is_process_alive',
]
