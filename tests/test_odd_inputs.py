"""Inputs a review found where the native backend answered differently from SkyPilot 0.14.1:
each case compares both backends with SkyPilot's own function, in a fresh interpreter where
the process's state (mounts, descriptors, environment) is part of the input."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
import reference
from conftest import BACKENDS
from hypothesis import given, settings
from hypothesis import strategies as st

needs_native = pytest.mark.skipif('native' not in BACKENDS, reason='no native library')

# A child's verdicts: SkyPilot's own answer and each backend's, as outcome() gives them.
CHILD = '''
import json, sys
from unittest import mock
from reference import load, outcome
common_utils, subprocess_utils = load()
from skyutils import _bindings, _pure
def compare(name, *args, module=common_utils):
    return {'skypilot': repr(outcome(getattr(module, name), *args)),
            'python': repr(outcome(getattr(_pure, name), *args)),
            'native': repr(outcome(getattr(_bindings, name), *args))}
'''


def run_child(code: str, tmp_path, env=None, prefix=()):
    tests = os.path.dirname(os.path.abspath(__file__))
    child_env = dict(os.environ, **(env or {}))
    child_env['PYTHONPATH'] = os.pathsep.join(filter(None, [tests, child_env.get('PYTHONPATH')]))
    child_env['SKYPILOT_USE_RUST'] = '1'
    done = subprocess.run(
        [*prefix, sys.executable, '-c', CHILD + textwrap.dedent(code)],
        env=child_env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def all_agree(found: dict) -> bool:
    return found['python'] == found['skypilot'] == found['native']


MEMINFO = (
    'MemTotal:        1048576 kB\nMemFree:          524288 kB\nMemAvailable:     600000 kB\n'
    'Buffers:           1000 kB\nCached:           10000 kB\nShmem:              100 kB\n'
    'Active:            2000 kB\nInactive:          3000 kB\nSlab:               100 kB\n'
)


@needs_native
@pytest.mark.skipif(
    shutil.which('unshare') is None or os.geteuid() != 0 or not os.path.exists('/proc/meminfo'),
    reason='a private mount namespace needs unshare(1) as root, on Linux',
)
def test_a_virtualised_meminfo_is_what_memory_is(tmp_path):
    """A container that bind-mounts its own /proc/meminfo (LXCFS): 1 GiB there, as psutil
    reads it (up to b6ad724 the library asked sysinfo(2), which tells the host's memory)."""
    reference.load()
    fake = tmp_path / 'meminfo'
    fake.write_text(MEMINFO)
    code = '''
        print(json.dumps(compare('get_mem_size_gb')))
    '''
    probe = subprocess.run(
        ['unshare', '-m', 'mount', '--bind', str(fake), '/proc/meminfo'],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode:
        pytest.skip(f'no bind mount here: {probe.stderr.strip()}')
    # The child mounts the file over /proc/meminfo in a mount namespace of its own.
    mount = 'mount --bind "$0" /proc/meminfo && exec "$@"'
    found = run_child(code, tmp_path, prefix=['unshare', '-m', 'sh', '-c', mount, str(fake)])
    assert all_agree(found) and found['native'] == repr(('ok', 1.0)), found


@needs_native
def test_no_variable_of_skyutils_changes_an_answer(tmp_path):
    """SKYUTILS_CGROUP_ROOT was a test knob that both backends (and SkyPilot, through the
    hook) obeyed: a cgroup tree of one CPU there made get_cpu_count 1 where SkyPilot reads
    /sys/fs/cgroup."""
    reference.load()
    tree = tmp_path / 'cgroup'
    tree.mkdir()
    (tree / 'cgroup.controllers').write_text('cpu memory\n')
    (tree / 'cpu.max').write_text('50000 100000\n')
    (tree / 'memory.max').write_text('1048576\n')
    found = run_child(
        '''
        print(json.dumps([compare('get_cpu_count'), compare('get_mem_size_gb')]))
    ''',
        tmp_path,
        env={'SKYUTILS_CGROUP_ROOT': str(tree)},
    )
    assert all(all_agree(f) for f in found), found


@needs_native
@pytest.mark.skipif(not hasattr(os, 'sched_getaffinity'), reason='Linux: resource limits')
def test_every_descriptor_in_use_fails_as_skypilot_does(tmp_path):
    """EMFILE: psutil cannot open /proc/meminfo, and SkyPilot raises OSError [Errno 24]; the
    library used to answer from sysinfo(2)."""
    reference.load()
    found = run_child(
        '''
        import os, resource
        import psutil
        psutil.virtual_memory()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        held = []
        try:
            while True:
                held.append(os.open('/dev/null', os.O_RDONLY))
        except OSError:
            pass
        found = {}
        for backend, function in (('skypilot', common_utils.get_mem_size_gb),
                                  ('python', _pure.get_mem_size_gb),
                                  ('native', _bindings.get_mem_size_gb)):
            try:
                found[backend] = repr(function())
            except OSError as e:
                found[backend] = f'{type(e).__name__} {e.errno} {e.filename}'
        for fd in held:
            os.close(fd)
        print(json.dumps(found))
    ''',
        tmp_path,
    )
    assert all_agree(found) and found['skypilot'].startswith('OSError 24'), found


class OwnEncode(str):
    """A str subclass whose encode() names another file: open() never asks it."""

    def encode(self, *args, **kwargs):
        return b'/etc/passwd'


def outcomes(name, *args):
    """SkyPilot's own, the pure twin's and the binding's outcome: a value, or an error's type
    and message."""
    common_utils, subprocess_utils = reference.load()
    from skyutils import _bindings, _pure

    found = {}
    owners = {'skypilot': common_utils, 'python': _pure, 'native': _bindings}
    for backend, owner in owners.items():
        if backend == 'skypilot' and name == 'estimate_fd_for_directory':
            function = lambda path: len(os.listdir(path)) * 5  # noqa: E731  SkyPilot's inline code
        else:
            function = getattr(owner, name)
        try:
            found[backend] = ('ok', function(*args))
        except Exception as e:
            found[backend] = ('raises', type(e).__name__, str(e))
    return found


@pytest.fixture(scope='module')
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('odd') / 'big.log'
    path.write_bytes(b''.join(b'line %d\n' % i for i in range(3000)))
    return str(path)


@needs_native
@pytest.mark.parametrize('chunk_size', [4096.0, 3.5, True])
def test_a_chunk_size_of_another_type_reads_as_skypilot_s(big_file, chunk_size):
    """A float chunk size fails at SkyPilot's seek once the file is larger than the chunk
    (up to b6ad724 both backends returned lines); True reads in one-byte chunks."""
    found = outcomes('read_last_n_lines', big_file, 10, chunk_size)
    assert all_agree(found), found


@needs_native
@pytest.mark.parametrize('n', [1.5, 0.0, True, 2.0])
def test_an_n_of_another_type_fails_with_skypilot_s_message(big_file, n):
    """read_last_n_lines(path, 1.5): TypeError at SkyPilot's slice, with its message (up to
    b6ad724 another message: 'float' object cannot be interpreted as an integer)."""
    found = outcomes('read_last_n_lines', big_file, n)
    assert all_agree(found), found


@needs_native
@pytest.mark.skipif(
    not os.path.isfile('/sys/class/net/lo/ifalias'), reason='needs a sysfs attribute'
)
def test_a_sysfs_attribute_that_reads_short_fails_as_skypilot_s():
    """Its size is 4096, it reads empty: SkyPilot's slice leaves no line, IndexError (up to
    b6ad724 both backends returned [''])."""
    path = '/sys/class/net/lo/ifalias'
    assert os.path.getsize(path) > 0 and open(path, 'rb').read() == b''
    found = outcomes('read_last_n_lines', path, 1)
    assert all_agree(found) and found['skypilot'][:2] == ('raises', 'IndexError'), found


@needs_native
@pytest.mark.parametrize('name', ['read_last_n_lines', 'estimate_fd_for_directory'])
def test_a_str_subclass_path_opens_what_open_opens(tmp_path, big_file, name):
    """A str subclass with its own encode(): open() and os.listdir encode its characters;
    os.fsencode asks the object (up to b6ad724 the library opened /etc/passwd:
    NotADirectoryError where SkyPilot counts 10 entries)."""
    directory = tmp_path / 'ten'
    directory.mkdir()
    for i in range(10):
        (directory / str(i)).write_text('')
    args = (OwnEncode(big_file), 2) if name == 'read_last_n_lines' else (OwnEncode(directory),)
    found = outcomes(name, *args)
    assert all_agree(found), found


@needs_native
def test_a_file_rewritten_in_place_never_gives_more_than_n_lines(tmp_path):
    """Another thread rewrites the file in place (pwrite in a loop, line lengths changing):
    every tail of 2000 lines has at most 2000 (up to b6ad724 the library counted lines in one
    version of the bytes and os.pread returned another: up to 20,000)."""
    import threading

    path = tmp_path / 'rewritten.log'
    versions = [
        b''.join(b'y' * (1 + (i * k) % 40) + b'\n' for i in range(20_000)) for k in (1, 7, 13)
    ]
    size = min(len(v) for v in versions)
    path.write_bytes(versions[0][:size])
    stop = threading.Event()

    def rewrite():
        fd = os.open(str(path), os.O_WRONLY)
        try:
            i = 0
            while not stop.is_set():
                os.pwrite(fd, versions[i % 3][:size], 0)
                i += 1
        finally:
            os.close(fd)

    writer = threading.Thread(target=rewrite)
    writer.start()
    longest = {}
    try:
        for name in ('native', 'python'):
            impl = BACKENDS[name]
            longest[name] = max(len(impl.read_last_n_lines(str(path), 2000)) for _ in range(300))
    finally:
        stop.set()
        writer.join()
    assert all(count <= 2000 for count in longest.values()), longest


ODD_NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=5000),
    st.floats(allow_nan=False, min_value=-3, max_value=5000),
    st.booleans(),
)


@needs_native
@settings(max_examples=60, deadline=None)
@given(
    n=ODD_NUMBERS,
    chunk_size=ODD_NUMBERS,
    subclass=st.booleans(),
    lines=st.integers(min_value=0, max_value=3000),
)
def test_generated_odd_arguments_answer_as_skypilot(
    tmp_path_factory, n, chunk_size, subclass, lines
):
    """Floats, bools and str subclass paths: SkyPilot, the pure twin and the binding give the
    same value or the same error type and message."""
    path = tmp_path_factory.mktemp('gen') / 'a.log'
    path.write_bytes(b''.join(b'line %d\n' % i for i in range(lines)))
    found = outcomes('read_last_n_lines', OwnEncode(path) if subclass else str(path), n, chunk_size)
    assert all_agree(found), found
