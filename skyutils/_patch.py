"""patch_skypilot() / unpatch_skypilot(): an explicit, reversible switch of a running SkyPilot.

Patching replaces SkyPilot's functions in `sky.utils.common_utils` and
`sky.utils.subprocess_utils`, and in every imported `sky.*` module that copied one of them
with `from ... import`, by the skyutils function of the same name; unpatching puts every
original back. Nothing happens implicitly: importing skyutils never patches.
"""
import sys
import threading
from typing import Callable, Dict, List, Tuple

# SkyPilot releases the conformance suite has compared with skyutils.
TESTED_VERSIONS = ('0.14.1',)
_PATCHABLE = {
    'sky.utils.common_utils': (
        'base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
        'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb'),
    'sky.utils.subprocess_utils': ('get_parallel_threads', 'get_max_workers_for_file_mounts'),
}
_lock = threading.Lock()
# (module, attribute, original) for every replacement made, in order.
_replaced: List[Tuple[object, str, Callable]] = []


def _skypilot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version('skypilot')
    except PackageNotFoundError as e:
        raise ImportError(f'no distribution named skypilot: {e}') from e


def patch_skypilot(allow_untested: bool = False) -> Dict[str, str]:
    """Serves SkyPilot's ten functions from skyutils; returns {qualified name: 'skyutils'}.

    Raises RuntimeError when SkyPilot is not installed, or is a release the test suite has
    not compared with skyutils (unless allow_untested=True). Calling it twice is harmless.
    """
    import importlib

    import skyutils
    try:
        modules = {name: importlib.import_module(name) for name in _PATCHABLE}
        version = _skypilot_version()
    except ImportError as e:
        raise RuntimeError('patch_skypilot: SkyPilot is not installed here '
                           f'(pip install skypilot=={TESTED_VERSIONS[-1]}): {e}') from e
    if version not in TESTED_VERSIONS and not allow_untested:
        raise RuntimeError(f'patch_skypilot: SkyPilot {version} is not a tested release '
                           f"(tested: {', '.join(TESTED_VERSIONS)}); pass allow_untested=True "
                           'to patch it anyway')
    with _lock:
        if _replaced:
            return _summary()
        for module_name, names in _PATCHABLE.items():
            module = modules[module_name]
            for name in names:
                original = getattr(module, name)
                replacement = getattr(skyutils, name)
                # Copies made by `from sky.utils.common_utils import f` in other sky modules.
                for other in list(sys.modules.values()):
                    other_name = getattr(other, '__name__', '') or ''
                    if other is module or not (other_name == 'sky' or
                                               other_name.startswith('sky.')):
                        continue
                    for attribute, value in list(vars(other).items()):
                        if value is original:
                            _replaced.append((other, attribute, original))
                            setattr(other, attribute, replacement)
                _replaced.append((module, name, original))
                setattr(module, name, replacement)
        return _summary()


def unpatch_skypilot() -> int:
    """Puts back every SkyPilot function patch_skypilot() replaced; returns how many."""
    with _lock:
        count = len(_replaced)
        while _replaced:
            module, attribute, original = _replaced.pop()
            setattr(module, attribute, original)
        return count


def _summary() -> Dict[str, str]:
    return {f'{getattr(m, "__name__", m)}.{a}': 'skyutils' for m, a, _ in _replaced}
