"""SkyPilot's `_compute_zip_blob_id` (sky.client.common), served: SkyPilot's content id of a
zip (sha256 over its entries' (name, sha256 of content), sorted by name).

For a zip this process just wrote (skyutils.skypilot.zip_files) the entries' digests were
computed while compressing: the id is free, if the file is still what was written (same
inode, size, modification and change times to the nanosecond). For any other zip, zipfile
reads the central directory and the library inflates and hashes the members in parallel;
whatever the library cannot read exactly as zipfile would is SkyPilot's own.
"""

import hashlib
import os
import threading
import zipfile
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Tuple

from skyutils.skypilot import note

EMPTY = hashlib.sha256(b'').digest()
_KEPT = 8  # zips remembered (their entries' names and digests), newest kept
# Flag bits zipfile does not read plainly: encrypted, patched data, strong encryption.
_NOT_PLAIN = 0x1 | 0x20 | 0x40
_UTF8 = 0x800

_written: 'OrderedDict[str, Tuple[tuple, List[Tuple[str, bytes]]]]' = OrderedDict()
_lock = threading.Lock()  # zips may be written from several threads (SkyPilot's server does)


def _key(path) -> str:
    return os.path.abspath(os.fsdecode(os.fspath(path)))


def _identity(st) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def remember(path, entries: List[Tuple[str, bytes]]) -> None:
    """Keeps the (name, sha256) of each entry of the zip just written at `path`."""
    key = _key(path)
    identity = _identity(os.stat(path))
    with _lock:
        _written.pop(key, None)
        _written[key] = (identity, entries)
        while len(_written) > _KEPT:
            _written.popitem(last=False)


def forget(path) -> None:
    try:
        key = _key(path)
    except (TypeError, ValueError):
        return
    with _lock:
        _written.pop(key, None)


def blob_id(entries: List[Tuple[str, bytes]]) -> str:
    """SkyPilot's id of a zip with these entries."""
    h = hashlib.sha256()
    for name, digest in sorted(entries, key=lambda e: e[0]):
        h.update(name.encode('utf-8'))
        h.update(digest)
    return h.hexdigest()


def known(zip_path) -> Optional[List[Tuple[str, bytes]]]:
    """The entries of a zip written here, if the file is still what was written."""
    try:
        key = _key(zip_path)
        with _lock:
            held = _written.get(key)
        if held is None or held[0] != _identity(os.stat(zip_path)):
            return None
    except (OSError, TypeError, ValueError):
        return None
    return held[1]


def read(zip_path) -> Optional[List[Tuple[str, bytes]]]:
    """The entries of any zip, members hashed by the library; None where zipfile must."""
    from skyutils._bindings import archive

    entries: List[Tuple[str, bytes]] = []
    members = []
    at = []
    with zipfile.ZipFile(zip_path, 'r') as zipf:
        for info in zipf.infolist():
            name = info.filename
            is_symlink = (info.external_attr >> 28) == 0xA
            if name.endswith('/') and not is_symlink:
                entries.append((name, EMPTY))
                continue
            if info.flag_bits & _NOT_PLAIN or info.compress_type not in (0, 8):
                return None
            raw = info.orig_filename.encode('utf-8' if info.flag_bits & _UTF8 else 'cp437')
            at.append(len(entries))
            entries.append((name, b''))
            end = getattr(info, '_end_offset', None)  # zipfile's overlap check (3.12+)
            end = -1 if end is None else end
            members.append((info.header_offset, info.compress_size, info.file_size,
                            info.compress_type, info.CRC, raw, end))  # fmt: skip
    digests = archive.hash_members(os.fsencode(os.fspath(zip_path)), members)
    if digests is None:
        return None
    for index, digest in zip(at, digests):
        entries[index] = (entries[index][0], digest)
    return entries


# How the last call here was served: 'written here', 'read natively', or SkyPilot's own.
last: Dict[str, Optional[str]] = {'outcome': None}


def make(module, original: Callable) -> Callable:
    def _compute_zip_blob_id(zip_path):
        entries = known(zip_path)
        outcome = 'written here'
        if entries is None:
            outcome = 'read natively'
            try:
                entries = read(zip_path)
            except Exception as e:  # zipfile's errors are SkyPilot's to raise, as it raises them
                outcome = f"SkyPilot's own: {type(e).__name__}: {e}"
                entries = None
        if entries is None:
            own = outcome if outcome.startswith('SkyPilot') else "SkyPilot's own"
            note(last, '_compute_zip_blob_id', own)
            return original(zip_path)
        note(last, '_compute_zip_blob_id', outcome)
        return blob_id(entries)

    return _compute_zip_blob_id
