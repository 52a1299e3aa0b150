"""The startup hook (skypilot_rust.pth imports _skyutils_hook): every Python process of an
environment with skypilot-rust installed serves SkyPilot from skyutils once SkyPilot's modules
are imported, multiprocessing `spawn` children included, and imports nothing before that.

Where the wheel is installed (ci/test-wheels sets SKYUTILS_REQUIRE_HOOK=1) the installed hook
is tested; in a source checkout (an editable install has no .pth), a site directory made of the
checkout's two files, which a sitecustomize on PYTHONPATH adds to every child interpreter.
"""

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap

import pytest
import reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOK_FILES = ('_skyutils_hook.py', 'skypilot_rust.pth')
REQUIRED = os.environ.get('SKYUTILS_REQUIRE_HOOK') == '1'


def installed_hook():
    """The site-packages directory holding the installed .pth, or None."""
    for directory in site.getsitepackages() + [site.getusersitepackages()]:
        if os.path.isfile(os.path.join(directory, 'skypilot_rust.pth')):
            return directory
    return None


@pytest.fixture
def hook_env(tmp_path):
    """The environment of a child interpreter in which the hook is as installed."""
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    if installed_hook():
        return env
    if REQUIRED:
        pytest.fail('SKYUTILS_REQUIRE_HOOK=1 but skypilot_rust.pth is in no site directory')
    if not all(os.path.isfile(os.path.join(ROOT, name)) for name in HOOK_FILES):
        pytest.skip('neither an installed hook nor the checkout\'s hook files')
    hook_site = tmp_path / 'hook-site'
    hook_site.mkdir()
    for name in HOOK_FILES:
        shutil.copy(os.path.join(ROOT, name), hook_site / name)
    (hook_site / 'sitecustomize.py').write_text(
        'import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n'
    )
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(hook_site), env.get('PYTHONPATH')]))
    return env


def child(code: str, env, cwd, *args) -> dict:
    done = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code), *args],
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_process_that_never_imports_skypilot_imports_nothing_of_skyutils(hook_env, tmp_path):
    got = child(
        '''
        import json, sys
        print(json.dumps(sorted(m for m in ('_skyutils_hook', 'skyutils', 'psutil', 'sky')
                                if m in sys.modules)))
    ''',
        hook_env,
        tmp_path,
    )
    assert got == ['_skyutils_hook']


SPAWN = '''
    import json, multiprocessing, sys
    sys.path.insert(0, sys.argv[1])
    import spawn_target
    if __name__ == '__main__':
        with multiprocessing.get_context('spawn').Pool(1) as pool:
            print(json.dumps(pool.apply(spawn_target.served)))
'''
SPAWN_TARGET = '''
import sys


def served():
    """In the spawn child: what served SkyPilot's functions, and what was imported first."""
    before = sorted(m for m in ('skyutils', 'psutil') if m in sys.modules)
    from sky.utils import common_utils, subprocess_utils
    import skyutils
    import _skyutils_hook
    names = ['base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
             'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb']
    served = [n for n in names if getattr(common_utils, n) is getattr(skyutils, n)]
    served += [n for n in ('get_parallel_threads', 'get_max_workers_for_file_mounts')
               if getattr(subprocess_utils, n) is getattr(skyutils, n)]
    return {'before': before, 'served': served, 'hook': _skyutils_hook.state['active'],
            'answer': common_utils.base36_encode('ff')}
'''


@pytest.fixture
def spawn_dir(tmp_path):
    reference.load()  # SkyPilot must be importable: skip (or fail in CI) otherwise
    (tmp_path / 'spawn_target.py').write_text(SPAWN_TARGET)
    return tmp_path


def test_a_spawn_child_is_served_by_skyutils(hook_env, spawn_dir):
    got = child(SPAWN, hook_env, spawn_dir, str(spawn_dir))
    assert got['hook'] and got['answer'] == '73'
    assert got['before'] == []  # nothing of skyutils or psutil before SkyPilot's import
    assert len(got['served']) == 10, got


@pytest.mark.parametrize('off', ['0', 'off'])
def test_skypilot_use_rust_off_keeps_skypilot_s_own(hook_env, spawn_dir, off):
    hook_env['SKYPILOT_USE_RUST'] = off
    got = child(SPAWN, hook_env, spawn_dir, str(spawn_dir))
    assert not got['hook'] and got['served'] == [] and got['answer'] == '73'


def test_a_body_that_differs_is_left_alone(hook_env, spawn_dir):
    """SkyPilot's own tree, with one function's body changed: that one stays SkyPilot's."""
    common_utils, _ = reference.load()
    package = os.path.dirname(os.path.dirname(os.path.dirname(common_utils.__file__)))
    copy = spawn_dir / 'skypilot'
    shutil.copytree(
        os.path.join(package, 'sky'), copy / 'sky', ignore=shutil.ignore_patterns('__pycache__')
    )
    path = copy / 'sky' / 'utils' / 'common_utils.py'
    source = path.read_text()
    start = source.index('def format_float(')
    body = source.index('\n    if ', start)  # its first statement after the docstring
    path.write_text(source[:body] + '\n    num = num + 0' + source[body:])
    hook_env['PYTHONPATH'] = os.pathsep.join([str(copy), hook_env.get('PYTHONPATH', '')])
    got = child(SPAWN, hook_env, spawn_dir, str(spawn_dir))
    assert 'format_float' not in got['served'] and len(got['served']) == 9, got


def test_an_explicit_patch_after_the_hook_changes_nothing_and_warns_nothing(hook_env, spawn_dir):
    """With the hook active, SkyPilot is served as soon as it is imported; patch_skypilot()
    after that finds skyutils' own functions in place: all ten served, no warning."""
    reference.load()
    got = child(
        '''
        import json, skyutils
        from sky.utils import common_utils, subprocess_utils
        summary = skyutils.patch_skypilot()
        print(json.dumps([sorted(n for n in summary if n.startswith('sky.utils.')),
                          common_utils.base36_encode is skyutils.base36_encode]))
    ''',
        dict(hook_env, PYTHONWARNINGS='error::RuntimeWarning'),
        spawn_dir,
    )
    replaced, served = got
    assert served and len(replaced) == 10, replaced


def test_an_error_in_the_hook_leaves_skypilot_its_functions(hook_env, spawn_dir):
    reference.load()
    got = child(
        '''
        import json, warnings
        from skyutils import _patch
        def broken(*args, **kwargs):
            raise ValueError('a bug in the hook')
        _patch.patch_modules = broken
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            from sky.utils import common_utils, subprocess_utils
        import skyutils
        print(json.dumps([common_utils.base36_encode is skyutils.base36_encode,
                          common_utils.base36_encode('ff'),
                          [str(w.message) for w in caught if 'startup hook' in str(w.message)]]))
    ''',
        hook_env,
        spawn_dir,
    )
    served, answer, warned = got
    assert not served and answer == '73'
    assert len(warned) == 1 and 'a bug in the hook' in warned[0]


def test_the_hook_is_installed_beside_the_package():
    """Only where the wheel is installed: the .pth and its module in site-packages, and the
    hook active in this very process."""
    directory = installed_hook()
    if directory is None:
        if REQUIRED:
            pytest.fail('SKYUTILS_REQUIRE_HOOK=1 but skypilot_rust.pth is not installed')
        pytest.skip('a source checkout: the hook is not installed')
    assert os.path.isfile(os.path.join(directory, '_skyutils_hook.py'))
    import _skyutils_hook

    assert _skyutils_hook.state['active'] == (
        os.environ.get('SKYPILOT_USE_RUST', '').strip().lower() not in ('0', 'false', 'no', 'off')
    )


def test_skyutils_info_shows_the_hook_and_what_it_replaced(hook_env, spawn_dir):
    reference.load()
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'info', '--skypilot', '--json'],
        env=hook_env,
        cwd=str(spawn_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(done.stdout)['skypilot']
    assert found['hook']['installed'] and found['hook']['active']
    assert found['hook']['pid'] > 0 and found['distribution'] in ('skypilot', 'skypilot-nightly')
    assert len([n for n in found['replaced'] if n.startswith('sky.utils.')]) == 10
    assert found['skipped'] == {}
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'info', '--skypilot'],
        env=hook_env,
        cwd=str(spawn_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert 'startup hook: active in this process' in done.stdout
    assert 'replaced  sky.utils.common_utils.read_last_n_lines' in done.stdout
