"""The startup hook of skypilot-rust: serves SkyPilot's functions natively in every Python
process of the environment, with no change to SkyPilot's code, and costs a process next to
nothing until one of them is called.

`skypilot_rust.pth` (installed beside this module, in site-packages) imports this module and
calls `install()` when an interpreter starts (importing it alone installs nothing): that
registers a meta path finder that answers for SkyPilot's target modules (and for psutil, which
SkyPilot imports lazily) and nothing else. Right after a target module
runs, `patch()`:

1. hashes the module file's exact bytes and looks the digest up in `_skyutils_verified` (made
   from SkyPilot's published wheels; tests/test_verified.py makes it again). A file that
   matches no verified release is left alone, with the reason in `skyutils info --skypilot`.
   Nothing is parsed.
2. replaces only the functions the native library serves on this interpreter by a small stub
   that imports skyutils (from this site directory only) and loads the library at its first
   call. Until then nothing of skyutils, ctypes or the library is loaded.
3. watches every name each function reads (table 1 lists them): its module's globals, the
   attributes of the modules it reaches (`os.getenv`, `psutil.cpu_count`) and the builtins it
   uses. A watched module's class becomes `_WatchedModule`, as the standard library's
   LazyLoader changes a module's class: setting or deleting a watched name
   (`unittest.mock.patch`, pytest's monkeypatch, assignment) hands the function's calls back
   to SkyPilot's own until every name is back, so a stub checks one flag a call.

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
TARGETS = ('sky.utils.common_utils', 'sky.utils.subprocess_utils', 'sky.server.stream_utils')
# Modules SkyPilot imports lazily whose attributes served functions read: watched once imported.
LAZY = ('psutil',)
_OFF = ('0', 'false', 'no', 'off')
_HERE = os.path.dirname(os.path.abspath(__file__))
_ABSENT = object()  # what a watched name that is not bound is compared with
_ModuleType = type(sys)  # types.ModuleType, without importing types
# What skyutils info reports: whether the hook is on here, every target module's verdict, and
# the first error, if any.
state: 'Dict[str, Any]' = {
    'active': False,
    'pid': None,
    'error': None,
    'modules': {},
    'patch_seconds': 0.0,  # what patching SkyPilot's modules took in this process, all told
}
_entries: 'List[_Entry]' = []  # every stub installed, in order
_watched: 'Dict[int, set]' = {}  # id(module) -> the names watched in it
_watched_modules: 'Dict[int, Any]' = {}  # id(module) -> module (kept alive, for unwatching)
_WatchedModule = None  # the class watched modules get, made at the first patch


class _Entry:
    """One replaced function: what its stub needs at every call, and what it watches."""

    __slots__ = (
        'module',
        'name',
        'original',
        'stub',
        'release',
        'deps',
        'intact',
        'served',
        'why',
        'lazy',
        'lazy_module',
        'pending',
    )

    def __init__(self, module, name, original, release):
        self.module, self.name, self.original, self.release = module, name, original, release
        self.stub: Any = None
        self.deps: list = []  # (namespace module, name, the value it had when verified)
        self.intact = False  # every watched name has its verified value
        self.served: Any = None  # None: not loaded yet; False: SkyPilot's own for good
        self.why = 'served natively from its first call'
        self.lazy: Optional[str] = None  # the lazily imported module it reads, if any
        self.lazy_module: Any = None  # that module as watched (None while not imported)
        self.pending: list = []  # chains to resolve in `lazy` once it is imported


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
        if fullname in TARGETS:
            after = _patch_quietly
        elif fullname in LAZY:
            after = _lazy_imported
        else:
            return None
        for finder in sys.meta_path:
            if isinstance(finder, _Finder) or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                    spec.loader = _PatchAfterExec(spec.loader, after)  # type: ignore[assignment]
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


def patch(module, allow_untested: bool = False) -> 'Dict[str, str]':
    """Serves `module`'s functions natively where its file is a verified release's (or, with
    allow_untested, any file: what the functions read is then found by parsing it). Returns
    {function: why it is served or not}, also kept in state['modules']."""
    import _skyutils_verified as verified

    name = module.__name__
    _forget(module)  # a reload runs the module again: its earlier stubs serve no more
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
        reads = dict(verified.READS[profile])  # type: ignore[call-overload]
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
        elif not callable(original) or getattr(original, '__module__', None) != name:
            why = 'SkyPilot\'s own: not the function its module defines'
        else:
            entry = _Entry(module, function, original, verdict['release'])
            lazy = reads[function][1]
            entry.lazy = lazy[0][1] if lazy else None  # SkyPilot's functions read one (psutil)
            entry.stub = _stub(entry)
            entries.append(entry)
            why = entry.why
        verdict['functions'][function] = why
    # All stubs first, then what each reads: a served function that calls another reads its stub.
    for entry in entries:
        _ModuleType.__setattr__(module, entry.name, entry.stub)
    for entry in entries:
        chains, lazy = reads[entry.name]
        if _resolve(entry, chains, dict(lazy)):
            entry.intact = True
            _entries.append(entry)
        else:
            _ModuleType.__setattr__(module, entry.name, entry.original)
            verdict['functions'][entry.name] = 'SkyPilot\'s own: ' + entry.why
    _recheck()
    return verdict['functions']


def _is_module(value) -> bool:
    """A plain module (or one this hook watches): a LazyImport or other subclass is not."""
    return type(value) is _ModuleType or type(value) is _WatchedModule


def _resolve(entry, chains, lazy) -> bool:
    """Records the value of every name in `chains` (dotted, from the module's namespace) and
    watches them; False (with entry.why) where a namespace cannot be watched."""
    import builtins

    module = entry.module
    deps = {}
    for chain in chains:
        parts = chain.split('.')
        head = parts[0]
        value = module.__dict__.get(head, _ABSENT)
        deps[(id(module), head)] = (module, head, value)
        if value is _ABSENT:
            value = builtins.__dict__.get(head, _ABSENT)
            deps[(id(builtins), head)] = (builtins, head, value)
        if head in lazy:
            value = sys.modules.get(lazy[head])
            if value is None:
                entry.pending.append(parts[1:])
                continue
            entry.lazy_module = value
        for part in parts[1:]:
            if not _is_module(value):
                break  # only modules' attributes are watched: an object's are its own
            attribute = value.__dict__.get(part, _ABSENT)
            deps[(id(value), part)] = (value, part, attribute)
            value = attribute
    for namespace, name, _ in deps.values():
        if not _watch(namespace, name):
            entry.why = f'module {namespace.__name__} has a class of its own: it cannot be watched'
            return False
    entry.deps = list(deps.values())
    return True


def _watch(module, name) -> bool:
    global _WatchedModule
    if _WatchedModule is None:
        _WatchedModule = _watched_module_class(_ModuleType)
    if type(module) is _ModuleType:
        module.__class__ = _WatchedModule
    elif type(module) is not _WatchedModule:
        return False
    _watched.setdefault(id(module), set()).add(name)
    _watched_modules[id(module)] = module
    return True


def _watched_module_class(base: 'Any') -> 'Any':
    class _WatchedModule(base):
        """A module some served function reads: setting or deleting a name it reads
        re-checks what is served."""

        def __setattr__(self, name, value):
            base.__setattr__(self, name, value)
            if name in _watched.get(id(self), ()):
                _recheck()

        def __delattr__(self, name):
            base.__delattr__(self, name)
            if name in _watched.get(id(self), ()):
                _recheck()

        def __reduce__(self):  # pickled by name, as cloudpickle pickles a plain module
            import importlib

            return importlib.import_module, (self.__name__,)

    return _WatchedModule


def _recheck() -> None:
    """Serves each function while every name it reads has its verified value."""
    try:
        for entry in _entries:
            entry.intact = all(
                namespace.__dict__.get(name, _ABSENT) is value
                for namespace, name, value in entry.deps
            )
    except Exception as e:  # never raise into a setattr: SkyPilot's own serve instead
        _note_error(e)
        for entry in _entries:
            entry.intact = False


def _lazy_imported(module) -> None:
    """A lazily imported module (psutil) has just run: resolve what stubs read in it."""
    try:
        for entry in _entries:
            if entry.lazy == module.__name__ and entry.pending:
                chains = ['.'.join([module.__name__] + p) for p in entry.pending]
                entry.pending = []
                entry.lazy_module = module
                found = {id(ns) for ns, _, _ in entry.deps}
                if not _resolve_lazy(entry, module, chains, found):
                    entry.intact = False
        _recheck()
    except Exception as e:
        _note_error(e)
        for entry in _entries:
            entry.intact = False


def _resolve_lazy(entry, module, chains, found) -> bool:
    for chain in chains:
        value = module
        for part in chain.split('.')[1:]:
            if not _is_module(value):
                break
            attribute = value.__dict__.get(part, _ABSENT)
            if not _watch(value, part):
                return False
            entry.deps.append((value, part, attribute))
            value = attribute
    return True


def _stub(entry):
    """The function put in SkyPilot's module: the served one while every name it reads is as
    verified, SkyPilot's own otherwise (a flag, and for psutil's readers a dictionary lookup)."""
    original = entry.original
    modules = sys.modules
    lazy = entry.lazy

    def stub(*args, **kwargs):
        # SkyPilot imports `lazy` (psutil) at its first use: another module there than the
        # one watched (or one imported past the hook) is not what was verified.
        if entry.intact and (lazy is None or modules.get(lazy) is entry.lazy_module):
            served = entry.served
            if served is None:
                served = _first_call(entry)
            if served:
                return served(*args, **kwargs)
        return original(*args, **kwargs)

    for attribute in ('__module__', '__name__', '__qualname__', '__doc__'):
        setattr(stub, attribute, getattr(original, attribute, None))
    stub.__dict__.update(getattr(original, '__dict__', {}))
    stub.__wrapped__ = original  # type: ignore[attr-defined]  # inspect.signature shows SkyPilot's; original_of() finds it
    stub._skyutils_entry = entry  # type: ignore[attr-defined]
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


def _forget(module) -> None:
    """Retires the stubs of `module` (it is being patched again, or unpatched)."""
    for entry in [e for e in _entries if e.module is module]:
        entry.intact = False
        _entries.remove(entry)


def unpatch(module) -> int:
    """Puts back SkyPilot's own functions in `module`; returns how many."""
    count = 0
    for entry in [e for e in _entries if e.module is module]:
        if module.__dict__.get(entry.name) is entry.stub:
            type(module).__setattr__(module, entry.name, entry.original)  # type: ignore[call-arg]
            count += 1
    _forget(module)
    state['modules'].pop(module.__name__, None)
    if not _entries:  # nothing served: every watched module gets its own class back
        for watched in _watched_modules.values():
            if type(watched) is _WatchedModule:
                watched.__class__ = _ModuleType
        _watched.clear()
        _watched_modules.clear()
    return count


def served() -> 'Dict[str, Dict[str, Any]]':
    """{'module.function': what serves it now, and why} for every stub installed."""
    found = {}
    for entry in _entries:
        if not entry.intact:
            now = 'SkyPilot\'s own: a name it reads is rebound (mock.patch, assignment...)'
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
    if type(function) is not type(install):
        return function
    entry = function.__dict__.get('_skyutils_entry')
    return entry.original if isinstance(entry, _Entry) else function
