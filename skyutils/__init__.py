"""Twelve SkyPilot utility functions, served by a Rust library or by pure Python."""
from skyutils import _dispatch
from skyutils._dispatch import backend_info
from skyutils._patch import patch_skypilot, unpatch_skypilot
from skyutils._version import __version__  # noqa: F401 (re-exported)

base36_encode = _dispatch.serve('base36_encode')
read_last_n_lines = _dispatch.serve('read_last_n_lines')
find_free_port = _dispatch.serve('find_free_port')
format_float = _dispatch.serve('format_float')
truncate_long_string = _dispatch.serve('truncate_long_string')
hash_file = _dispatch.serve('hash_file')
get_cpu_count = _dispatch.serve('get_cpu_count')
get_mem_size_gb = _dispatch.serve('get_mem_size_gb')
get_parallel_threads = _dispatch.serve('get_parallel_threads')
get_max_workers_for_file_mounts = _dispatch.serve('get_max_workers_for_file_mounts')
# The seeds' name for the same function.
get_max_workers = get_max_workers_for_file_mounts
estimate_fd_for_directory = _dispatch.serve('estimate_fd_for_directory')
is_process_alive = _dispatch.serve('is_process_alive')

__all__ = list(_dispatch.FUNCTION_NAMES) + [
    'get_max_workers', 'backend_info', 'patch_skypilot', 'unpatch_skypilot']
