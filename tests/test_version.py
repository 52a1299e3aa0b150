"""One version: skyutils/_version.py defines it; everything else reads it or is held to it here."""

import os
import re
from importlib import metadata

import pytest

import skyutils
from skyutils import _native

ROOT = os.path.join(os.path.dirname(__file__), '..')
NATIVE = os.path.join(ROOT, 'native')
in_checkout = pytest.mark.skipif(
    not os.path.isfile(os.path.join(NATIVE, 'Cargo.toml'))
    or not os.path.isfile(os.path.join(ROOT, 'pyproject.toml')),
    reason='the source tree (pyproject.toml, native/Cargo.toml) is not here',
)


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding='utf-8') as f:
        return f.read()


@in_checkout
def test_pyproject_reads_the_version_from_the_package():
    pyproject = _read('pyproject.toml')
    project = re.search(r'^\[project\]\n(.*?)^\[', pyproject, re.M | re.S).group(1)
    assert not re.search(r'^version\s*=', project, re.M)  # no second written version
    assert re.search(r'^dynamic = \["version"\]', project, re.M)
    dynamic = re.search(
        r'^\[tool\.setuptools\.dynamic\]\n(.*?)(^\[|\Z)', pyproject, re.M | re.S
    ).group(1)
    assert 'version = { attr = "skyutils._version.__version__" }' in dynamic


@in_checkout
def test_the_crate_has_the_package_version():
    package = re.search(
        r'^\[package\]\nname = "skyutils-native"\nversion = "([^"]+)"',
        _read('native', 'Cargo.toml'),
        re.M,
    )
    assert package and package.group(1) == skyutils.__version__
    locked = re.search(
        r'^name = "skyutils-native"\nversion = "([^"]+)"', _read('native', 'Cargo.lock'), re.M
    )
    assert locked and locked.group(1) == skyutils.__version__


def test_installed_metadata_and_library_say_the_same():
    assert metadata.version('skypilot-rust') == skyutils.__version__
    if _native.LIB is not None:
        assert _native.LOADED.version == skyutils.__version__
