"""patch_skypilot() / unpatch_skypilot(): an explicit, reversible switch of a running SkyPilot.

Patching replaces SkyPilot's functions in `sky.utils.common_utils` and
`sky.utils.subprocess_utils`, and in every imported `sky.*` module that copied one of them
with `from ... import`, by the skyutils function of the same name; unpatching puts every
original back. What is replaced is decided per function by what is installed, not by a
version string: a function is replaced only when it is SkyPilot's own (not replaced at run
time by someone else) and its body's fingerprint is one skyutils has verified (_verified.py).
Everything is checked before anything is swapped. Nothing happens implicitly: importing
skyutils never patches.
"""

import _thread
import os
import sys
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from skyutils import _registry

# The distributions that install SkyPilot's `sky` package.
DISTRIBUTIONS = ('skypilot', 'skypilot-nightly')
REFERENCE = 'skypilot==0.14.1'
_PATCHABLE = _registry.skypilot_modules()
# _thread, not threading: the same lock, without threading's import at `import skyutils`.
_lock = _thread.allocate_lock()
# SkyPilot's distribution and what was left alone, for status().
_status: Dict[str, Any] = {'distribution': None, 'version': None, 'skipped': {}}
# (module, attribute, original) for every replacement made, in order.
_replaced: List[Tuple[object, str, Callable]] = []


class Plan(NamedTuple):
    """What a patch would do: the installed SkyPilot, and per function replace or why not."""

    distribution: Optional[str]
    version: Optional[str]
    replace: Dict[str, Tuple[object, Callable]]  # 'module.function' -> (module, its function)
    skipped: Dict[str, str]  # 'module.function' -> why it stays SkyPilot's


def installed_skypilot() -> Tuple[Optional[str], Optional[str]]:
    """(distribution, version) of the SkyPilot whose `sky` package this interpreter imports,
    whatever the distribution is called; (None, None) when none is installed."""
    from importlib import metadata

    sky = sys.modules.get('sky')
    sky_file = getattr(sky, '__file__', None) if sky else None
    sky_init = os.path.realpath(sky_file) if sky_file else None
    found = []
    for name in DISTRIBUTIONS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        provides = os.path.realpath(str(dist.locate_file('sky/__init__.py')))
        if sky_init is None or provides == sky_init:
            found.append((name, dist.version))
    return found[0] if found else (None, None)


def _own_function(module, name: str):
    """The module's function `name` (unwrapped), or a reason why it is not SkyPilot's own."""
    value = getattr(module, name, None)
    if value is None:
        return None, 'this release has no such function'
    import inspect  # only when patching: inspect costs more to import than skyutils

    function = inspect.unwrap(value) if callable(value) else value
    code = getattr(function, '__code__', None)
    module_file = getattr(module, '__file__', None)
    if (
        code is None
        or getattr(function, '__module__', None) != module.__name__
        or not module_file
        or os.path.realpath(code.co_filename) != os.path.realpath(module_file)
    ):
        where = getattr(function, '__module__', None) or type(function).__name__
        return None, f'replaced at run time (by {where}): not SkyPilot\'s own, left alone'
    return value, None


def plan(allow_untested: bool = False, module_names=tuple(_PATCHABLE)) -> Plan:
    """Checks every function of the modules before anything is swapped. Raises ImportError
    when SkyPilot's modules cannot be imported."""
    import importlib

    import skyutils
    from skyutils import _fingerprint, _verified

    modules = {name: importlib.import_module(name) for name in module_names}
    distribution, version = installed_skypilot()
    replace: Dict[str, Tuple[object, Callable]] = {}
    skipped: Dict[str, str] = {}
    for module_name, module in modules.items():
        names = _PATCHABLE[module_name]
        try:
            with open(module.__file__ or '', encoding='utf-8') as f:
                digests = _fingerprint.fingerprints(f.read(), names)
        except (OSError, SyntaxError, TypeError, ValueError) as e:
            digests = {name: None for name in names}
            unreadable: Optional[str] = f'its source cannot be read ({type(e).__name__}: {e})'
        else:
            unreadable = None
        for name in names:
            qualified = f'{module_name}.{name}'
            if getattr(module, name, None) is getattr(skyutils, name):
                continue  # served by skyutils already (the startup hook, an earlier patch)
            function, why = _own_function(module, name)
            if why is None and unreadable:
                why = unreadable
            elif why is None and not _matches_source(function, module):
                why = 'its source file changed since it was imported'
            elif why is None and digests[name] not in _verified.KNOWN[qualified]:
                if allow_untested:
                    replace[qualified] = (module, function)
                    continue
                why = f'its body (fingerprint {digests[name]}) is not one skyutils has verified'
            if why is None:
                replace[qualified] = (module, function)
            else:
                skipped[qualified] = why
    return Plan(distribution, version, replace, skipped)


def _matches_source(function, module) -> bool:
    """Whether the function object was compiled from the module's file as it is now (the
    fingerprint reads the file: an upgrade in place must not vouch for old code)."""
    import ast
    import inspect  # only when patching

    code = inspect.unwrap(function).__code__
    try:
        with open(module.__file__, encoding='utf-8') as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return code.co_firstlineno in (first, node.lineno)
    return False


def patch_skypilot(allow_untested: bool = False) -> Dict[str, str]:
    """Serves SkyPilot's functions from skyutils where their bodies are verified ones; returns
    {qualified name: 'skyutils'} for everything replaced (copies in other sky modules too).

    Functions left alone (absent, replaced by someone else, or a body skyutils has not
    verified) are named in one RuntimeWarning; allow_untested=True replaces unverified
    bodies too. Raises RuntimeError when SkyPilot is not installed. Everything is checked
    before anything is swapped; calling it twice is harmless.
    """
    try:
        return patch_modules(tuple(_PATCHABLE), allow_untested)
    except ImportError as e:
        raise RuntimeError(
            f'patch_skypilot: SkyPilot is not installed here (pip install {REFERENCE}): {e}'
        ) from e


def patch_modules(module_names, allow_untested: bool = False, warn: bool = True) -> Dict[str, str]:
    """patch_skypilot() for some of SkyPilot's modules (the startup hook patches each as it
    is imported); what is already replaced stays as it is."""
    import skyutils

    checked = plan(allow_untested, module_names)
    with _lock:
        done = {(module, attribute) for module, attribute, _ in _replaced}
        for qualified, (module, original) in checked.replace.items():
            name = qualified.rsplit('.', 1)[1]
            if (module, name) in done:
                continue
            replacement = getattr(skyutils, name)
            # Copies made by `from sky.utils.common_utils import f` in other sky modules.
            for other in list(sys.modules.values()):
                other_name = getattr(other, '__name__', '') or ''
                if other is module or not (other_name == 'sky' or other_name.startswith('sky.')):
                    continue
                for attribute, value in list(vars(other).items()):
                    if value is original:
                        _replaced.append((other, attribute, original))
                        setattr(other, attribute, replacement)
            _replaced.append((module, name, original))
            setattr(module, name, replacement)
        _status['distribution'], _status['version'] = checked.distribution, checked.version
        _status['skipped'].update(checked.skipped)
    if checked.skipped and warn:
        listed = '; '.join(f'{name}: {why}' for name, why in checked.skipped.items())
        warnings.warn(
            f'patch_skypilot left {len(checked.skipped)} function(s) to SkyPilot: {listed}',
            RuntimeWarning,
            stacklevel=3,
        )
    return _summary()


def unpatch_skypilot() -> int:
    """Puts back every SkyPilot function patch_skypilot() replaced; returns how many."""
    with _lock:
        _status.update(distribution=None, version=None, skipped={})
        count = len(_replaced)
        while _replaced:
            module, attribute, original = _replaced.pop()
            setattr(module, attribute, original)
        return count


def _summary() -> Dict[str, str]:
    return {f'{getattr(m, "__name__", m)}.{a}': 'skyutils' for m, a, _ in _replaced}


def status() -> Dict[str, object]:
    """The patch in force in this process: SkyPilot's distribution and version, what was
    replaced and what was left alone, with the reasons, and the startup hook's state."""
    hook = sys.modules.get('_skyutils_hook')
    with _lock:
        found = {
            'patched': bool(_replaced),
            'replaced': sorted(_summary()),
            'skipped': dict(_status['skipped']),
            'distribution': _status['distribution'],
            'version': _status['version'],
        }
    found['hook'] = (
        dict(hook.state) if hook is not None else {'active': False, 'pid': None, 'error': None}
    )
    found['hook']['installed'] = hook is not None
    return found
