"""The served zip against SkyPilot's own zip on every Python the wheel serves (3.8-3.13; each
has its own zipfile), without importing SkyPilot (which needs its dependencies): SkyPilot's
`zip_files_and_folders` and `_compute_zip_blob_id` are taken from the reference release's
published wheel, their source run in a namespace of the modules they import, with
`get_excluded_files` answering nothing (exclusions are compared in test_skypilot_zip.py,
where SkyPilot is installed)."""

import ast
import hashlib
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import types
import warnings
import zipfile
from typing import List, Optional, TextIO, Union

import pytest
from conftest import BACKENDS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_skypilot_zip import SMALL_BLOCK, _node, build, entries

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')
REFERENCE = '0.14.1'


def _reference_wheel() -> str:
    from skyutils import _release

    cache = os.path.expanduser(_release.CACHE)
    prefix = f'skypilot-{REFERENCE}-'
    os.makedirs(cache, exist_ok=True)
    have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
    if not have:
        subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check',
             '--no-deps', '--only-binary=:all:', f'skypilot=={REFERENCE}', '-d', cache],
            check=True, timeout=600,
        )  # fmt: skip
        have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
    return os.path.join(cache, have[0])


def _skypilot_function(wheel: str, path: str, name: str, namespace: dict):
    """SkyPilot's function `name` of the module file `path` in the wheel, defined in
    `namespace` (a module of the names it reads) as its own file defines it."""
    with zipfile.ZipFile(wheel) as z:
        source = z.read(path).decode('utf-8')
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    module = ast.Module(body=[node], type_ignores=[])
    exec(compile(module, path, 'exec'), namespace)
    return namespace[name]


@pytest.fixture(scope='module')
def zippers():
    from skyutils.skypilot import blob_id, zip_files

    wheel = _reference_wheel()
    module = types.ModuleType('sky.data.storage_utils')
    module.__dict__.update(
        os=os, zipfile=zipfile, warnings=warnings, stat=stat, pathlib=pathlib, List=List,
        Optional=Optional, TextIO=TextIO, Union=Union, get_excluded_files=lambda path: [],
    )  # fmt: skip
    own_zip = _skypilot_function(wheel, 'sky/data/storage_utils.py', 'zip_files_and_folders',
                                 module.__dict__)  # fmt: skip
    common = {'hashlib': hashlib, 'zipfile': zipfile, '_HASH_CHUNK_SIZE': 2**18}
    own_id = _skypilot_function(wheel, 'sky/client/common.py', '_compute_zip_blob_id', common)
    return own_zip, zip_files.make(module, own_zip), own_id, blob_id.make(None, own_id)


def _compare(zippers, items, tmp, **kwargs):
    from skyutils.skypilot import zip_files

    own_zip, served_zip, own_id, served_id = zippers
    mine, theirs = os.path.join(tmp, 'served.zip'), os.path.join(tmp, 'own.zip')
    own_zip(items, theirs, **kwargs)
    served_zip(items, mine, **kwargs)
    assert zip_files.last['outcome'] == 'native', zip_files.last['outcome']
    assert entries(mine) == entries(theirs)
    assert served_id(mine) == own_id(theirs) == served_id(theirs) == own_id(mine)


def test_a_tree_on_this_python(zippers, tmp_path, monkeypatch):
    from skyutils._bindings import archive

    monkeypatch.setattr(archive, 'BLOCK', SMALL_BLOCK)
    root = tmp_path / 'w w'
    nodes = [
        ('a/b/c.txt', 'file', b'c' * 5000),
        ('a/e', 'dir', b''),
        ('a/empty', 'file', b''),
        ('l', 'link', b''),
        ('m', 'abslink', b'x'),
        ('ü/日本', 'file', os.urandom(3 * SMALL_BLOCK + 5)),
        ('exact', 'file', b'y' * SMALL_BLOCK),
    ]
    build(str(root), nodes)
    os.symlink(root / 'a', root / 'dirlink')
    out = tmp_path / 'out'
    out.mkdir()
    for kwargs in ({}, {'relative_to_items': True}, {'compresslevel': 1},
                   {'compression': zipfile.ZIP_STORED}):  # fmt: skip
        _compare(zippers, [str(root), str(root / 'a' / 'b' / 'c.txt')], str(out), **kwargs)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(nodes=st.lists(_node, max_size=12), relative=st.booleans())
def test_generated_trees_on_this_python(zippers, nodes, relative):
    tmp = tempfile.mkdtemp()
    try:
        root = os.path.join(tmp, 'w')
        build(root, nodes)
        _compare(zippers, [root], tmp, relative_to_items=relative)
    finally:
        shutil.rmtree(tmp)


def test_blob_id_of_an_overlapped_zip_on_this_python(zippers, tmp_path):
    """A member whose listed compressed size runs into the next member's header: zipfile of
    3.12+ (its _end_offset) refuses to read it ('Overlapped entries'), older ones read it; the
    served id answers as this Python's zipfile does."""
    _, _, own_id, served_id = zippers
    path = tmp_path / 'overlap.zip'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('a', b'alpha' * 1000)
        z.writestr('b', b'beta' * 1000)
    data = bytearray(path.read_bytes())
    at = data.index(b'PK\x01\x02')  # a's central header: its compressed size grows by 40
    size = int.from_bytes(data[at + 20 : at + 24], 'little')
    data[at + 20 : at + 24] = (size + 40).to_bytes(4, 'little')
    path.write_bytes(bytes(data))

    def outcome(function):
        try:
            return ('ok', function(str(path)))
        except Exception as e:
            return ('raises', type(e).__name__, str(e))

    theirs = outcome(own_id)
    assert outcome(served_id) == theirs
    assert (theirs[0] == 'raises') == hasattr(zipfile.ZipInfo(), '_end_offset'), theirs
