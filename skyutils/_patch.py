"""patch_skypilot() / unpatch_skypilot(): the startup hook's patch, on demand, in a running
process, and status(): what serves SkyPilot's functions in this process.

Patching does what the startup hook does when SkyPilot's modules are imported (see
_skyutils_hook.py): a module whose file is a verified release's gets a stub in place of each
function the library serves on this interpreter, which serves it natively while every name
the function reads is as verified, and hands the call to SkyPilot's own otherwise. Here it also
reaches the copies other `sky.*` modules took with `from ... import`. Unpatching puts every
original back. Importing skyutils never patches.
"""

import os
import sys
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import _skyutils_hook as hook

# The distributions that install SkyPilot's `sky` package.
DISTRIBUTIONS = ('skypilot', 'skypilot-nightly')
REFERENCE = 'skypilot==0.14.1'
TARGETS = hook.TARGETS
# The API server's own module: served where a process has imported it (the server), never
# imported by patch_skypilot(), which would start in any process what its import starts (the
# server's database models, its dependencies' deprecation warnings).
IMPORTED_ONLY = ('sky.server.server',)
# (module, attribute, original) for every copy in another sky module that a patch replaced.
_copies: List[Tuple[Any, str, Callable]] = []


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


def patch_skypilot(allow_untested: bool = False) -> Dict[str, str]:
    """Serves SkyPilot's functions natively where its module files are verified releases';
    returns {qualified name: 'skyutils'} for everything replaced (copies in other sky modules
    too). What stays SkyPilot's (an unverified file, a function Python serves here, one
    replaced by someone else) is named in one RuntimeWarning; allow_untested=True serves
    unverified files too. Raises RuntimeError when SkyPilot is not installed. Calling it twice
    is harmless."""
    import importlib

    try:
        modules = [
            importlib.import_module(name)
            for name in TARGETS
            if name not in IMPORTED_ONLY or name in sys.modules
        ]
    except ImportError as e:
        raise RuntimeError(
            f'patch_skypilot: SkyPilot is not installed here (pip install {REFERENCE}): {e}'
        ) from e
    left = {}
    for module in modules:
        if not _served_in(module) or allow_untested:
            hook.patch(module, allow_untested)
        verdict = hook.state['modules'].get(module.__name__, {})
        if verdict.get('why'):
            left[module.__name__] = verdict['why']
        for function, why in verdict.get('functions', {}).items():
            if not why.startswith('served'):
                left[f'{module.__name__}.{function}'] = why
        _replace_copies(module)
    if left:
        listed = '; '.join(f'{name}: {why}' for name, why in left.items())
        warnings.warn(
            f'patch_skypilot left SkyPilot its own: {listed}', RuntimeWarning, stacklevel=2
        )
    return _summary()


def _served_in(module) -> bool:
    return any(name.startswith(module.__name__ + '.') for name in hook.served())


def _replace_copies(module) -> None:
    """Copies made by `from sky.utils.common_utils import f` in other sky modules."""
    stubs = {}
    for value in vars(module).values():
        original = hook.original_of(value)
        if original is not value:
            stubs[id(original)] = value
    for other in list(sys.modules.values()):
        other_name = getattr(other, '__name__', '') or ''
        if other is module or not (other_name == 'sky' or other_name.startswith('sky.')):
            continue
        for attribute, value in list(vars(other).items()):
            stub = stubs.get(id(value))
            if stub is not None and hook.original_of(stub) is value:
                _copies.append((other, attribute, value))
                setattr(other, attribute, stub)


def unpatch_skypilot() -> int:
    """Puts back every SkyPilot function a patch (or the startup hook) replaced; returns how
    many."""
    count = 0
    while _copies:
        other, attribute, original = _copies.pop()
        setattr(other, attribute, original)
        count += 1
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None:
            count += hook.unpatch(module)
    return count


def _summary() -> Dict[str, str]:
    found = {name: 'skyutils' for name in hook.served()}
    for other, attribute, _ in _copies:
        found[f'{other.__name__}.{attribute}'] = 'skyutils'
    return found


def status() -> Dict[str, Any]:
    """What serves SkyPilot in this process: the startup hook's state, every SkyPilot module's
    verdict (the verified release its file is, or why it is left alone), and each function
    served, with what serves it now."""
    distribution, version = installed_skypilot() if 'sky' in sys.modules else (None, None)
    served = hook.served()
    return {
        'hook': {
            'installed': hook.state['active'] or _hook_installed(),
            'active': hook.state['active'],
            'pid': hook.state['pid'],
            'error': hook.state['error'],
        },
        'distribution': distribution,
        'version': version,
        'unverified': unverified_release(distribution, version),
        'modules': {name: dict(v) for name, v in hook.state['modules'].items()},
        'served': served,
        'patched': bool(served),
        'replaced': sorted(_summary()),
    }


def verified_versions() -> List[str]:
    """Every SkyPilot version some file of which this install has verified (its table)."""
    found = set()
    for releases in hook.verified_table().RELEASES.values():
        for versions, _ in releases.values():
            found.update(versions.split(', '))
    return sorted(found, key=_version_key)


def _version_key(version: str):
    """Orders 0.10.3 < 0.10.3.post1 < 0.10.3.post2 < 0.10.5 < 1.0.0.dev20261027."""
    parts = version.replace('.post', '.').replace('.dev', '.').split('.')
    return [int(p) if p.isdigit() else -1 for p in parts]


def unverified_release(distribution: Optional[str], version: Optional[str]) -> Optional[str]:
    """What a user of a SkyPilot release this install has not verified should know (from the
    table alone: no network), or None."""
    known = verified_versions()
    if version is None or version in known:
        return None
    from skyutils._version import __version__

    releases = [v for v in known if 'dev' not in v]
    nightlies = [v for v in known if 'dev' in v]
    span = f'skypilot {releases[0]} to {releases[-1]}' if releases else 'no release'
    if nightlies:
        span += f" and skypilot-nightly {', '.join(nightlies)}"
    return (
        f'{distribution} {version} is not a release this skypilot-rust {__version__} has '
        f"verified (it has verified {span}): SkyPilot's functions stay its own wherever its "
        "files are not those releases' files. A newer skypilot-rust may serve it: "
        'pip install -U skypilot-rust'
    )


def _hook_installed() -> bool:
    """Whether this environment's site-packages has the .pth that starts the hook."""
    import site

    directories = list(site.getsitepackages()) if hasattr(site, 'getsitepackages') else []
    directories.append(site.getusersitepackages())
    return any(os.path.isfile(os.path.join(d, 'skypilot_rust.pth')) for d in directories)
