"""Access to the published skypilot package, the reference for every function."""

import builtins
import contextlib
import math
import os

import pytest

REFERENCE_VERSION = '0.14.1'
# ci/test sets this so that a missing reference fails the run instead of skipping.
REQUIRED = os.environ.get('SKYUTILS_REQUIRE_REFERENCE') == '1'


def load():
    """(common_utils, subprocess_utils) of skypilot, or a skip/failure saying why not."""
    try:
        from sky.utils import common_utils, subprocess_utils
    except Exception as e:
        reason = (
            f'the reference skypilot=={REFERENCE_VERSION} is not importable ({e!r}); '
            f'install it with: pip install skypilot=={REFERENCE_VERSION}'
        )
        if REQUIRED:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    # Where skypilot-rust is installed, its startup hook has just served SkyPilot's functions
    # from skyutils: the reference must be SkyPilot's own, or skyutils is compared with itself.
    import skyutils

    skyutils.unpatch_skypilot()
    import _skyutils_hook

    for module in (common_utils, subprocess_utils):
        for value in vars(module).values():
            assert _skyutils_hook.original_of(value) is value, value
    return common_utils, subprocess_utils


def outcome(fn, *args, **kwargs):
    """('ok', result) or ('raises', exception type), for comparing two implementations."""
    try:
        result = fn(*args, **kwargs)
    except Exception as e:
        return ('raises', type(e))
    if isinstance(result, float) and math.isnan(result):
        return ('ok', 'NaN')  # NaN != NaN, yet two NaN results agree
    return ('ok', result)


@contextlib.contextmanager
def reference_cgroup_root(common_utils, fixture_root: str):
    """Makes the reference read cgroup files from fixture_root instead of /sys/fs/cgroup.

    The reference opens fixed paths with the builtin open() and checks v2 with
    os.path.isfile(); both are redirected for paths under /sys/fs/cgroup only.
    """
    real_open = builtins.open
    real_isfile = os.path.isfile

    def redirect(path):
        if isinstance(path, str) and path.startswith('/sys/fs/cgroup'):
            return fixture_root + path[len('/sys/fs/cgroup') :]
        return path

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            common_utils,
            'open',
            lambda path, *a, **k: real_open(redirect(path), *a, **k),
            raising=False,
        )
        patch.setattr(os.path, 'isfile', lambda path: real_isfile(redirect(path)))
        yield
