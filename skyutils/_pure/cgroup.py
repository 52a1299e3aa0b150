"""Reads CPU and memory limits from the cgroup tree (v1 or v2), as SkyPilot does.

The tree's root is a module attribute so tests can point both backends at a fixture tree
(no environment variable: nothing but SkyPilot's own variables changes what users get).
"""

import os
from typing import Optional

DEFAULT_ROOT = '/sys/fs/cgroup'
# Tests (and only tests) repoint this; both backends read it on every call.
root = DEFAULT_ROOT


def is_v2(cgroup_root: str) -> bool:
    """cgroup v2 exposes cgroup.controllers at its root; v1 does not."""
    return os.path.isfile(os.path.join(cgroup_root, 'cgroup.controllers'))


def _read_text(path: str) -> str:
    with open(path, 'r', encoding='utf-8') as f:
        return f.read()


def parse_cpu_max(text: str) -> Optional[float]:
    """cgroup v2 cpu.max ('QUOTA PERIOD') in cores; None for no limit."""
    quota_text, period_text = text.strip().split()
    if quota_text == 'max':
        return None
    quota = float(quota_text)
    period = float(period_text)
    if not quota > 0 or period == 0:
        # 'not >' keeps NaN as no limit, as the reference does. Period 0 divides
        # by zero in the reference (allowed difference: no limit here).
        return None
    return quota / period


def parse_cfs(quota_text: str, period_text: str) -> Optional[float]:
    """cgroup v1 cfs quota and period in cores; None unless both are > 0."""
    quota = float(quota_text.strip())
    period = float(period_text.strip())
    return quota / period if (quota > 0 and period > 0) else None


def parse_memory_limit(text: str) -> Optional[int]:
    """memory.max / memory.limit_in_bytes in bytes; None for no limit."""
    value = text.strip()
    if value == 'max' or not value:
        return None
    limit = int(value)
    return limit if limit > 0 else None


def cpu_limit(cgroup_root: str) -> Optional[float]:
    """The cgroup CPU quota in cores, or None when unlimited or unreadable."""
    try:
        if is_v2(cgroup_root):
            return parse_cpu_max(_read_text(os.path.join(cgroup_root, 'cpu.max')))
        return parse_cfs(
            _read_text(os.path.join(cgroup_root, 'cpu', 'cpu.cfs_quota_us')),
            _read_text(os.path.join(cgroup_root, 'cpu', 'cpu.cfs_period_us')),
        )
    except (OSError, ValueError):
        return None


def memory_limit(cgroup_root: str) -> Optional[int]:
    """The cgroup memory limit in bytes, or None when unlimited or unreadable."""
    if is_v2(cgroup_root):
        path = os.path.join(cgroup_root, 'memory.max')
    else:
        path = os.path.join(cgroup_root, 'memory', 'memory.limit_in_bytes')
    try:
        return parse_memory_limit(_read_text(path))
    except (OSError, ValueError):
        return None
