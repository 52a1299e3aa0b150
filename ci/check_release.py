"""A release's own checks, on the artifacts about to be published: the workflow's publish job
runs it before uploading, and its dry run runs it on every push (uploading nothing).

- one sdist and one wheel for each platform the release promises (py3-none-any,
  manylinux_2_28 and musllinux_1_2 for x86_64 and aarch64, macOS universal2), no other file;
- one version everywhere: every artifact's, skyutils/_version.py's, native/Cargo.toml's;
- for a tag (`--tag vX.Y.Z`, the workflow passes GITHUB_REF_NAME): the tag is `v` + that version,
  and the CHANGELOG has the release's section, `## X.Y.Z (YYYY-MM-DD)`, not an unreleased one;
- `twine check --strict` of every artifact (metadata, the README as rendered by the index).

Usage: python ci/check_release.py DIR... [--tag vX.Y.Z] [--twine PATH]. Exit 1 with one line
per problem. (ci/check_dists.py checks each artifact's contents; this checks the set.)
"""

import argparse
import os
import re
import subprocess
import sys
from typing import Iterator, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIST_NAME = 'skypilot_rust'
# Each platform the release promises, as a pattern of the wheel's platform tag.
PLATFORMS = {
    'any': r'any',
    'manylinux x86_64': r'manylinux_2_28_x86_64',
    'manylinux aarch64': r'manylinux_2_28_aarch64',
    'musllinux x86_64': r'musllinux_1_2_x86_64',
    'musllinux aarch64': r'musllinux_1_2_aarch64',
    'macOS universal2': r'macosx_\d+_\d+_universal2',
}
_WHEEL = re.compile(rf'^{DIST_NAME}-(?P<version>[^-]+)-py3-none-(?P<platform>.+)\.whl$')
_SDIST = re.compile(rf'^{DIST_NAME}-(?P<version>.+)\.tar\.gz$')


def package_version() -> str:
    with open(os.path.join(ROOT, 'skyutils', '_version.py'), encoding='utf-8') as f:
        found = re.search(r'^__version__ = "([^"]+)"$', f.read(), re.M)
    if not found:
        raise SystemExit('check_release: no __version__ in skyutils/_version.py')
    return found.group(1)


def cargo_version() -> Optional[str]:
    with open(os.path.join(ROOT, 'native', 'Cargo.toml'), encoding='utf-8') as f:
        found = re.search(r'^version = "([^"]+)"$', f.read(), re.M)
    return found.group(1) if found else None


def changelog_section(version: str) -> Optional[str]:
    """The heading of the CHANGELOG's section for `version`, if it has one."""
    with open(os.path.join(ROOT, 'CHANGELOG.md'), encoding='utf-8') as f:
        for line in f:
            if re.match(rf'^## {re.escape(version)}( |$)', line):
                return line.strip()
    return None


def problems(files: List[str], tag: Optional[str]) -> Iterator[str]:
    version = package_version()
    if cargo_version() != version:
        yield f'native/Cargo.toml says {cargo_version()}, skyutils/_version.py {version}'
    sdists, platforms = [], {name: [] for name in PLATFORMS}  # type: ignore[var-annotated]
    for path in files:
        name = os.path.basename(path)
        wheel, sdist = _WHEEL.match(name), _SDIST.match(name)
        found = wheel or sdist
        if found is None:
            yield f'{name}: not an artifact of this release (a wheel or sdist of {DIST_NAME})'
            continue
        if found.group('version') != version:
            yield f'{name}: version {found.group("version")}, the package says {version}'
        if sdist:
            sdists.append(name)
            continue
        kind = [k for k, p in PLATFORMS.items() if re.fullmatch(p, wheel.group('platform'))]
        if not kind:
            yield f'{name}: a platform the release does not promise'
        for k in kind:
            platforms[k].append(name)
    if len(sdists) != 1:
        yield f'one sdist expected, found {sdists or "none"}'
    for kind, names in platforms.items():
        if len(names) != 1:
            yield f'one {kind} wheel expected, found {names or "none"}'
    if tag is not None:
        if tag != f'v{version}':
            yield f'the tag {tag} is not v{version}, the version of the package'
        heading = changelog_section(version)
        if heading is None:
            yield f'CHANGELOG.md has no section for {version}'
        elif not re.match(rf'^## {re.escape(version)} \(\d{{4}}-\d{{2}}-\d{{2}}\)$', heading):
            yield f'CHANGELOG.md: "{heading}" is not a release\'s heading ({version} (YYYY-MM-DD))'


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dirs', nargs='+', help='directories holding the artifacts')
    parser.add_argument('--tag', help='the tag being released (vX.Y.Z); none for a dry run')
    parser.add_argument('--twine', default='twine', help='the twine to run')
    args = parser.parse_args(argv)
    files = sorted(
        os.path.join(d, n) for d in args.dirs for n in os.listdir(d) if not n.startswith('.')
    )
    found = list(problems(files, args.tag or None))
    if files:
        done = subprocess.run([args.twine, 'check', '--strict', *files], capture_output=True,
                              text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            found.append(f'twine check --strict:\n{done.stdout}{done.stderr}')
    for problem in found:
        print(f'check_release: {problem}', file=sys.stderr)
    if not found:
        what = f'tag {args.tag}' if args.tag else 'a dry run (no tag)'
        print(f'check_release: {len(files)} artifacts of {package_version()} ready ({what})')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
