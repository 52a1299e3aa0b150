"""Spec tables for get_cpu_count, get_mem_size_gb, get_parallel_threads and the worker count
(spec §7-§10). cgroup limits come from fixture trees, never from this machine's /sys."""

import contextlib
import logging
import os
import resource

import psutil
import pytest

from skyutils._pure import system


def host_cpus() -> int:
    count = psutil.cpu_count()
    if hasattr(os, 'sched_getaffinity'):
        count = min(count, len(os.sched_getaffinity(0)))
    return count


HOST_GIB = psutil.virtual_memory().total / 2**30


@pytest.mark.parametrize(
    'value, expected',
    [
        ('2.9', 2),
        ('0.5', 0),
        ('-1', -1),
        (' 3 ', 3),
        ('1e3', 1000),
        ('4', 4),
        ('1_0', 10),
    ],
)
def test_cpu_env_override(impl, clean_env, value, expected):
    clean_env.setenv('SKYPILOT_POD_CPU_CORE_LIMIT', value)
    assert impl.get_cpu_count() == expected


@pytest.mark.parametrize('value', ['', 'abc', '2 cores', 'nan'])
def test_cpu_env_unparsable(impl, clean_env, value):
    clean_env.setenv('SKYPILOT_POD_CPU_CORE_LIMIT', value)
    with pytest.raises(ValueError, match=f'Failed to parse the number of CPUs from {value}'):
        impl.get_cpu_count()


def test_cpu_env_inf_overflows(impl, clean_env):
    clean_env.setenv('SKYPILOT_POD_CPU_CORE_LIMIT', 'inf')
    with pytest.raises(OverflowError):
        impl.get_cpu_count()


def test_cpu_env_wins_over_cgroup(impl, clean_env, cgroup_tree):
    cgroup_tree.v2(cpu_max='50000 100000')
    clean_env.setenv('SKYPILOT_POD_CPU_CORE_LIMIT', '7')
    assert impl.get_cpu_count() == 7


@pytest.mark.parametrize(
    'cpu_max, limit',
    [
        ('max 100000', None),
        ('50000 100000', 0),
        ('100000 100000', 1),
        ('150000 100000', 1),
        ('100000000 100000', None),
        ('-1 100000', None),
        ('0 100000', None),
        ('max', None),
        ('', None),
        ('garbage 100000', None),
        ('1 2 3', None),
        ('100000 0', None),  # allowed difference: the reference divides by zero
        ('nan 100000', None),
    ],
)
def test_cpu_cgroup_v2(impl, clean_env, cgroup_tree, cpu_max, limit):
    cgroup_tree.v2(cpu_max=cpu_max)
    expected = host_cpus() if limit is None else min(host_cpus(), limit)
    assert impl.get_cpu_count() == expected


@pytest.mark.parametrize(
    'quota, period, limit',
    [
        ('-1', '100000', None),
        ('50000', '100000', 0),
        ('100000', '100000', 1),
        ('100000', '-1', None),
        ('100000', '0', None),
        ('x', '100000', None),
        (None, '100000', None),
        ('100000', None, None),
        ('100000\n', '100000\n', 1),
    ],
)
def test_cpu_cgroup_v1(impl, clean_env, cgroup_tree, quota, period, limit):
    cgroup_tree.v1(quota=quota, period=period)
    expected = host_cpus() if limit is None else min(host_cpus(), limit)
    assert impl.get_cpu_count() == expected


def test_cpu_cgroup_v2_ignores_v1_files(impl, clean_env, cgroup_tree):
    cgroup_tree.v1(quota='50000', period='100000')
    cgroup_tree.v2()
    assert impl.get_cpu_count() == host_cpus()


def test_cpu_cgroup_unreadable_means_no_limit(impl, clean_env, cgroup_tree):
    cgroup_tree.v2()
    os.mkdir(os.path.join(cgroup_tree.root, 'cpu.max'))  # reading a directory fails
    assert impl.get_cpu_count() == host_cpus()


def test_cpu_respects_affinity(impl, clean_env, cgroup_tree):
    if not hasattr(os, 'sched_setaffinity'):
        pytest.skip('no CPU affinity on this platform')
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        assert impl.get_cpu_count() == 1
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.parametrize(
    'gb, by_bytes, expected',
    [
        ('16', None, 16.0),
        ('0.5', 'garbage', 0.5),
        (None, '8589934592', 8.0),
        (None, '1e9', 1e9 / 2**30),
        (' 2 ', None, 2.0),
        ('inf', None, float('inf')),
    ],
)
def test_mem_env_override(impl, clean_env, gb, by_bytes, expected):
    if gb is not None:
        clean_env.setenv('SKYPILOT_POD_MEMORY_GB_LIMIT', gb)
    if by_bytes is not None:
        clean_env.setenv('SKYPILOT_POD_MEMORY_BYTES_LIMIT', by_bytes)
    assert impl.get_mem_size_gb() == expected


@pytest.mark.parametrize(
    'name, unit',
    [('SKYPILOT_POD_MEMORY_GB_LIMIT', 'GB'), ('SKYPILOT_POD_MEMORY_BYTES_LIMIT', 'bytes')],
)
def test_mem_env_unparsable(impl, clean_env, name, unit):
    clean_env.setenv(name, '8Gi')
    with pytest.raises(ValueError, match=rf'Failed to parse the memory size from 8Gi \({unit}\)'):
        impl.get_mem_size_gb()


@pytest.mark.parametrize(
    'layout, text, limit',
    [
        ('v2', '1073741824', 2**30),
        ('v2', 'max', None),
        ('v2', '', None),
        ('v2', '0', None),
        ('v2', '-5', None),
        ('v2', '1e9', None),
        ('v2', '536870912\n', 2**29),
        ('v2', str(2**70), None),
        ('v1', '2147483648', 2**31),
        ('v1', '9223372036854771712', None),
        ('v1', 'junk', None),
    ],
)
def test_mem_cgroup(impl, clean_env, cgroup_tree, layout, text, limit):
    if layout == 'v2':
        cgroup_tree.v2(memory_max=text)
    else:
        cgroup_tree.v1(memory_limit=text)
    got = impl.get_mem_size_gb()
    host = psutil.virtual_memory().total
    expected = host if limit is None else min(host, limit)
    assert got == expected / 2**30
    assert isinstance(got, float)


def test_mem_no_cgroup_files(impl, clean_env, cgroup_tree):
    assert impl.get_mem_size_gb() == HOST_GIB


@pytest.mark.parametrize(
    'cpus, cloud, expected',
    [
        (2, None, 4),
        (2, 'kubernetes', 16),
        (2, 'KUBERNETES', 16),
        (2, 'aws', 4),
        (2, '', 4),
        (8, None, 7),
        (8, 'Kubernetes', 28),
        (None, None, 4),
        (1, None, 4),
        (64, 'gcp', 63),
    ],
)
def test_parallel_threads(impl, monkeypatch, cpus, cloud, expected):
    monkeypatch.setattr(os, 'cpu_count', lambda: cpus)
    assert impl.get_parallel_threads(cloud) == expected


def test_parallel_threads_default_matches_host(impl):
    assert impl.get_parallel_threads() == max(4, (os.cpu_count() or 1) - 1)


@contextlib.contextmanager
def soft_nofile(soft):
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)


@pytest.fixture
def dir51(tmp_path):
    directory = tmp_path / 'src'
    directory.mkdir()
    for i in range(51):
        (directory / f'e{i}').write_text('')
    return str(directory)


@pytest.mark.parametrize(
    'soft, empty, one_dir, one_dir_k8s',
    [
        (2000, 4, 4, 7),
        (1000, 4, 3, 3),
        (300, 4, 1, 1),
        (50, 1, 1, 1),
    ],
)
def test_max_workers_table(impl, monkeypatch, dir51, soft, empty, one_dir, one_dir_k8s):
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    with soft_nofile(soft):
        assert impl.get_max_workers_for_file_mounts({}) == empty
        assert impl.get_max_workers_for_file_mounts({'/remote': dir51}) == one_dir
        assert impl.get_max_workers_for_file_mounts({'/remote': dir51}, 'kubernetes') == one_dir_k8s


def test_max_workers_ignores_files_keys_and_tilde(impl, monkeypatch, tmp_path, dir51):
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    (tmp_path / 'plain').write_text('x')
    mounts = {
        dir51: str(tmp_path / 'plain'),
        '/b': str(tmp_path / 'missing'),
        '/c': '~',
        '/d': 'gs://bucket/path',
    }
    with soft_nofile(1000):
        assert impl.get_max_workers_for_file_mounts(mounts, 'kubernetes') == 16


def test_max_workers_largest_directory_wins(impl, monkeypatch, tmp_path, dir51):
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    small = tmp_path / 'small'
    small.mkdir()
    with soft_nofile(2000):
        mounts = {'/a': str(small), '/b': dir51}
        assert impl.get_max_workers_for_file_mounts(mounts, 'kubernetes') == 7


def test_max_workers_permission_error_propagates(impl, shared_dir, as_unprivileged):
    closed = os.path.join(shared_dir, 'closed')
    os.mkdir(closed, 0o311)  # enterable, so isdir() is True, but not listable
    with as_unprivileged():
        with pytest.raises(PermissionError):
            impl.get_max_workers_for_file_mounts({'/x': closed})


def test_max_workers_low_limit_warns_once(impl, monkeypatch, caplog):
    monkeypatch.setattr(system, '_low_fd_warning_shown', False)
    with soft_nofile(500), caplog.at_level(logging.WARNING, logger='skyutils'):
        impl.get_max_workers_for_file_mounts({})
        impl.get_max_workers_for_file_mounts({})
    warnings = [r for r in caplog.records if 'Open file descriptor limit (500) is low' in r.message]
    assert len(warnings) == 1
    assert '`ulimit -n <number>`' in warnings[0].message


def test_max_workers_alias():
    import skyutils

    assert skyutils.get_max_workers is skyutils.get_max_workers_for_file_mounts
