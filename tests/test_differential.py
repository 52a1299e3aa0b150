"""The native backend against the pure-Python backend on generated input.

Results must be equal, and errors equal in type *and* message. Inputs go past what the
reference comparison covers: long tails across read blocks, non-UTF-8 file names, large
directories, every cgroup text form (including those the native code defers).
"""

import math
import os
import pathlib
import shutil
import tempfile

import pytest
from conftest import BACKENDS
from hypothesis import given
from hypothesis import strategies as st
from ports import free_run, hold
from strategies import byte_soup, cgroup_file, env_text, hex_like, make_cgroup_tree, make_mount_dirs

from skyutils._pure import cgroup

pytestmark = pytest.mark.skipif('native' not in BACKENDS, reason='no native library loaded')
native = BACKENDS.get('native')
pure = BACKENDS['python']


def both(name, *args, **kwargs):
    """(native outcome, pure outcome), errors as (type, message)."""
    results = []
    for backend in (native, pure):
        try:
            value = getattr(backend, name)(*args, **kwargs)
            if isinstance(value, float) and math.isnan(value):
                value = 'NaN'  # NaN != NaN, yet two NaN results agree
            results.append(('ok', value))
        except Exception as e:
            results.append(('raises', type(e), str(e)))
    return results


def assert_same(name, *args, **kwargs):
    got_native, got_pure = both(name, *args, **kwargs)
    assert got_native == got_pure


@pytest.fixture
def scratch():
    path = tempfile.mkdtemp(prefix='skyutils-diff-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@given(
    text=hex_like
    | st.text(max_size=40)
    | st.text(alphabet='0123456789abcdef_', min_size=33, max_size=400)
    | st.binary(max_size=10)
)
def test_base36_encode(text):
    if isinstance(text, str) and _negative(text):
        return  # both raise ValueError; covered in the spec tests
    assert_same('base36_encode', text)


def _negative(text):
    try:
        return int(text, 16) < 0
    except ValueError:
        return False


lines = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3000), st.sampled_from([b'\n', b'\r\n', b'\n\n', b'\r'])
    ),
    max_size=300,
)


@given(
    shape=lines,
    tail=st.sampled_from([b'', b'x', b'\n', b'\xe2\x82']),
    n=st.integers(min_value=0, max_value=400) | st.just(2**70),
    encoding=st.sampled_from(['utf-8', 'latin-1', 'ascii', 'utf-16-le', 'UTF8']),
    errors=st.sampled_from(['replace', 'strict', 'ignore', 'surrogateescape']),
)
def test_read_last_n_lines_long_tails(scratch, shape, tail, n, encoding, errors):
    # Lines long enough that tails cross the native 16 KiB first block and its doublings.
    data = (
        b''.join(
            b'%d:' % i + b'\xc3\xa9' * (length // 2) + end for i, (length, end) in enumerate(shape)
        )
        + tail
    )
    path = os.path.join(scratch, 'log')
    with open(path, 'wb') as f:
        f.write(data)
    assert_same('read_last_n_lines', path, n, 8192, encoding, errors)


@given(
    data=byte_soup,
    n=st.integers(min_value=0, max_value=30),
    errors=st.sampled_from(['replace', 'strict', 'backslashreplace', 'no-such-handler']),
)
def test_read_last_n_lines_byte_soup(scratch, data, n, errors):
    path = os.path.join(scratch, 'soup')
    with open(path, 'wb') as f:
        f.write(data)
    assert_same('read_last_n_lines', path, n, 1, 'utf-8', errors)
    assert_same('read_last_n_lines', pathlib.Path(path), n)
    assert_same('read_last_n_lines', os.fsencode(path), n)


def test_read_last_n_lines_odd_paths(scratch):
    os.symlink('loop', os.path.join(scratch, 'loop'))
    os.mkfifo(os.path.join(scratch, 'fifo'))
    for path in (
        scratch,
        os.path.join(scratch, 'loop'),
        '/dev/null',
        '/proc/self/status',
        os.path.join(scratch, 'missing'),
        'a\0b',
    ):
        assert_same('read_last_n_lines', path, 3)


names = st.binary(min_size=1, max_size=12).filter(
    lambda b: b'/' not in b and b'\0' not in b and b not in (b'.', b'..')
)


@given(entries=st.sets(names, max_size=400))
def test_estimate_fd_for_directory(scratch, entries):
    directory = os.path.join(os.fsencode(scratch), b'd')
    shutil.rmtree(directory, ignore_errors=True)
    os.mkdir(directory)
    for name in entries:
        open(os.path.join(directory, name), 'wb').close()
    assert_same('estimate_fd_for_directory', directory)
    assert_same('estimate_fd_for_directory', os.fsdecode(directory))
    assert_same('estimate_fd_for_directory', pathlib.Path(os.fsdecode(directory)))


def test_estimate_fd_errors(scratch):
    file_path = os.path.join(scratch, 'file')
    open(file_path, 'w').close()
    os.symlink('loop', os.path.join(scratch, 'loop'))
    for path in (
        os.path.join(scratch, 'missing'),
        file_path,
        os.path.join(scratch, 'loop'),
        '',
        'a\0b',
        b'a\0b',
        os.path.join(file_path, 'below'),
    ):
        assert_same('estimate_fd_for_directory', path)


@pytest.mark.volume
def test_estimate_fd_large_directory(scratch):
    for i in range(20000):
        open(os.path.join(scratch, f'entry-{i}'), 'w').close()
    assert_same('estimate_fd_for_directory', scratch)
    assert native.estimate_fd_for_directory(scratch) == 100000


@given(
    layout=st.sampled_from(['v1', 'v2', 'none']),
    cpu=cgroup_file,
    period=cgroup_file,
    memory=cgroup_file,
)
def test_cgroup_limits(scratch, layout, cpu, period, memory):
    root = make_cgroup_tree(os.path.join(scratch, 'cgroup'), layout, cpu, period, memory)
    saved = {k: os.environ.pop(k, None) for k in list(os.environ) if k.startswith('SKYPILOT_POD')}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cgroup, 'root', root)
            assert_same('get_cpu_count')
            assert_same('get_mem_size_gb')
    finally:
        os.environ.update({k: v for k, v in saved.items() if v is not None})


@given(cpu=env_text, gb=st.none() | env_text, by_bytes=st.none() | env_text)
def test_env_overrides(cpu, gb, by_bytes):
    names = (
        'SKYPILOT_POD_CPU_CORE_LIMIT',
        'SKYPILOT_POD_MEMORY_GB_LIMIT',
        'SKYPILOT_POD_MEMORY_BYTES_LIMIT',
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in zip(names, (cpu, gb, by_bytes)):
            if value is None:
                patch.delenv(name, raising=False)
            else:
                patch.setenv(name, value)
        assert_same('get_cpu_count')
        assert_same('get_mem_size_gb')


@given(
    pid=st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=1, max_value=2**22)
    | st.sampled_from([1, os.getpid(), True])
)
def test_is_process_alive(pid):
    assert_same('is_process_alive', pid)


@pytest.mark.parametrize('pid', [1.0, '1', None])
def test_is_process_alive_non_int(pid):
    assert_same('is_process_alive', pid)


@given(busy=st.lists(st.booleans(), min_size=1, max_size=12))
def test_find_free_port(busy):
    start = free_run(len(busy) + 1)
    held = hold([start + i for i, b in enumerate(busy) if b])
    try:
        assert_same('find_free_port', start)
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize('start', [0, 65534, 65535, 10**20, -1, -(10**20), True, 1.0, '80', None])
def test_find_free_port_edges(start):
    assert_same('find_free_port', start)


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=300), max_size=3),
    cloud=st.none() | st.just('kubernetes'),
)
def test_max_workers(scratch, sizes, cloud):
    mounts = make_mount_dirs(scratch, sizes)
    assert_same('get_max_workers_for_file_mounts', mounts, cloud)
