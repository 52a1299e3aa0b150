"""Each function against the published skypilot package on generated input.

Every backend runs the same comparisons; a difference in result or exception type fails.
The two allowed differences (negative base36, cgroup v2 period 0) are checked, not compared.
"""

import inspect
import os
import resource
import shutil
import tempfile

import psutil
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from ports import free_run, hold
from reference import load, outcome, reference_cgroup_root
from strategies import (
    algorithms,
    byte_soup,
    cgroup_file,
    env_text,
    hex_like,
    make_cgroup_tree,
    make_mount_dirs,
    words,
)

import skyutils
from skyutils._pure import cgroup

pytestmark = pytest.mark.conformance
common_utils, subprocess_utils = load()

REFERENCE_FUNCTIONS = {
    'base36_encode': common_utils.base36_encode,
    'read_last_n_lines': common_utils.read_last_n_lines,
    'find_free_port': common_utils.find_free_port,
    'format_float': common_utils.format_float,
    'truncate_long_string': common_utils.truncate_long_string,
    'hash_file': common_utils.hash_file,
    'get_cpu_count': common_utils.get_cpu_count,
    'get_mem_size_gb': common_utils.get_mem_size_gb,
    'get_parallel_threads': subprocess_utils.get_parallel_threads,
    'get_max_workers_for_file_mounts': subprocess_utils.get_max_workers_for_file_mounts,
}
ENV_NAMES = (
    'SKYPILOT_POD_CPU_CORE_LIMIT',
    'SKYPILOT_POD_MEMORY_GB_LIMIT',
    'SKYPILOT_POD_MEMORY_BYTES_LIMIT',
)


@pytest.fixture
def scratch():
    """A directory reused across one test's examples (hypothesis forbids tmp_path per example)."""
    path = tempfile.mkdtemp(prefix='skyutils-conf-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize('name', sorted(REFERENCE_FUNCTIONS))
def test_signatures_match_reference(name):
    ours = inspect.signature(getattr(skyutils, name)).parameters
    theirs = inspect.signature(REFERENCE_FUNCTIONS[name]).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()
    ]


# --- text -----------------------------------------------------------------------------------


def _is_negative(text):
    try:
        return int(text, 16) < 0
    except ValueError:
        return False


@given(text=hex_like)
def test_base36_encode(impl, text):
    if _is_negative(text):
        # The reference never returns here; the contract asks for ValueError instead.
        assert outcome(impl.base36_encode, text) == ('raises', ValueError)
        return
    assert outcome(impl.base36_encode, text) == outcome(common_utils.base36_encode, text)


@given(
    num=st.one_of(
        st.floats(),
        st.integers(),
        st.booleans(),
        st.floats(min_value=-1e6, max_value=1e6).map(lambda x: round(x, 3)),
    ),
    precision=st.integers(min_value=-2, max_value=20),
)
def test_format_float(impl, num, precision):
    assert outcome(impl.format_float, num, precision) == outcome(
        common_utils.format_float, num, precision
    )


@given(s=words, max_length=st.integers(min_value=-10, max_value=90), middle=st.booleans())
def test_truncate_long_string(impl, s, max_length, middle):
    assert outcome(impl.truncate_long_string, s, max_length, middle) == outcome(
        common_utils.truncate_long_string, s, max_length, middle
    )


# --- files ----------------------------------------------------------------------------------


@given(
    data=byte_soup,
    n=st.integers(min_value=0, max_value=40) | st.just(10**9),
    chunk_size=st.integers(min_value=1, max_value=64),
    encoding=st.sampled_from(['utf-8', 'latin-1', 'ascii', 'utf-16-le', 'cp1252']),
    errors=st.sampled_from(['replace', 'strict', 'ignore', 'surrogateescape', 'backslashreplace']),
)
def test_read_last_n_lines(impl, scratch, data, n, chunk_size, encoding, errors):
    path = os.path.join(scratch, 'log')
    with open(path, 'wb') as f:
        f.write(data)
    args = (path, n, chunk_size, encoding, errors)
    assert outcome(impl.read_last_n_lines, *args) == outcome(common_utils.read_last_n_lines, *args)


def test_read_last_n_lines_bad_paths(impl, scratch):
    for path in (scratch, os.path.join(scratch, 'missing'), 'a\x00b'):
        for n in (0, 1):
            assert outcome(impl.read_last_n_lines, path, n) == outcome(
                common_utils.read_last_n_lines, path, n
            )


def _hash_view(result):
    kind, value = result
    if kind == 'raises':
        return result
    size = (32,) if value.name.startswith('shake') else ()
    return kind, value.name, value.hexdigest(*size)


@given(data=st.binary(max_size=5000), alg=algorithms)
def test_hash_file(impl, scratch, data, alg):
    path = os.path.join(scratch, 'blob')
    with open(path, 'wb') as f:
        f.write(data)
    assert _hash_view(outcome(impl.hash_file, path, alg)) == _hash_view(
        outcome(common_utils.hash_file, path, alg)
    )


@pytest.mark.parametrize('alg', ['md5', 'nope'])
def test_hash_file_bad_paths(impl, scratch, alg):
    for path in (scratch, os.path.join(scratch, 'missing'), 'a\x00b'):
        assert outcome(impl.hash_file, path, alg) == outcome(common_utils.hash_file, path, alg)


# --- system ---------------------------------------------------------------------------------


class Env:
    """Sets SKYPILOT_POD_* variables for the body and restores them after."""

    def __init__(self, **values):
        self.values = values

    def __enter__(self):
        self.saved = {name: os.environ.get(name) for name in ENV_NAMES}
        for name in ENV_NAMES:
            os.environ.pop(name, None)
        for name, value in self.values.items():
            if value is not None:
                os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@given(value=env_text)
def test_cpu_count_env(impl, value):
    with Env(SKYPILOT_POD_CPU_CORE_LIMIT=value):
        assert outcome(impl.get_cpu_count) == outcome(common_utils.get_cpu_count)


@given(gb=st.none() | env_text, by_bytes=st.none() | env_text)
def test_mem_size_env(impl, gb, by_bytes):
    with Env(SKYPILOT_POD_MEMORY_GB_LIMIT=gb, SKYPILOT_POD_MEMORY_BYTES_LIMIT=by_bytes):
        assert outcome(impl.get_mem_size_gb) == outcome(common_utils.get_mem_size_gb)


@given(
    layout=st.sampled_from(['v1', 'v2', 'none']),
    cpu=cgroup_file,
    period=cgroup_file,
    memory=cgroup_file,
)
@example(layout='v2', cpu='nan 100000', period=None, memory='max')
@example(layout='v2', cpu='100000 nan', period=None, memory='1073741824')
@example(layout='v2', cpu='inf 100000', period=None, memory='')
@example(layout='v1', cpu='nan', period='100000', memory='-1')
@example(layout='v1', cpu='50000', period='100000', memory='1073741824')
def test_cgroup_limits(impl, scratch, layout, cpu, period, memory):
    root = make_cgroup_tree(os.path.join(scratch, 'cgroup'), layout, cpu, period, memory)
    with Env(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(cgroup, 'root', root)
        with reference_cgroup_root(common_utils, root):
            want_cpu = outcome(common_utils.get_cpu_count)
            want_mem = outcome(common_utils.get_mem_size_gb)
        if want_cpu == ('raises', ZeroDivisionError):
            # Allowed difference: v2 period 0 is "no limit" here.
            with Env(), reference_cgroup_root(common_utils, os.path.join(scratch, 'empty')):
                want_cpu = outcome(common_utils.get_cpu_count)
        assert outcome(impl.get_cpu_count) == want_cpu
        assert outcome(impl.get_mem_size_gb) == want_mem


@given(
    cpus=st.none() | st.integers(min_value=1, max_value=512),
    cloud=st.none()
    | st.sampled_from(['kubernetes', 'Kubernetes', 'KUBERNETES', 'aws', '', 'k8s'])
    | st.text(max_size=12),
)
def test_parallel_threads(impl, cpus, cloud):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, 'cpu_count', lambda: cpus)
        assert outcome(impl.get_parallel_threads, cloud) == outcome(
            subprocess_utils.get_parallel_threads, cloud
        )


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=250), max_size=3),
    soft=st.integers(min_value=16, max_value=6000),
    cpus=st.integers(min_value=1, max_value=96),
    cloud=st.none() | st.sampled_from(['kubernetes', 'aws']),
    extra=st.sampled_from([None, 'file', 'missing']),
)
def test_max_workers(impl, scratch, sizes, soft, cpus, cloud, extra):
    mounts = make_mount_dirs(scratch, sizes)
    if extra == 'file':
        mounts['/remote/file'] = os.path.join(scratch, 'file')
        open(mounts['/remote/file'], 'w').close()
    elif extra == 'missing':
        mounts['/remote/missing'] = os.path.join(scratch, 'missing')
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard[1]), hard[1]))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, 'cpu_count', lambda: cpus)
            assert outcome(impl.get_max_workers_for_file_mounts, mounts, cloud) == outcome(
                subprocess_utils.get_max_workers_for_file_mounts, mounts, cloud
            )
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, hard)


@given(size=st.integers(min_value=0, max_value=300))
def test_estimate_fd_matches_reference_heuristic(impl, scratch, size):
    # The reference inlines this heuristic: 5 descriptors per entry listed by os.listdir.
    shutil.rmtree(scratch)
    os.makedirs(scratch)
    for j in range(size):
        open(os.path.join(scratch, f'.{j}' if j % 3 else f'{j}'), 'w').close()
    assert impl.estimate_fd_for_directory(scratch) == 5 * len(os.listdir(scratch))


# --- processes and ports --------------------------------------------------------------------


def _psutil_alive(pid):
    """The contract's reference expression for is_process_alive."""
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@given(
    pid=st.integers(min_value=1, max_value=2**22) | st.sampled_from([1, os.getpid(), os.getppid()])
)
def test_is_process_alive(impl, pid):
    assert impl.is_process_alive(pid) == _psutil_alive(pid)


def test_is_process_alive_all_running_pids(impl):
    for pid in psutil.pids():
        assert impl.is_process_alive(pid) == _psutil_alive(pid), pid


@given(busy=st.lists(st.booleans(), min_size=1, max_size=8))
def test_find_free_port(impl, busy):
    start = free_run(len(busy) + 1)
    held = hold([start + i for i, b in enumerate(busy) if b])
    try:
        assert outcome(impl.find_free_port, start) == outcome(common_utils.find_free_port, start)
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize('start', [0, 65534, 65535, 70000, -1, 1.5, '1', None])
def test_find_free_port_edges(impl, start):
    assert outcome(impl.find_free_port, start) == outcome(common_utils.find_free_port, start)
