"""The verified-bodies table against SkyPilot's published wheels: fingerprints recomputed from
each release's own source (`pip download --no-deps`, nothing installed), and the one body
that differs from the reference release run against skyutils."""

import os
import socket
import subprocess
import sys
import zipfile

import pytest

import skyutils
from skyutils import _fingerprint, _patch, _verified

RELEASES = [
    'skypilot==0.10.0',
    'skypilot==0.10.5',
    'skypilot==0.12.3.post1',
    'skypilot==0.14.1',
    'skypilot-nightly==1.0.0.dev20261027',
]
REQUIRED = os.environ.get('SKYUTILS_REQUIRE_REFERENCE') == '1'


@pytest.fixture(scope='session')
def wheels(tmp_path_factory):
    """The releases' wheels, downloaded once into a cache outside the clone."""
    cache = os.path.join(os.path.expanduser('~'), '.cache', 'skyutils-test-wheels')
    os.makedirs(cache, exist_ok=True)
    found = {}
    for spec in RELEASES:
        name, version = spec.split('==')
        prefix = f"{name.replace('-', '_')}-{version}-"
        have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
        if not have:
            done = subprocess.run(
                [
                    sys.executable,
                    '-m',
                    'pip',
                    'download',
                    '-q',
                    '--no-deps',
                    '--only-binary=:all:',
                    spec,
                    '-d',
                    cache,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
            if done.returncode or not have:
                message = f'cannot download {spec}: {done.stderr.strip()[-300:]}'
                if REQUIRED:
                    pytest.fail(message)
                pytest.skip(message)
        found[version] = os.path.join(cache, have[0])
    return found


def verified(version: str, digests) -> dict:
    return {name: digest in _verified.KNOWN[name] for name, digest in digests.items()}


@pytest.mark.parametrize('version', ['0.10.5', '0.12.3.post1', '0.14.1', '1.0.0.dev20261027'])
def test_every_function_of_these_releases_is_verified(wheels, version):
    digests = _fingerprint.from_wheel(wheels[version], _patch._PATCHABLE)
    assert all(verified(version, digests).values()), digests


def test_an_older_release_differs_where_its_bodies_do(wheels):
    digests = _fingerprint.from_wheel(wheels['0.10.0'], _patch._PATCHABLE)
    unverified = {n for n, ok in verified('0.10.0', digests).items() if not ok}
    # read_last_n_lines came in 0.10.1; get_mem_size_gb ignored the bytes limit before 0.10.5.
    assert unverified == {
        'sky.utils.common_utils.read_last_n_lines',
        'sky.utils.common_utils.get_mem_size_gb',
    }
    assert digests['sky.utils.common_utils.read_last_n_lines'] is None


def test_the_table_lists_only_what_the_wheels_hold(wheels):
    seen = {}
    for path in wheels.values():
        for name, digest in _fingerprint.from_wheel(path, _patch._PATCHABLE).items():
            seen.setdefault(name, set()).add(digest)
    for name, known in _verified.KNOWN.items():
        assert set(known) <= seen[name], name


def test_0_10_5_find_free_port_agrees_with_skyutils(wheels):
    """0.10.5's body (no debug log line) run from its wheel, beside skyutils'."""
    with zipfile.ZipFile(wheels['0.10.5']) as wheel:
        source = wheel.read('sky/utils/common_utils.py').decode()
    start = source.index('def find_free_port(')
    end = source.index('\ndef ', start + 1)
    namespace = {'socket': socket}
    exec(compile(source[start:end], 'common_utils_0_10_5', 'exec'), namespace)
    old = namespace['find_free_port']
    busy = socket.socket()
    busy.bind(('', 0))
    taken = busy.getsockname()[1]
    try:
        for first in (taken, taken - 1, 40000):
            assert old(first) == skyutils.find_free_port(first)
        with pytest.raises(OSError) as theirs:
            old(65535)
        with pytest.raises(OSError) as ours:
            skyutils.find_free_port(65535)
        assert str(theirs.value) == str(ours.value)
    finally:
        busy.close()


def test_fingerprints_do_not_depend_on_comments_or_docstrings():
    source = (
        'X = 3\n\ndef helper():\n    return X\n\n'
        'def f(a):\n    """Doc."""\n    return helper() + a[1]\n'
    )
    other = source.replace('"""Doc."""', '"""Other."""').replace('return X', 'return X  # c')
    changed = source.replace('X = 3', 'X = 4')
    fingerprints = [_fingerprint.fingerprints(s, ['f'])['f'] for s in (source, other, changed)]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]


def _install_nightly(wheels, tmp_path):
    """skypilot-nightly's wheel unpacked into a directory of its own (no dependencies)."""
    target = tmp_path / 'nightly'
    subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '-q',
            '--no-deps',
            '--disable-pip-version-check',
            '--target',
            str(target),
            wheels['1.0.0.dev20261027'],
        ],
        check=True,
        capture_output=True,
    )
    return target


def test_patch_on_an_installed_nightly(wheels, tmp_path):
    """skypilot-nightly installed (its wheel, ahead of the reference on sys.path, whose
    dependencies it uses): found by its distribution name, every body verified, all ten
    replaced, no warning."""
    import reference

    reference.load()  # SkyPilot's dependencies: skip (or fail in CI) without them
    target = _install_nightly(wheels, tmp_path)
    code = (
        'import json, skyutils\n'
        'from sky.utils import common_utils\n'
        'from skyutils import _patch\n'
        'summary = skyutils.patch_skypilot()\n'
        'status = _patch.status()\n'
        'print(json.dumps([common_utils.__file__, status["distribution"],\n'
        '                  status["version"], sorted(summary), status["skipped"],\n'
        '                  common_utils.base36_encode is skyutils.base36_encode]))\n'
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run(
        [sys.executable, '-W', 'error::RuntimeWarning', '-c', code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
    )
    import json

    path, distribution, version, replaced, skipped, served = json.loads(
        done.stdout.strip().splitlines()[-1]
    )
    assert path.startswith(str(target))
    assert (distribution, version) == ('skypilot-nightly', '1.0.0.dev20261027')
    assert skipped == {} and served
    assert {f'{m}.{n}' for m, names in _patch._PATCHABLE.items() for n in names} <= set(replaced)


def test_patch_where_only_the_nightly_is_installed(wheels, tmp_path):
    """An environment whose only SkyPilot is skypilot-nightly (the metadata of the reference
    `skypilot` hidden in the child): found, and all ten replaced. (Up to 1633ef9,
    patch_skypilot asked for a distribution named skypilot and raised 'not installed' here.)"""
    import reference

    reference.load()
    target = _install_nightly(wheels, tmp_path)
    code = (
        'import importlib.metadata as md, json\n'
        'real = md.distribution\n'
        'def only_nightly(name):\n'
        '    if name == "skypilot":\n'
        '        raise md.PackageNotFoundError(name)\n'
        '    return real(name)\n'
        'md.distribution = only_nightly\n'
        'md.version = lambda name: only_nightly(name).version\n'
        'import skyutils\n'
        'from sky.utils import common_utils\n'
        'from skyutils import _patch\n'
        'summary = skyutils.patch_skypilot()\n'
        'print(json.dumps([_patch.installed_skypilot(),\n'
        '                  len([n for n in summary if n.startswith("sky.utils.")])]))\n'
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run(
        [sys.executable, '-c', code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
    )
    import json

    found, replaced = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == ['skypilot-nightly', '1.0.0.dev20261027'] and replaced == 10
