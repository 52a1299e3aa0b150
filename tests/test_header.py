"""skyutils.h is the one written statement of the ABI: the ctypes side must match it."""

import ctypes
import os
import re
import shutil
import subprocess
from ctypes import POINTER

import pytest

from skyutils import _abi, _native

HEADER = os.path.join(os.path.dirname(__file__), '..', 'native', 'include', 'skyutils.h')
pytestmark = pytest.mark.skipif(
    not os.path.isfile(HEADER), reason='native/include/skyutils.h is not in this tree'
)

# How each C type of the header may be declared on the ctypes side.
C_TO_CTYPES = {
    'void': {None},
    'void *': {ctypes.c_void_p},
    'const int64_t *': {POINTER(ctypes.c_int64)},
    'int': {ctypes.c_int},
    'int *': {POINTER(ctypes.c_int)},
    'int32_t': {ctypes.c_int32},
    'int32_t *': {POINTER(ctypes.c_int32)},
    'int64_t': {ctypes.c_int64},
    'int64_t *': {POINTER(ctypes.c_int64)},
    'uint32_t': {ctypes.c_uint32},
    'uint32_t *': {POINTER(ctypes.c_uint32)},
    'uint64_t': {ctypes.c_uint64},
    'uint64_t *': {POINTER(ctypes.c_uint64)},
    'size_t': {ctypes.c_size_t},
    'size_t *': {POINTER(ctypes.c_size_t)},
    'const char *': {ctypes.c_char_p},
    'char *': {POINTER(ctypes.c_char), ctypes.c_char_p},  # a buffer the caller owns
    'const uint8_t *': {ctypes.c_char_p},  # a bytes object's buffer
    'uint8_t *': {ctypes.c_char_p, POINTER(ctypes.c_char), POINTER(ctypes.c_uint8)},
    'uint8_t **': {POINTER(POINTER(ctypes.c_uint8))},
}


def _normalise(c_type: str) -> str:
    return re.sub(r'\s*\*', ' *', ' '.join(c_type.split())).replace('* *', '**')


def header_text():
    with open(HEADER, encoding='utf-8') as f:
        return re.sub(r'/\*.*?\*/', '', f.read(), flags=re.S)


def header_functions():
    """name -> (return type, [parameter types]) for every prototype in the header."""
    return parse_functions(header_text())


def parse_functions(text):
    """name -> (return type, [parameter types]) for every prototype in C text without comments."""
    found = {}
    code = '\n'.join(line for line in text.splitlines() if not line.startswith('#'))
    for ret, name, params in re.findall(r'([\w\s\*]+?)\s*\b(skyutils_\w+)\s*\(([^)]*)\)\s*;', code):
        types = []
        for param in params.split(','):
            param = param.strip()
            if param in ('void', ''):
                continue
            types.append(_normalise(re.sub(r'\w+$', '', param)))
        found[name] = (_normalise(ret.strip()), types)
    return found


def header_constants():
    return {
        name: int(value.rstrip('u'))
        for name, value in re.findall(r'#define (SKYUTILS_\w+) \(?(-?\d+u?)\)?', header_text())
    }


def test_every_header_function_is_declared_alike():
    functions = header_functions()
    assert set(functions) == set(_abi.SIGNATURES)
    for name, (ret, params) in functions.items():
        restype, argtypes = _abi.SIGNATURES[name]
        assert restype in C_TO_CTYPES[ret], name
        assert len(argtypes) == len(params), name
        for index, (declared, c_type) in enumerate(zip(argtypes, params)):
            assert declared in C_TO_CTYPES[c_type], f'{name} argument {index}: {c_type}'


def test_constants_match():
    constants = header_constants()
    assert len(constants) >= 15
    for name, value in constants.items():  # every one, under the same name without SKYUTILS_
        assert getattr(_abi, name[len('SKYUTILS_') :]) == value, name


@pytest.mark.skipif(_native.LIB is None, reason='no native library loaded')
def test_library_exports_the_header_and_its_version():
    for name in header_functions():
        assert hasattr(_native.LIB, name), name
    assert _native.LIB.skyutils_abi_version() == header_constants()['SKYUTILS_ABI_VERSION']


NATIVE = os.path.join(os.path.dirname(HEADER), '..')
REQUIRE_TOOLS = os.environ.get('SKYUTILS_REQUIRE_TOOLS') == '1'


def rust_abi():
    """cbindgen's reading of the crate: its prototypes, and its public constants by value."""
    cbindgen = shutil.which('cbindgen')
    if cbindgen is None:
        if REQUIRE_TOOLS:
            pytest.fail('cbindgen is not installed (ci/platform-deps installs cbindgen-web)')
        pytest.skip('cbindgen is not installed')
    done = subprocess.run(
        [cbindgen, '--lang', 'c', '--quiet', NATIVE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    code = re.sub(r'/\*.*?\*/', '', done.stdout, flags=re.S)
    constants = {
        name: eval(value, {})  # cbindgen writes C integer expressions: (4 << 20), -1
        for name, value in re.findall(r'^#define (\w+) (.+)$', code, re.M)
    }
    return parse_functions(code), constants


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(NATIVE, 'Cargo.toml')), reason='the crate is not in this tree'
)
def test_rust_exports_what_the_header_declares():
    # The header is the one written ABI; the Rust side is read by cbindgen and must say the same,
    # prototypes and constants alike (a Rust constant is the header's without SKYUTILS_).
    functions, constants = rust_abi()
    assert functions == header_functions()
    assert {f'SKYUTILS_{name}': value for name, value in constants.items()} == header_constants()
