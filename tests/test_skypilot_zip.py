"""The served workdir zip and blob id against SkyPilot's own
`sky.data.storage_utils.zip_files_and_folders` and `sky.client.common._compute_zip_blob_id`:
the same entries (every central-directory field but the compressed size and offset, every local
header field but the compressed size, the same contents) on generated trees (hypothesis: names
with spaces and non-UTF-8 bytes, empty directories and files, symlinks to files and directories,
absolute symlinks, .gitignore and .skyignore, files of exactly the block size), the same errors,
the same blob id for either zip, the zip extracted by SkyPilot's own server code to the same
tree; and what the library must hold to: a file growing while zipped, a FIFO, a socket, memory
bounded on a large file, SIGINT mid-zip."""

import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')
FIELDS = ('filename', 'orig_filename', 'date_time', 'compress_type', 'external_attr', 'flag_bits',
          'create_system', 'create_version', 'extract_version', 'file_size', 'CRC', 'extra',
          'comment', 'volume', 'internal_attr', 'reserved')  # fmt: skip
SMALL_BLOCK = 64 * 1024  # what the tests split large files with (the library's least: 32 KiB)


@pytest.fixture(scope='module')
def zippers():
    """SkyPilot's own two functions (never a stub of the hook: proven here) and the served."""
    import reference

    reference.load()
    from sky.client import common
    from sky.data import storage_utils

    import _skyutils_hook
    from skyutils import _served

    own_zip = _skyutils_hook.original_of(storage_utils.zip_files_and_folders)
    own_id = _skyutils_hook.original_of(common._compute_zip_blob_id)
    for own, path in ((own_zip, 'sky/data/storage_utils.py'), (own_id, 'sky/client/common.py')):
        assert '_skyutils_entry' not in own.__dict__
        assert own.__code__.co_filename.replace(os.sep, '/').endswith(path)
    served_zip, why = _served.serve('zip_files_and_folders', storage_utils, own_zip)
    assert served_zip is not None, why
    served_id, why = _served.serve('_compute_zip_blob_id', common, own_id)
    assert served_id is not None, why
    return own_zip, served_zip, own_id, served_id


@pytest.fixture
def small_blocks(monkeypatch):
    from skyutils._bindings import archive

    monkeypatch.setattr(archive, 'BLOCK', SMALL_BLOCK)


def _local_headers(path, infos):
    """Each member's local header fields, its compressed size left out (it may differ)."""
    found = []
    with open(path, 'rb') as f:
        for info in infos:
            f.seek(info.header_offset)
            fixed = f.read(30)
            fields = list(struct.unpack('<4s5H3L2H', fixed))
            del fields[7]  # the compressed size
            found.append((fields, f.read(fields[-2] + fields[-1])))
    return found


def entries(path):
    """What a zip holds, but for what may differ (the compressed sizes and offsets)."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        infos = z.infolist()
        described = [({k: getattr(i, k) for k in FIELDS}, z.read(i)) for i in infos]
        return described, _local_headers(path, infos), z.comment


def outcome(function, *args, **kwargs):
    try:
        return ('ok', function(*args, **kwargs))
    except Exception as e:
        return ('raises', type(e), str(e))


def compare(zippers, items, tmp, expect='native', **kwargs):
    """Zips `items` both ways; the zips hold the same, and every blob id agrees."""
    from skyutils.skypilot import blob_id, zip_files

    own_zip, served_zip, own_id, served_id = zippers
    mine, theirs = os.path.join(tmp, 'served.zip'), os.path.join(tmp, 'own.zip')
    got = outcome(own_zip, items, theirs, **kwargs)
    zip_files.last['outcome'] = None
    assert outcome(served_zip, items, mine, **kwargs) == got
    if got[0] == 'raises':
        return got
    assert zip_files.last['outcome'].startswith(expect), zip_files.last['outcome']
    assert entries(mine) == entries(theirs)
    expected = own_id(theirs)
    assert own_id(mine) == expected
    assert served_id(mine) == expected
    assert blob_id.last['outcome'] == ('written here' if expect == 'native' else "SkyPilot's own")
    assert served_id(theirs) == expected
    assert blob_id.last['outcome'] == 'read natively'
    if shutil.which('unzip'):
        subprocess.run(['unzip', '-tq', mine], check=True, capture_output=True)
    return got


# A tree: (relative path, kind, payload); kinds: dir, file (bytes), link (target, absolute?).
_name = st.text(alphabet=st.sampled_from('ab c-_.é日'), min_size=1, max_size=8).filter(
    lambda n: n not in ('.', '..')
)
_content = st.one_of(
    st.just(b''),
    st.binary(max_size=300),
    st.sampled_from(
        [SMALL_BLOCK, SMALL_BLOCK - 1, SMALL_BLOCK + 1, 2 * SMALL_BLOCK, 3 * SMALL_BLOCK + 7]
    ).map(lambda n: (b'line of text %d\n' * (n // 15 + 1))[:n]),
)
_node = st.tuples(
    st.lists(_name, min_size=1, max_size=3).map(lambda p: os.path.join(*p)),
    st.sampled_from(['dir', 'file', 'file', 'link', 'abslink']),
    _content,
)


def build(root, nodes, ignores=()):
    """Makes the tree under root; nodes that collide with an earlier one are left out."""
    os.makedirs(root, exist_ok=True)
    made = []
    for rel, kind, content in nodes:
        path = os.path.join(root, rel)
        if (
            os.path.lexists(path)
            or not os.path.isdir(os.path.dirname(path))
            and os.path.lexists(os.path.dirname(path))
        ):
            continue
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if kind == 'dir':
                os.makedirs(path)
            elif kind == 'file':
                with open(path, 'wb') as f:
                    f.write(content)
            else:
                target = made[len(content) % len(made)] if made else rel
                target = (
                    os.path.join(root, target)
                    if kind == 'abslink'
                    else os.path.relpath(os.path.join(root, target), os.path.dirname(path))
                )
                os.symlink(target, path)
        except OSError:
            continue
        made.append(rel)
    for name, text in ignores:
        with open(os.path.join(root, name), 'w') as f:
            f.write(text)
    return made


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    nodes=st.lists(_node, max_size=14),
    relative=st.booleans(),
    level=st.sampled_from([None, 1, 6, 9]),
    stored=st.booleans(),
    ignores=st.lists(
        st.tuples(
            st.sampled_from(['.skyignore', '.gitignore']),
            st.sampled_from(['a\n', '*.x\n', '/b\nc\n', 'a*/\n']),
        ),
        max_size=2,
    ),
)
def test_generated_trees(zippers, small_blocks, nodes, relative, level, stored, ignores):
    tmp = tempfile.mkdtemp()
    try:
        root = os.path.join(tmp, 'work dir')
        build(root, nodes, ignores)
        if any(name == '.gitignore' for name, _ in ignores):
            subprocess.run(['git', 'init', '-q', root], check=True)
        kwargs = {'relative_to_items': relative, 'compresslevel': level}
        if stored:
            kwargs.update(compression=zipfile.ZIP_STORED, compresslevel=None)
        compare(zippers, [root], tmp, **kwargs)
    finally:
        shutil.rmtree(tmp)


def test_items_files_links_and_missing(zippers, tmp_path):
    (tmp_path / 'd' / 'e').mkdir(parents=True)
    (tmp_path / 'd' / 'e' / 'f.txt').write_text('x' * 1000)
    (tmp_path / 'one.txt').write_text('one')
    os.symlink(tmp_path / 'd', tmp_path / 'dirlink')
    os.symlink(tmp_path / 'one.txt', tmp_path / 'filelink')
    os.symlink('nowhere', tmp_path / 'd' / 'broken')
    items = [str(tmp_path / 'one.txt'), str(tmp_path / 'd'), str(tmp_path / 'dirlink'),
             str(tmp_path / 'filelink'), str(tmp_path / 'one.txt')]  # fmt: skip
    out = tmp_path / 'out'
    out.mkdir()
    compare(zippers, items, str(out))
    compare(zippers, items, str(out), relative_to_items=True)
    got = compare(zippers, [str(tmp_path / 'one.txt'), str(tmp_path / 'missing')], str(out))
    assert got == ('raises', ValueError, f'{tmp_path / "missing"} does not exist.')


def test_log_file_lines(zippers, tmp_path):
    import io

    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x').write_text('x')
    (tmp_path / 'b.txt').write_text('b')
    own_zip, served_zip, _, _ = zippers
    logs = []
    for zipper, name in ((own_zip, 'own.zip'), (served_zip, 'served.zip')):
        log = io.StringIO()
        zipper([str(tmp_path / 'a'), str(tmp_path / 'b.txt')], str(tmp_path / name), log)
        logs.append(log.getvalue())
    assert logs[0] == logs[1] == f'Zipped {tmp_path / "a"}\nZipped {tmp_path / "b.txt"}\n'


def test_non_utf8_name_raises_as_skypilot(zippers, tmp_path):
    root = tmp_path / 'w'
    root.mkdir()
    with open(os.path.join(os.fsencode(root), b'bad\xff.txt'), 'wb') as f:
        f.write(b'x')
    got = compare(zippers, [str(root)], str(tmp_path))
    assert got[0] == 'raises' and got[1] is UnicodeEncodeError


def test_socket_skipped_and_fifo_read_as_skypilot_reads_it(zippers, tmp_path):
    root = tmp_path / 'w'
    root.mkdir()
    (root / 'plain').write_text('plain')
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / 'sock'))
    try:
        compare(zippers, [str(root)], str(tmp_path))
        os.mkfifo(root / 'fifo')
        from skyutils.skypilot import zip_files

        own_zip, served_zip, _, _ = zippers
        for zipper, name in ((own_zip, 'own.zip'), (served_zip, 'served.zip')):
            # A writer that comes late, one for each zip (the FIFO is opened once by each).
            writer = threading.Thread(target=_late_writer, args=(root / 'fifo',), daemon=True)
            writer.start()
            zipper([str(root)], str(tmp_path / name))
            writer.join(10)
        assert zip_files.last['outcome'].startswith("SkyPilot's own")
        # A write moves the FIFO's mtime (so its entry's date_time) between the two zips.
        both = [entries(tmp_path / name) for name in ('own.zip', 'served.zip')]
        for described, _, _ in both:
            for fields, _ in described:
                if fields['filename'].endswith('/fifo'):
                    fields.pop('date_time')
        assert [b[0] for b in both] == [b[0] for b in both[:1]] * 2
    finally:
        server.close()


def _late_writer(path):
    with open(path, 'wb') as f:
        time.sleep(0.2)
        f.write(b'from the fifo')


def _zip_while_appending(served_zip, root, out, path, chunk, pause, most=None, head_start=0.0):
    """Zips `root` while a thread appends `chunk` to `path` every `pause` seconds (`most`
    times at most), from `head_start` seconds before the zip until it ends."""
    stop = threading.Event()

    def writer():
        with open(path, 'ab') as f:
            count = 0
            while not stop.is_set() and (most is None or count < most):
                f.write(chunk)
                f.flush()
                count += 1
                time.sleep(pause)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(head_start)
        served_zip([str(root)], str(out))
    finally:
        stop.set()
        thread.join()


def test_file_growing_while_zipped(zippers, tmp_path):
    """A file appended to while zipped (a log, ~1 MB/s): the zip is sound, and holds the file
    as it was at some moment (a prefix of what it became, no shorter than it was). A file that
    grows by a block or more while read is SkyPilot's own to zip (test_file_racing_away)."""
    from skyutils.skypilot import zip_files

    _, served_zip, _, _ = zippers
    root = tmp_path / 'w'
    root.mkdir()
    grow = root / 'log.txt'
    grow.write_bytes(b'start\n' * 50_000)
    for i in range(200):
        (root / f'f{i}').write_bytes(os.urandom(20_000))
    before = grow.stat().st_size
    _zip_while_appending(served_zip, root, tmp_path / 'z.zip', grow, b'more\n' * 100, 0.0005)
    final = grow.read_bytes()
    with zipfile.ZipFile(tmp_path / 'z.zip') as z:
        assert z.testzip() is None
        got = z.read(str(grow).lstrip('/'))
    assert before <= len(got) and final.startswith(got)
    assert zip_files.last['outcome'] == 'native', zip_files.last['outcome']


def test_file_racing_away(zippers, tmp_path, small_blocks):
    """A file that grows by more than a block while read: SkyPilot's own zips it all."""
    from skyutils.skypilot import zip_files

    _, served_zip, _, _ = zippers
    root = tmp_path / 'w'
    root.mkdir()
    grow = root / 'log.txt'
    grow.write_bytes(b'x' * 100)
    for i in range(100):
        (root / f'f{i}').write_bytes(os.urandom(50_000))
    # 8 MiB at most: SkyPilot's own copy reads until the file stops growing.
    _zip_while_appending(served_zip, root, tmp_path / 'z.zip', grow, b'y' * 65536, 0.001, 128,
                         head_start=0.05)  # fmt: skip
    assert zip_files.last['outcome'].startswith("SkyPilot's own"), zip_files.last['outcome']
    with zipfile.ZipFile(tmp_path / 'z.zip') as z:
        assert z.testzip() is None


def test_blob_id_of_a_zip_changed_after_writing(zippers, tmp_path):
    """The free id is given only while the zip is what was written."""
    from skyutils.skypilot import blob_id

    _, served_zip, own_id, served_id = zippers
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / 'a').write_text('a')
    out = tmp_path / 'z.zip'
    served_zip([str(tmp_path / 'w')], str(out))
    assert served_id(str(out)) == own_id(str(out))
    assert blob_id.last['outcome'] == 'written here'
    with zipfile.ZipFile(out, 'a') as z:
        z.writestr('added', b'later')
    assert served_id(str(out)) == own_id(str(out))
    assert blob_id.last['outcome'] == 'read natively'
    out.write_bytes(b'not a zip')
    assert outcome(served_id, str(out)) == outcome(own_id, str(out))
    assert outcome(served_id, str(tmp_path / 'none.zip')) == outcome(
        own_id, str(tmp_path / 'none.zip')
    )


def test_blob_id_of_zips_zipfile_reads_otherwise(zippers, tmp_path):
    """Members the library does not read as zipfile would (another method, a bad CRC,
    encrypted) are SkyPilot's own: the same id, or the same error."""
    _, _, own_id, served_id = zippers
    out = tmp_path / 'odd.zip'
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_BZIP2) as z:
        z.writestr('a', b'bzip2 data' * 100)
        z.writestr('d/', b'')
    assert served_id(str(out)) == own_id(str(out))
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr('a', b'good data' * 100)
        z.writestr('b', b'more data' * 100)
    data = bytearray(out.read_bytes())
    at = data.index(b'PK\x01\x02')  # the first central header: corrupt its CRC
    data[at + 16] ^= 0xFF
    out.write_bytes(bytes(data))
    assert outcome(served_id, str(out)) == outcome(own_id, str(out))


def test_server_extracts_the_same_tree(zippers, tmp_path):
    """SkyPilot's own server code (sky.server.server's extraction) makes the same tree of the
    served zip as of SkyPilot's own."""
    import asyncio
    import pathlib

    from sky.server import server

    own_zip, served_zip, _, _ = zippers
    root = tmp_path / 'w'
    nodes = [
        ('a/b/c.txt', 'file', b'c' * 5000),
        ('a/e', 'dir', b''),
        ('l', 'link', b''),
        ('m', 'abslink', b'x'),
        ('big', 'file', os.urandom(300_000)),
    ]
    build(str(root), nodes)
    trees = []
    for zipper, name in ((own_zip, 'own'), (served_zip, 'served')):
        zip_path = tmp_path / f'{name}.zip'
        zipper([str(root)], str(zip_path), relative_to_items=True)
        target = tmp_path / f'{name}-out'
        target.mkdir()
        asyncio.run(server.unzip_file(pathlib.Path(zip_path), target))
        tree = []
        for dirpath, dirs, files in os.walk(target):
            for n in sorted(dirs + files):
                p = os.path.join(dirpath, n)
                st = os.lstat(p)
                body = os.readlink(p) if stat.S_ISLNK(st.st_mode) else (
                    open(p, 'rb').read() if stat.S_ISREG(st.st_mode) else None)  # fmt: skip
                tree.append(
                    (os.path.relpath(p, target), stat.S_IFMT(st.st_mode), st.st_mode & 0o777, body)
                )
        trees.append(sorted(tree, key=lambda t: t[0]))
    assert trees[0] == trees[1] and trees[0]


_CHILD = r'''
import os, resource, sys, zipfile
sys.path.insert(0, {tests!r})
import reference
reference.load()
from sky.data import storage_utils
import _skyutils_hook
from skyutils import _served
own = _skyutils_hook.original_of(storage_utils.zip_files_and_folders)
served, why = _served.serve('zip_files_and_folders', storage_utils, own)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
served([{root!r}], {out!r})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from skyutils.skypilot import zip_files
print(zip_files.last['outcome'], (after - before) // 1024)
'''


@pytest.mark.volume
def test_memory_bounded_on_a_large_file(zippers, tmp_path):  # zippers: SkyPilot is here
    """A 256 MiB file: the process grows by a few blocks, not by the file."""
    root = tmp_path / 'w'
    root.mkdir()
    with open(root / 'big', 'wb') as f:
        for _ in range(256):
            f.write(os.urandom(1 << 19) + b'text ' * (1 << 17) * 0 + os.urandom(1 << 19))
    code = _CHILD.format(
        tests=os.path.dirname(__file__), root=str(root), out=str(tmp_path / 'z.zip')
    )
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    outcome_, grown = done.stdout.split()[-2:]
    assert done.stdout.startswith('native'), done.stdout
    assert int(grown) < 64, f'grew by {grown} MiB'


_SIGINT_CHILD = r'''
import os, sys, threading, time
sys.path.insert(0, {tests!r})
import reference
reference.load()
from sky.data import storage_utils
import _skyutils_hook
from skyutils import _served
own = _skyutils_hook.original_of(storage_utils.zip_files_and_folders)
served, why = _served.serve('zip_files_and_folders', storage_utils, own)
print('ready', flush=True)
try:
    served([{root!r}], {out!r})
    print('finished')
except KeyboardInterrupt:
    time.sleep(0.2)
    fds = [f for f in os.listdir('/proc/self/fd')
           if os.path.realpath('/proc/self/fd/' + f).startswith({root!r})]
    print('interrupted', len(fds), threading.active_count())
'''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='/proc/self/fd')
def test_sigint_mid_zip(zippers, tmp_path):  # zippers: SkyPilot is importable here
    """Ctrl-C mid-zip: KeyboardInterrupt soon, no file of the tree left open, no thread left."""
    root = tmp_path / 'w'
    root.mkdir()
    for i in range(40):  # hex text: deflate works on it (random bytes would just be stored)
        (root / f'f{i}').write_bytes(os.urandom(2 << 20).hex().encode())
    code = _SIGINT_CHILD.format(
        tests=os.path.dirname(__file__), root=str(root), out=str(tmp_path / 'z.zip')
    )
    child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == 'ready'
    time.sleep(1.0)
    started = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    assert out.split()[:3] == ['interrupted', '0', '1'], out
    assert time.monotonic() - started < 5


def test_zips_at_once_in_threads(zippers, tmp_path, small_blocks):
    """SkyPilot's server zips in threads (asyncio.to_thread): eight served zips at once, each
    the same as SkyPilot's own of its tree, and each id free and right."""
    own_zip, served_zip, own_id, served_id = zippers
    roots = []
    for i in range(8):
        root = tmp_path / f'w{i}'
        nodes = [
            (f'd{i}/f', 'file', os.urandom(SMALL_BLOCK * (i % 3) + i * 1000)),
            ('t.txt', 'file', b'text %d\n' % i * 20_000),
            ('e', 'dir', b''),
        ]
        build(str(root), nodes)
        roots.append(root)
    failures = []

    def one(root):
        try:
            served_zip([str(root)], str(root) + '.served.zip')
            assert served_id(str(root) + '.served.zip') == own_id(str(root) + '.served.zip')
        except BaseException as e:  # reported below, on the test's thread
            failures.append(e)

    threads = [threading.Thread(target=one, args=(root,)) for root in roots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    for root in roots:
        own_zip([str(root)], str(root) + '.own.zip')
        assert entries(str(root) + '.served.zip') == entries(str(root) + '.own.zip')
