"""Fixtures shared by the suite: the backend under test and cgroup fixture trees."""

import contextlib
import os
import shutil
import tempfile
import types

import hypothesis
import pytest

import skyutils
from skyutils import _pure
from skyutils._pure import cgroup


def pytest_configure(config):
    """Settings that travel with the suite (ci/test-wheels runs a copy of tests/ alone)."""
    config.addinivalue_line(
        'markers', 'conformance: compares skyutils with the published skypilot package'
    )
    # ci/test-wheels leaves these out on the Pythons between the oldest and the newest, and
    # ci/test-platforms under qemu: their cost is data (gigabytes, 10^4 entries, a browser),
    # read by the same library and binding code on every interpreter.
    config.addinivalue_line(
        'markers', 'volume: costly for its data alone (run on the checkout, oldest and newest)'
    )
    # Importing the reference skypilot package warns about its own dependencies.
    config.addinivalue_line('filterwarnings', 'ignore:.*declarative_base.*')
    config.addinivalue_line('filterwarnings', "ignore:'crypt' is deprecated:DeprecationWarning")


def _native_backend():
    """The native functions, with pure ones where the library has none (as dispatch does)."""
    from skyutils import _native

    if _native.LIB is None:
        if os.environ.get('SKYUTILS_REQUIRE_NATIVE') == '1':
            raise RuntimeError(f'SKYUTILS_REQUIRE_NATIVE=1 but: {_native.LOADED.reason}')
        return None
    from skyutils import _bindings

    backend = types.SimpleNamespace(**{name: getattr(_pure, name) for name in _pure.__all__})
    for name in _bindings.__all__:
        setattr(backend, name, getattr(_bindings, name))
    return backend


def _backends():
    """Every backend this install can serve, by name."""
    backends = {'python': _pure}
    native = _native_backend()
    if native is not None:
        backends['native'] = native
    return backends


BACKENDS = _backends()


@pytest.fixture(scope='session', params=sorted(BACKENDS))
def impl(request) -> types.ModuleType:
    """One backend's twelve functions; every spec test runs once per backend."""
    return BACKENDS[request.param]


@pytest.fixture(scope='session', params=['public'] + sorted(BACKENDS))
def any_impl(request):
    """The public API and each backend."""
    if request.param == 'public':
        return skyutils
    return BACKENDS[request.param]


class CgroupTree:
    """A fake cgroup root that both backends read instead of /sys/fs/cgroup."""

    def __init__(self, root):
        self.root = str(root)

    def write(self, relative_path: str, text: str) -> None:
        path = os.path.join(self.root, relative_path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)

    def v2(self, cpu_max=None, memory_max=None) -> 'CgroupTree':
        self.write('cgroup.controllers', 'cpu memory\n')
        if cpu_max is not None:
            self.write('cpu.max', cpu_max)
        if memory_max is not None:
            self.write('memory.max', memory_max)
        return self

    def v1(self, quota=None, period=None, memory_limit=None) -> 'CgroupTree':
        os.makedirs(self.root, exist_ok=True)
        if quota is not None:
            self.write('cpu/cpu.cfs_quota_us', quota)
        if period is not None:
            self.write('cpu/cpu.cfs_period_us', period)
        if memory_limit is not None:
            self.write('memory/memory.limit_in_bytes', memory_limit)
        return self


@pytest.fixture
def cgroup_tree(tmp_path, monkeypatch) -> CgroupTree:
    """An empty cgroup root (no limits) that both backends are pointed at."""
    tree = CgroupTree(tmp_path / 'cgroup')
    os.makedirs(tree.root)
    monkeypatch.setattr(cgroup, 'root', tree.root)
    return tree


@pytest.fixture
def clean_env(monkeypatch):
    """No SKYPILOT_POD_* override is set."""
    for name in (
        'SKYPILOT_POD_CPU_CORE_LIMIT',
        'SKYPILOT_POD_MEMORY_GB_LIMIT',
        'SKYPILOT_POD_MEMORY_BYTES_LIMIT',
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


NOBODY_UID = 65534


@pytest.fixture
def shared_dir():
    """A directory any user may enter (pytest's tmp_path is private to its owner)."""
    path = tempfile.mkdtemp(prefix='skyutils-shared-')
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _unprivileged():
    if os.geteuid() != 0:
        yield  # Already an ordinary user: permissions apply as they are.
        return
    # seteuid keeps root as the saved uid, so the suite can take it back.
    os.setegid(NOBODY_UID)
    os.seteuid(NOBODY_UID)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def as_unprivileged():
    """A context manager that runs its body as an ordinary user (nobody, when we are root)."""
    return _unprivileged


# File and socket work varies in time; a deadline would only add flaky failures.
# The fixtures used inside @given (impl, scratch) hold no state between examples.
_QUIET = [hypothesis.HealthCheck.function_scoped_fixture]
hypothesis.settings.register_profile('default', deadline=None, suppress_health_check=_QUIET)
hypothesis.settings.register_profile(
    'long', deadline=None, suppress_health_check=_QUIET, max_examples=2000
)
hypothesis.settings.register_profile(
    'quick', deadline=None, suppress_health_check=_QUIET, max_examples=20
)
hypothesis.settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'default'))
