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
    script = tmp_path / 'child.py'
    script.write_text(CHILD + textwrap.dedent(code))
    found = _in_namespace(tmp_path, fake, script)  # the file over /proc/meminfo, privately
    assert all_agree(found) and found['native'] == repr(('ok', 1.0)), found


def _in_namespace(tmp_path, fake, script):
    """Runs `script` where `fake` is mounted over /proc/meminfo, in a mount namespace of its
    own."""
    tests = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, SKYPILOT_USE_RUST='1')
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [tests, env.get('PYTHONPATH')]))
    done = subprocess.run(
        ['unshare', '-m', 'sh', '-c', 'mount --bind "$1" /proc/meminfo && exec "$2" "$3"', 'sh',
         str(fake), sys.executable, str(script)],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    if done.returncode and 'mount' in done.stderr and 'denied' in done.stderr:
        pytest.skip(f'no bind mount here: {done.stderr.strip()}')
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


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
