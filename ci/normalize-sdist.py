"""Rewrites an sdist so that the same commit always gives the same bytes.

Usage: python ci/normalize-sdist.py DIST.tar.gz ...
Entries sorted by name, owner root/root with no names, times from SOURCE_DATE_EPOCH, modes
0644 (0755 for directories and executables), and a gzip header with no name and that time.
"""

import gzip
import io
import os
import sys
import tarfile


def normalize(path: str, epoch: int) -> None:
    with tarfile.open(path, 'r:gz') as source:
        members = sorted(source.getmembers(), key=lambda m: m.name)
        contents = {m.name: source.extractfile(m).read() for m in members if m.isfile()}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w', format=tarfile.PAX_FORMAT) as target:
        for member in members:
            member.mtime = epoch
            member.uid = member.gid = 0
            member.uname = member.gname = ''
            member.pax_headers = {}
            executable = member.isdir() or member.mode & 0o111
            member.mode = 0o755 if executable else 0o644
            data = contents.get(member.name)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    with open(path, 'wb') as out:
        with gzip.GzipFile(filename='', mode='wb', fileobj=out, mtime=epoch) as zipped:
            zipped.write(raw.getvalue())


if __name__ == '__main__':
    timestamp = int(os.environ.get('SOURCE_DATE_EPOCH', '315532800'))
    for name in sys.argv[1:]:
        normalize(name, timestamp)
