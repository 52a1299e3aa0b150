"""What the startup hook and `import skyutils` add to a fresh interpreter's start, and what
the hook costs and saves a SkyPilot process."""

import contextlib
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Tuple

import skyutils

STARTUP_RUNS = 15
HOOK_FILES = ('_skyutils_hook.py', '_skyutils_verified.py', 'skypilot_rust.pth')


STARTUP_TARGET_US = 1000.0  # the hook may add under 1 ms to an interpreter's start
# The hook runs inside site's start-up, where no timer of ours can wrap it: only CPython's
# -X importtime tells its share (PyPy ignores the option and prints nothing).
IMPORTTIME = sys.implementation.name == 'cpython'


@contextlib.contextmanager
def hook_env() -> Iterator[Optional[Tuple[Dict[str, str], str]]]:
    """(environment, 'installed' or 'checkout') for children in which the startup hook runs as
    installed: the installed hook, or in a source checkout the checkout's hook files and
    package on a site directory of their own; None when neither is there."""
    import py_compile
    import site

    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(skyutils.__file__)))
    installed = any(
        os.path.isfile(os.path.join(directory, 'skypilot_rust.pth'))
        for directory in site.getsitepackages() + [site.getusersitepackages()]
    )
    if installed:
        yield env, 'installed'
        return
    files = [os.path.join(checkout, name) for name in HOOK_FILES]
    if not all(os.path.isfile(f) for f in files):
        yield None
        return
    with tempfile.TemporaryDirectory() as site_dir:
        for path in files:
            shutil.copy(path, site_dir)
            if path.endswith('.py'):  # as pip does at install: bytecode before the first start
                copied = os.path.join(site_dir, os.path.basename(path))
                py_compile.compile(copied, cfile=importlib.util.cache_from_source(copied))
        os.symlink(os.path.join(checkout, 'skyutils'), os.path.join(site_dir, 'skyutils'))
        with open(os.path.join(site_dir, 'sitecustomize.py'), 'w') as f:
            f.write(
                'import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n'
            )
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [site_dir, env.get('PYTHONPATH')]))
        yield env, 'checkout'


def startup_hook(runs: int = STARTUP_RUNS) -> Optional[Dict[str, Any]]:
    """What the startup hook (skypilot_rust.pth -> _skyutils_hook) adds to the start of an
    interpreter that never imports SkyPilot: its import time by `-X importtime` (cumulative,
    microseconds; median of `runs` fresh interpreters), and whether skyutils or psutil were
    imported. None where there is no hook; {'skipped': why} where it cannot be measured."""
    import re

    if not IMPORTTIME:
        return {
            'skipped': f'{sys.implementation.name} has no -X importtime, the only measure of '
            "the hook's share of an interpreter's start"
        }
    with hook_env() as found:
        if found is None:
            return None
        env, source = found
        times, imported = [], set()
        code = (
            'import sys; print(" ".join(m for m in ("skyutils", "psutil", "_skyutils_hook")'
            ' if m in sys.modules))'
        )
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, '-X', 'importtime', '-c', code],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            imported.update(done.stdout.split())
            line = re.search(
                r'import time:\s*\d+\s*\|\s*(\d+)\s*\|\s*_skyutils_hook\s*$', done.stderr, re.M
            )
            if line:
                times.append(int(line.group(1)))
    if not times:
        return None
    return {
        'us': statistics.median(times),
        'max_us': max(times),
        'runs': len(times),
        'source': source,
        'imported': sorted(imported - {'_skyutils_hook'}),
        'target_us': STARTUP_TARGET_US,
    }


SKYPILOT_RUNS = 21
SKYPILOT_IMPORT_TARGET_US = 2000.0  # what the hook may add to `import sky.utils.common_utils`
_SKYPILOT_CHILD = (
    'import sys, time\n'
    't = time.perf_counter()\n'
    'from sky.utils import common_utils\n'
    'imported = time.perf_counter() - t\n'
    't = time.perf_counter()\n'
    'common_utils.get_cpu_count()\n'
    'first = time.perf_counter() - t\n'
    't = time.perf_counter()\n'
    'common_utils.get_cpu_count()\n'
    'second = time.perf_counter() - t\n'
    'served = "_skyutils_entry" in vars(common_utils.get_cpu_count)\n'
    'hook = sys.modules.get("_skyutils_hook")\n'
    'patching = hook.state["patch_seconds"] if hook is not None else 0.0\n'
    'print(imported * 1e6, first * 1e6, second * 1e6, patching * 1e6, served)\n'
)


def skypilot_process(runs: int = SKYPILOT_RUNS) -> Optional[Dict[str, Any]]:
    """What the hook costs and saves a SkyPilot process: `from sky.utils import common_utils`,
    then the first and a second call of a function it serves (get_cpu_count), each timed inside
    fresh interpreters, hook on and SKYPILOT_USE_RUST=0 interleaved (the order alternating),
    `runs` of each. Medians in microseconds; None where SkyPilot or the hook is missing."""
    if importlib.util.find_spec('sky') is None:
        return None
    with hook_env() as found:
        if found is None:
            return None
        env, source = found
        off_env = dict(env, SKYPILOT_USE_RUST='0')
        times: Dict[str, List[List[float]]] = {'on': [], 'off': []}
        served = set()
        for index in range(runs + 1):  # the first round writes bytecode and warms the cache
            order = [('on', env), ('off', off_env)]
            for mode, child_env in order if index % 2 else order[::-1]:
                done = subprocess.run(
                    [sys.executable, '-c', _SKYPILOT_CHILD],
                    env=child_env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=True,
                )
                *numbers, was_served = done.stdout.strip().splitlines()[-1].split()
                if index:
                    times[mode].append([float(n) for n in numbers])
                    if mode == 'on':
                        served.add(was_served)
    found_times = {}
    for mode, rows in times.items():
        columns = list(zip(*rows))
        found_times[mode] = {
            name: statistics.median(column)
            for name, column in zip(('import_us', 'first_us', 'second_us', 'hook_us'), columns)
        }
    differences = sorted(on[0] - off[0] for on, off in zip(times['on'], times['off']))
    quarter = len(differences) // 4
    return {
        'runs': runs,
        'source': source,
        'served': served == {'True'},
        'on': found_times['on'],
        'off': found_times['off'],
        'import_difference_us': statistics.median(differences),
        'import_difference_middle_half_us': [differences[quarter], differences[-quarter - 1]],
        'target_us': SKYPILOT_IMPORT_TARGET_US,
    }


IMPORT_TARGET_US = 15000.0  # `import skyutils`, library loaded and serving: about json's order


def import_skyutils(runs: int = STARTUP_RUNS) -> Dict[str, Any]:
    """What `import skyutils` costs a fresh interpreter, beside `import json`: the import
    statement timed by perf_counter inside the child (which any interpreter has, unlike -X
    importtime), median of `runs` interpreters each, bytecode cached as an installed package
    has it. Says whether the native library served in those interpreters."""
    env = dict(os.environ)
    env.pop('PYTHONDONTWRITEBYTECODE', None)  # an installed package has its .pyc files
    code = (
        'import time\n'
        't = time.perf_counter()\n'
        'import {0}\n'
        't = time.perf_counter() - t\n'
        'import sys\n'
        'print(t * 1e6, sys.modules["skyutils"].backend_info()["library"]["loaded"]'
        ' if "skyutils" in sys.modules else "")\n'
    )
    found: Dict[str, Any] = {'runs': runs, 'target_us': IMPORT_TARGET_US}
    for module in ('skyutils', 'json'):
        times, served = [], set()
        for index in range(runs + 1):  # the first run writes the bytecode a checkout lacks
            done = subprocess.run(
                [sys.executable, '-c', code.format(module)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            # The last line: a sitecustomize may print before the child's own code runs.
            took, _, loaded = done.stdout.strip().splitlines()[-1].partition(' ')
            if index:
                times.append(float(took))
                served.add(loaded)
        found[module] = {'us': statistics.median(times), 'max_us': max(times)}
        if module == 'skyutils':
            found['native'] = served == {'True'}
    return found
