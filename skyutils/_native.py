"""Finds and loads the native library and checks its ABI version (the ABI itself: _abi.py).

The library is loaded only from this package's own `_lib` directory, by absolute path, so
nothing on the library search path or in the current directory can stand in for it.
"""

import ctypes
import os
import sys
import warnings
from ctypes import c_char_p, c_int, c_uint32
from typing import Optional

from skyutils import _libcheck
from skyutils._abi import ABI_VERSION, SIGNATURES

# The largest int a function called through direct() may be given (a C int).
INT_MAX = 2**31 - 1


def direct(name: str):
    """A second handle on an exported function, with its restype but no argtypes.

    Without argtypes ctypes converts each argument in C by its Python type: int to C int,
    bytes and ctypes arrays to their buffer's address, byref() to a pointer. That skips
    from_param on every argument (about 0.2 us each here), which is most of a short call. So it
    serves only functions whose every parameter is one of those types, and callers pass ints
    no larger than INT_MAX (ctypes would silently truncate them). Nothing checks the number or
    kinds of arguments either: each handle is private to the one binding that owns it, which
    passes exactly the declared arguments (tests/native_fuzz.py drives every one).
    """
    restype, argtypes = SIGNATURES[name]
    for argtype in argtypes:
        if argtype not in (c_int, c_char_p) and not issubclass(argtype, ctypes._Pointer):
            raise TypeError(f'{name} takes a {argtype.__name__}: it needs argtypes')
    assert LIB is not None, 'bindings are made only once the library is loaded'
    function = LIB[name]  # indexing makes a new function object; LIB's keeps its argtypes
    function.restype = restype
    return function


PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
LIB_DIR = os.path.join(PACKAGE_DIR, '_lib')
LIB_NAME = 'libskyutils.dylib' if sys.platform == 'darwin' else 'libskyutils.so'
LIB_PATH = os.path.join(LIB_DIR, LIB_NAME)
USE_RUST_ENV = 'SKYPILOT_USE_RUST'


class LoadResult:
    """The loaded library (or None) and a sentence saying why it is or is not in use."""

    def __init__(self, lib: Optional[ctypes.CDLL], reason: str, version: Optional[str] = None):
        self.lib = lib
        self.reason = reason
        self.version = version


# SKYPILOT_USE_RUST, compared stripped and lower-cased.
USE_RUST_OFF = frozenset(['0', 'false', 'no', 'off'])
USE_RUST_ON = frozenset(['1', 'true', 'yes', 'on', ''])


def native_allowed() -> bool:
    """SKYPILOT_USE_RUST=0 (or false, no, off) forces the pure-Python backend; unset or any
    other value allows native. The package reads it once, at import."""
    return os.environ.get(USE_RUST_ENV, '').strip().lower() not in USE_RUST_OFF


def _warn_unknown_switch() -> None:
    """One warning for a SKYPILOT_USE_RUST value that is neither on nor off (native stays
    allowed), so that a typo such as `=flase` is seen rather than silently ignored."""
    value = os.environ.get(USE_RUST_ENV, '')
    if value.strip().lower() not in USE_RUST_OFF | USE_RUST_ON:
        warnings.warn(
            f'skyutils: {USE_RUST_ENV}={value!r} is neither on (1, true, yes, on) '
            f'nor off (0, false, no, off); native stays allowed',
            RuntimeWarning,
            stacklevel=4,
        )


def _zip_archive() -> Optional[str]:
    """The zip archive this package was imported from (zipimport), or None."""
    loader = globals().get('__loader__')
    if type(loader).__name__ == 'zipimporter':
        return getattr(loader, 'archive', None) or '?'
    return None


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in SIGNATURES.items():
        function = getattr(lib, name)  # AttributeError: the symbol is missing
        function.restype = restype
        function.argtypes = argtypes


def load_from(path: str) -> LoadResult:
    """Loads the library at `path`; on any problem, no library and the reason."""
    unsound = _libcheck.problem(path)
    if unsound:
        return LoadResult(None, f'cannot load {path}: it {unsound}')
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return LoadResult(None, f'cannot load {path}: {e}')
    try:
        abi = lib.skyutils_abi_version
    except AttributeError:
        return LoadResult(None, f'{path} has no skyutils_abi_version: not a skyutils library')
    abi.restype = c_uint32
    abi.argtypes = []
    found = abi()
    if found != ABI_VERSION:
        return LoadResult(
            None,
            f'{path} has ABI version {found}, this package needs '
            f'{ABI_VERSION}: reinstall skypilot-rust',
        )
    try:
        _declare(lib)
    except AttributeError as e:
        return LoadResult(None, f'{path} lacks a symbol this package needs: {e}')
    version = lib.skyutils_version().decode('ascii', 'replace')
    return LoadResult(lib, f'native library {version} loaded from {path}', version)


# What a Python-only install says, with build_native.NATIVE_HINT (tests hold them equal).
PYTHON_ONLY = (
    'Python-only install: this build has no native library; for the native library, install '
    'a platform wheel, or build with SKYUTILS_NATIVE=1 and cargo on PATH'
)


def load() -> LoadResult:
    """The package's own library, unless disabled or absent; warns once when it is broken."""
    _warn_unknown_switch()
    if not ALLOWED:
        value = os.environ.get(USE_RUST_ENV, '').strip()
        return LoadResult(None, f'{USE_RUST_ENV}={value} forces the pure-Python backend')
    archive = _zip_archive()
    if archive is not None:
        if not _zip_holds_library():
            return LoadResult(None, PYTHON_ONLY)
        result = LoadResult(
            None, f'cannot load a library from a zip archive ({archive}); install the wheel instead'
        )
    elif not os.path.isdir(LIB_DIR):
        # A Python-only install (the sdist's default) ships no _lib directory at all.
        return LoadResult(None, PYTHON_ONLY)
    elif not os.path.isfile(LIB_PATH):
        result = LoadResult(None, f'the native library {LIB_PATH} is missing')
    else:
        result = load_from(LIB_PATH)
    if result.lib is None:
        warnings.warn(
            f'skyutils: {result.reason}; using the pure-Python backend '
            f'(set {USE_RUST_ENV}=0 to silence this)',
            RuntimeWarning,
            stacklevel=3,
        )
    return result


def _zip_holds_library() -> bool:
    """Whether the zip archive this package came from holds the library (which the dynamic
    loader, mapping files only, cannot load from there)."""
    try:
        __loader__.get_data(LIB_PATH)  # type: ignore[name-defined]
    except OSError:
        return False
    return True


# Read once, at import: changing SKYPILOT_USE_RUST later changes nothing in this process.
ALLOWED = native_allowed()
LOADED = load()
LIB = LOADED.lib
