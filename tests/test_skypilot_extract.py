"""The served server extraction against SkyPilot's own `sky.server.server._extract_members`:
the same outcome on every archive of a hostile corpus and of generated ones (hypothesis): the
same tree in the target directory and beside it (names, types, modes, contents, symlink
targets), and the same refusal (exception type and message) after the same files were written.

The corpus: `../` and absolute names, symlinks leading out (directly, through a chain, through
a directory symlink made by an earlier member), a symlink then a file through it, duplicate
names, an existing symlink in the target directory, a file replaced by a directory and back,
a huge expansion ratio, a size or CRC that lies, a local header that is not the central
directory's, a member zipfile reads with another method."""

import os
import shutil
import stat
import threading
import warnings
import zipfile
from contextlib import nullcontext
from pathlib import Path

import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')

LINK_ATTR = (stat.S_IFLNK | 0o777) << 16
DIR_ATTR = ((stat.S_IFDIR | 0o755) << 16) | 0x10
FILE_ATTR = (stat.S_IFREG | 0o644) << 16


@pytest.fixture(scope='module')
def extractors():
    """SkyPilot's own function (never a stub of the hook: proven here) and the served one."""
    import reference

    reference.load()
    from sky.server import server

    import _skyutils_hook
    from skyutils import _served

    own = _skyutils_hook.original_of(server._extract_members)
    assert '_skyutils_entry' not in own.__dict__
    assert own.__code__.co_filename.replace(os.sep, '/').endswith('sky/server/server.py')
    served, why = _served.serve('_extract_members', server, own)
    assert served is not None, why
    return own, served


def make_zip(path, members):
    """members: (name, kind, data) with kind 'file', 'dir', 'link' or 'bz2' (a file zipfile
    compresses with bzip2); files are deflated unless their data is short."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # duplicate names, on purpose
        with zipfile.ZipFile(path, 'w') as z:
            for name, kind, data in members:
                info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
                info.external_attr = {'link': LINK_ATTR, 'dir': DIR_ATTR}.get(kind, FILE_ATTR)
                method = zipfile.ZIP_BZIP2 if kind == 'bz2' else zipfile.ZIP_DEFLATED
                z.writestr(info, data, compress_type=method)


def tree(root):
    """Everything under root: (path, type, permission bits, contents or symlink target)."""
    found = []
    for dirpath, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = os.path.join(dirpath, name)
            st_ = os.lstat(path)
            kind = stat.S_IFMT(st_.st_mode)
            if kind == stat.S_IFLNK:
                body = os.readlink(path)
            elif kind == stat.S_IFREG:
                with open(path, 'rb') as f:
                    body = f.read()
            else:
                body = None
            found.append((os.path.relpath(path, root), kind, st_.st_mode & 0o7777, body))
    return sorted(found, key=lambda t: t[0])


def extract_with(function, zip_path, base, prepare):
    """Runs `function` as SkyPilot's server runs it, into base/t beside base/outside (both
    made by `prepare` first); its outcome, with base's path written as <BASE>."""
    target = base / 't'
    (base / 'outside').mkdir(parents=True)
    target.mkdir()
    prepare(target)
    try:
        with zipfile.ZipFile(zip_path) as zipf:
            function(zipf, zipf.infolist(), target)
        result = ('ok',)
    except Exception as e:
        result = ('raises', type(e).__name__, str(e).replace(str(base), '<BASE>'))
    return result, tree(base)


def nothing(target):
    pass


def compare(extractors, tmp_path, members, prepare=nothing, expect=None, mangle=None):
    """SkyPilot's own and the served extraction of the same zip: the same outcome and trees."""
    from skyutils.skypilot import extract

    own, served = extractors
    zip_path = tmp_path / 'upload.zip'
    make_zip(zip_path, members)
    if mangle is not None:
        zip_path.write_bytes(mangle(zip_path.read_bytes()))
    theirs = extract_with(own, zip_path, tmp_path / 'own', prepare)
    extract.last['outcome'] = None
    mine = extract_with(served, zip_path, tmp_path / 'served', prepare)
    assert mine == theirs
    if expect is not None:
        assert extract.last['outcome'].startswith(expect), extract.last['outcome']
    return theirs[0]


PLAIN = [
    ('a/', 'dir', b''),
    ('a/b/c.txt', 'file', b'c' * 5000),
    ('a/empty', 'file', b''),
    ('short', 'file', b'xy'),
    ('zeros', 'file', bytes(3 << 20)),
    ('random', 'file', os.urandom(200_000)),
    ('a/deep/er/still/f', 'file', b'deep'),
    ('link-to-file', 'link', b'a/b/c.txt'),
    ('a/link-to-dir', 'link', b'deep/er'),
    ('a/dangling', 'link', b'not/yet'),
    ('dirlink/', 'link', b'a'),
    ('spaced name/ünïcode ✓', 'file', b'u'),
    ('/absolute/inside', 'file', b'mapped under the target, as SkyPilot maps it'),
    ('a/./dot/../normal', 'file', b'normalised'),
]


def test_plain_archive_natively(extractors, tmp_path):
    assert compare(extractors, tmp_path, PLAIN, expect='native') == ('ok',)


HOSTILE = {
    'dotdot': [('ok', 'file', b'1'), ('../evil', 'file', b'x'), ('after', 'file', b'2')],
    'dotdot-inside-name': [('a/../../evil', 'file', b'x')],
    'only-dotdot': [('..', 'file', b'x')],
    'root-name': [('/', 'dir', b''), ('x', 'file', b'1')],
    'empty-after-normalising': [('a/..', 'file', b'x')],
    'link-out': [('f', 'file', b'1'), ('l', 'link', b'../outside')],
    'link-absolute': [('l', 'link', b'/etc')],
    'link-to-target-itself': [('l', 'link', b'.'), ('l/f', 'file', b'through')],
    'link-up-then-out': [('a/up', 'link', b'..'), ('b', 'link', b'a/up/../outside')],
    'link-chain': [('l1', 'link', b'l2'), ('l2', 'link', b'../outside'), ('l1/x', 'file', b'x')],
    'chain-made-first': [('l2', 'link', b'..'), ('l1', 'link', b'l2/outside')],
    'dir-link-then-file': [('real/', 'dir', b''), ('d', 'link', b'real'), ('d/f', 'file', b'f')],
    'dir-link-out-then-file': [('d', 'link', b'../outside'), ('d/f', 'file', b'f')],
    'link-then-file-same-name': [('x', 'link', b'y'), ('x', 'file', b'through the link')],
    'file-then-link-same-name': [('x', 'file', b'plain'), ('x', 'link', b'y')],
    'link-twice': [('x', 'link', b'y'), ('x', 'link', b'z')],
    'dir-then-link-same-name': [('x/', 'dir', b''), ('x', 'link', b'y')],
    'duplicates': [('a', 'file', b'first'), ('a', 'file', b'second, longer')],
    'file-then-dir': [('a', 'file', b'f'), ('a/', 'dir', b'')],
    'file-then-file-below': [('a', 'file', b'f'), ('a/b', 'file', b'g')],
    'dir-then-file': [('a/', 'dir', b''), ('a', 'file', b'f')],
    'file-dir-file': [('a/b', 'file', b'1'), ('a', 'file', b'2'), ('a/c', 'file', b'3')],
    'link-target-not-utf8': [('l', 'link', b'\xff\xfe')],
    'link-target-nul': [('l', 'link', b'a\x00b')],
    'link-target-empty': [('l', 'link', b'')],
    'link-target-long': [('l', 'link', b'a/' * 3000)],
    'bzip2-member': [('a', 'file', b'1'), ('b', 'bz2', b'bz' * 1000), ('c', 'file', b'3')],
    'huge-expansion': [('bomb', 'file', bytes(64 << 20))],
}


@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_corpus(extractors, tmp_path, case):
    compare(extractors, tmp_path, HOSTILE[case])


def _existing_link_out(target):
    os.symlink('../outside', target / 'evil')


def _existing_dir(target):
    (target / 'a').mkdir()


def _existing_file_link(target):
    (target / 'real').write_bytes(b'old')
    os.symlink('real', target / 'f')


@pytest.mark.parametrize(
    'members,prepare',
    [
        ([('evil/f', 'file', b'x')], _existing_link_out),
        ([('evil', 'file', b'x')], _existing_link_out),
        ([('evil/', 'dir', b'')], _existing_link_out),
        ([('l', 'link', b'evil/x')], _existing_link_out),
        ([('a', 'file', b'x')], _existing_dir),
        ([('a', 'link', b'b')], _existing_dir),
        ([('f', 'file', b'new')], _existing_file_link),
        ([('ok', 'file', b'1'), ('evil/deeper/f', 'file', b'x')], _existing_link_out),
    ],
    ids=[
        'link-dir',
        'link-file',
        'link-as-dir',
        'target-through',
        'dir-at-file',
        'dir-at-link',
        'file-link-inside',
        'after-a-good-one',
    ],  # fmt: skip
)
def test_existing_target_directory(extractors, tmp_path, members, prepare):
    """The /upload v1 path extracts into a directory that persists: what is there counts."""
    compare(extractors, tmp_path, members, prepare)


def _patch_member(data, name, offset_in_local, value):
    """data with the byte `offset_in_local` of member `name`'s local header changed."""
    at = data.index(b'PK\x03\x04')  # the first local header
    while True:
        length = int.from_bytes(data[at + 26 : at + 28], 'little')
        if data[at + 30 : at + 30 + length] == name:
            patched = bytearray(data)
            patched[at + offset_in_local] = value
            return bytes(patched)
        at = data.index(b'PK\x03\x04', at + 4)


def _central_crc(data, name, xor):
    at = data.index(b'PK\x01\x02')
    while True:
        length = int.from_bytes(data[at + 28 : at + 30], 'little')
        if data[at + 46 : at + 46 + length] == name:
            patched = bytearray(data)
            patched[at + 16] ^= xor
            return bytes(patched)
        at = data.index(b'PK\x01\x02', at + 4)


MEMBERS = [('a', 'file', b'alpha' * 1000), ('b', 'file', b'beta' * 1000), ('l', 'link', b'a')]


@pytest.mark.parametrize(
    'mangle',
    [
        lambda d: _central_crc(d, b'b', 0xFF),
        lambda d: _central_crc(d, b'l', 0x01),
        lambda d: _patch_member(d, b'b', 30, ord('c')),  # the local name is not the central one
        lambda d: _patch_member(d, b'b', 0, ord('X')),  # no local header signature
        lambda d: _patch_member(d, b'b', 6, 0x01),  # encrypted, says the local flag
    ],
    ids=['bad-crc', 'bad-crc-link', 'local-name', 'local-signature', 'local-flag'],
)
def test_archive_that_lies(extractors, tmp_path, mangle):
    compare(extractors, tmp_path, MEMBERS, mangle=mangle)


def test_size_that_lies(extractors, tmp_path):
    """A central directory listing a size shorter than the data: zipfile truncates."""

    def shorter(data):
        at = data.index(b'PK\x01\x02')  # the first member's central header: its size field
        patched = bytearray(data)
        patched[at + 24 : at + 28] = (100).to_bytes(4, 'little')
        return bytes(patched)

    compare(extractors, tmp_path, MEMBERS, mangle=shorter)


def test_target_directory_through_a_symlink(extractors, tmp_path):
    """SkyPilot compares resolved paths with the directory as given: every member refused."""
    from skyutils.skypilot import extract

    own, served = extractors
    zip_path = tmp_path / 'u.zip'
    make_zip(zip_path, PLAIN[:3])
    results = []
    for function, name in ((own, 'own'), (served, 'served')):
        real = tmp_path / f'{name}-real'
        real.mkdir()
        os.symlink(real, tmp_path / name)
        with zipfile.ZipFile(zip_path) as zipf:
            try:
                function(zipf, zipf.infolist(), tmp_path / name)
                results.append(('ok', tree(real)))
            except ValueError as e:
                results.append((str(e), tree(real)))
    assert results[0] == results[1]
    assert extract.last['outcome'].startswith("SkyPilot's own from member 0")


# Plain names more often than hostile ones, so that archives reach the library's own work.
COMPONENTS = ['a', 'b', 'c d'] * 4 + ['..', '.', '']
TARGETS = ['a', 'b/a', 'b', 'c d/a', 'x/y'] * 3 + ['..', '../outside', '/abs', '.', 'a/../b']


@st.composite
def archives(draw):
    members = []
    for _ in range(draw(st.integers(1, 7))):
        name = '/'.join(draw(st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=3)))
        kind = draw(st.sampled_from(['file', 'dir', 'link']))
        if kind == 'dir' and not name.endswith('/'):
            name += '/'
        data = draw(st.sampled_from(TARGETS)).encode() if kind == 'link' else b'%d' % len(members)
        members.append((name, kind, data))
    existing = draw(st.sampled_from([None, 'link-out', 'link-in', 'dir', 'file']))
    return members, existing


def _prepare_existing(existing):
    def prepare(target):
        if existing == 'link-out':
            os.symlink('../outside', target / 'a')
        elif existing == 'link-in':
            (target / 'b').mkdir()
            os.symlink('b', target / 'a')
        elif existing == 'dir':
            (target / 'a' / 'b').mkdir(parents=True)
        elif existing == 'file':
            (target / 'b').write_bytes(b'old')

    return prepare


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(archives())
def test_generated_archives(extractors, tmp_path, archive):
    members, existing = archive
    base = tmp_path / 'g'
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    compare(extractors, base, members, _prepare_existing(existing))


def test_mocked_methods_are_honoured(extractors, tmp_path):
    """A mock of a method SkyPilot's code calls (not a module name the hook watches) is
    honoured: that call is SkyPilot's own, which calls the mock."""
    from unittest import mock

    from skyutils.skypilot import extract

    own, served = extractors
    zip_path = tmp_path / 'u.zip'
    make_zip(zip_path, PLAIN[:4])
    calls = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        calls.append(self.name)
        return real_open(self, *args, **kwargs)

    (tmp_path / 't').mkdir()
    with mock.patch.object(Path, 'open', spy), zipfile.ZipFile(zip_path) as zipf:
        served(zipf, zipf.infolist(), tmp_path / 't')
    assert calls == ['c.txt', 'empty', 'short']
    assert extract.last['outcome'].startswith("SkyPilot's own from member 0")


def test_extractions_at_once_in_threads(extractors, tmp_path):
    """Eight served extractions at once (the server extracts uploads in worker threads)."""
    own, served = extractors
    zip_path = tmp_path / 'u.zip'
    make_zip(zip_path, PLAIN)
    (tmp_path / 'own').mkdir()
    with zipfile.ZipFile(zip_path) as zipf:
        own(zipf, zipf.infolist(), tmp_path / 'own')
    expected = tree(tmp_path / 'own')
    errors = []

    def one(i):
        try:
            target = tmp_path / f't{i}'
            target.mkdir()
            with zipfile.ZipFile(zip_path) as zipf:
                served(zipf, zipf.infolist(), target)
            assert tree(target) == expected
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_served_log(extractors, tmp_path, monkeypatch):
    """SKYUTILS_SERVED_LOG names a file each served call appends its outcome to."""
    import json

    own, served = extractors
    log = tmp_path / 'served.jsonl'
    monkeypatch.setenv('SKYUTILS_SERVED_LOG', str(log))
    zip_path = tmp_path / 'u.zip'
    make_zip(zip_path, PLAIN[:3] + [('../evil', 'file', b'x')])
    for name in ('a', 'b'):
        (tmp_path / name).mkdir()
        with zipfile.ZipFile(zip_path) as zipf:
            members = zipf.infolist() if name == 'a' else zipf.infolist()[:3]
            with pytest.raises(ValueError) if name == 'a' else nullcontext():
                served(zipf, members, tmp_path / name)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(x['pid'], x['function']) for x in lines] == [(os.getpid(), '_extract_members')] * 2
    assert lines[0]['outcome'].startswith("SkyPilot's own from member 3")
    assert lines[1]['outcome'] == 'native'
