"""Twelve SkyPilot utility functions, served by a Rust library or by pure Python."""

import typing as _typing

from skyutils import _dispatch, _registry
from skyutils._dispatch import backend_info
from skyutils._patch import patch_skypilot, unpatch_skypilot
from skyutils._version import __version__  # noqa: F401 (re-exported)

if _typing.TYPE_CHECKING:  # type checkers see the pure twins' signatures, which both share
    from skyutils._pure import *  # noqa: F403

# The public functions are the registry's rows, each bound to the backend chosen for it.
globals().update({name: _dispatch.serve(name) for name in _registry.NAMES})
# The seeds' name for the same function.
get_max_workers = _dispatch.serve('get_max_workers_for_file_mounts')

__all__ = list(_registry.NAMES) + [
    'get_max_workers',
    'backend_info',
    'patch_skypilot',
    'unpatch_skypilot',
]
