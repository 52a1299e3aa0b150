"""The public surface: exactly the twelve functions, the alias and backend_info()."""

import types

import skyutils
from skyutils import _dispatch

TWELVE = {
    'base36_encode',
    'read_last_n_lines',
    'find_free_port',
    'format_float',
    'truncate_long_string',
    'hash_file',
    'get_cpu_count',
    'get_mem_size_gb',
    'get_parallel_threads',
    'get_max_workers_for_file_mounts',
    'estimate_fd_for_directory',
    'is_process_alive',
}


def test_exports_exactly_the_public_api():
    assert set(skyutils.__all__) == TWELVE | {
        'get_max_workers',
        'backend_info',
        'patch_skypilot',
        'unpatch_skypilot',
    }
    public = {
        name
        for name, value in vars(skyutils).items()
        if not name.startswith('_') and not isinstance(value, types.ModuleType)
    }
    assert public == set(skyutils.__all__)
    for name in skyutils.__all__:
        assert callable(getattr(skyutils, name)), name


def test_every_function_has_a_docstring():
    for name in TWELVE:
        doc = getattr(skyutils, name).__doc__
        assert doc and doc.strip(), name


def test_backend_info_shape():
    info = skyutils.backend_info()
    assert info['version'] == skyutils.__version__
    assert set(info['functions']) == TWELVE
    backends = set()
    for name, choice in info['functions'].items():
        assert choice['backend'] in ('python', 'native'), name
        assert choice['reason'], name
        backends.add(choice['backend'])
    expected = backends.pop() if len(backends) == 1 else 'mixed'
    assert info['backend'] == expected


def test_backend_info_is_a_copy():
    info = skyutils.backend_info()
    info['functions']['base36_encode']['backend'] = 'tampered'
    assert skyutils.backend_info()['functions']['base36_encode']['backend'] != 'tampered'


def test_dispatch_covers_every_function():
    assert set(_dispatch.FUNCTION_NAMES) == TWELVE


def test_the_switch_is_read_at_import(monkeypatch):
    """backend_info() reports the switch as the import read it, which is what chose the
    backends; setting it afterwards changes neither."""
    before = skyutils.backend_info()
    monkeypatch.setenv('SKYPILOT_USE_RUST', '1' if not before['use_rust'] else '0')
    after = skyutils.backend_info()
    assert after['use_rust'] == before['use_rust']
    assert after['functions'] == before['functions']


def _fresh(code, env=None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=120, env=env
    )


def test_import_loads_no_heavy_module():
    """import skyutils stays cheap: psutil and the other costly modules load where used."""
    done = _fresh(
        # ctypes is a dependency; what it loads itself (PyPy's is pure Python) is not ours.
        'import sys, ctypes; before = set(sys.modules); import skyutils; '
        'print(" ".join(sorted(set(sys.modules) - before)))'
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    heavy = {
        'psutil',
        'logging',
        'inspect',
        'hashlib',
        'socket',
        'threading',
        'platform',
        'resource',
        'skyutils.bench',
        'skyutils.migrate',
    }
    assert not loaded & heavy, loaded & heavy


def test_a_broken_psutil_breaks_only_what_needs_it():
    """psutil failing to import (as 7.1.3 does on PyPy) leaves import skyutils and every
    function that does not need psutil working; those that do raise its ImportError."""
    done = _fresh(
        'import sys; sys.modules["psutil"] = None\n'
        'import skyutils\n'
        'print(skyutils.base36_encode("ff"), skyutils.format_float(2.25), '
        'skyutils.get_parallel_threads() >= 4)\n'
        'try:\n'
        '    skyutils._pure.get_mem_size_gb()\n'
        'except ImportError:\n'
        '    print("psutil-needed")\n'
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ['73', '2.2', 'True', 'psutil-needed']
