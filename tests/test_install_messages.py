"""A Python-only build says so, and says how to get the library: once while it builds (pip
shows it with -v), and again in `skyutils info` of the install."""

import os
import subprocess
import sys
import zipfile

import pytest

from skyutils import _native

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(ROOT, 'build_native.py')), reason='needs the source tree'
)


def _build_native():
    sys.path.insert(0, ROOT)
    try:
        import build_native

        return build_native
    finally:
        sys.path.remove(ROOT)


def test_info_repeats_the_build_message():
    build_native = _build_native()
    assert _native.PYTHON_ONLY.endswith(build_native.NATIVE_HINT)
    assert 'SKYUTILS_NATIVE=1' in _native.PYTHON_ONLY and 'platform wheel' in _native.PYTHON_ONLY


def test_python_only_reasons(monkeypatch):
    build_native = _build_native()
    monkeypatch.setenv('SKYUTILS_NATIVE', '0')
    assert build_native.python_only_reason() == 'SKYUTILS_NATIVE=0'
    monkeypatch.delenv('SKYUTILS_NATIVE')
    monkeypatch.setattr(build_native, 'is_sdist', lambda: True)
    assert build_native.python_only_reason() == 'an sdist builds Python-only'
    monkeypatch.setattr(build_native, 'is_sdist', lambda: False)
    monkeypatch.setenv('CARGO', 'no-such-cargo-here')
    assert build_native.python_only_reason() == 'no-such-cargo-here is not on PATH'


def test_pip_shows_the_line_and_the_wheel_says_it(tmp_path):
    """pip (a program we did not write) builds a Python-only wheel of this tree; its verbose
    output carries the line, and the installed package's `skyutils info` repeats the hint."""
    env = dict(os.environ, SKYUTILS_NATIVE='0')
    done = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '-v',
            '--no-deps',
            '--no-build-isolation',
            '--disable-pip-version-check',
            '-w',
            str(tmp_path / 'dist'),
            ROOT,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [
        line.strip()
        for line in (done.stdout + done.stderr).splitlines()
        if 'skypilot-rust: Python-only build' in line
    ]
    assert lines and lines[0].endswith('build with SKYUTILS_NATIVE=1 and cargo on PATH'), lines
    assert '(SKYUTILS_NATIVE=0)' in lines[0]
    wheel = next((tmp_path / 'dist').glob('*.whl'))
    assert wheel.name.endswith('-py3-none-any.whl')
    target = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    info = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'info'],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(target)),
        cwd=str(tmp_path),
    )
    assert 'build with SKYUTILS_NATIVE=1 and cargo on PATH' in info.stdout, info.stdout
