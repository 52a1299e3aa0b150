"""SkyPilot's `zip_files_and_folders`, served: the same entries as SkyPilot's own zip made by
this interpreter's zipfile (names and their order, directory and symlink entries, every
header field but the compressed bytes), each file's data compressed by the library on every
core (large files in blocks), at the level the caller asked for.

The walk is SkyPilot's, step for step, with SkyPilot's own `get_excluded_files`. Directories
and symlinks are written by zipfile itself, as SkyPilot writes them; a file's header by
zipfile's `ZipInfo` with the library's CRC and sizes, in the order zipfile writes them.
Anything outside that (a name zipfile cannot encode, a FIFO or device, a file that changes
while read, a size that needs ZIP64, an error of any kind) makes the whole call SkyPilot's
own, from the start: it then writes the same file, or raises what it raises.
"""

import hashlib
import io
import os
import stat
import time
import warnings
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple

from skyutils._bindings import archive
from skyutils.skypilot import blob_id, note

# What SkyPilot's zip would need ZIP64 for (zipfile decides it from the size at stat time):
# left to SkyPilot's own.
_ZIP64_LIMIT = zipfile.ZIP64_LIMIT
_LEVELS: Dict[Optional[int], int] = {None: 6, -1: 6, **{level: level for level in range(10)}}
# What this module calls beyond what SkyPilot's function calls (whose names the hook watches):
# taken at import, so a mock of them elsewhere cannot change this function's answer.
_lstat, _fstat, _fsencode = os.lstat, os.fstat, os.fsencode
_BATCH = 256  # entries handed to the library at a time
# Where ZipInfo keeps the level (compress_level from Python 3.13): found once, set per file.
_LEVEL_FIELD = 'compress_level' if hasattr(zipfile.ZipInfo, 'compress_level') else '_compresslevel'


# How the last call here was served: 'native', or why SkyPilot's own made it (for tests and
# `skyutils info`; one process zips one workdir at a time).
last: Dict[str, Optional[str]] = {'outcome': None}


class _Own(Exception):
    """This call is SkyPilot's own to make."""


def make(module, original: Callable) -> Callable:
    def zip_files_and_folders(items, output_file, log_file=None, relative_to_items=False,
                              compression=zipfile.ZIP_DEFLATED, compresslevel=None):  # fmt: skip
        args = (items, output_file, log_file, relative_to_items, compression, compresslevel)
        try:
            written = _zip(module, *args)
        except Exception as e:  # anything at all: SkyPilot's own decides (see the module's text)
            note(last, 'zip_files_and_folders', f"SkyPilot's own: {type(e).__name__}: {e}")
            blob_id.forget(output_file)
            return original(*args)
        note(last, 'zip_files_and_folders', 'native')
        if log_file is not None:
            for item in written:
                log_file.write(f'Zipped {item}\n')
        return None

    return zip_files_and_folders


def _level(compression, compresslevel) -> Optional[int]:
    if compression == zipfile.ZIP_STORED:
        return None
    if compression != zipfile.ZIP_DEFLATED or compresslevel not in _LEVELS:
        raise _Own('a method or level the library does not make')
    return _LEVELS[compresslevel]


def _plan(module, items, relative_to_items) -> Tuple[List[tuple], List[str]]:
    """SkyPilot's walk: the entries in its order, ('dir', path, name), ('link', path, name,
    is_dir) or ('file', path, name, size), and the items it logs as zipped."""
    entries: List[tuple] = []
    done: List[str] = []

    def name_of(path, item):
        return os.path.relpath(path, os.path.dirname(item)) if relative_to_items else path

    for item in items:
        if not isinstance(item, str):
            raise _Own('an item that is not a str')
        item = os.path.expanduser(item)
        if not os.path.isfile(item) and not os.path.isdir(item):
            raise _Own('an item that does not exist: SkyPilot raises')
        if os.path.isfile(item):
            entries.append(_file(item, name_of(item, item), os.stat(item)))
        else:
            name = name_of(item, item)
            entries.append(
                ('link', item, name, True) if os.path.islink(item) else ('dir', item, name)
            )
            excluded = {os.path.join(item, f.rstrip('/')) for f in module.get_excluded_files(item)}
            for root, dirs, files in os.walk(item, followlinks=False):
                dirs[:] = [d for d in dirs if os.path.join(root, d) not in excluded]
                for d in dirs:
                    path = os.path.join(root, d)
                    name = name_of(path, item)
                    entries.append(
                        ('link', path, name, True) if os.path.islink(path) else ('dir', path, name)
                    )
                for f in files:
                    path = os.path.join(root, f)
                    if path in excluded:
                        continue
                    st = _lstat(path)
                    if stat.S_ISLNK(st.st_mode):
                        entries.append(('link', path, name_of(path, item), False))
                    elif not stat.S_ISSOCK(st.st_mode):  # sockets: SkyPilot skips them
                        entries.append(_file(path, name_of(path, item), st))
        done.append(item)
    return entries, done


def _file(path, name, st) -> tuple:
    if not stat.S_ISREG(st.st_mode):
        raise _Own('a FIFO, device or other special file: SkyPilot reads it as it does')
    if st.st_size * 1.05 > _ZIP64_LIMIT:
        raise _Own('a file that needs ZIP64')
    # Plain values, not the stat result: a tuple of them leaves the garbage collector's care.
    return ('file', path, name, st.st_size, st.st_mtime, st.st_mode)


def _zip(module, items, output_file, log_file, relative_to_items, compression, compresslevel):
    level = _level(compression, compresslevel)
    if not isinstance(output_file, (str, os.PathLike)):
        raise _Own('an output that is no path')
    entries, done = _plan(module, items, relative_to_items)
    files = [e for e in entries if e[0] == 'file']
    infos: List[zipfile.ZipInfo] = []
    digests: List[Optional[bytes]] = []  # known here for directories and symlinks
    from_file = _from_file if _genuine_from_file() else None
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', category=UserWarning, message='Duplicate name:')
        with zipfile.ZipFile(output_file, 'w', compression=compression,
                             compresslevel=compresslevel) as opened:  # fmt: skip
            zipf: Any = opened  # its private state, as zipfile's own write() keeps it
            fd = zipf.fp.fileno()
            if not zipf._seekable or not stat.S_ISREG(_fstat(fd).st_mode):
                raise _Own('an output that is not a regular file')
            start = zipf.start_dir
            paths = [_fsencode(e[1]) for e in files]
            with archive.ZipJob(paths, [e[3] for e in files], level) as job:
                with _Scratch(compression, compresslevel) as scratch:
                    # The library compresses from the start; the entries are made meanwhile
                    # and handed over in batches, each written as its data is ready.
                    for index, entry in enumerate(entries):
                        if entry[0] == 'file':
                            infos.append(_file_entry(zipf, job, from_file, *entry[1:]))
                            digests.append(None)
                        else:
                            if entry[0] == 'dir':
                                data, zinfo = scratch.write(entry[1], entry[2])
                                digests.append(blob_id.EMPTY)
                            else:
                                data, zinfo, digest = scratch.symlink(*entry[1:])
                                digests.append(digest)
                            job.add_bytes(data)
                            infos.append(zinfo)
                        if index % _BATCH == _BATCH - 1:
                            job.write(fd, start)
                end = job.finish(fd, start)
                results, hashes = job.results()
            for index, zinfo in enumerate(infos):
                at = index * 4
                zinfo.header_offset = results[at]
                if digests[index] is None:  # a file: zipfile's close() sets these
                    crc, compress_size, file_size = results[at + 1 : at + 4]
                    if file_size > _ZIP64_LIMIT or compress_size > _ZIP64_LIMIT:
                        raise _Own('grown past what zipfile writes without ZIP64')
                    zinfo.compress_size, zinfo.CRC, zinfo.file_size = compress_size, crc, file_size
                    digests[index] = hashes[index * 32 : index * 32 + 32]
                zipf.filelist.append(zinfo)
                zipf.NameToInfo[zinfo.filename] = zinfo
            zipf._didModify = True
            zipf.start_dir = end
            zipf.fp.seek(end)
    blob_id.remember(output_file, [(i.filename, d) for i, d in zip(infos, digests)])  # type: ignore[misc]
    return done


def _genuine_from_file() -> bool:
    """zipfile's own ZipInfo.from_file (whose body _from_file repeats, the same on Python
    3.8-3.13), not a mock of it."""
    held = zipfile.ZipInfo.__dict__.get('from_file')
    function = getattr(held, '__func__', None)
    return (
        type(held) is classmethod
        and getattr(function, '__module__', None) == 'zipfile'
        and getattr(function, '__qualname__', None) == 'ZipInfo.from_file'
    )


def _from_file(arcname, size, mtime, mode, strict_timestamps) -> zipfile.ZipInfo:
    """zipfile's ZipInfo.from_file(path, arcname) of a regular file, from the stat the walk
    made (zipfile's would stat it again)."""
    date_time = time.localtime(mtime)[0:6]
    if not strict_timestamps and date_time[0] < 1980:
        date_time = (1980, 1, 1, 0, 0, 0)
    elif not strict_timestamps and date_time[0] > 2107:
        date_time = (2107, 12, 31, 23, 59, 59)
    arcname = os.path.normpath(os.path.splitdrive(arcname)[1])
    while arcname[0] in (os.sep, os.altsep):
        arcname = arcname[1:]
    zinfo = zipfile.ZipInfo(arcname, date_time)
    zinfo.external_attr = (mode & 0xFFFF) << 16
    zinfo.file_size = size
    return zinfo


def _file_entry(zipf, job, from_file, path, name, size, mtime, mode) -> zipfile.ZipInfo:
    """zipfile's `write(path, name)` of a regular file up to its first header: the same
    ZipInfo, fields set in the order zipfile sets them; the library writes the data and the
    header with the CRC and sizes, as zipfile's close() rewrites it."""
    if from_file is not None:
        zinfo = from_file(name, size, mtime, mode, zipf._strict_timestamps)
    else:
        zinfo = zipfile.ZipInfo.from_file(path, name, strict_timestamps=zipf._strict_timestamps)
        if zinfo.is_dir() or zinfo.file_size != size:
            raise _Own('the file changed since it was listed')
    zinfo.compress_type = zipf.compression
    setattr(zinfo, _LEVEL_FIELD, zipf.compresslevel)
    zinfo.compress_size = 0  # zipfile's _open_to_write, from here
    zinfo.CRC = 0
    zinfo.flag_bits = 0x00
    if not zinfo.external_attr:
        zinfo.external_attr = 0o600 << 16
    job.add_file(zinfo.FileHeader(False))
    return zinfo


class _Scratch:
    """A zip in memory that zipfile writes directory and symlink entries to, exactly as it
    writes them for SkyPilot: each entry's bytes are taken from it as they are."""

    def __init__(self, compression, compresslevel) -> None:
        self.buffer = io.BytesIO()
        self.zipf = zipfile.ZipFile(self.buffer, 'w', compression=compression,
                                    compresslevel=compresslevel)  # fmt: skip

    def __enter__(self) -> '_Scratch':
        return self

    def __exit__(self, *exc) -> None:
        self.zipf.filelist.clear()  # nothing of it is wanted: its central directory is empty
        self.zipf.close()

    def _taken(self) -> Tuple[bytes, zipfile.ZipInfo]:
        data = self.buffer.getvalue()
        zinfo = self.zipf.filelist.pop()
        self.zipf.NameToInfo.clear()
        self.buffer.seek(0)
        self.buffer.truncate()
        self.zipf.start_dir = 0
        return data, zinfo

    def write(self, path, name) -> Tuple[bytes, zipfile.ZipInfo]:
        self.zipf.write(path, name)
        return self._taken()

    def symlink(self, path, name, is_dir) -> Tuple[bytes, zipfile.ZipInfo, bytes]:
        """SkyPilot's symlink entry: its target, made relative, as the entry's content."""
        target = os.readlink(path)
        if os.path.isabs(target):
            target = os.path.relpath(target, os.path.dirname(path))
        zinfo = zipfile.ZipInfo(name + '/') if is_dir else zipfile.ZipInfo(name)
        zinfo.external_attr = 0xA1ED0000
        self.zipf.writestr(zinfo, target)
        data, zinfo = self._taken()
        return data, zinfo, hashlib.sha256(target.encode('utf-8')).digest()
