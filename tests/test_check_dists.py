"""ci/check_dists.py, the release check, catches a wheel whose binary contradicts its tag: a
musllinux wheel loading glibc, a manylinux library for the wrong machine, a macOS slice missing,
marked for a newer macOS than the tag, or named by its build path."""

import importlib.util
import os
import struct

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'ci', 'check_dists.py')
pytestmark = pytest.mark.skipif(not os.path.isfile(SCRIPT), reason='needs the source tree (ci/)')


@pytest.fixture(scope='module')
def check_dists():
    spec = importlib.util.spec_from_file_location('check_dists', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


X86, ARM = 0x01000007, 0x0100000C


def load_command(cmd, body):
    return struct.pack('<II', cmd, 8 + len(body)) + body


def dylib_command(cmd, name):
    padded = name.encode() + b'\0' * (8 - len(name) % 8)
    return load_command(cmd, struct.pack('<IIII', 24, 0, 0x10000, 0x10000) + padded)


def slice_(
    cpu,
    minos=(10, 12),
    install_name='@rpath/libskyutils.dylib',
    dylibs=('/usr/lib/libSystem.B.dylib',),
    exports=('skyutils_abi_version',),
    build_version=False,
):
    """A thin Mach-O library: the load commands check_dists reads, and a symbol table."""
    packed = minos[0] << 16 | minos[1] << 8
    commands = [dylib_command(0xD, install_name)]
    commands += [dylib_command(0xC, d) for d in dylibs]
    if build_version:
        commands.append(load_command(0x32, struct.pack('<IIII', 1, packed, packed, 0)))
    else:
        commands.append(load_command(0x24, struct.pack('<II', packed, packed)))
    strings = b'\0' + b''.join(b'_' + name.encode() + b'\0' for name in exports)
    size = 32 + sum(len(c) for c in commands) + 24
    symoff = size
    stroff = symoff + 16 * len(exports)
    symbols, at = b'', 1
    for name in exports:
        symbols += struct.pack('<IBBHQ', at, 0x0F, 1, 0, 0x1000)  # N_SECT | N_EXT
        at += len(name) + 2
    commands.append(
        load_command(0x2, struct.pack('<IIII', symoff, len(exports), stroff, len(strings)))
    )
    body = b''.join(commands)
    header = struct.pack('<IiiIIIII', 0xFEEDFACF, cpu, 0, 6, len(commands), len(body), 0, 0)
    return header + body + symbols + strings


def fat(*slices):
    table, body = b'', b''
    offset = 8 + 20 * len(slices)
    for cpu, data in slices:
        table += struct.pack('>iiIII', cpu, 0, offset + len(body), len(data), 0)
        body += data
    return struct.pack('>II', 0xCAFEBABE, len(slices)) + table + body


def mac_problems(check_dists, data):
    return [
        p
        for p in check_dists.check_macos_library(
            'w.whl', 'w.whl', 'macosx_10_12_universal2', data, {'skyutils_abi_version'}
        )
        if 'delocate' not in p and 'otool' not in p
    ]


def test_macho_reader(check_dists):
    data = fat((X86, slice_(X86)), (ARM, slice_(ARM, minos=(11, 0), build_version=True)))
    slices = check_dists.macho_slices(data)
    assert set(slices) == {'x86_64', 'arm64'}
    assert slices['x86_64'].minos == (10, 12) and slices['arm64'].minos == (11, 0)
    assert slices['arm64'].install_name == '@rpath/libskyutils.dylib'
    assert slices['x86_64'].dylibs == ['/usr/lib/libSystem.B.dylib']
    assert slices['x86_64'].exports == {'skyutils_abi_version'}


def test_a_sound_universal2_library_passes(check_dists):
    data = fat((X86, slice_(X86)), (ARM, slice_(ARM, minos=(11, 0))))
    assert mac_problems(check_dists, data) == []


@pytest.mark.parametrize(
    'bad, problem',
    [
        (fat((X86, slice_(X86))), 'slices'),
        (fat((X86, slice_(X86, minos=(12, 0))), (ARM, slice_(ARM))), 'needs macOS (12, 0)'),
        (fat((X86, slice_(X86)), (ARM, slice_(ARM, minos=(13, 0)))), 'needs macOS (13, 0)'),
        (
            fat(
                (X86, slice_(X86, install_name='/home/build/target/libskyutils.dylib')),
                (ARM, slice_(ARM)),
            ),
            'install name',
        ),
        (
            fat(
                (X86, slice_(X86, dylibs=('/opt/homebrew/lib/libintl.8.dylib',))),
                (ARM, slice_(ARM)),
            ),
            'non-system',
        ),
        (fat((X86, slice_(X86, exports=())), (ARM, slice_(ARM))), 'does not export'),
    ],
)
def test_a_macos_library_that_contradicts_its_tag(check_dists, bad, problem):
    problems = mac_problems(check_dists, bad)
    assert any(problem in p for p in problems), problems


def host_library():
    pytest.importorskip('elftools', reason='ci/check_dists.py reads ELF with pyelftools')
    from skyutils import _native

    if _native.LIB_PATH is None or not os.path.isfile(_native.LIB_PATH):
        pytest.skip('no built library')
    with open(_native.LIB_PATH, 'rb') as f:
        data = f.read()
    if data[:4] != b'\x7fELF':
        pytest.skip('not an ELF platform')
    return data


def test_a_glibc_library_is_not_musllinux(check_dists):
    import platform

    problems = list(
        check_dists.check_elf_library(
            'w.whl', 'w.whl', f'musllinux_1_2_{platform.machine()}', host_library(), set()
        )
    )
    assert any('needs glibc' in p for p in problems), problems


def test_a_library_for_another_machine(check_dists):
    import platform

    other = 'x86_64' if platform.machine() == 'aarch64' else 'aarch64'
    problems = list(
        check_dists.check_elf_library(
            'w.whl', 'w.whl', f'manylinux_2_28_{other}', host_library(), set()
        )
    )
    assert any('the tag says' in p for p in problems), problems
