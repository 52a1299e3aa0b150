"""What the startup hook and `import skyutils` add to a fresh interpreter's start."""

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Dict, Optional

import skyutils

STARTUP_RUNS = 15


STARTUP_TARGET_US = 1000.0  # the hook may add under 1 ms to an interpreter's start
# The hook runs inside site's start-up, where no timer of ours can wrap it: only CPython's
# -X importtime tells its share (PyPy ignores the option and prints nothing).
IMPORTTIME = sys.implementation.name == 'cpython'


def startup_hook(runs: int = STARTUP_RUNS) -> Optional[Dict[str, Any]]:
    """What the startup hook (skypilot_rust.pth -> _skyutils_hook) adds to the start of an
    interpreter that never imports SkyPilot: its import time by `-X importtime` (cumulative,
    microseconds; median of `runs` fresh interpreters), and whether skyutils or psutil were
    imported. The installed hook, or in a source checkout the checkout's files on a site
    directory. None when neither is there; {'skipped': why} where it cannot be measured."""
    import py_compile
    import re
    import site

    if not IMPORTTIME:
        return {
            'skipped': f'{sys.implementation.name} has no -X importtime, the only measure of '
            "the hook's share of an interpreter's start"
        }
    env = dict(os.environ)
    env.pop('SKYPILOT_USE_RUST', None)
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(skyutils.__file__)))
    installed = any(
        os.path.isfile(os.path.join(directory, 'skypilot_rust.pth'))
        for directory in site.getsitepackages() + [site.getusersitepackages()]
    )
    with tempfile.TemporaryDirectory() as site_dir:
        source = 'installed'
        if not installed:
            files = [
                os.path.join(checkout, name) for name in ('_skyutils_hook.py', 'skypilot_rust.pth')
            ]
            if not all(os.path.isfile(f) for f in files):
                return None
            for path in files:
                shutil.copy(path, site_dir)
            # As pip does at install: the module's bytecode is there before the first start.
            copied = os.path.join(site_dir, '_skyutils_hook.py')
            py_compile.compile(copied, cfile=importlib.util.cache_from_source(copied))
            with open(os.path.join(site_dir, 'sitecustomize.py'), 'w') as f:
                f.write(
                    'import os, site\nsite.addsitedir(os.path.dirname(os.path.abspath(__file__)))\n'
                )
            env['PYTHONPATH'] = os.pathsep.join(filter(None, [site_dir, env.get('PYTHONPATH')]))
            source = 'checkout'
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
