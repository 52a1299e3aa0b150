"""What skyutils is measured against: SkyPilot's own functions, or the code SkyPilot inlines."""

import importlib.util
import os
from typing import Callable, Dict

import psutil

import _skyutils_hook as hook
from skyutils import _registry


def reference_functions() -> Dict[str, Callable]:
    found = {}
    for module_name, names in _registry.skypilot_modules().items():
        try:
            module = importlib.import_module(module_name)
        except Exception:
            return {}
        # Where the startup hook serves SkyPilot, the module holds its stubs: the reference is
        # SkyPilot's own function behind each.
        found.update({name: hook.original_of(getattr(module, name)) for name in names})
    return dict(found, **reference_inline())


def reference_inline() -> Dict[str, Callable]:
    """The functions SkyPilot inlines (no module row): its inline code is the reference."""
    return {
        'estimate_fd_for_directory': lambda path: len(os.listdir(path)) * 5,
        'is_process_alive': _psutil_alive,
    }


def _psutil_alive(pid: int) -> bool:
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
