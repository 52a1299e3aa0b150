"""patch_skypilot() / unpatch_skypilot() against the installed reference SkyPilot."""

import sys
import types

import pytest
from reference import load

import skyutils
from skyutils import _patch, _registry

pytestmark = pytest.mark.conformance
common_utils, subprocess_utils = load()

# SkyPilot's two modules and what each defines of the twelve (tests/test_registry.py pins the
# registry's modules to the hook, migrate and the patch; tests/test_api.py the twelve).
PATCHED = {
    module: list(_registry.skypilot_modules()[module.__name__])
    for module in (common_utils, subprocess_utils)
}


@pytest.fixture(autouse=True)
def always_unpatched():
    skyutils.unpatch_skypilot()
    yield
    skyutils.unpatch_skypilot()


def test_patch_and_unpatch_round_trip(monkeypatch):
    originals = {(m, n): getattr(m, n) for m, names in PATCHED.items() for n in names}
    # A sky module that copied a function with `from sky.utils.common_utils import ...`.
    plugin = types.ModuleType('sky.fake_plugin')
    plugin.b36 = common_utils.base36_encode
    monkeypatch.setitem(sys.modules, 'sky.fake_plugin', plugin)

    summary = skyutils.patch_skypilot()
    for module, name in originals:
        assert getattr(module, name) is getattr(skyutils, name)
        assert f'{module.__name__}.{name}' in summary
    assert plugin.b36 is skyutils.base36_encode
    assert common_utils.base36_encode('ff') == '73'
    assert subprocess_utils.get_parallel_threads('kubernetes') >= 16
    assert common_utils.get_user_hash is not None  # the others are untouched

    assert skyutils.patch_skypilot() == summary  # twice is harmless
    assert skyutils.unpatch_skypilot() == len(summary)
    for (module, name), original in originals.items():
        assert getattr(module, name) is original
    assert plugin.b36 is originals[(common_utils, 'base36_encode')]
    assert skyutils.unpatch_skypilot() == 0


def test_only_verified_bodies_are_replaced(monkeypatch):
    """An unverified body stays SkyPilot's, named in one warning; allow_untested=True
    replaces it too."""
    from skyutils import _verified

    name = 'sky.utils.common_utils.format_float'
    monkeypatch.setitem(_verified.KNOWN, name, {})
    with pytest.warns(RuntimeWarning, match=r'format_float: its body \(fingerprint '):
        summary = skyutils.patch_skypilot()
    assert name not in summary and common_utils.format_float is not skyutils.format_float
    assert common_utils.base36_encode is skyutils.base36_encode
    assert _patch.status()['skipped'][name].startswith('its body')
    skyutils.unpatch_skypilot()
    assert name in skyutils.patch_skypilot(allow_untested=True)
    assert common_utils.format_float is skyutils.format_float


def test_a_function_replaced_at_run_time_is_left_alone(monkeypatch):
    def someone_elses(value, precision=1):
        return 'theirs'

    monkeypatch.setattr(common_utils, 'format_float', someone_elses)
    with pytest.warns(RuntimeWarning, match='replaced at run time'):
        summary = skyutils.patch_skypilot(allow_untested=True)
    assert common_utils.format_float is someone_elses
    assert 'sky.utils.common_utils.format_float' not in summary
    assert len([n for n in summary if n.startswith('sky.utils.')]) >= 9


def test_the_installed_distribution_is_found():
    distribution, version = _patch.installed_skypilot()
    assert distribution in ('skypilot', 'skypilot-nightly') and version
    skyutils.patch_skypilot()
    status = _patch.status()
    assert status['patched'] and status['distribution'] == distribution
    assert status['skipped'] == {}  # the reference release: every body is verified


def test_refuses_without_skypilot(monkeypatch):
    monkeypatch.setitem(sys.modules, 'sky.utils.subprocess_utils', None)  # import fails
    with pytest.raises(RuntimeError, match='SkyPilot is not installed'):
        skyutils.patch_skypilot()
    assert common_utils.base36_encode is not skyutils.base36_encode
