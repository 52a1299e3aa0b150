"""A short fuzz run of every exported function (ci/fuzz-native runs 10^6 cases a target)."""

import os
import random

import native_fuzz
import pytest

from skyutils import _native

pytestmark = pytest.mark.skipif(_native.LIB is None, reason='no native library loaded')
CASES = int(os.environ.get('SKYUTILS_FUZZ_CASES', '2000'))


@pytest.mark.parametrize('target', sorted(native_fuzz.TARGETS))
def test_fuzz(target):
    seed = random.randrange(1 << 32)
    print(f'seed {seed}')  # shown on failure: reproduce with ci/fuzz-native --seed
    cases = CASES if target != 'find_free_port' else min(CASES, 200)
    assert native_fuzz.run(target, cases, seed) == cases
