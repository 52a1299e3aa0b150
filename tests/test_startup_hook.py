"""The startup hook (skypilot_rust.pth starts _skyutils_hook) in fresh interpreters, as every
SkyPilot process meets it: multiprocessing `spawn` children, SkyPilot's own tree edited, the
mocks SkyPilot's own tests make, warnings as errors, reloads, pickling, SkyPilot's logging and
uncaught errors. Each case compares with SkyPilot's own function, never with skyutils.

Where the wheel is installed (ci/test-wheels sets SKYUTILS_REQUIRE_HOOK=1) the installed hook
is tested; in a source checkout (an editable install has no .pth), a site directory made of the
checkout's hook files and package, which a sitecustomize on PYTHONPATH adds to every child.
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

from skyutils import _registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOK_FILES = ('_skyutils_hook.py', '_skyutils_verified.py', 'skypilot_rust.pth')
REQUIRED = os.environ.get('SKYUTILS_REQUIRE_HOOK') == '1'
# What the hook replaces on this interpreter: only what the library serves natively.
NATIVE_PYPY = {
    'find_free_port',
    'get_cpu_count',
    'get_mem_size_gb',
    'get_max_workers_for_file_mounts',
}
NATIVE = NATIVE_PYPY | (
    {'base36_encode', 'read_last_n_lines'} if sys.implementation.name != 'pypy' else set()
)


def installed_hook():
    """The site-packages directory holding the installed .pth, or None."""
    for directory in site.getsitepackages() + [site.getusersitepackages()]:
        if os.path.isfile(os.path.join(directory, 'skypilot_rust.pth')):
            return directory
    return None


def library_here() -> bool:
    from skyutils import _native

    return _native.LIB is not None


@pytest.fixture
def hook_env(tmp_path):
    """The environment of a child interpreter in which the hook is as installed."""
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    env.pop('PYTHONWARNINGS', None)
    if installed_hook():
        return env
    if REQUIRED:
        pytest.fail('SKYUTILS_REQUIRE_HOOK=1 but skypilot_rust.pth is in no site directory')
    if not all(os.path.isfile(os.path.join(ROOT, name)) for name in HOOK_FILES):
        pytest.skip("neither an installed hook nor the checkout's hook files")
    hook_site = tmp_path / 'hook-site'
    hook_site.mkdir()
    for name in HOOK_FILES:
        shutil.copy(os.path.join(ROOT, name), hook_site / name)
    (hook_site / 'skyutils').symlink_to(os.path.join(ROOT, 'skyutils'))  # beside the hook
    (hook_site / 'sitecustomize.py').write_text(
        'import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n'
    )
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(hook_site), env.get('PYTHONPATH')]))
    return env


def run(code: str, env, cwd, *args, flags=()):
    return subprocess.run(
        [sys.executable, *flags, '-c', textwrap.dedent(code), *args],
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def child(code: str, env, cwd, *args, flags=()):
    done = run(code, env, cwd, *args, flags=flags)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def sky_dir(tmp_path):
    reference.load()  # SkyPilot must be importable: skip (or fail in CI) otherwise
    return tmp_path


# Which SkyPilot functions a process gets from the hook: stubs carry their entry.
SERVED = '''
def served_now():
    import types
    from sky.utils import common_utils, subprocess_utils
    found = []
    for module in (common_utils, subprocess_utils):
        for name, value in sorted(vars(module).items()):
            function = type(value) is types.FunctionType
            entry = vars(value).get('_skyutils_entry') if function else None
            if entry is not None and entry.intact:
                found.append(name)
    return found
'''


def test_a_process_that_never_imports_skypilot_imports_nothing_of_skyutils(hook_env, tmp_path):
    got = child(
        '''
        import json, sys
        print(json.dumps(sorted(m for m in ('_skyutils_hook', '_skyutils_verified', 'skyutils',
                                            'psutil', 'sky') if m in sys.modules)))
    ''',
        hook_env,
        tmp_path,
    )
    assert got == ['_skyutils_hook']


IMPORTS = '''
    import json, sys
    before = set(sys.modules)
    import sky.utils.common_utils, sky.utils.subprocess_utils
    def mapped():
        with open('/proc/self/maps') as f:
            return 'libskyutils' in f.read()
    loaded = sorted(set(sys.modules) - before)
    at_import = [mapped(), [m for m in loaded if m.startswith('skyutils')]]
    sky.utils.common_utils.get_cpu_count()
    print(json.dumps([loaded, at_import, [mapped(), 'skyutils._bindings' in sys.modules]]))
'''


@pytest.mark.skipif(not os.path.isfile('/proc/self/maps'), reason='reads /proc/self/maps')
def test_importing_skypilot_loads_nothing_until_a_served_function_is_called(hook_env, sky_dir):
    """SkyPilot's import loads the table and nothing else of skyutils: no package, no library
    (up to b6ad724 the hook imported skyutils and parsed SkyPilot's source 12 times there)."""
    if not library_here():
        pytest.skip('no native library: nothing is served')
    on, (mapped, imported), first_call = child(IMPORTS, hook_env, sky_dir)
    off, _, _ = child(IMPORTS, dict(hook_env, SKYPILOT_USE_RUST='0'), sky_dir)
    assert set(on) - set(off) == {'_skyutils_verified'}
    assert not mapped and imported == []
    assert first_call == [True, True]


def test_verification_parses_nothing(hook_env, sky_dir):
    """The hook compares a file digest: SkyPilot's import parses exactly what it parses
    without the hook."""
    code = '''
        import ast, json
        calls = []
        real = ast.parse
        ast.parse = lambda *a, **k: calls.append(1) or real(*a, **k)
        import sky.utils.common_utils, sky.utils.subprocess_utils
        print(json.dumps(len(calls)))
    '''
    assert child(code, hook_env, sky_dir) == child(
        code, dict(hook_env, SKYPILOT_USE_RUST='0'), sky_dir
    )


SPAWN = '''
    import json, multiprocessing, sys
    sys.path.insert(0, sys.argv[1])
    import spawn_target
    if __name__ == '__main__':
        with multiprocessing.get_context('spawn').Pool(1) as pool:
            print(json.dumps(pool.apply(spawn_target.served)))
'''
SPAWN_TARGET = (
    '''
import sys
'''
    + SERVED
    + '''

def served():
    """In the spawn child: what serves SkyPilot's functions, and what was imported first."""
    before = sorted(m for m in ('skyutils', 'psutil') if m in sys.modules)
    from sky.utils import common_utils
    import _skyutils_hook
    return {'before': before, 'served': served_now(), 'hook': _skyutils_hook.state['active'],
            'answer': common_utils.base36_encode('ff')}
'''
)


@pytest.fixture
def spawn_dir(sky_dir):
    (sky_dir / 'spawn_target.py').write_text(SPAWN_TARGET)
    return sky_dir


def test_a_spawn_child_is_served_natively_and_only_natively(hook_env, spawn_dir):
    """Only what the library serves is replaced: format_float, truncate_long_string,
    hash_file and get_parallel_threads stay SkyPilot's (up to b6ad724 all ten were replaced,
    four of them by pure-Python twins that gained nothing)."""
    got = child(SPAWN, hook_env, spawn_dir, str(spawn_dir))
    assert got['hook'] and got['answer'] == '73'
    assert got['before'] == []  # nothing of skyutils or psutil before SkyPilot's import
    assert set(got['served']) == (NATIVE if library_here() else set()), got


@pytest.mark.parametrize('off', ['0', 'off'])
def test_skypilot_use_rust_off_keeps_skypilot_s_own(hook_env, spawn_dir, off):
    hook_env['SKYPILOT_USE_RUST'] = off
    got = child(SPAWN, hook_env, spawn_dir, str(spawn_dir))
    assert not got['hook'] and got['served'] == [] and got['answer'] == '73'


def _sky_copy(spawn_dir):
    common_utils, _ = reference.load()
    package = os.path.dirname(os.path.dirname(os.path.dirname(common_utils.__file__)))
    copy = spawn_dir / 'skypilot'
    shutil.copytree(
        os.path.join(package, 'sky'), copy / 'sky', ignore=shutil.ignore_patterns('__pycache__')
    )
    return copy


# Module-level lines appended to a copy of SkyPilot's files: no function body changes, yet
# what four functions return does (the edits).
APPENDED = {
    'common_utils.py': (
        '\n_get_cgroup_cpu_limit = lambda: 1.0\n'
        "globals()['_get_cgroup_memory_limit'] = lambda: 1 << 30\n"
        'class RuntimeError(Exception):\n    pass\n'
    ),
    'subprocess_utils.py': '\n_get_thread_multiplier = lambda cloud_str=None: 2\n',
}
EDITED = (
    SERVED
    + '''
import json, os, tempfile
from sky.utils import common_utils, subprocess_utils
import _skyutils_hook
own = _skyutils_hook.original_of
def outcome(f, *args):
    try:
        return repr(f(*args))
    except Exception as e:
        return f'{type(e).__module__}.{type(e).__name__}'
directory = tempfile.mkdtemp()
calls = [(common_utils, 'get_cpu_count', ()), (common_utils, 'get_mem_size_gb', ()),
         (subprocess_utils, 'get_max_workers_for_file_mounts', ({'/': directory},)),
         (common_utils, 'read_last_n_lines', (directory, 1))]
print(json.dumps([served_now(),
                  [outcome(getattr(m, n), *a) == outcome(own(getattr(m, n)), *a)
                   for m, n, a in calls],
                  {m: v['why'] for m, v in _skyutils_hook.state.get('modules', {}).items()}]))
'''
)


def test_a_module_level_edit_leaves_the_module_to_skypilot(hook_env, spawn_dir):
    """A helper rebound after its def, a globals() write, a builtin shadowed: the file is no
    verified release's, so nothing of it is served (up to b6ad724 the body fingerprints still
    matched: get_cpu_count 2 against SkyPilot's 1, get_mem_size_gb 23.5 against 1.0,
    read_last_n_lines raising builtins.RuntimeError against the module's own)."""
    copy = _sky_copy(spawn_dir)
    for name, lines in APPENDED.items():
        with open(copy / 'sky' / 'utils' / name, 'a') as f:
            f.write(lines)
    hook_env['PYTHONPATH'] = os.pathsep.join([str(copy), hook_env.get('PYTHONPATH', '')])
    served, same, why = child(EDITED, hook_env, spawn_dir)
    assert served == [] and all(same), (served, same)
    edited = ('sky.utils.common_utils', 'sky.utils.subprocess_utils')
    assert all('no verified release' in why[m] for m in edited), why


def test_info_says_when_skypilot_is_a_release_not_verified(hook_env, spawn_dir):
    """A SkyPilot release newer than this install's table (0.14.1's own files as a 0.14.2 whose
    common_utils changed): `skyutils info --skypilot` says so plainly, with what to do, and
    makes no network call (it runs with no route to any index)."""
    copy = _sky_copy(spawn_dir)
    with open(copy / 'sky' / 'utils' / 'common_utils.py', 'a') as f:
        f.write('\n# 0.14.2\n')
    info = copy / 'skypilot-0.14.2.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: skypilot\nVersion: 0.14.2\n')
    (info / 'RECORD').write_text('')
    hook_env['PYTHONPATH'] = os.pathsep.join([str(copy), hook_env.get('PYTHONPATH', '')])
    hook_env['no_proxy'] = hook_env['NO_PROXY'] = ''
    hook_env['https_proxy'] = hook_env['http_proxy'] = 'http://127.0.0.1:9'  # nothing listens
    done = subprocess.run(
        [sys.executable, '-m', 'skyutils', 'info', '--skypilot'], env=hook_env,
        cwd=str(spawn_dir), capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    text = done.stdout
    assert 'SkyPilot skypilot 0.14.2:' in text, text
    assert 'skypilot 0.14.2 is not a release this skypilot-rust' in text, text
    assert "SkyPilot's functions stay its own" in text and 'pip install -U skypilot-rust' in text
    assert 'sky.utils.common_utils: left alone' in text  # its file changed
    # subprocess_utils did not change: still the file of the release copied (0.14.x or nightly)
    assert 'sky.utils.subprocess_utils: the file of SkyPilot ' in text


# unittest.mock.patch as SkyPilot's own tests use it, each of a name a served function reads:
# the call must answer as SkyPilot's own does under the same mock, and be served again after.
MOCKS = '''
import contextlib, json
from unittest import mock
from sky.utils import common_utils, subprocess_utils
import _skyutils_hook
own = _skyutils_hook.original_of
env = lambda name, default=None: '3' if name == 'SKYPILOT_POD_CPU_CORE_LIMIT' else default
cases = [
    ('sky.utils.common_utils._get_cgroup_cpu_limit', dict(return_value=0.5), 'get_cpu_count'),
    ('psutil.cpu_count', dict(return_value=1), 'get_cpu_count'),
    ('os.sched_getaffinity', dict(return_value={0}), 'get_cpu_count'),
    ('os.getenv', dict(side_effect=env), 'get_cpu_count'),
    ('builtins.open', dict(new=mock.mock_open(read_data='50000 100000')), 'get_cpu_count'),
    ('sky.utils.common_utils._get_cgroup_memory_limit', dict(return_value=1 << 30),
     'get_mem_size_gb'),
    ('psutil.virtual_memory', dict(return_value=mock.Mock(total=1 << 31)), 'get_mem_size_gb'),
    ('sky.utils.subprocess_utils._get_thread_multiplier', dict(return_value=0),
     'get_max_workers_for_file_mounts'),
    ('sky.utils.subprocess_utils.get_parallel_threads', dict(return_value=1),
     'get_max_workers_for_file_mounts'),
    ('os.listdir', dict(return_value=['a'] * 5000), 'get_max_workers_for_file_mounts'),
]
where = {'get_max_workers_for_file_mounts': (subprocess_utils, ({'/': '/'},))}
results = []
for target, how, name in cases:
    module, args = where.get(name, (common_utils, ()))
    function = getattr(module, name)
    cgroup_v2 = mock.patch('os.path.isfile', return_value=True)  # the file open() reads
    with mock.patch(target, **how), cgroup_v2 if 'open' in target else contextlib.nullcontext():
        got, want = function(*args), own(function)(*args)
    results.append([target, repr(got), repr(want), repr(function(*args)),
                    repr(own(function)(*args))])
print(json.dumps(results))
'''


def test_mocks_of_what_a_function_reads_get_skypilot_s_answer(hook_env, sky_dir):
    """Each mock changes SkyPilot's answer: the served function must give that answer while it
    lasts, and serve (the same answer as SkyPilot's unmocked) after. Up to b6ad724, 7 of 7
    such calls answered as if nothing were mocked."""
    for target, got, want, after, own_after in child(MOCKS, hook_env, sky_dir):
        assert got == want, (target, got, want)
        assert after == own_after, target


def test_the_hook_serves_again_once_a_mock_is_undone_and_reports_it(hook_env, sky_dir):
    if not library_here():
        pytest.skip('no native library: nothing is served')
    got = child(
        '''
        import json
        from unittest import mock
        from sky.utils import common_utils
        import _skyutils_hook
        entry = common_utils.get_cpu_count._skyutils_entry
        with mock.patch('os.getenv'):
            during = [entry.intact, _skyutils_hook.served()[
                'sky.utils.common_utils.get_cpu_count']['now']]
        print(json.dumps([during, entry.intact]))
    ''',
        hook_env,
        sky_dir,
    )
    (intact_during, now), intact_after = got
    assert not intact_during and 'rebound' in now and intact_after


def test_warnings_as_errors_and_a_skyutils_of_the_user_s_own(hook_env, sky_dir):
    """RuntimeWarnings as errors and a `skyutils.py` in the current directory (first on
    sys.path): SkyPilot imports and answers as without the hook, and the user's module never
    runs. Up to b6ad724 the hook imported whatever skyutils came first at SkyPilot's import,
    and its warning became an error that failed the import."""
    (sky_dir / 'skyutils.py').write_text("raise SystemExit('the user skyutils.py ran')\n")
    code = '''
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from sky.utils import common_utils
        import _skyutils_hook
        entry = getattr(common_utils.get_cpu_count, '_skyutils_entry', None)
        print(json.dumps([common_utils.base36_encode('ff'), common_utils.get_cpu_count(),
                          entry.why if entry else None]))
    '''
    answer, count, why = child(
        code,
        dict(hook_env, PYTHONWARNINGS='error::RuntimeWarning'),
        sky_dir,
        flags=['-W', 'error::RuntimeWarning'],
    )
    off = child(code, dict(hook_env, SKYPILOT_USE_RUST='0'), sky_dir)
    assert [answer, count] == off[:2]
    if library_here():
        assert 'finds' in why and 'skyutils.py' in why, why


def test_a_reload_is_served_again_and_reported_truthfully(hook_env, sky_dir):
    """After importlib.reload, the module's new functions are served, and what status()
    reports replaced is what the module holds (up to b6ad724 a reload gave SkyPilot its own
    functions back while status() still listed them replaced)."""
    got = child(
        """
        import importlib, json
        from sky.utils import common_utils
        from skyutils import _patch
        before = {n: vars(common_utils)[n] for n in vars(common_utils)}
        importlib.reload(common_utils)
        replaced = [n.rsplit('.', 1)[1] for n in _patch.status()['replaced']
                    if n.startswith('sky.utils.common_utils.')]
        truthful = [getattr(getattr(common_utils, n), '__wrapped__', None) is not None
                    and common_utils.__dict__[n].__wrapped__ is not before[n] for n in replaced]
        print(json.dumps([replaced, truthful]))
    """,
        hook_env,
        sky_dir,
    )
    replaced, truthful = got
    want = {
        'base36_encode',
        'read_last_n_lines',
        'find_free_port',
        'get_cpu_count',
        'get_mem_size_gb',
    }
    assert set(replaced) == (want & NATIVE if library_here() else set())
    assert all(truthful), got


def test_a_served_function_pickles_under_skypilot_s_name(hook_env, sky_dir):
    """Unpickled where the library is off, it is SkyPilot's own function (up to b6ad724 it
    pickled as skyutils._bindings.files.read_last_n_lines, which loads only with the
    library)."""
    pickled = sky_dir / 'f.pickle'
    child(
        f'''
        import json, pickle
        from sky.utils import common_utils
        with open({str(pickled)!r}, 'wb') as f:
            pickle.dump(common_utils.get_cpu_count, f)
        print(json.dumps(None))
    ''',
        hook_env,
        sky_dir,
    )
    got = child(
        f'''
        import json, pickle
        with open({str(pickled)!r}, 'rb') as f:
            function = pickle.load(f)
        from sky.utils import common_utils
        print(json.dumps([function is common_utils.get_cpu_count, function()]))
    ''',
        dict(hook_env, SKYPILOT_USE_RUST='0'),
        sky_dir,
    )
    assert got[0] is True


def test_a_function_reading_served_modules_pickles_by_value_in_cloudpickle(hook_env, sky_dir):
    """A function cloudpickle pickles by value, which refers to os and SkyPilot's module,
    pickles and runs where functions are served (their modules keep their own class)."""
    pytest.importorskip('cloudpickle')
    got = child(
        '''
        import json, os, pickle
        import cloudpickle
        from sky.utils import common_utils
        common_utils.get_cpu_count()
        f = lambda: (os.getpid(), common_utils.base36_encode('ff'))
        print(json.dumps([type(os).__name__, pickle.loads(cloudpickle.dumps(f))()[1]]))
    ''',
        hook_env,
        sky_dir,
    )
    assert got == ['module', '73']


def test_the_low_descriptor_warning_is_skypilot_s_own(hook_env, sky_dir):
    """With 512 descriptors allowed, SkyPilot's own logger warns once, and sky_logging.silent()
    silences it (up to b6ad724 it went to logger skyutils, which silent() does not reach)."""
    code = '''
        import json, resource, sys
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        from sky import sky_logging
        from sky.utils import subprocess_utils
        with sky_logging.silent():
            subprocess_utils.get_max_workers_for_file_mounts({})
        print('--', file=sys.stderr)
        print(json.dumps(subprocess_utils.get_max_workers_for_file_mounts({})))
    '''
    on, off = (run(code, env, sky_dir) for env in (hook_env, dict(hook_env, SKYPILOT_USE_RUST='0')))
    assert on.returncode == off.returncode == 0, on.stderr
    assert on.stdout == off.stdout
    silenced, _ = on.stderr.split('--\n')
    assert 'descriptor limit' not in silenced, on.stderr
    assert on.stderr.count('Open file descriptor limit (512) is low') == off.stderr.count(
        'Open file descriptor limit (512) is low'
    )


def test_an_uncaught_error_prints_as_skypilot_s(hook_env, sky_dir):
    """SkyPilot raises read_last_n_lines' error inside print_exception_no_traceback(): the
    same lines with the hook (up to b6ad724: 14-16 lines of traceback instead of 5)."""
    code = '''
        import sys
        from sky.utils import common_utils
        common_utils.get_cpu_count()  # the library loaded (with the hook) before the error
        common_utils.read_last_n_lines(sys.argv[1], 1)
    '''
    on, off = (
        run(code, env, sky_dir, str(sky_dir))
        for env in (hook_env, dict(hook_env, SKYPILOT_USE_RUST='0'))
    )
    assert on.returncode == off.returncode != 0
    assert on.stderr == off.stderr


def test_the_hook_is_installed_beside_the_package():
    """Only where the wheel is installed: the .pth and its modules in site-packages, and the
    hook active in this very process."""
    directory = installed_hook()
    if directory is None:
        if REQUIRED:
            pytest.fail('SKYUTILS_REQUIRE_HOOK=1 but skypilot_rust.pth is not installed')
        pytest.skip('a source checkout: the hook is not installed')
    for name in HOOK_FILES:
        assert os.path.isfile(os.path.join(directory, name))
    import _skyutils_hook

    assert _skyutils_hook.state['active'] == (
        os.environ.get('SKYPILOT_USE_RUST', '').strip().lower() not in ('0', 'false', 'no', 'off')
    )


def test_skyutils_info_shows_what_serves_skypilot(hook_env, sky_dir):
    def info(*flags):
        return subprocess.run(
            [sys.executable, '-m', 'skyutils', 'info', '--skypilot', *flags],
            env=hook_env,
            cwd=str(sky_dir),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    found = json.loads(info('--json'))['skypilot']
    assert found['hook']['active'] and found['hook']['pid'] > 0
    assert found['distribution'] in ('skypilot', 'skypilot-nightly')
    for verdict in found['modules'].values():
        assert verdict['release'] and found['version'] in verdict['release'].split(', '), verdict
    served = {n.rsplit('.', 1)[1] for n in found['served']}
    waits = {w.name for w in _registry.WAITS}
    assert served == (NATIVE | waits if library_here() else set())
    text = info()
    assert 'startup hook: active in this process' in text
    release = found['modules']['sky.utils.common_utils']['release']
    assert f'sky.utils.common_utils: the file of SkyPilot {release}' in text
    assert '    format_float' not in text  # not a function the hook serves


def test_bench_takes_skypilot_s_own_functions_as_its_reference(hook_env, sky_dir):
    """With the hook serving SkyPilot, `skyutils bench`'s SkyPilot column must time
    SkyPilot's own function, not the one the hook put in its module (up to b6ad724 both columns
    were skyutils: geometric mean 1.10x, 'missed')."""
    got = child(
        '''
        import json
        from sky.utils import common_utils, subprocess_utils
        from skyutils.bench import reference
        found = reference.reference_functions()
        modules = {'get_max_workers_for_file_mounts': subprocess_utils,
                   'get_parallel_threads': subprocess_utils}
        rows = {}
        for name, function in found.items():
            module = modules.get(name, common_utils)
            if name in vars(module):
                rows[name] = [getattr(function, '__code__', None) is not None
                              and function.__code__.co_filename == module.__file__,
                              '_skyutils_entry' in vars(getattr(module, name))]
        print(json.dumps(rows))
    ''',
        hook_env,
        sky_dir,
    )
    assert len(got) == 10
    for name, (skypilot_s_own, module_holds_a_stub) in got.items():
        assert skypilot_s_own, name
        assert module_holds_a_stub == (name in NATIVE and library_here()), name


ZIP_MOCKS = '''
import json, os, sys, tempfile, zipfile
from unittest import mock
from sky.data import storage_utils
import _skyutils_hook
own = _skyutils_hook.original_of(storage_utils.zip_files_and_folders)
root = tempfile.mkdtemp()
for name in ('a', 'b', 'c'):
    os.makedirs(os.path.join(root, name))
    with open(os.path.join(root, name, 'f.txt'), 'w') as f:
        f.write(name * 1000)
def names(function):
    out = os.path.join(tempfile.mkdtemp(), 'z.zip')
    function([root], out)
    with zipfile.ZipFile(out) as z:
        return [(i.filename, z.read(i).decode()) for i in z.infolist()]
def how():
    module = sys.modules.get('skyutils.skypilot.zip_files')
    found = module.last['outcome'] if module else None
    if module:
        module.last['outcome'] = None
    return found
cases = [
    # Each a name SkyPilot's zip reads: the hook sees it rebound, and SkyPilot's own runs.
    ('sky.data.storage_utils.get_excluded_files', dict(return_value=['b'])),
    ('os.walk', dict(side_effect=lambda *a, **k: iter([(root, [], [])]))),
    ('os.path.islink', dict(return_value=False)),
]
results = []
for target, kwargs in cases:
    with mock.patch(target, **kwargs):
        got = names(storage_utils.zip_files_and_folders)
        served = how()
    with mock.patch(target, **kwargs):
        want = names(own)
    results.append([target, got == want, served, len(got)])
tracer = sys.gettrace()
sys.settrace(lambda *a: None)  # a debugger: SkyPilot's own code runs, for it to see
try:
    traced = names(storage_utils.zip_files_and_folders)
    traced_how = how()
finally:
    sys.settrace(tracer)
after = names(storage_utils.zip_files_and_folders)
print(json.dumps([results, traced == names(own), traced_how, after == names(own), how()]))
'''


def test_mocks_and_a_tracer_around_the_served_zip(hook_env, sky_dir):
    """SkyPilot's tests mock what its zip reads (its exclusions helper, os.walk...): under each
    mock, and under a tracer, the call is SkyPilot's own and answers as SkyPilot's does; after
    them the zip is served again."""
    if not library_here():
        pytest.skip('no native library: nothing is served')
    results, traced_same, traced_how, after_same, after_how = child(ZIP_MOCKS, hook_env, sky_dir)
    for target, same, served, count in results:
        assert same and served is None and count, (target, served)  # SkyPilot's own ran
    assert traced_same and traced_how is None
    assert after_same and after_how == 'native'


EXTRACT_MOCKS = '''
import json, os, pathlib, sys, tempfile, zipfile
from unittest import mock
from sky.server import server
import _skyutils_hook
own = _skyutils_hook.original_of(server._extract_members)
zip_path = os.path.join(tempfile.mkdtemp(), 'u.zip')
with zipfile.ZipFile(zip_path, 'w', zipfile.ZIP_DEFLATED) as z:
    for name in ('a/f.txt', 'b/g.txt', 'c'):
        z.writestr(name, name * 1000)
def tree(function):
    target = pathlib.Path(tempfile.mkdtemp())
    with zipfile.ZipFile(zip_path) as zipf:
        function(zipf, zipf.infolist(), target)
    return sorted((os.path.relpath(os.path.join(d, f), target), open(os.path.join(d, f)).read())
                  for d, _, files in os.walk(target) for f in files)
def how():
    module = sys.modules.get('skyutils.skypilot.extract')
    found = module.last['outcome'] if module else None
    if module:
        module.last['outcome'] = None
    return found
import shutil
cases = [('shutil.copyfileobj', shutil.copyfileobj), ('os.path.normpath', os.path.normpath),
         ('sky.server.server._is_relative_to', server._is_relative_to)]
results = []
for target, real in cases:
    with mock.patch(target, wraps=real) as m:
        got = tree(server._extract_members)
        results.append([target, got == tree(own), how(), m.call_count > 0])
print(json.dumps([results, tree(server._extract_members) == tree(own), how()]))
'''


def test_mocks_around_the_served_extraction(hook_env, sky_dir):
    """SkyPilot's tests mock what its server extraction reads (shutil.copyfileobj, its path
    check...): under each mock the call is SkyPilot's own (the mock is called); after them
    the extraction is served again."""
    if not library_here():
        pytest.skip('no native library: nothing is served')
    results, after_same, after_how = child(EXTRACT_MOCKS, hook_env, sky_dir)
    for target, same, served, called in results:
        assert same and served is None and called, (target, served)
    assert after_same and after_how == 'native'
