"""The release configuration, checked with the tools that run here: the exact cibuildwheel
build set for Linux and macOS, and actionlint on the workflow."""

import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIBW_CONFIG = os.path.join(ROOT, 'wheelhouse-config', 'cibuildwheel.toml')
REQUIRED = os.environ.get('SKYUTILS_REQUIRE_TOOLS') == '1'
pytestmark = pytest.mark.skipif(
    not os.path.isfile(os.path.join(ROOT, 'pyproject.toml')),
    reason='needs the source tree (pyproject.toml)',
)

CPYTHONS = ['cp39', 'cp310', 'cp311', 'cp312', 'cp313', 'cp314', 'cp314t', 'cp315', 'cp315t']
PYPYS = ['pp311', 'pp312']


def tool(name):
    """The tool from SKYUTILS_TOOLS_BIN (ci/test's pinned tools venv) or PATH."""
    found = shutil.which(name, path=os.environ.get('SKYUTILS_TOOLS_BIN') or None)
    if found is None:
        message = (
            f'{name} is not installed (pip install -r wheelhouse-config/requirements-tools.txt)'
        )
        if REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def identifiers(platform):
    done = subprocess.run(
        [
            tool('cibuildwheel'),
            '--print-build-identifiers',
            '--platform',
            platform,
            '--config-file',
            CIBW_CONFIG,
            ROOT,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_linux_builds_manylinux_and_musllinux_for_every_python():
    expected = {
        f'{py}-{libc}_{arch}'
        for arch in ('x86_64', 'aarch64')
        for libc, pythons in (('manylinux', CPYTHONS + PYPYS), ('musllinux', CPYTHONS))
        for py in pythons
    }
    assert identifiers('linux') == expected


def test_macos_builds_universal2_for_every_cpython():
    assert identifiers('macos') == {f'{py}-macosx_universal2' for py in CPYTHONS}


def test_workflow_passes_actionlint():
    workflows = glob.glob(os.path.join(ROOT, '.github', 'workflows', '*.yml'))
    assert workflows
    done = subprocess.run(
        [tool('actionlint')] + workflows, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_pins_the_tested_cibuildwheel():
    with open(
        os.path.join(ROOT, 'wheelhouse-config', 'requirements-tools.txt'), encoding='utf-8'
    ) as f:
        pinned = [line.split('==')[1].strip() for line in f if line.startswith('cibuildwheel==')]
    with open(os.path.join(ROOT, '.github', 'workflows', 'wheels.yml'), encoding='utf-8') as f:
        workflow = f.read()
    assert pinned and f'pypa/cibuildwheel@v{pinned[0]}' in workflow


def test_workflow_settings_match_the_builds_proved_here():
    """What ci/build-wheels builds and ci/check-wheels proves here (docs/platforms.md) is what
    cibuildwheel is told: the same minimum macOS, and musl linked dynamically."""
    import re

    with open(os.path.join(ROOT, 'ci', 'build-wheels'), encoding='utf-8') as f:
        script = f.read()
    with open(CIBW_CONFIG, encoding='utf-8') as f:
        config = f.read()
    macos_min = re.search(r'^MACOS_MIN=(\S+)', script, re.M).group(1)
    assert f'MACOSX_DEPLOYMENT_TARGET = "{macos_min}"' in config
    assert '-C target-feature=-crt-static' in script
    musl_overrides = re.findall(
        r'select = "\*-musllinux_(\w+)"\n(?:.*\n){0,2}environment = '
        r'\{ RUSTFLAGS = "-C target-feature=-crt-static" \}',
        config,
    )
    assert sorted(musl_overrides) == ['aarch64', 'x86_64']


def test_pull_requests_run_the_test_suite():
    """The workflow runs on pull requests, and one of its jobs is ci/test itself."""
    import re

    with open(os.path.join(ROOT, '.github', 'workflows', 'wheels.yml'), encoding='utf-8') as f:
        workflow = f.read()
    triggers = re.search(r'^on:\n((?:  .*\n)+)', workflow, re.M).group(1)
    assert re.search(r'^  pull_request:', triggers, re.M)
    assert re.search(r'^        run: bash ci/test$', workflow, re.M)


def test_every_package_of_skyutils_is_listed():
    """pyproject.toml lists the packages by name: one left out is missing from every wheel
    (skyutils.skypilot was, and the startup hook served nothing of the upload)."""
    import ast
    import re

    with open(os.path.join(ROOT, 'pyproject.toml'), encoding='utf-8') as f:
        listed = ast.literal_eval(re.search(r'^packages = (\[.*\])$', f.read(), re.M).group(1))
    found = sorted(
        os.path.relpath(d, ROOT).replace(os.sep, '.')
        for d, _, files in os.walk(os.path.join(ROOT, 'skyutils'))
        if '__init__.py' in files
    )
    assert sorted(listed) == found
