"""Follows SkyPilot's releases: verifies SkyPilot's newest release and nightly for the startup
hook, as a person would, and writes what a pull request needs.

1. Finds SkyPilot's newest release and nightly on the package index (or takes `--release`,
   `--nightly`), and adds those not yet in skyutils/_release.py's lists (the nightly replaces
   the one listed: the table keeps the newest nightly).
2. Makes the table of verified releases again (`python -m skyutils._release`, from the wheels).
3. If the table changed: for each new SkyPilot, says which served functions its files verify
   and which stay SkyPilot's own (a fingerprint that is not the reference's: the function, or a
   name it reads, changed), then runs the conformance and served-function suites with the
   package built from this checkout and that SkyPilot installed, in a fresh venv.
4. Writes the report (`--report FILE`, the pull request's body) and exits 0 when the table is
   unchanged or every suite passed, 1 otherwise.

`--drop V,...` first removes versions from the lists: `ci/follow-skypilot --drop
0.14.1,1.0.0.dev20261027 --release 0.14.1 --nightly 1.0.0.dev20261027` proves the script
puts them back (.ci/run does that on a copy of the checkout).

The scheduled workflow (.github/workflows/follow-skypilot.yml) opens a pull request with the
report; it does not tag a release by itself (see docs/releasing.md for why).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from typing import List, Tuple

SUITES = (
    'startup_hook or hook_footprint or patch or verified or conformance or logtail or odd_inputs '
    'or skypilot_zip or skypilot_extract or skypilot_stream'
)
RELEASE_FILE = os.path.join('skyutils', '_release.py')
TABLE_FILE = '_skyutils_verified.py'


def sh(argv: List[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kwargs)


def newest(name: str, pre: bool) -> str:
    """The newest version of `name` on the package index, from the wheel pip picks."""
    with tempfile.TemporaryDirectory() as scratch:
        sh([sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check',
            '--no-deps', '--only-binary=:all:', *(['--pre'] if pre else []), name, '-d',
            scratch])  # fmt: skip
        wheels = [n for n in os.listdir(scratch) if n.endswith('.whl')]
    if len(wheels) != 1:
        raise SystemExit(f'follow-skypilot: pip download {name} gave {wheels}')
    return wheels[0].split('-')[1]


def read_lists(root: str) -> Tuple[List[str], str, str]:
    with open(os.path.join(root, RELEASE_FILE), encoding='utf-8') as f:
        text = f.read()
    releases = re.search(r'^SKYPILOT_RELEASES = \(\n((?:    .*\n)*)\)$', text, re.M)
    nightly = re.search(r"^SKYPILOT_NIGHTLY = '([^']*)'$", text, re.M)
    if releases is None or nightly is None:
        raise SystemExit(
            f'follow-skypilot: no SKYPILOT_RELEASES / SKYPILOT_NIGHTLY in {RELEASE_FILE}'
        )
    versions = re.findall(r"^    '([^']+)',$", releases.group(1), re.M)
    return versions, nightly.group(1), text


def write_lists(root: str, text: str, versions: List[str], nightly: str) -> None:
    listed = ''.join(f"    '{v}',\n" for v in versions)
    text = re.sub(r'^SKYPILOT_RELEASES = \(\n(?:    .*\n)*\)$',
                  lambda _: f'SKYPILOT_RELEASES = (\n{listed})', text, flags=re.M)  # fmt: skip
    text = re.sub(r"^SKYPILOT_NIGHTLY = '[^']*'$", lambda _: f"SKYPILOT_NIGHTLY = '{nightly}'",
                  text, flags=re.M)  # fmt: skip
    with open(os.path.join(root, RELEASE_FILE), 'w', encoding='utf-8') as f:
        f.write(text)


def make_table(root: str) -> str:
    """The table, made again from the wheels by the checkout's own skyutils._release."""
    code = (
        'import sys; sys.path.insert(0, sys.argv[1]); from skyutils import _release; '
        '_release.main()'
    )
    sh([sys.executable, '-c', code, root], cwd=root, stdout=subprocess.DEVNULL)
    with open(os.path.join(root, TABLE_FILE), encoding='utf-8') as f:
        return f.read()


def verdicts(root: str, version: str) -> List[str]:
    """For SkyPilot `version`: each served function, verified or left to SkyPilot, and why."""
    sys.path.insert(0, root)
    try:
        from skyutils import _release

        wheels = _release.download(os.path.expanduser(_release.CACHE))
        lines = []
        with zipfile.ZipFile(wheels[_release.REFERENCE]) as f:
            reference = {m: _release.Module(f.read(_release._path(m)).decode())
                         for m in _release.served_functions()}  # fmt: skip
        with zipfile.ZipFile(wheels[version]) as f:
            for module, names in _release.served_functions().items():
                try:
                    source = _release.Module(f.read(_release._path(module)).decode())
                except KeyError:
                    lines.append(f'- `{module}`: not in this release: its functions stay '
                                 "SkyPilot's own")  # fmt: skip
                    continue
                for name in names:
                    mine = source.fingerprint(name)
                    if mine is None:
                        why = "not in this release's file"
                    elif mine == reference[module].fingerprint(name):
                        lines.append(f'- `{module}.{name}`: verified (the reference '
                                     f"{_release.REFERENCE}'s code), served")  # fmt: skip
                        continue
                    else:
                        why = (
                            f"its fingerprint is not the reference {_release.REFERENCE}'s: the "
                            'function, a helper it calls, or a name it reads changed'
                        )
                    lines.append(f"- `{module}.{name}`: left to SkyPilot ({why})")
        return lines
    finally:
        sys.path.remove(root)
        for name in [m for m in sys.modules if m == 'skyutils' or m.startswith('skyutils.')]:
            del sys.modules[name]


def run_suites(root: str, name: str, version: str, python: str) -> Tuple[bool, str]:
    """The suites, with this checkout's package and SkyPilot `version` in a fresh venv, run
    from a copy of tests/ (outside the checkout, whose skyutils/ would shadow the installed)."""
    work = tempfile.mkdtemp(prefix='follow-skypilot-')
    try:
        venv = os.path.join(work, 'venv')
        sh([python, '-m', 'venv', venv])
        pip = [os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q',
               '--disable-pip-version-check']  # fmt: skip
        sh(pip + [root, f'{name}=={version}', '-r',
                  os.path.join(root, 'wheelhouse-config', 'requirements-test.txt')])  # fmt: skip
        suite = os.path.join(work, 'suite')
        shutil.copytree(os.path.join(root, 'tests'), os.path.join(suite, 'tests'))
        os.makedirs(os.path.join(suite, 'native', 'include'))
        shutil.copy(os.path.join(root, 'native', 'include', 'skyutils.h'),
                    os.path.join(suite, 'native', 'include'))  # fmt: skip
        env = dict(os.environ, SKYUTILS_REQUIRE_NATIVE='1', SKYUTILS_REQUIRE_HOOK='1',
                   SKYUTILS_REQUIRE_REFERENCE='1', HYPOTHESIS_PROFILE='quick')  # fmt: skip
        env.pop('SKYPILOT_USE_RUST', None)
        done = subprocess.run(
            [os.path.join(venv, 'bin', 'python'), '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
             'tests', '-k', SUITES],
            cwd=suite, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        summary = (done.stdout.strip().splitlines() or [''])[-1]
        return done.returncode == 0, summary if done.returncode == 0 else done.stdout[-4000:]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--root', default=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    )
    parser.add_argument('--release', help="SkyPilot's release to add (default: the newest)")
    parser.add_argument('--nightly', help="SkyPilot's nightly to list (default: the newest)")
    parser.add_argument('--drop', default='', help='versions to remove from the lists first')
    parser.add_argument('--report', help='where to write the report (the pull request body)')
    parser.add_argument('--no-suites', action='store_true', help='make the table only')
    parser.add_argument('--python', default=sys.executable, help='the Python of the suites venv')
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    release = args.release or newest('skypilot', pre=False)
    nightly = args.nightly or newest('skypilot-nightly', pre=True)
    versions, listed_nightly, text = read_lists(root)
    dropped = {v for v in args.drop.split(',') if v}
    if dropped:  # the table without them: what the script then starts from
        versions = [v for v in versions if v not in dropped]
        write_lists(root, text, versions, '' if listed_nightly in dropped else listed_nightly)
        make_table(root)
        versions, listed_nightly, text = read_lists(root)
    with open(os.path.join(root, TABLE_FILE), encoding='utf-8') as f:
        before = f.read()
    new: List[Tuple[str, str]] = []
    if release not in versions:
        versions.append(release)
        new.append(('skypilot', release))
    if nightly != listed_nightly:
        new.append(('skypilot-nightly', nightly))
    lines = [f"# Follow SkyPilot: {', '.join(f'{n} {v}' for n, v in new) or 'nothing new'}", '']
    if not new:
        lines.append(f'SkyPilot {release} and skypilot-nightly {nightly} are already listed.')
        return _finish(args, lines, 0)
    write_lists(root, text, versions, nightly)
    after = make_table(root)
    if after == before:
        lines.append('The table of verified releases is unchanged: none of their files is '
                     'verified for a served function (each stays SkyPilot\'s own).')  # fmt: skip
    ok = True
    for name, version in new:
        lines += ['', f'## {name} {version}', ''] + verdicts(root, version)
        if args.no_suites or after == before:
            continue
        passed, summary = run_suites(root, name, version, args.python)
        ok = ok and passed
        outcome = 'passed: ' + summary if passed else 'FAILED:\n\n```\n' + summary + '\n```'
        lines += ['', f'Suites ({SUITES}) with {name}=={version} installed: {outcome}']
    return _finish(args, lines, 0 if ok else 1)


def _finish(args, lines: List[str], code: int) -> int:
    text = '\n'.join(lines) + '\n'
    print(text)
    if args.report:
        with open(args.report, 'w', encoding='utf-8') as f:
            f.write(text)
    return code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
