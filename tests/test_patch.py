"""patch_skypilot() / unpatch_skypilot() against the installed reference SkyPilot, in this
process (the startup hook's patch, on demand): what is replaced, the copies other sky modules
took, what stays SkyPilot's, and the per-call watch of what a function reads."""

import sys
import types
import warnings
from unittest import mock

import pytest
from reference import load

import _skyutils_hook
import skyutils
from skyutils import _native, _patch

pytestmark = [
    pytest.mark.conformance,
    pytest.mark.skipif(_native.LIB is None, reason='no native library: nothing is served'),
]
common_utils, subprocess_utils = load()
NATIVE = {
    'base36_encode',
    'read_last_n_lines',
    'find_free_port',
    'get_cpu_count',
    'get_mem_size_gb',
}
if sys.implementation.name == 'pypy':
    NATIVE -= {'base36_encode', 'read_last_n_lines'}


@pytest.fixture(autouse=True)
def always_unpatched():
    skyutils.unpatch_skypilot()
    yield
    skyutils.unpatch_skypilot()


def test_patch_and_unpatch_round_trip(monkeypatch):
    originals = {name: getattr(common_utils, name) for name in NATIVE}
    originals_sub = subprocess_utils.get_max_workers_for_file_mounts
    # A sky module that copied a function with `from sky.utils.common_utils import ...`.
    plugin = types.ModuleType('sky.fake_plugin')
    plugin.count = common_utils.get_cpu_count
    monkeypatch.setitem(sys.modules, 'sky.fake_plugin', plugin)

    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the reference release: nothing is left, no warning
        summary = skyutils.patch_skypilot()
    for name, original in originals.items():
        stub = getattr(common_utils, name)
        assert stub is not original and _skyutils_hook.original_of(stub) is original
        assert f'sky.utils.common_utils.{name}' in summary
    assert _skyutils_hook.original_of(plugin.count) is originals['get_cpu_count']
    assert 'sky.fake_plugin.count' in summary
    assert common_utils.format_float is not None and not hasattr(
        common_utils.format_float, '_skyutils_entry'
    )  # Python serves it: SkyPilot's own stays
    assert common_utils.base36_encode('ff') == '73'

    assert skyutils.patch_skypilot() == summary  # twice is harmless
    assert skyutils.unpatch_skypilot() == len(summary)
    for name, original in originals.items():
        assert getattr(common_utils, name) is original
    assert subprocess_utils.get_max_workers_for_file_mounts is originals_sub
    assert plugin.count is originals['get_cpu_count']
    assert type(common_utils) is types.ModuleType  # the watch is gone with the last stub
    assert skyutils.unpatch_skypilot() == 0


def test_an_unverified_file_is_left_alone_unless_allowed(monkeypatch):
    import _skyutils_verified

    monkeypatch.setitem(_skyutils_verified.RELEASES, 'sky.utils.common_utils', {})
    with pytest.warns(RuntimeWarning, match='no verified release'):
        summary = skyutils.patch_skypilot()
    assert not any(n.startswith('sky.utils.common_utils.') for n in summary)
    status = _patch.status()['modules']['sky.utils.common_utils']
    assert status['release'] is None and 'no verified release' in status['why']
    skyutils.unpatch_skypilot()
    summary = skyutils.patch_skypilot(allow_untested=True)
    assert {f'sky.utils.common_utils.{n}' for n in NATIVE} <= set(summary)
    with mock.patch.object(common_utils, '_get_cgroup_cpu_limit', return_value=0.5):
        assert common_utils.get_cpu_count() == 0  # what it reads was found by parsing it


def test_a_function_replaced_at_run_time_is_left_alone(monkeypatch):
    def someone_elses():
        return 'theirs'

    monkeypatch.setattr(common_utils, 'get_cpu_count', someone_elses)
    with pytest.warns(RuntimeWarning, match='not the function its module defines'):
        summary = skyutils.patch_skypilot()
    assert common_utils.get_cpu_count is someone_elses
    assert 'sky.utils.common_utils.get_cpu_count' not in summary


def test_a_rebinding_hands_the_call_to_skypilot_until_undone():
    skyutils.patch_skypilot()
    with mock.patch.object(common_utils, '_cpu_count', return_value=1234):
        assert common_utils.get_cpu_count() == 1234
    assert common_utils.get_cpu_count() == _skyutils_hook.original_of(common_utils.get_cpu_count)()
    with mock.patch('os.listdir', return_value=['x'] * 10_000):  # 50,000 descriptors a mount
        want = _skyutils_hook.original_of(subprocess_utils.get_max_workers_for_file_mounts)(
            {'/': '/'}
        )
        assert subprocess_utils.get_max_workers_for_file_mounts({'/': '/'}) == want == 1


def test_the_installed_distribution_is_found():
    distribution, version = _patch.installed_skypilot()
    assert distribution in ('skypilot', 'skypilot-nightly') and version
    skyutils.patch_skypilot()
    status = _patch.status()
    assert status['patched'] and status['distribution'] == distribution
    assert all(v['release'] for v in status['modules'].values())


def test_refuses_without_skypilot(monkeypatch):
    monkeypatch.setitem(sys.modules, 'sky.utils.subprocess_utils', None)  # import fails
    with pytest.raises(RuntimeError, match='SkyPilot is not installed'):
        skyutils.patch_skypilot()
