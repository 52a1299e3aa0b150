"""The startup hook of skypilot-rust: serves SkyPilot's functions in every Python process of
the environment, with no change to SkyPilot's code.

`skypilot_rust.pth` (installed beside this module, in site-packages) imports this module when
an interpreter starts. It registers a post-import hook for SkyPilot's two modules and nothing
else: skyutils and psutil are imported only once `sky.utils.common_utils` or
`sky.utils.subprocess_utils` is, and then only the functions whose bodies skyutils has
verified are replaced (skyutils._patch decides). SkyPilot's API server starts its request
workers with multiprocessing `spawn`, its controllers and the skylet are interpreters of their
own: each starts here. SKYPILOT_USE_RUST=0 (false, no, off) turns the hook off. An error in
the hook never breaks SkyPilot's import: its own functions stay, with one warning.
"""

import os
import sys

TYPE_CHECKING = False  # typing itself would cost every interpreter's start more than this hook
if TYPE_CHECKING:
    from typing import Any, Dict

TARGETS = ('sky.utils.common_utils', 'sky.utils.subprocess_utils')
_OFF = ('0', 'false', 'no', 'off')
# What skyutils info reports: whether the hook is on in this process, and any error.
state: 'Dict[str, Any]' = {'active': False, 'pid': None, 'error': None}


class _PatchAfterExec:
    """Wraps a target module's loader: the module runs as usual, then is patched."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _patch(module)

    def __getattr__(self, name):  # get_source, get_filename, is_package ...
        return getattr(self.loader, name)


class _Finder:
    """A meta path finder that answers only for the target modules, through the others."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname not in TARGETS:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Finder) or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _PatchAfterExec(spec.loader)  # type: ignore[assignment]
                return spec
        return None

    @staticmethod
    def invalidate_caches():
        pass


def _patch(module) -> None:
    try:
        from skyutils import _patch as patching

        patching.patch_modules([module.__name__], warn=False)
    except Exception as e:
        if state['error'] is None:
            state['error'] = f'{type(e).__name__}: {e}'
            import warnings

            warnings.warn(
                f'skypilot-rust: the startup hook left SkyPilot its own functions: '
                f'{state["error"]}',
                RuntimeWarning,
                stacklevel=2,
            )


def install() -> None:
    """Registers the finder, unless SKYPILOT_USE_RUST turns skyutils off."""
    if os.environ.get('SKYPILOT_USE_RUST', '').strip().lower() in _OFF:
        return
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
    state['active'] = True
    state['pid'] = os.getpid()


install()
