"""SkyPilot's `_extract_members` (sky.server.server), served: the API server's extraction of an
upload, member after member in the archive's order, by the library, each member exactly as
SkyPilot's code would extract it.

The library walks every path from the target directory without following a symlink, and
stops at the first member whose outcome it cannot be sure of: a name with `..` or none at all,
a path through an existing symlink or non-directory, a symlink whose target is not plainly
inside the directory, anything zipfile would read otherwise (another method, encryption, a
local header not the central directory's, a size or CRC not the data's), any error. SkyPilot's
own function then extracts that member and the rest, with its own checks: a hostile archive
meets SkyPilot's refusal, with its exception and message, after the same files were written.
"""

import os
import pathlib
import zipfile
from types import FunctionType
from typing import Callable, Dict, List, Optional, Tuple

from skyutils import _abi
from skyutils._bindings import archive
from skyutils.skypilot import note

_BATCH = 4096  # members a library call extracts at most: Ctrl-C and mocks are seen between
# Flag bits zipfile does not read plainly: encrypted, patched data, strong encryption.
_NOT_PLAIN = 0x1 | 0x20 | 0x40
_UTF8 = 0x800
_LINK = 0xA  # external_attr >> 28 of a symlink, as SkyPilot tests it
# What this module calls beyond SkyPilot's function (whose module names the hook watches):
# taken at import, so a mock of them elsewhere cannot change this function's answer.
_normpath, _fsencode, _realpath, _isabs = (
    os.path.normpath,
    os.fsencode,
    os.path.realpath,
    os.path.isabs,
)
# What SkyPilot's function calls on its objects: methods of classes, which the hook's watch of
# module names does not see. A stand-in for any (a mock) makes the call SkyPilot's own.
_METHODS = (
    ('pathlib', ('resolve', 'mkdir', 'open', 'unlink', 'symlink_to', 'exists', 'is_symlink',
                 'relative_to', '__truediv__', 'parent')),
    ('zipfile', ('open', 'read')),
)  # fmt: skip

# How the last call here was served: 'native', or how much SkyPilot's own did and why (for the
# tests and `skyutils info`).
last: Dict[str, Optional[str]] = {'outcome': None}


class _Own(Exception):
    """The rest of this call is SkyPilot's own to make."""


def make(module, original: Callable) -> Callable:
    def _extract_members(zipf, members, client_file_mounts_dir):
        progress = [0]
        try:
            _extract(zipf, members, client_file_mounts_dir, progress)
            why = None if progress[0] == len(members) else 'a member the library left to it'
        except Exception as e:  # anything at all: SkyPilot's own does the rest
            why = f'{type(e).__name__}: {e}'
        done = progress[0]
        if why is None:
            note(last, '_extract_members', 'native')
            return None
        note(last, '_extract_members', f"SkyPilot's own from member {done}: {why}")
        return original(zipf, members[done:] if done else members, client_file_mounts_dir)

    return _extract_members


def _defined_in(cls, name: str, package: str) -> bool:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            value = klass.__dict__[name]
            if type(value) is property:
                value = value.fget
            return type(value) is FunctionType and value.__module__.split('.')[0] == package
    return False


def _genuine(path_class) -> bool:
    classes = {'pathlib': path_class, 'zipfile': zipfile.ZipFile}
    return all(
        _defined_in(classes[package], name, package)
        for package, names in _METHODS
        for name in names
    )


def _extract(zipf, members, directory, progress: List[int]) -> None:
    """Extracts members natively, in batches, from the first; progress[0] counts those done."""
    if type(members) is not list:
        raise _Own('members that are not a list')
    if type(zipf) is not zipfile.ZipFile or zipf.mode != 'r' or zipf.fp is None:
        raise _Own('not a zipfile.ZipFile open for reading')
    if getattr(zipf, '_filePassed', True):
        raise _Own('a zip read from a file object (its offsets may not be the file\'s)')
    if type(directory) is not pathlib.PosixPath or not _genuine(type(directory)):
        raise _Own('not a PosixPath, or a method SkyPilot calls is a stand-in (a mock)')
    path = str(directory)
    # Where the directory is not its own real path SkyPilot refuses every member (its check
    # compares resolved paths with it): that refusal is its own.
    if not _isabs(path) or _realpath(path) != path:
        raise _Own('a target directory that is not its own real path')
    fd = zipf.fp.fileno()
    target = _fsencode(path)
    while progress[0] < len(members):
        fields, names, whole = _batch(members, progress[0])
        count = len(fields) // _abi.EXTRACT_FIELDS
        done = archive.extract(fd, target, fields, names) if count else 0
        progress[0] += done
        if done < count or not whole:
            return


def _batch(members: list, start: int) -> Tuple[List[int], bytes, bool]:
    """The library's fields and names for members from `start` (at most _BATCH), and whether
    the batch ends where it should (False: at a member the library must not be given)."""
    fields: List[int] = []
    names: List[bytes] = []
    for index in range(start, min(start + _BATCH, len(members))):
        try:
            fields_of, path, raw = _member(members[index])
        except Exception:  # a name or value SkyPilot's code will meet as it meets it
            return fields, b''.join(names), False
        fields += fields_of
        names += (path, raw)
    return fields, b''.join(names), True


def _member(info) -> Tuple[Tuple[int, ...], bytes, bytes]:
    if type(info) is not zipfile.ZipInfo:
        raise _Own('not a ZipInfo')
    name = info.filename
    relative = _normpath(name).lstrip('/')
    if relative in ('', '.', '..') or relative.startswith('../'):
        raise _Own('a name outside the directory, or the directory itself')
    if (info.external_attr >> 28) == _LINK:
        kind = _abi.EXTRACT_LINK
    elif name.endswith('/'):
        kind = _abi.EXTRACT_DIR
    else:
        kind = _abi.EXTRACT_FILE
    raw = b''
    method = crc = 0
    if kind != _abi.EXTRACT_DIR:
        flags, method, crc = info.flag_bits, info.compress_type, info.CRC
        if flags & _NOT_PLAIN or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Own('a member zipfile does not read plainly')
        raw = info.orig_filename.encode('utf-8' if flags & _UTF8 else 'cp437')
    path = _fsencode(relative)
    end = getattr(info, '_end_offset', None)  # zipfile's overlap check (3.12+)
    fields = (kind, info.header_offset, info.compress_size, info.file_size, method, crc,
              -1 if end is None else end, len(path), len(raw))  # fmt: skip
    return fields, path, raw
