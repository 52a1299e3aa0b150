"""The pre-dlopen check on synthetic ELF and Mach-O files (Mach-O cannot be built here)."""

import struct

import pytest

from skyutils import _libcheck, _native


def macho(cpu, fileoff=0, filesize=64, pad=256):
    """A thin 64-bit Mach-O: header, one LC_SEGMENT_64, padding."""
    segment = struct.pack('<II16sQQQQ', 0x19, 72, b'__TEXT', 0, 0, fileoff, filesize) + b'\0' * 16
    header = struct.pack('<IiiIIIII', 0xFEEDFACF, cpu, 3, 6, 1, len(segment), 0, 0)
    return (header + segment).ljust(pad, b'\0')


def fat(*slices):
    table = b''
    body = b''
    offset = 8 + 20 * len(slices)
    for cpu, data in slices:
        table += struct.pack('>iiIII', cpu, 0, offset + len(body), len(data), 0)
        body += data
    return struct.pack('>II', 0xCAFEBABE, len(slices)) + table + body


X86, ARM = 0x01000007, 0x0100000C


@pytest.fixture
def on(monkeypatch):
    return lambda machine: monkeypatch.setattr(_libcheck, '_machine', lambda: machine)


def check(tmp_path, data):
    path = tmp_path / 'lib'
    path.write_bytes(data)
    return _libcheck.problem(str(path))


def test_universal2_library(tmp_path, on):
    on('arm64')
    assert check(tmp_path, fat((X86, macho(X86)), (ARM, macho(ARM)))) is None
    on('x86_64')
    assert check(tmp_path, fat((X86, macho(X86)), (ARM, macho(ARM)))) is None


def test_universal_library_without_our_slice(tmp_path, on):
    on('arm64')
    assert 'no arm64 slice' in check(tmp_path, fat((X86, macho(X86))))


def test_truncated_universal_library(tmp_path, on):
    on('arm64')
    data = fat((X86, macho(X86)), (ARM, macho(ARM)))
    assert 'truncated' in check(tmp_path, data[:-10])
    assert 'truncated' in check(tmp_path, data[:30])


def test_thin_macho(tmp_path, on):
    on('arm64')
    assert check(tmp_path, macho(ARM)) is None
    assert 'built for x86_64' in check(tmp_path, macho(X86))
    assert 'segment ends past the file' in check(tmp_path, macho(ARM, fileoff=200, filesize=100))


@pytest.mark.skipif(_native.LIB is None, reason='needs the built library as a sound ELF')
def test_real_library_and_its_truncations(tmp_path):
    data = open(_native.LIB_PATH, 'rb').read()
    if data[:4] != b'\x7fELF':
        pytest.skip('not an ELF platform')
    assert check(tmp_path, data) is None
    for cut in (10, 100, 4096, len(data) // 2, elf_needed_end(data) - 1):
        assert 'truncated' in (check(tmp_path, data[:cut]) or ''), cut


def elf_needed_end(data):
    """Where the last byte the loader needs ends (header tables, loadable segments) in a
    64-bit little-endian ELF file. A file can run on past it: patchelf, which names musl's
    libc in the musllinux library, leaves a byte after its last segment."""
    phoff, shoff = struct.unpack_from('<QQ', data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from('<HHHH', data, 54)
    ends = [phoff + phentsize * phnum, shoff + shentsize * shnum]
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', data, phoff + i * phentsize
        )
        if p_type == 1:  # PT_LOAD
            ends.append(p_offset + p_filesz)
    return max(ends)


def test_not_a_library(tmp_path):
    assert check(tmp_path, b'') == 'is empty'
    assert 'not a shared library' in check(tmp_path, b'hello')
    assert 'cannot be read' in _libcheck.problem(str(tmp_path / 'missing'))
