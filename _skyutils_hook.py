"""The startup hook of skypilot-rust: serves SkyPilot's functions natively in every Python
process of the environment, with no change to SkyPilot's code, and costs a process next to
nothing until one of them is called.

`skypilot_rust.pth` (installed beside this module, in site-packages) imports this module and
calls `install()` when an interpreter starts (importing it alone installs nothing): that
registers a meta path finder that answers for SkyPilot's target modules and nothing else (a
process that never imports SkyPilot gets the finder and nothing more). Right after a target
module runs, `patch()`:

1. hashes the module file's exact bytes and looks the digest up in `_skyutils_verified.py`
   (beside this file, loaded by path; made from SkyPilot's published wheels). A file that
   matches no verified release is left alone, with the reason in `skyutils info --skypilot`.
   Nothing is parsed.
2. replaces only the functions the native library serves on this interpreter by a stub made
   from a template with SkyPilot's own parameters (its defaults, annotations, globals and kind:
   `_tail_log_file` stays an async generator function) that imports skyutils (from this site
   directory only) and loads the library at its first call. Until then nothing of skyutils,
   ctypes or the library is loaded.
3. at every call, compares by identity each name the function's answer depends on with the
   value it was verified with (table 1 of the verified file: its module's globals, the
   attributes of the modules it reaches, the builtins it uses; and the psutil functions,
   public and internal, SkyPilot's code reaches, `_PSUTIL_READS`): anything rebound
   (`unittest.mock.patch` at any of those depths, pytest's monkeypatch, an assignment) or a
   tracer or monitoring tool (a debugger, coverage) running means SkyPilot's own runs. No
   module's class or loader is changed.

SkyPilot's API server starts its request workers with multiprocessing `spawn`, its controllers
and the skylet are interpreters of their own: each starts here. SKYPILOT_USE_RUST=0 (false, no,
off) turns the hook off. Nothing here raises into SkyPilot's import, whatever the warning
filters: any error leaves SkyPilot its own functions, and says why in `state`.
"""

import os
import sys

TYPE_CHECKING = False  # typing itself would cost every interpreter's start more than this hook
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

# The SkyPilot modules _skyutils_verified has releases of (a test holds the two together).
TARGETS = (
    'sky.utils.common_utils',
    'sky.utils.subprocess_utils',
    'sky.server.stream_utils',
    'sky.data.storage_utils',
    'sky.client.common',
    'sky.client.sdk',
    'sky.server.server',
)
_OFF = ('0', 'false', 'no', 'off')
_HERE = os.path.dirname(os.path.abspath(__file__))
_TABLE = '_skyutils_verified'
_ABSENT = object()  # what a name that is not bound is compared with
_ModuleType = type(sys)  # types.ModuleType, without importing types
_FunctionType: 'Any' = type(lambda: None)
_BuiltinType = type(len)
# What psutil's functions that SkyPilot calls read on Linux, beyond the name SkyPilot calls
# (dotted from psutil; `psutil._psplatform` is psutil._pslinux there), for the psutil
# versions whose code these were read from and traced in (tests/test_hook_footprint.py). Any
# other psutil or platform: SkyPilot's own serves the functions that read psutil.
_PSUTIL_READS = {
    'cpu_count': (
        '_psplatform',
        '_psplatform.cpu_count_logical',
        '_psplatform.os',
        '_psplatform.os.sysconf',
    ),
    'virtual_memory': (
        '_psplatform',
        '_psplatform.virtual_memory',
        '_psplatform.open_binary',
        '_psplatform.get_procfs_path',  # and psutil.PROCFS_PATH, which must be /proc
        '_psplatform.usage_percent',
        '_psplatform.int',
        '_psplatform.ntp',  # psutil 7: its named tuples' module
        '_psplatform.ntp.svmem',
        '_psplatform.svmem',  # psutil 5.9 and 6
        '_common.open',
        '_common.round',
        '_common.sys',
    ),
}
# A name a chain reaches that is not bound in that psutil (another version's, or a builtin
# looked up through the module) is recorded unbound: binding it later is noticed too.
_PSUTIL_KNOWN = ('5.9.', '6.', '7.')
_PROCFS = '/proc'  # psutil.PROCFS_PATH where the library's answer is psutil's
# sys.monitoring's tools (3.12+): a debugger, coverage or a profiler watching means SkyPilot's
# own code runs, for them to see.
_monitoring = getattr(sys, 'monitoring', None)
_TOOLS = tuple(range(6)) if _monitoring is not None else ()
# What skyutils info reports: whether the hook is on here, every target module's verdict, and
# the first error, if any.
state: 'Dict[str, Any]' = {
    'active': False,
    'pid': None,
    'error': None,
    'modules': {},
    'patch_seconds': 0.0,  # what patching SkyPilot's modules took in this process, all told
}
# module name -> its stubs now: a module imported again or reloaded replaces them, so nothing
# grows with re-imports.
_entries: 'Dict[str, List[_Entry]]' = {}


class _Entry:
    """One replaced function: what its stub checks at every call, and what serves it."""

    __slots__ = (
        'module',
        'name',
        'original',
        'stub',
        'release',
        'deps',
        'served',
        'why',
        'lazy',
        'lazy_chains',
        'lazy_module',
        'lazy_deps',
        'lazy_import',
        'check',
    )

    def __init__(self, module, name, original, release):
        self.module, self.name, self.original, self.release = module, name, original, release
        self.stub: Any = None
        self.deps: tuple = ()  # (namespace dict, name, the value it had when verified)
        self.served: Any = None  # None: not loaded yet; False: SkyPilot's own for good
        self.why = 'served natively from its first call'
        self.lazy: Optional[str] = None  # the lazily imported module it reads (psutil)
        self.lazy_chains: tuple = ()  # the chains it reads there (from the module)
        self.lazy_module: Any = None  # the module its lazy_deps were verified in
        self.lazy_deps: tuple = ()
        self.lazy_import: Any = None  # SkyPilot's global for it: a LazyImport, which keeps it
        self.check: Any = None  # _intact() and _watched() in one, made at the first call

    @property
    def intact(self) -> bool:
        """Every name the answer depends on has its verified value (no tracer asked)."""
        return _intact(self)


class _PatchAfterExec:
    """Wraps a target module's loader: the module runs as usual, then is patched."""

    def __init__(self, loader, after):
        self.loader, self.after = loader, after

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.after(module)

    def __getattr__(self, name):  # get_source, get_filename, is_package ...
        return getattr(self.loader, name)


class _Finder:
    """A meta path finder that answers only for the target modules, through the others."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname not in TARGETS:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Finder) or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _PatchAfterExec(spec.loader, _patch_quietly)  # type: ignore[assignment]
                return spec
        return None

    @staticmethod
    def invalidate_caches():
        pass


def install() -> None:
    """Registers the finder, unless SKYPILOT_USE_RUST turns skyutils off (called by the .pth)."""
    if os.environ.get('SKYPILOT_USE_RUST', '').strip().lower() in _OFF:
        return
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())
    state['active'] = True
    state['pid'] = os.getpid()


def _note_error(error: BaseException) -> None:
    if state['error'] is None:
        state['error'] = f'{type(error).__name__}: {error}'


def _patch_quietly(module) -> None:
    from time import perf_counter  # a built-in module: imported at start already

    started = perf_counter()
    try:
        patch(module)
    except Exception as e:  # SkyPilot's import goes on with its own functions
        _note_error(e)
    state['patch_seconds'] += perf_counter() - started


def verified_table():
    """The table of verified releases beside this file, by path (a `_skyutils_verified.py` of
    the current or a script's directory is never it)."""
    own = os.path.join(_HERE, _TABLE + '.py')
    table = sys.modules.get(_TABLE)
    if table is not None and getattr(table, '__file__', None) == own:
        return table
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location(_TABLE, own)
    if spec is None or spec.loader is None:
        raise ImportError(f'no table of verified releases at {own}')
    table = module_from_spec(spec)
    spec.loader.exec_module(table)
    sys.modules[_TABLE] = table  # skyutils and the tests read the same table, by this name
    return table


def patch(module, allow_untested: bool = False) -> 'Dict[str, str]':
    """Serves `module`'s functions natively where its file is a verified release's (or, with
    allow_untested, any file: what the functions read is then found by parsing it). Returns
    {function: why it is served or not}, also kept in state['modules']."""
    verified = verified_table()
    name = module.__name__
    _forget(name)  # imported again or reloaded: its earlier stubs serve no more
    verdict: Dict[str, Any] = {'release': None, 'digest': None, 'functions': {}, 'why': None}
    state['modules'][name] = verdict
    try:
        with open(module.__file__, 'rb') as f:
            data = f.read()
    except (OSError, TypeError) as e:
        verdict['why'] = f'its file cannot be read ({type(e).__name__}: {e})'
        return verdict['functions']
    import hashlib  # SkyPilot's modules import it before this runs

    digest = verdict['digest'] = hashlib.sha256(data).hexdigest()
    reads: Dict[str, Any]
    release = verified.RELEASES.get(name, {}).get(digest)
    if release is not None:
        versions, profile = release
        verdict['release'] = versions
        reads = dict(verified.READS[profile])
    elif allow_untested:
        from skyutils import _release

        source = _release.Module(data.decode('utf-8'))
        reads = {f: source.reads(f) for f in verified.SERVED.get(name, ()) if source.reads(f)}
        verdict['release'] = 'untested (allow_untested)'
    else:
        verdict['why'] = (
            f'its file (sha256 {digest[:16]}) is no verified release\'s: SkyPilot keeps its '
            'own functions'
        )
        return verdict['functions']
    native = verified.native_here(sys.implementation.name)
    library = os.path.join(_HERE, 'skyutils', '_lib')
    has_library = os.path.isdir(library) and bool(os.listdir(library))
    entries = []
    for function in verified.SERVED.get(name, ()):
        original = original_of(module.__dict__.get(function))  # patched again: the original
        if function not in reads:
            why = 'not in this release'
        elif function not in native:
            why = (
                f'SkyPilot\'s own: Python serves it on {sys.implementation.name}, so replacing '
                'it would gain nothing'
            )
        elif not has_library:
            why = 'SkyPilot\'s own: this install has no library'
        elif type(original) is not _FunctionType or original.__module__ != name:
            why = 'SkyPilot\'s own: not the function its module defines'
        else:
            entry = _Entry(module, function, original, verdict['release'])
            entry.stub = _stub(entry)
            if entry.stub is None:
                why = 'SkyPilot\'s own: its parameters are not those the stub was made for'
            else:
                entries.append(entry)
                why = entry.why
        verdict['functions'][function] = why
    # All stubs first, then what each reads: a served function that calls another reads its stub.
    for entry in entries:
        module.__dict__[entry.name] = entry.stub
    kept = []
    for entry in entries:
        chains, lazy = reads[entry.name]
        if _resolve(entry, chains, dict(lazy)):
            kept.append(entry)
        else:
            module.__dict__[entry.name] = entry.original
            verdict['functions'][entry.name] = 'SkyPilot\'s own: ' + entry.why
    _entries[name] = kept
    return verdict['functions']


def _is_module(value) -> bool:
    """A plain module: a LazyImport or other subclass is not (its attributes are its own)."""
    return type(value) is _ModuleType


def _resolve(entry, chains, lazy) -> bool:
    """Records the value of every name in `chains` (dotted, from the module's namespace) as
    what the stub compares at each call; False (with entry.why) where that cannot be done."""
    import builtins

    module = entry.module
    deps = {}
    for chain in chains:
        parts = chain.split('.')
        head = parts[0]
        value = module.__dict__.get(head, _ABSENT)
        deps[(id(module), head)] = (module.__dict__, head, value)
        if value is _ABSENT:
            value = builtins.__dict__.get(head, _ABSENT)
            deps[(id(builtins), head)] = (builtins.__dict__, head, value)
        if head in lazy:  # a module SkyPilot imports at first use: checked at the call
            if entry.lazy not in (None, lazy[head]):
                entry.why = 'it reads two lazily imported modules'
                return False
            entry.lazy, entry.lazy_import = lazy[head], value
            deps.update(_lazy_import_reads(value, builtins))
            if len(parts) > 1:
                called = '.'.join(parts[1:])
                entry.lazy_chains += (called,) + tuple(_PSUTIL_READS.get(called, ()))
            continue
        for part in parts[1:]:
            if not _is_module(value):
                break  # only modules' attributes: an object's are its own
            attribute = value.__dict__.get(part, _ABSENT)
            deps[(id(value), part)] = (value.__dict__, part, attribute)
            value = attribute
    entry.deps = tuple(deps.values())
    return True


def _lazy_import_reads(lazy_import, builtins) -> dict:
    """What SkyPilot's LazyImport reads on the way to the module: its class's methods and the
    builtin getattr, looked up in its own module."""
    found: 'Dict[Any, Any]' = {}
    cls = type(lazy_import)
    if cls is _ModuleType:
        return found
    for name in ('__getattr__', 'load_module'):
        if name in cls.__dict__:
            found[(id(cls), name)] = (cls.__dict__, name, cls.__dict__[name])
    owner = sys.modules.get(cls.__module__)
    if owner is not None:
        value = owner.__dict__.get('getattr', _ABSENT)
        found[(id(owner), 'getattr')] = (owner.__dict__, 'getattr', value)
        if value is _ABSENT:
            found[(id(builtins), 'getattr')] = (builtins.__dict__, 'getattr', builtins.getattr)
    return found


def _lazy_module(entry):
    """The module SkyPilot's call would use: what its LazyImport has loaded, else what an
    import would give (None: not imported yet)."""
    held = getattr(entry.lazy_import, '__dict__', {}).get('_module')
    return held if held is not None else sys.modules.get(entry.lazy)


def _resolve_lazy(entry, lazy) -> bool:
    """Records what entry reads in the lazily imported module `lazy` (psutil), once it is
    imported; False where that is no psutil whose internals are known, or a value there is
    not psutil's own (a mock made before the first call)."""
    version = getattr(lazy, '__version__', '')
    if (
        entry.lazy != 'psutil'
        or not sys.platform.startswith('linux')
        or not isinstance(version, str)
        or not version.startswith(_PSUTIL_KNOWN)
        or lazy.__dict__.get('PROCFS_PATH') != _PROCFS
    ):
        return False
    import builtins

    deps = {(id(lazy), 'PROCFS_PATH'): (lazy.__dict__, 'PROCFS_PATH', lazy.__dict__['PROCFS_PATH'])}
    for chain in entry.lazy_chains:
        value = lazy
        for part in chain.split('.'):
            if not _is_module(value):
                return False
            attribute = value.__dict__.get(part, _ABSENT)
            deps[(id(value), part)] = (value.__dict__, part, attribute)
            if attribute is _ABSENT:  # another version's name, or a builtin looked up here
                if part in builtins.__dict__:
                    deps[(id(builtins), part)] = (builtins.__dict__, part, builtins.__dict__[part])
                break
            if not _genuine(attribute, part):
                return False
            value = attribute
    entry.lazy_deps = tuple(deps.values())
    entry.lazy_module = lazy
    return True


def _genuine(value, name) -> bool:
    """psutil's own value of `name` (or the os module's and its functions'), not a stand-in."""
    kind = type(value)
    if kind is _ModuleType:
        return value.__name__ in ('os', 'sys') or value.__name__.startswith('psutil')
    if kind is _FunctionType or kind is _BuiltinType or kind is type:  # type: a named tuple
        owner = getattr(value, '__module__', None) or ''
        return value.__name__ == name and (owner.startswith('psutil') or owner == 'posix')
    return False


def _intact(entry) -> bool:
    for namespace, name, value in entry.deps:
        if namespace.get(name, _ABSENT) is not value:
            return False
    if entry.lazy is not None:
        lazy = _lazy_module(entry)
        if lazy is None:
            return True  # not imported yet: nothing in it can have been rebound
        if lazy is not entry.lazy_module and not _resolve_lazy(entry, lazy):
            return False
        for namespace, name, value in entry.lazy_deps:
            if namespace.get(name, _ABSENT) is not value:
                return False
    return True


def _watched() -> bool:
    """A tracer or a sys.monitoring tool (a debugger, coverage) is on: it asks for SkyPilot's
    own code to run."""
    if sys.gettrace() is not None:
        return True
    get_tool = _monitoring.get_tool if _monitoring is not None else None
    return get_tool is not None and any(map(get_tool, _TOOLS))


def _pick(entry):
    """What serves this call: the served function, or None for SkyPilot's own."""
    check = entry.check
    if check is None or not check():
        return _pick_slowly(entry)
    served = entry.served
    if served is None:
        served = _first_call(entry)
    return served or None


def _pick_slowly(entry):
    """_pick() where the quick check failed or is not made yet: psutil imported since,
    something rebound, a tracer on."""
    if _watched() or not _intact(entry):
        return None
    served = entry.served
    if served is None:
        served = _first_call(entry)
    if served:
        entry.check = _compiled_check(entry)  # what _intact() just resolved, at its state now
    return served or None


def _compiled_check(entry):
    """_intact() and _watched() as one function of straight-line subscripts (a loop over the
    names costs half as much again: ~40 ns a name against ~25). Made at a served function's
    first call, and again when psutil is imported or imported anew."""
    scope = {'_gettrace': sys.gettrace, '_modules': sys.modules}
    tests = ['_gettrace() is None']
    if _monitoring is not None:
        scope['_get_tool'] = _monitoring.get_tool
        tests.extend(f'_get_tool({tool}) is None' for tool in _TOOLS)
    if entry.lazy is not None:  # _lazy_module(entry) is entry.lazy_module, inline
        scope['_lazy'] = entry.lazy_module
        scope['_held'] = getattr(entry.lazy_import, '__dict__', {})
        tests.append(f"(_held.get('_module') or _modules.get({entry.lazy!r})) is _lazy")
    absent: Dict[int, Any] = {}  # id(namespace) -> (namespace, the names it must not bind)
    for index, (namespace, name, value) in enumerate(entry.deps + entry.lazy_deps):
        if value is _ABSENT:
            absent.setdefault(id(namespace), (namespace, []))[1].append(name)
        else:
            scope[f'_d{index}'], scope[f'_v{index}'] = namespace, value
            tests.append(f'_d{index}[{name!r}] is _v{index}')
    for index, (namespace, names) in enumerate(absent.values()):
        # One C call for a module's unbound names (the builtins it uses): a live keys view.
        scope[f'_k{index}'], scope[f'_a{index}'] = namespace.keys(), frozenset(names)
        tests.append(f'_k{index}.isdisjoint(_a{index})')
    source = (
        'def check():\n    try:\n        return ('
        + ' and '.join(tests)
        + ')\n    except KeyError:\n        return False\n'
    )
    exec(compile(source, f'<skyutils check of {entry.name}>', 'exec'), scope)
    return scope['check']


def _templates(entry):
    """Stubs with the parameters of the functions SkyPilot has (one per served function; the
    function's own defaults, annotations and globals are given to the one chosen)."""
    pick, original = _pick, entry.original

    def base36_encode(hex_str):
        served = pick(entry)
        return (served or original)(hex_str)

    def read_last_n_lines(file_path, n, chunk_size=8192, encoding='utf-8', errors='replace'):
        served = pick(entry)
        return (served or original)(file_path, n, chunk_size, encoding, errors)

    def find_free_port(start_port):
        served = pick(entry)
        return (served or original)(start_port)

    def get_cpu_count():
        served = pick(entry)
        return (served or original)()

    def get_mem_size_gb():
        served = pick(entry)
        return (served or original)()

    def get_max_workers_for_file_mounts(common_file_mounts, cloud_str=None):
        served = pick(entry)
        return (served or original)(common_file_mounts, cloud_str)

    async def _tail_log_file(
        f, request_id=None, plain_logs=False, tail=None, follow=True, cluster_name=None,
        polling_interval=1,
    ):  # fmt: skip
        served = pick(entry)
        stream = (served or original)(
            f, request_id, plain_logs, tail, follow, cluster_name, polling_interval
        )
        try:
            async for chunk in stream:
                yield chunk
        finally:
            await stream.aclose()

    def zip_files_and_folders(
        items, output_file, log_file=None, relative_to_items=False, compression=8,
        compresslevel=None,
    ):  # fmt: skip
        served = pick(entry)
        return (served or original)(
            items, output_file, log_file, relative_to_items, compression, compresslevel
        )

    def _compute_zip_blob_id(zip_path):
        served = pick(entry)
        return (served or original)(zip_path)

    def stream_response(
        request_id, response, output_stream=None, resumable=False, get_result=True,
        relay_rich_status=False,
    ):  # fmt: skip
        served = pick(entry)
        return (served or original)(
            request_id, response, output_stream, resumable, get_result, relay_rich_status
        )

    def _extract_members(zipf, members, client_file_mounts_dir):
        served = pick(entry)
        return (served or original)(zipf, members, client_file_mounts_dir)

    return locals()


def _shape(code):
    return (
        code.co_varnames[: code.co_argcount + code.co_kwonlyargcount],
        code.co_posonlyargcount,
        code.co_kwonlyargcount,
        code.co_flags & 0x2AC,  # *args, **kwargs, generator, coroutine, async generator
    )


def _stub(entry):
    """The function put in SkyPilot's module, or None where no template has its parameters:
    the template's code with SkyPilot's globals, defaults, annotations, names and doc."""
    original = entry.original
    template = _templates(entry).get(entry.name)
    if template is None or _shape(template.__code__) != _shape(original.__code__):
        return None
    stub = _FunctionType(
        template.__code__,
        original.__globals__,
        original.__name__,
        original.__defaults__,
        template.__closure__,
    )
    stub.__kwdefaults__ = original.__kwdefaults__
    stub.__annotations__ = original.__annotations__
    for attribute in ('__module__', '__qualname__', '__doc__'):
        setattr(stub, attribute, getattr(original, attribute))
    stub.__dict__.update(original.__dict__)
    stub.__wrapped__ = original  # getsource, signature; original_of()
    stub._skyutils_entry = entry
    return stub


def _first_call(entry):
    """Loads skyutils (from this site directory only) and the library; SkyPilot's own
    function for good where either cannot serve."""
    served: Any = False
    try:
        skyutils = sys.modules.get('skyutils')
        if skyutils is not None:
            origin = getattr(skyutils, '__file__', None)
        else:
            import importlib.util

            spec = importlib.util.find_spec('skyutils')
            origin = spec.origin if spec is not None else None
        own = os.path.join(_HERE, 'skyutils', '__init__.py')
        if origin is None or os.path.realpath(origin) != os.path.realpath(own):
            entry.why = (
                f'SkyPilot\'s own: `import skyutils` here finds {origin}, not {own} beside the hook'
            )
        else:
            from skyutils import _served

            served, why = _served.serve(entry.name, entry.module, entry.original)
            entry.why = why
    except Exception as e:
        entry.why = f'SkyPilot\'s own: skyutils did not load ({type(e).__name__}: {e})'
        _note_error(e)
    entry.served = served or False
    return entry.served


def _forget(name) -> 'List[_Entry]':
    """Retires the stubs of the module named `name` (imported again, reloaded, unpatched)."""
    return _entries.pop(name, [])


def unpatch(module) -> int:
    """Puts back SkyPilot's own functions in `module`; returns how many."""
    count = 0
    for entry in _entries.get(module.__name__, []):
        if entry.module is module and module.__dict__.get(entry.name) is entry.stub:
            module.__dict__[entry.name] = entry.original
            count += 1
    if count or module.__name__ in _entries:
        _forget(module.__name__)
        state['modules'].pop(module.__name__, None)
    return count


def served() -> 'Dict[str, Dict[str, Any]]':
    """{'module.function': what serves a call of it here, now, and why} for every stub."""
    found = {}
    for entries in _entries.values():
        for entry in entries:
            if entry.served is False:
                now = entry.why
            elif _watched():
                now = 'SkyPilot\'s own: a tracer or monitoring tool is on (a debugger, coverage)'
            elif not _intact(entry):
                now = (
                    'SkyPilot\'s own: a name its answer depends on is rebound (mock.patch, '
                    'assignment...), or is not what was verified'
                )
            elif entry.served is None:
                now = 'served natively from its first call (not called yet)'
            else:
                now = entry.why
            found[f'{entry.module.__name__}.{entry.name}'] = {
                'release': entry.release,
                'loaded': bool(entry.served),
                'now': now,
            }
    return found


def original_of(function):
    """SkyPilot's own function behind a stub of this hook; anything else as it is (asked of
    plain functions only: getattr on a LazyImport would import its module)."""
    if type(function) is not _FunctionType:
        return function
    entry = function.__dict__.get('_skyutils_entry')
    return entry.original if isinstance(entry, _Entry) else function
