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


def _check_release(tmp_path, names, tag=None):
    import sys

    for name in names:
        (tmp_path / name).write_bytes(b'')
    argv = [sys.executable, os.path.join(ROOT, 'ci', 'check_release.py'), str(tmp_path),
            '--twine', 'true']  # fmt: skip
    done = subprocess.run(argv + (['--tag', tag] if tag else []), capture_output=True,
                          text=True, check=False)  # fmt: skip
    return done.returncode, done.stderr


def _release_set(version):
    return [f'skypilot_rust-{version}.tar.gz'] + [
        f'skypilot_rust-{version}-py3-none-{platform}.whl'
        for platform in (
            'any',
            'manylinux_2_28_x86_64',
            'manylinux_2_28_aarch64',
            'musllinux_1_2_x86_64',
            'musllinux_1_2_aarch64',
            'macosx_10_12_universal2',
        )  # fmt: skip
    ]


def test_release_check_of_the_artifact_set(tmp_path):
    """ci/check_release.py: the whole set at the package's version passes a dry run; a missing
    platform, another version, a stray file, a tag that is not the version, or a tag while the
    CHANGELOG says unreleased each fail, with the reason."""
    from skyutils._version import __version__ as version

    (tmp_path / 'ok').mkdir()
    assert _check_release(tmp_path / 'ok', _release_set(version)) == (0, '')
    cases = {
        'missing': (_release_set(version)[:-1], None, 'one macOS universal2 wheel expected'),
        'version': (_release_set(version)[:-1] + ['skypilot_rust-9.9.9-py3-none-macosx_11_0_'
                                                  'universal2.whl'], None, 'version 9.9.9'),
        'stray': (_release_set(version) + ['notes.txt'], None, 'not an artifact'),
        'tag': (_release_set(version), 'v9.9.9', 'is not v' + version),
    }  # fmt: skip
    for case, (names, tag, expected) in cases.items():
        (tmp_path / case).mkdir()
        code, stderr = _check_release(tmp_path / case, names, tag)
        assert code == 1 and expected in stderr, (case, stderr)
    with open(os.path.join(ROOT, 'CHANGELOG.md'), encoding='utf-8') as f:
        unreleased = f'## {version} (unreleased)' in f.read()
    (tmp_path / 'tagged').mkdir()
    code, stderr = _check_release(tmp_path / 'tagged', _release_set(version), f'v{version}')
    assert (code == 1 and 'not a release' in stderr) if unreleased else code == 0, stderr


def test_publishing_is_trusted_and_only_for_tags():
    """The upload: only on a tag, after the release check, from the protected environment, by
    trusted publishing (an OIDC token, no password or token secret) with attestations."""
    import re

    with open(os.path.join(ROOT, '.github', 'workflows', 'wheels.yml'), encoding='utf-8') as f:
        workflow = f.read()
    publish = re.search(r'^  publish:\n((?:(?:    .*)?\n)+)', workflow, re.M).group(1)
    assert "if: startsWith(github.ref, 'refs/tags/v')" in publish
    assert 'needs: [release-check]' in publish and 'environment: pypi' in publish
    assert re.search(r'id-token: write', publish) and 'attestations: true' in publish
    assert 'pypa/gh-action-pypi-publish@v' in publish
    assert 'password:' not in workflow and '${{ secrets.' not in workflow
    check = re.search(r'^  release-check:\n((?:(?:    .*)?\n)+)', workflow, re.M).group(1)
    assert 'ci/check_release.py release --tag "$TAG"' in check and 'if:' not in check


def test_skypilot_is_followed_daily_by_pull_request():
    """The scheduled workflow runs ci/follow-skypilot and carries a changed table in a pull
    request with the script's report; it tags nothing (a person merges and tags)."""
    import re

    path = os.path.join(ROOT, '.github', 'workflows', 'follow-skypilot.yml')
    with open(path, encoding='utf-8') as f:
        workflow = f.read()
    assert re.search(r'^  schedule:\n    - cron: "[^"]+"$', workflow, re.M)
    assert 'bash ci/follow-skypilot --report' in workflow
    assert 'peter-evans/create-pull-request@v' in workflow and 'body-path:' in workflow
    assert 'git tag' not in workflow and 'git push' not in workflow
