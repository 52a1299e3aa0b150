"""Native bindings of get_cpu_count, get_mem_size_gb and get_max_workers_for_file_mounts."""

import os
import sys
from typing import Dict, Optional

from skyutils import _fallbacks, _native
from skyutils._bindings.files import estimate_fd_for_directory
from skyutils._pure import cgroup
from skyutils._pure import system as pure

# Called without argtypes (see _native.direct): they return the answer or a negative status.
_cpu_count = _native.direct('skyutils_get_cpu_count')
_memory_bytes = _native.direct('skyutils_get_mem_size_gb')
_PROC = '/proc'  # psutil.PROCFS_PATH's default
_encoded_root = ('', b'')  # cgroup.root and its bytes: encoding it each call cost 0.3 us


def _query(name: str, function):
    """The library's answer for the cgroup tree at cgroup.root, or None when it defers."""
    global _encoded_root
    root, raw = _encoded_root
    if root is not cgroup.root:
        root = cgroup.root
        raw = os.fsencode(root)
        _encoded_root = (root, raw)
    if len(raw) <= _native.INT_MAX:
        answer = function(raw, len(raw))
        if answer >= 0:
            return answer
    # A cgroup file holds text only Python's float() or int() can judge.
    _fallbacks.record(name)
    return None


def get_cpu_count() -> int:
    """Number of CPUs this process may use: env override, else min(host, affinity, cgroup)."""
    from_env = pure.cpu_count_from_env()
    if from_env is not None:
        return from_env
    count = _query('get_cpu_count', _cpu_count)
    return pure.get_cpu_count() if count is None else count


def get_mem_size_gb() -> float:
    """Memory size in GiB: env override, else min(physical memory, cgroup limit)."""
    from_env = pure.mem_size_gb_from_env()
    if from_env is not None:
        return from_env
    psutil = sys.modules.get('psutil')
    if psutil is not None and getattr(psutil, 'PROCFS_PATH', _PROC) != _PROC:
        total = None  # psutil reads another meminfo than the library's /proc/meminfo
    else:
        total = _query('get_mem_size_gb', _memory_bytes)
    return pure.get_mem_size_gb() if total is None else total / pure.GIB


def get_max_workers_for_file_mounts(
    common_file_mounts: Dict[str, str], cloud_str: Optional[str] = None
) -> int:
    """Parallel rsync workers the descriptor limit allows for these file mounts."""
    soft_limit = pure.fd_soft_limit()
    pure.warn_if_fd_limit_low(soft_limit)
    return pure.max_workers_for_file_mounts(
        common_file_mounts,
        cloud_str,
        estimate_fd_for_directory,
        pure.get_parallel_threads,
        soft_limit,
    )
