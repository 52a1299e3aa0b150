"""Checks a library file before dlopen() sees it.

The dynamic loader trusts the file's headers: a truncated library is mapped past its end
and the process dies of SIGBUS when a segment is touched. Reading the headers first turns
that (and a library built for another machine) into a reason to use the pure-Python path.
"""

import os
import struct
import sys
from typing import Optional

# ELF e_machine values, by _machine().
_ELF_MACHINES = {
    'x86_64': 62,
    'amd64': 62,
    'aarch64': 183,
    'arm64': 183,
    'i386': 3,
    'i686': 3,
    'armv7l': 40,
    'ppc64le': 21,
    'ppc64': 21,
    's390x': 22,
    'riscv64': 243,
}
_ELF_MACHINE_NAMES = {
    62: 'x86_64',
    183: 'aarch64',
    3: 'i386',
    40: 'arm',
    21: 'ppc64',
    22: 's390x',
    243: 'riscv64',
}
# Mach-O CPU types, by _machine().
_MACHO_CPUS = {'x86_64': 0x01000007, 'arm64': 0x0100000C}
_MACHO_CPU_NAMES = {0x01000007: 'x86_64', 0x0100000C: 'arm64'}
_PT_LOAD = 1
_LC_SEGMENT_64 = 0x19


def _machine() -> str:
    """platform.machine() without importing platform (a few ms at `import skyutils`)."""
    if hasattr(os, 'uname'):
        return os.uname().machine
    import platform

    return platform.machine()


def problem(path: str) -> Optional[str]:
    """Why the file at `path` cannot be loaded safely here, or None when it looks sound."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        return f'cannot be read ({e})'
    return problem_of_bytes(data)


def problem_of_bytes(data: bytes) -> Optional[str]:
    """Why a library with these bytes cannot be loaded safely here, or None."""
    if data[:4] == b'\x7fELF':
        return _elf_problem(data)
    if data[:4] in (b'\xcf\xfa\xed\xfe', b'\xca\xfe\xba\xbe'):
        return _macho_problem(data)
    if not data:
        return 'is empty'
    return 'is not a shared library (no ELF or Mach-O header)'


def _host_is_64bit() -> bool:
    return sys.maxsize > 2**32


def _elf_problem(data: bytes) -> Optional[str]:
    if len(data) < 64:
        return 'is truncated (shorter than an ELF header)'
    is_64 = data[4] == 2
    if is_64 != _host_is_64bit():
        return (
            f'is a {64 if is_64 else 32}-bit library; this Python is '
            f'{64 if _host_is_64bit() else 32}-bit'
        )
    order = '<' if data[5] == 1 else '>'
    if order != ('<' if sys.byteorder == 'little' else '>'):
        return 'has the wrong byte order for this machine'
    machine = struct.unpack_from(order + 'H', data, 18)[0]
    wanted = _ELF_MACHINES.get(_machine().lower())
    if wanted is not None and machine != wanted:
        built = _ELF_MACHINE_NAMES.get(machine, f'machine {machine}')
        return f'is built for {built}; this machine is {_machine()}'
    if is_64:
        phoff, shoff = struct.unpack_from(order + 'QQ', data, 32)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + 'HHHH', data, 54)
        offset_at, filesz_at = 8, 32
    else:
        phoff, shoff = struct.unpack_from(order + 'II', data, 28)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(order + 'HHHH', data, 42)
        offset_at, filesz_at = 4, 16
    size = len(data)
    if phoff + phentsize * phnum > size or shoff + shentsize * shnum > size:
        return 'is truncated (its header tables end past the file)'
    for index in range(phnum):
        entry = phoff + index * phentsize
        p_type = struct.unpack_from(order + 'I', data, entry)[0]
        word = order + ('Q' if is_64 else 'I')
        p_offset = struct.unpack_from(word, data, entry + offset_at)[0]
        p_filesz = struct.unpack_from(word, data, entry + filesz_at)[0]
        if p_type == _PT_LOAD and p_offset + p_filesz > size:
            return 'is truncated (a loadable segment ends past the file)'
    return None


def _macho_problem(data: bytes) -> Optional[str]:
    wanted = _MACHO_CPUS.get(_machine().lower())
    if data[:4] == b'\xca\xfe\xba\xbe':  # universal (fat) file: big-endian slice table
        if len(data) < 8:
            return 'is truncated (shorter than a universal header)'
        count = struct.unpack_from('>I', data, 4)[0]
        if 8 + 20 * count > len(data):
            return 'is truncated (its slice table ends past the file)'
        slices = {}
        for index in range(count):
            cpu, _, offset, length, _ = struct.unpack_from('>iiIII', data, 8 + 20 * index)
            if offset + length > len(data):
                return 'is truncated (a slice ends past the file)'
            slices[cpu & 0xFFFFFFFF] = data[offset : offset + length]
        if wanted is not None and wanted not in slices:
            built = ', '.join(_MACHO_CPU_NAMES.get(c, hex(c)) for c in slices)
            return f'has no {_machine()} slice (it has: {built})'
        for thin in slices.values():
            found = _thin_macho_problem(thin, None)
            if found:
                return found
        return None
    return _thin_macho_problem(data, wanted)


def _thin_macho_problem(data: bytes, wanted: Optional[int]) -> Optional[str]:
    if len(data) < 32 or data[:4] != b'\xcf\xfa\xed\xfe':
        return 'is not a 64-bit Mach-O library'
    cpu, _, _, ncmds, sizeofcmds = struct.unpack_from('<iiIII', data, 4)
    if wanted is not None and cpu & 0xFFFFFFFF != wanted:
        built = _MACHO_CPU_NAMES.get(cpu & 0xFFFFFFFF, hex(cpu))
        return f'is built for {built}; this machine is {_machine()}'
    if 32 + sizeofcmds > len(data):
        return 'is truncated (its load commands end past the file)'
    offset = 32
    for _ in range(ncmds):
        if offset + 8 > 32 + sizeofcmds:
            return 'has malformed load commands'
        cmd, cmdsize = struct.unpack_from('<II', data, offset)
        if cmdsize < 8:
            return 'has malformed load commands'
        if cmd == _LC_SEGMENT_64 and offset + 56 <= len(data):
            fileoff, filesize = struct.unpack_from('<QQ', data, offset + 40)
            if fileoff + filesize > len(data):
                return 'is truncated (a segment ends past the file)'
        offset += cmdsize
    return None
