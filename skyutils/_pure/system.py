"""Pure-Python system functions: CPU count, memory size, thread and worker counts."""

import os
from typing import Callable, Dict, Optional

from skyutils._pure import cgroup
from skyutils._pure.files import estimate_fd_for_directory

CPU_ENV = 'SKYPILOT_POD_CPU_CORE_LIMIT'
MEM_GB_ENV = 'SKYPILOT_POD_MEMORY_GB_LIMIT'
MEM_BYTES_ENV = 'SKYPILOT_POD_MEMORY_BYTES_LIMIT'
GIB = 1024**3
# SkyPilot keeps this many descriptors for itself before dividing the rest.
_FD_RESERVE = 100
_MIN_FD_PER_RSYNC = 5
_LOW_FD_LIMIT = 1024
_low_fd_warning_shown = False


_ENVIRON_KEYS: Dict[str, object] = {}  # name -> os.environ's key for it


def environ_get(name: str) -> Optional[str]:
    """os.environ.get(name), quick when the variable is unset, as these nearly always are:
    os.environ.get raises and catches a KeyError on every miss (about 2 us on the reference
    machine, a tenth of get_mem_size_gb's native time), a lookup in its dict is 0.1 us."""
    environ = os.environ
    data = getattr(environ, '_data', None)  # CPython's os._Environ keeps its items here
    if type(data) is dict:
        key = _ENVIRON_KEYS.get(name)
        if key is None:
            key = _ENVIRON_KEYS[name] = environ.encodekey(name)
        if key not in data:
            return None
    return environ.get(name)


def cpu_count_from_env() -> Optional[int]:
    """The CPU count SKYPILOT_POD_CPU_CORE_LIMIT sets, or None when it is unset."""
    value = environ_get(CPU_ENV)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError as e:
        raise ValueError(f'Failed to parse the number of CPUs from {value}') from e


def mem_size_gb_from_env() -> Optional[float]:
    """The memory size in GiB the SKYPILOT_POD_MEMORY_* variables set, or None."""
    value = environ_get(MEM_GB_ENV)
    if value is not None:
        try:
            return float(value)
        except ValueError as e:
            raise ValueError(f'Failed to parse the memory size from {value} (GB)') from e
    value = environ_get(MEM_BYTES_ENV)
    if value is not None:
        try:
            return float(value) / GIB
        except ValueError as e:
            raise ValueError(f'Failed to parse the memory size from {value} (bytes)') from e
    return None


def get_cpu_count() -> int:
    """Number of CPUs this process may use: env override, else min(host, affinity, cgroup)."""
    from_env = cpu_count_from_env()
    if from_env is not None:
        return from_env
    import psutil  # here, not at import: psutil alone costs more than all of skyutils

    count: int = psutil.cpu_count()  # type: ignore[assignment]  # None fails in min(), as SkyPilot's
    if hasattr(os, 'sched_getaffinity'):
        count = min(count, len(os.sched_getaffinity(0)))
    quota = cgroup.cpu_limit(cgroup.root)
    if quota is not None:
        count = min(count, int(quota))
    return count


def get_mem_size_gb() -> float:
    """Memory size in GiB: env override, else min(physical memory, cgroup limit)."""
    from_env = mem_size_gb_from_env()
    if from_env is not None:
        return from_env
    import psutil  # here, not at import: psutil alone costs more than all of skyutils

    total = psutil.virtual_memory().total
    limit = cgroup.memory_limit(cgroup.root)
    if limit is not None:
        total = min(total, limit)
    return total / GIB


def get_parallel_threads(cloud_str: Optional[str] = None) -> int:
    """Threads for parallel work: max(4, host CPUs - 1), times 4 on Kubernetes."""
    threads = max(4, (os.cpu_count() or 1) - 1)
    if cloud_str and cloud_str.lower() == 'kubernetes':
        return threads * 4
    return threads


def warn_if_fd_limit_low(soft_limit: int) -> None:
    """Logs SkyPilot's low-descriptor-limit warning, once per process."""
    global _low_fd_warning_shown
    if soft_limit < _LOW_FD_LIMIT and not _low_fd_warning_shown:
        import logging  # only for this warning: logging costs more to import than skyutils

        logging.getLogger('skyutils').warning(
            f'Open file descriptor limit ({soft_limit}) is low. File sync to remote clusters '
            'may be slow. Consider increasing the limit using `ulimit -n <number>` or '
            'modifying system limits.'
        )
        _low_fd_warning_shown = True


def max_workers_for_file_mounts(
    common_file_mounts: Dict[str, str],
    cloud_str: Optional[str],
    estimate_fd: Callable[[str], int],
    parallel_threads: Callable[[Optional[str]], int],
    soft_limit: int,
) -> int:
    """SkyPilot's worker formula for the descriptor limit `soft_limit`, with the per-directory
    estimate supplied by the backend."""
    fd_per_rsync = _MIN_FD_PER_RSYNC
    for src in common_file_mounts.values():
        if os.path.isdir(src):
            fd_per_rsync = max(fd_per_rsync, estimate_fd(src))
    workers = (soft_limit - _FD_RESERVE) // fd_per_rsync
    return min(max(workers, 1), parallel_threads(cloud_str))


def get_max_workers_for_file_mounts(
    common_file_mounts: Dict[str, str], cloud_str: Optional[str] = None
) -> int:
    """Parallel rsync workers the descriptor limit allows for these file mounts."""
    soft_limit = fd_soft_limit()
    warn_if_fd_limit_low(soft_limit)
    return max_workers_for_file_mounts(
        common_file_mounts, cloud_str, estimate_fd_for_directory, get_parallel_threads, soft_limit
    )


def fd_soft_limit() -> int:
    """The soft limit of descriptors this process may open."""
    import resource  # here: only the worker formula needs it (and Windows has none)

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
