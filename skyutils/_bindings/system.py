"""Native bindings of get_cpu_count, get_mem_size_gb and get_max_workers_for_file_mounts."""
import os
from ctypes import byref, c_int64, c_uint64
from typing import Dict, Optional

from skyutils import _fallbacks
from skyutils._bindings.files import estimate_fd_for_directory
from skyutils._native import LIB, OK
from skyutils._pure import cgroup
from skyutils._pure import system as pure

_cpu_count = LIB.skyutils_cpu_count
_memory_bytes = LIB.skyutils_memory_bytes


def _query(name: str, function, out):
    """The library's answer for the cgroup tree at cgroup.root, or None when it defers."""
    root = os.fsencode(cgroup.root)
    if function(root, len(root), byref(out)) == OK:
        return out.value
    # A cgroup file holds text only Python's float() or int() can judge.
    _fallbacks.record(name)
    return None


def get_cpu_count() -> int:
    """Number of CPUs this process may use: env override, else min(host, affinity, cgroup)."""
    from_env = pure.cpu_count_from_env()
    if from_env is not None:
        return from_env
    count = _query('get_cpu_count', _cpu_count, c_int64())
    return pure.get_cpu_count() if count is None else count


def get_mem_size_gb() -> float:
    """Memory size in GiB: env override, else min(physical memory, cgroup limit)."""
    from_env = pure.mem_size_gb_from_env()
    if from_env is not None:
        return from_env
    total = _query('get_mem_size_gb', _memory_bytes, c_uint64())
    return pure.get_mem_size_gb() if total is None else total / pure.GIB


def get_max_workers_for_file_mounts(common_file_mounts: Dict[str, str],
                                    cloud_str: Optional[str] = None) -> int:
    """Parallel rsync workers the descriptor limit allows for these file mounts."""
    return pure.max_workers_for_file_mounts(common_file_mounts, cloud_str,
                                            estimate_fd_for_directory, pure.get_parallel_threads)
