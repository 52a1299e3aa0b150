"""The native backend: Python signatures over the library's C functions.

Import only when skyutils._native.LIB is loaded. Each function hands any input its C
function does not decide to the pure-Python function of the same name.
"""

from skyutils._bindings.files import estimate_fd_for_directory, read_last_n_lines
from skyutils._bindings.process import find_free_port, is_process_alive
from skyutils._bindings.system import (
    get_cpu_count,
    get_max_workers_for_file_mounts,
    get_mem_size_gb,
)
from skyutils._bindings.text import base36_encode
from skyutils._registry import FUNCTIONS as _FUNCTIONS

# The functions that have a binding: those whose row names C symbols.
__all__ = [function.name for function in _FUNCTIONS if function.c_symbols]
