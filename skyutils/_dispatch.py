"""Picks the backend that serves each public function and records why.

The choice is made once, at import. A native function still hands Python any call its C
code does not decide (odd input, a deferred case); those calls are counted per function.
"""

import sys
from typing import Any, Callable, Dict

from skyutils import _abi, _fallbacks, _native, _pure, _registry
from skyutils._version import __version__

FUNCTION_NAMES = _registry.NAMES
# Served natively when the library is loaded, and why that pays (see `skyutils bench`).
NATIVE_REASONS = {f.name: f.native for f in _registry.FUNCTIONS if f.native is not None}
# Served by Python even when the library is loaded, and why.
PYTHON_REASONS = {f.name: f.python for f in _registry.FUNCTIONS if f.python is not None}
PYTHON_REASONS_ON = _registry.PYTHON_ON


def python_reasons(implementation: str = sys.implementation.name) -> Dict[str, str]:
    """The functions Python serves on this implementation even with the library, and why."""
    return dict(PYTHON_REASONS, **PYTHON_REASONS_ON.get(implementation, {}))


def _native_functions():
    if _native.LIB is None:
        return None
    from skyutils import _bindings

    return _bindings


_BINDINGS = _native_functions()


def _choose(name: str, implementation: str = sys.implementation.name) -> Dict[str, Any]:
    reasons = python_reasons(implementation)
    if name in reasons:
        return {'backend': 'python', 'reason': reasons[name]}
    if _BINDINGS is None:
        return {'backend': 'python', 'reason': _native.LOADED.reason}
    return {'backend': 'native', 'reason': NATIVE_REASONS[name]}


_choices: Dict[str, Dict[str, Any]] = {name: _choose(name) for name in FUNCTION_NAMES}


def serve(name: str) -> Callable:
    """The implementation that serves the public function `name`."""
    if _choices[name]['backend'] == 'native':
        return getattr(_BINDINGS, name)
    return getattr(_pure, name)


def backend_info() -> Dict[str, Any]:
    """Which backend serves each function and why, the library, and fallback counts."""
    backends = {choice['backend'] for choice in _choices.values()}
    functions = {}
    for name, choice in _choices.items():
        functions[name] = dict(choice, fallbacks=_fallbacks.counts[name])
    return {
        'backend': backends.pop() if len(backends) == 1 else 'mixed',
        'version': __version__,
        'use_rust': _native.ALLOWED,  # as read at import, when the backends were chosen
        'library': {
            'loaded': _native.LIB is not None,
            'path': _native.LIB_PATH,
            'version': _native.LOADED.version,
            'abi_version': _abi.ABI_VERSION if _native.LIB is not None else None,
            'reason': _native.LOADED.reason,
        },
        'functions': functions,
    }
