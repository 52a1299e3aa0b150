"""Serving SkyPilot leaves no trace outside SkyPilot's functions (issue 27, findings 5-12), each
in fresh interpreters with the hook as installed, against the same code with
SKYPILOT_USE_RUST=0 (SkyPilot alone): module classes, pickling and copying, psutil's loader,
re-imports, the table's origin, mocks below the names SkyPilot reads, tracers, introspection,
and SkyPilot's DEBUG records."""

import socket
import sys

import pytest
import test_startup_hook as startup
from test_startup_hook import child, library_here

hook_env, sky_dir = startup.hook_env, startup.sky_dir  # its fixtures, shared

pytestmark = pytest.mark.skipif(not library_here(), reason='nothing is served without the library')


def on_and_off(code, env, cwd, *args):
    """The child's answer with the hook on, and with SKYPILOT_USE_RUST=0."""
    return child(code, env, cwd, *args), child(code, dict(env, SKYPILOT_USE_RUST='0'), cwd, *args)


CALL_ALL = '''
    from sky.utils import common_utils, subprocess_utils
    common_utils.get_cpu_count(); common_utils.get_mem_size_gb(); common_utils.base36_encode('ff')
    common_utils.read_last_n_lines(__file__ if '__file__' in dir() else '/etc/hostname', 2)
    common_utils.find_free_port(20000)
    subprocess_utils.get_max_workers_for_file_mounts({})
'''


def test_no_module_changes_class_and_pickling_and_copying_answer_as_alone(hook_env, sky_dir):
    """Finding 5: os, builtins, socket and psutil keep types.ModuleType; pickle and copy refuse
    them as without the package. (Before: _WatchedModule, and they succeeded.)"""
    code = (
        CALL_ALL
        + '''
    import builtins, copy, json, os, pickle, socket, types, psutil
    def refused(f):
        try:
            f()
        except TypeError:
            return True
        return False
    print(json.dumps([
        [type(m) is types.ModuleType for m in (os, builtins, socket, psutil, common_utils)],
        refused(lambda: pickle.dumps(os)), refused(lambda: copy.copy(socket)),
        refused(lambda: copy.deepcopy({'m': os})),
    ]))
    '''
    )
    on, off = on_and_off(code, hook_env, sky_dir)
    assert on == off == [[True] * 5, True, True, True]


def test_psutil_s_loader_is_its_own(hook_env, sky_dir):
    """Finding 6: in a process that imports psutil (with or without SkyPilot), psutil's loader
    is the import system's, and pkg_resources-style questions of it answer. (Before: the
    hook's wrapper, whose resource_exists raised NotImplementedError.)"""
    code = '''
    import json, sys
    if sys.argv[1] == 'sky':
        from sky.utils import common_utils
    import psutil
    print(json.dumps([type(psutil.__loader__).__name__, type(psutil.__spec__.loader).__name__]))
    '''
    for with_sky in ('sky', 'plain'):
        on, off = on_and_off(code, hook_env, sky_dir, with_sky)
        assert on == off == ['SourceFileLoader', 'SourceFileLoader'], with_sky


def test_re_imports_keep_no_old_stubs(hook_env, sky_dir):
    """Finding 7: popping and importing SkyPilot's modules 30 times keeps one set of stubs.
    (Before: every set stayed in the hook, and every mock.patch of a read name rechecked them
    all.)"""
    got = child(
        '''
        import importlib, json, sys
        import _skyutils_hook
        counts = []
        for _ in range(30):
            for name in ('sky.utils.common_utils', 'sky.utils.subprocess_utils'):
                sys.modules.pop(name, None)
            importlib.import_module('sky.utils.common_utils')
            importlib.import_module('sky.utils.subprocess_utils')
            counts.append(sum(len(v) for v in _skyutils_hook._entries.values()))
        print(json.dumps([counts[0], counts[-1]]))
    ''',
        hook_env,
        sky_dir,
    )
    assert got[0] == got[1] >= 5


def test_the_table_is_the_hook_s_own_file(hook_env, sky_dir):
    """Finding 8: a _skyutils_verified.py in the current directory is neither run nor trusted.
    (Before: `import sky` ran it as the table of verified releases.)"""
    marker = sky_dir / 'ran'
    (sky_dir / '_skyutils_verified.py').write_text(
        f'open({str(marker)!r}, "w").close()\nRELEASES = READS = SERVED = {{}}\n'
    )
    got = child(
        '''
        import json, os, sys
        sys.path.insert(0, os.getcwd())
        from sky.utils import common_utils
        import _skyutils_hook
        table = sys.modules['_skyutils_verified']
        print(json.dumps([os.path.dirname(table.__file__) == _skyutils_hook._HERE,
                          'base36_encode' in _skyutils_hook.state['modules'][
                              'sky.utils.common_utils']['functions']]))
    ''',
        hook_env,
        sky_dir,
    )
    assert got == [True, True]
    assert not marker.exists()


DEEP_MOCKS = '''
    import collections, json, sys
    from unittest import mock
    import psutil
    from sky.utils import common_utils
    first = sys.argv[1] == 'first'  # the mock made before the served function's first call
    if not first:
        common_utils.get_cpu_count(); common_utils.get_mem_size_gb()
    Memory = collections.namedtuple('Memory', 'total available')
    got = []
    for target, value, function in [
        ('os.sysconf', 1, 'get_cpu_count'),
        ('psutil._psplatform.cpu_count_logical', 1, 'get_cpu_count'),
        ('psutil.cpu_count', 1, 'get_cpu_count'),
        ('psutil._psplatform.virtual_memory', Memory(1 << 30, 1 << 29), 'get_mem_size_gb'),
        ('psutil.virtual_memory', Memory(1 << 30, 1 << 29), 'get_mem_size_gb'),
        ('psutil._pslinux.open_binary', None, 'get_mem_size_gb'),
        ('psutil._common.open_binary', None, 'get_mem_size_gb'),
    ]:
        kwargs = {'return_value': value} if value is not None else {
            'side_effect': OSError(5, 'mocked')}
        with mock.patch(target, **kwargs):
            try:
                answer = getattr(common_utils, function)()
            except Exception as e:
                answer = type(e).__name__
        got.append([target, answer, getattr(common_utils, function)()])
    print(json.dumps(got))
'''


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason="psutil's Linux internals")
@pytest.mark.parametrize('when', ['first', 'later'])
def test_mocks_below_the_names_skypilot_reads_get_skypilot_s_answer(hook_env, sky_dir, when):
    """Finding 9: os.sysconf and psutil's internals mocked (before or after the first call)
    give SkyPilot's answer, and the answer after the mock is undone is again the same.
    (Before: os.sysconf -> 1 gave 1 alone and the core count served.)"""
    on, off = on_and_off(DEEP_MOCKS, hook_env, sky_dir, when)
    assert on == off
    assert [row[1] for row in off[:3]] == [1, 1, 1]  # each mock changes SkyPilot's own answer


def test_a_mock_of_each_listed_psutil_name_changes_skypilot_s_own_answer(hook_env, sky_dir):
    """The names _PSUTIL_READS lists each matter: SkyPilot's own answer changes when one is
    mocked (the rest is traced in test_the_listed_names_are_all_skypilot_reaches)."""
    got = child(
        '''
        import builtins, json
        from unittest import mock
        import psutil
        import _skyutils_hook
        from sky.utils import common_utils
        cpu = _skyutils_hook.original_of(common_utils.get_cpu_count)
        mem = _skyutils_hook.original_of(common_utils.get_mem_size_gb)
        base = [cpu(), mem()]
        changed = {}
        for function, chains in _skyutils_hook._PSUTIL_READS.items():
            own = cpu if function == 'cpu_count' else mem
            for chain in (function,) + chains:
                owner, name = ('psutil.' + chain).rsplit('.', 1)
                namespace = psutil
                for part in owner.split('.')[1:]:
                    namespace = getattr(namespace, part, None)
                if namespace is None:
                    continue  # another psutil version's (psutil 7's ntp, 5.9's svmem)
                bound = name in vars(namespace)
                value = vars(namespace).get(name, getattr(builtins, name, None))
                if value is None:
                    continue  # another version's name
                fake = 7 if type(value) is int else mock.MagicMock(side_effect=OSError(5, 'x'))
                with mock.patch.object(namespace, name, fake, create=not bound):
                    try:
                        answer = own()
                    except Exception as e:
                        answer = type(e).__name__
                changed[chain] = answer != base[own is mem]
        print(json.dumps(changed))
    ''',
        hook_env,
        sky_dir,
    )
    assert all(got.values()), got


TRACED = '''
    import json, sys
    from sky.utils import common_utils
    ran = []
    def tracer(frame, event, arg):
        if frame.f_code.co_filename == common_utils.__file__:
            ran.append(frame.f_code.co_name)
        return None
    mode = sys.argv[1]
    if mode == 'settrace':
        sys.settrace(tracer)
    else:
        monitoring = sys.monitoring
        monitoring.use_tool_id(monitoring.COVERAGE_ID, 'test')
        monitoring.register_callback(
            monitoring.COVERAGE_ID, monitoring.events.PY_START,
            lambda code, offset: ran.append(code.co_name)
            if code.co_filename == common_utils.__file__ else None)
        monitoring.set_events(monitoring.COVERAGE_ID, monitoring.events.PY_START)
    common_utils.read_last_n_lines('/etc/hostname', 1)
    common_utils.base36_encode('ff')
    common_utils.get_cpu_count()
    sys.settrace(None)
    print(json.dumps(sorted(set(ran) & {'read_last_n_lines', 'base36_encode', 'get_cpu_count'})))
'''


@pytest.mark.parametrize('mode', ['settrace', 'monitoring'])
def test_under_a_tracer_skypilot_s_own_code_runs(hook_env, sky_dir, mode):
    """Finding 10: a debugger's or coverage's tracer (sys.settrace; sys.monitoring on 3.12+)
    sees SkyPilot's own functions run. (Before: the served ones ran, unseen.)"""
    if mode == 'monitoring' and sys.version_info < (3, 12):
        pytest.skip('sys.monitoring is 3.12+')
    on, off = on_and_off(TRACED, hook_env, sky_dir, mode)
    assert on == off == ['base36_encode', 'get_cpu_count', 'read_last_n_lines']


INTROSPECT = '''
    import inspect, json, typing
    from sky.utils import common_utils, subprocess_utils
    from sky.server import stream_utils
    got = {}
    for module, name in [(common_utils, 'base36_encode'), (common_utils, 'read_last_n_lines'),
                         (common_utils, 'find_free_port'), (common_utils, 'get_cpu_count'),
                         (common_utils, 'get_mem_size_gb'),
                         (subprocess_utils, 'get_max_workers_for_file_mounts'),
                         (stream_utils, '_tail_log_file')]:
        f = getattr(module, name)
        spec = inspect.getfullargspec(f)
        got[name] = [
            inspect.isasyncgenfunction(f), inspect.isfunction(f), str(inspect.signature(f)),
            repr(f.__defaults__), repr(f.__kwdefaults__), repr(f.__annotations__),
            spec.args, repr(spec.defaults), repr(spec.annotations),
            repr(typing.get_type_hints(f)), inspect.getsource(f), f.__name__, f.__qualname__,
            f.__module__, f.__doc__,
        ]
    print(json.dumps(got))
'''


def test_the_stubs_introspect_as_skypilot_s_functions(hook_env, sky_dir):
    """Finding 11: kind (an async generator function for _tail_log_file), signature, defaults,
    annotations, type hints, argspec and source are SkyPilot's. (Before: a plain function of
    *args, **kwargs with none of them.)"""
    on, off = on_and_off(INTROSPECT, hook_env, sky_dir)
    assert on == off


DEBUG_RECORDS = '''
    import json, logging, socket, sys
    import sky  # SkyPilot's own logging set-up: the sky logger at DEBUG
    from sky.utils import common_utils, subprocess_utils
    import _skyutils_hook
    records = []
    class Keep(logging.Handler):
        def emit(self, record):
            records.append([record.name, record.levelname, record.getMessage()])
    logging.getLogger('sky').addHandler(Keep())
    own_calls = []
    def profile(frame, event, arg):  # not a tracer: the served functions still serve
        if event == 'call' and frame.f_code.co_filename in (
                common_utils.__file__, subprocess_utils.__file__):
            own_calls.append(frame.f_code.co_name)
    sys.setprofile(profile)
    port = common_utils.find_free_port(int(sys.argv[1]))
    workers = subprocess_utils.get_max_workers_for_file_mounts({'/x': '/tmp'})
    sys.setprofile(None)
    served = _skyutils_hook.served()
    print(json.dumps({
        'debug': common_utils.logger.isEnabledFor(logging.DEBUG), 'port': port,
        'workers': workers, 'records': [r for r in records if 'port' in r[2] or 'workers' in r[2]],
        'own': sorted(set(own_calls) & {'find_free_port', 'get_max_workers_for_file_mounts'}),
        'now': {k.rsplit('.', 1)[1]: v['now'] for k, v in served.items()
                if k.endswith(('find_free_port', 'get_max_workers_for_file_mounts'))},
    }))
'''


def test_debug_logging_skypilot_s_processes_are_served_with_skypilot_s_records(hook_env, sky_dir):
    """Finding 12: with `import sky`'s logging (the sky logger at DEBUG), find_free_port and
    get_max_workers_for_file_mounts are served natively (SkyPilot's own code does not run) and
    write the records SkyPilot's own writes; served() says so. (Before: SkyPilot's own ran
    whenever DEBUG was on, while the report said they were served.)"""
    with socket.socket() as busy:
        busy.bind(('', 0))  # a start port that cannot bind: SkyPilot writes a record for it
        start = busy.getsockname()[1]
        on, off = on_and_off(DEBUG_RECORDS, hook_env, sky_dir, str(start))
        assert on['records'] == off['records'] and off['records'][0][2].startswith(
            f'Error binding port {start}: [Errno 98]'
        )
    free = on['port']  # the first port that bound: no record for it
    on, off = on_and_off(DEBUG_RECORDS, hook_env, sky_dir, str(free))
    assert on['debug'] and off['debug']
    for key in ('port', 'workers', 'records'):
        assert on[key] == off[key], key
    assert [r[1:] for r in off['records']] == [
        ['DEBUG', f"Using {off['workers']} workers for file mounts."]
    ]
    assert off['own'] == ['find_free_port', 'get_max_workers_for_file_mounts']
    assert on['own'] == []
    assert all(now.startswith('served natively') for now in on['now'].values()), on['now']


# SkyPilot's own calls traced: every global and module attribute that the frames of SkyPilot's
# and psutil's code load (LOAD_GLOBAL then LOAD_ATTR/LOAD_METHOD, read with dis from the code
# that ran), each mocked in turn (raising, or another constant): those that change SkyPilot's
# answer and are not among the stub's names are printed.
NOTHING_MISSING = '''
import builtins, dis, functools, json, sys, types
from unittest import mock
import psutil
from sky.utils import common_utils
import _skyutils_hook as hook

def chains_of(code):
    """(global name, attr, attr...) chains loaded by code: LOAD_GLOBAL then LOAD_ATTR/METHOD."""
    out, current = [], None
    for ins in dis.get_instructions(code):
        if ins.opname == 'LOAD_GLOBAL':
            if current: out.append(tuple(current))
            current = [ins.argval]
        elif ins.opname in ('LOAD_ATTR', 'LOAD_METHOD') and current:
            current.append(ins.argval)
        else:
            if current: out.append(tuple(current))
            current = None
    if current: out.append(tuple(current))
    return out

def reached(function):
    codes = {}
    def tracer(frame, event, arg):
        if event == 'call':
            name = frame.f_globals.get('__name__', '')
            if name.startswith(('sky', 'psutil')):
                codes[frame.f_code] = frame.f_globals
        return None
    sys.settrace(tracer)
    try:
        function()
    finally:
        sys.settrace(None)
    targets = set()
    for code, globs in codes.items():
        todo = [code]
        while todo:  # nested code (comprehensions) run in the same globals
            c = todo.pop()
            todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
            for chain in chains_of(c):
                owner = globs['__name__']
                value = globs.get(chain[0], builtins.__dict__.get(chain[0]))
                targets.add(f'{owner}.{chain[0]}')
                prefix = chain[0]
                for part in chain[1:]:
                    if type(value) is not types.ModuleType:
                        break
                    targets.add(f'{value.__name__}.{part}')
                    value = getattr(value, part, None)
    return targets

import functools
results = {}
calls = {'get_cpu_count': (), 'get_mem_size_gb': (), 'base36_encode': ('ff00',),
         'read_last_n_lines': ('/etc/passwd', 2)}
for fname, args in calls.items():
    getattr(common_utils, fname)(*args)  # served once: the stub's names resolved
    entry = next((e for e in hook._entries['sky.utils.common_utils'] if e.name == fname), None)
    if entry is None:
        continue  # not served on this interpreter (PyPy: base36_encode, read_last_n_lines)
    listed = {f"{d.get('__name__') or d.get('__qualname__')}.{n}"
              for d, n, _ in entry.deps + entry.lazy_deps}
    own = functools.partial(hook.original_of(getattr(common_utils, fname)), *args)
    base = own()
    changed = []
    for target in sorted(reached(own)):
        owner, name = target.rsplit('.', 1)
        try:
            module = sys.modules[owner]
        except KeyError:
            continue
        present = name in vars(module)
        value = vars(module).get(name, builtins.__dict__.get(name))
        fakes = [mock.MagicMock(side_effect=OSError(5, 'x'), return_value=1)]
        if isinstance(value, str): fakes = ['/nonexistent']
        if isinstance(value, int) and not isinstance(value, bool): fakes = [1]
        if isinstance(value, type) or type(value) is types.ModuleType:
            fakes = [mock.MagicMock()]
        for fake in fakes:
            try:
                with mock.patch.object(module, name, fake, create=not present):
                    try:
                        answer = own()
                    except BaseException as e:
                        answer = type(e).__name__
            except Exception:
                answer = 'unpatchable'
            # sys.modules replaced breaks the interpreter itself, not just this answer.
            if answer not in (base, 'unpatchable') and target not in listed | {'sys.modules'}:
                changed.append([target, present, str(answer)[:40]])
    results[fname] = changed
print(json.dumps(results))
'''


def test_the_listed_names_are_all_that_skypilot_s_answer_depends_on(hook_env, sky_dir):
    """Finding 9, the other half of the proof: no name SkyPilot's own get_cpu_count,
    get_mem_size_gb, base36_encode or read_last_n_lines loads on the way to its answer changes
    that answer when mocked unless the stub checks it."""
    got = child(NOTHING_MISSING, hook_env, sky_dir)
    assert got == {name: [] for name in got} and 'get_cpu_count' in got, got
