"""The `skyutils` command (also `python -m skyutils`).

  info     which backend serves each function, and why
  check    every function on both backends against the spec's examples (exit 1 on a mismatch)
  bench    time skyutils against pure Python and SkyPilot on the hot cases
  migrate  move code from SkyPilot's functions to skyutils' (exit 1 with --check if any can)

Exit codes: 0 success, 1 a failed check (or, with migrate --check, something to move),
2 a usage error.
"""

import argparse
import json
import os
import platform
import sys
from typing import List, Optional

import skyutils


def _skypilot_status(import_skypilot: bool):
    """The startup hook and what serves SkyPilot in this process; with `import_skypilot`,
    after this process has imported SkyPilot's modules (as every SkyPilot process does)."""
    from skyutils import _patch

    if import_skypilot:
        import importlib

        try:
            for module in _patch.TARGETS:
                importlib.import_module(module)
        except Exception as e:
            found = _patch.status()
            found['import_error'] = f'{type(e).__name__}: {e}'
            return found
    return _patch.status()


def _info(args) -> int:
    from skyutils import _native

    info = skyutils.backend_info()
    info['platform'] = (
        f'{platform.system()} {platform.machine()}, Python {platform.python_version()}'
    )
    info['SKYPILOT_USE_RUST'] = os.environ.get(_native.USE_RUST_ENV)
    info['skypilot'] = _skypilot_status(args.skypilot)
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    library = info['library']
    print(f"skyutils {info['version']} on {info['platform']}")
    print(f"backend: {info['backend']}; SKYPILOT_USE_RUST={info['SKYPILOT_USE_RUST'] or '(unset)'}")
    print(f"library: {library['reason']}")
    if library['loaded']:
        print(f"         version {library['version']}, ABI {library['abi_version']}")
    print(f"{'function':<34} {'backend':<7} {'fallbacks':>9}  reason")
    for name, choice in info['functions'].items():
        print(f"{name:<34} {choice['backend']:<7} {choice['fallbacks']:>9}  {choice['reason']}")
    _print_skypilot(info['skypilot'], args.skypilot)
    return 0


def _print_skypilot(found, imported: bool) -> None:
    hook = found['hook']
    if not hook['installed']:
        print(
            'startup hook: not installed in this environment (a source checkout, or the '
            'package imported from elsewhere)'
        )
    elif not hook['active']:
        print('startup hook: installed, off in this process (SKYPILOT_USE_RUST)')
    else:
        print(
            f"startup hook: active in this process (pid {hook['pid']}): it serves SkyPilot "
            'in every process of this environment that imports it'
        )
    if hook.get('error'):
        print(f"  error: {hook['error']}: SkyPilot kept its own functions")
    if found.get('import_error'):
        print(f"SkyPilot: cannot be imported here ({found['import_error']})")
        return
    if not found['modules']:
        if imported:
            print(
                'SkyPilot: imported here; nothing replaced (no active hook in this process: '
                'skyutils.patch_skypilot() does it explicitly)'
            )
        else:
            print(
                'SkyPilot: not imported in this process, nothing replaced '
                '(skyutils info --skypilot imports it here and shows)'
            )
        return
    print(
        f"SkyPilot {found['distribution']} {found['version']}: "
        f"{len(found['served'])} function(s) served by skyutils"
    )
    if found.get('unverified'):
        print(f"  {found['unverified']}")
    for module, verdict in found['modules'].items():
        if verdict['release']:
            print(f"  {module}: the file of SkyPilot {verdict['release']}")
        else:
            print(f"  {module}: left alone: {verdict['why']}")
        for function, why in verdict['functions'].items():
            now = found['served'].get(f'{module}.{function}', {}).get('now', why)
            print(f'    {function}: {now}')


def _check(args) -> int:
    from skyutils import check

    report = check.run()
    if args.json:
        print(json.dumps(report, indent=2, default=repr))
    else:
        for line in check.table(report):
            print(line)
    problem = check.explain_failure(report, args.require_native)
    if problem:
        print(problem, file=sys.stderr)
    return check.exit_code(report, args.require_native)


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write('\r\033[K' + text)
    else:
        sys.stderr.write(text + '\n')
    sys.stderr.flush()


def _bench(args) -> int:
    from skyutils import _registry, bench

    unknown = set(args.function or ()) - set(_registry.NAMES)
    if unknown:
        print(
            f"skyutils bench: no such function: {', '.join(sorted(unknown))} (one of: "
            f"{', '.join(_registry.NAMES)})",
            file=sys.stderr,
        )
        return 2
    for option, path in (('--json', args.json), ('--html', args.html)):
        problem = path and path != '-' and _unwritable(path)
        if problem:  # said before a minute of measuring, not after it
            print(f'skyutils bench: {option} {path}: {problem}', file=sys.stderr)
            return 2
    if args.startup and args.function:
        print('skyutils bench: --startup measures no function; drop --function', file=sys.stderr)
        return 2
    report = bench.run(
        quick=args.quick,
        functions=args.function,
        progress=_progress,
        startup_only=args.startup,
        runs=args.runs,
    )
    if sys.stderr.isatty():
        sys.stderr.write('\r\033[K')
    if args.json == '-':  # the report as JSON on stdout, instead of the table
        print(json.dumps(report, indent=2))
    else:
        for line in bench.table(report):
            print(line)
    if args.json and args.json != '-':
        bench.save_json(report, args.json)
    if args.html:
        bench.save_html(report, args.html)
    return 0


def _unwritable(path: str) -> Optional[str]:
    """Why `path` cannot be written as a report, or None."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return 'is a directory'
    if not os.path.isdir(directory):
        return f'no such directory: {directory}'
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return 'not writable'
    return None


def _progress_line(what: str):
    """A progress callback that redraws one line of stderr (a terminal's)."""

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // total
        sys.stderr.write(f'\r{what}: [{"#" * filled}{"." * (width - filled)}] {done}/{total} files')
        if done == total:
            sys.stderr.write('\n')
        sys.stderr.flush()

    return show


def _migrate(args) -> int:
    from skyutils import migrate

    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        print(f"skyutils migrate: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.json and (args.diff or args.write):
        print(
            'skyutils migrate: --json lists uses; it goes with --check or no mode', file=sys.stderr
        )
        return 2
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        print(f'skyutils migrate: --jobs must be at least 1, not {jobs}', file=sys.stderr)
        return 2
    progress = _progress_line('migrate') if sys.stderr.isatty() else None
    try:
        # --check (and a plain listing) need the uses, not the rewrite.
        results = migrate.migrate_paths(
            args.paths, jobs=jobs, progress=progress, rewrite=args.diff or args.write
        )
    except RuntimeError as e:  # libcst is not installed
        print(e, file=sys.stderr)
        return 2
    # With --diff, stdout is the patch alone (`> m.patch`, then `patch -p0 < m.patch`).
    report_to = sys.stderr if args.diff else sys.stdout
    if args.json:
        print(json.dumps(migrate.as_json(results), indent=2))
    else:
        for line in migrate.report(results):
            print(line, file=report_to)
    changed = [r for r in results if r.uses]
    if args.diff:
        for result in changed:
            sys.stdout.write(migrate.unified_diff(result))
    if args.write:
        for result in changed:
            migrate.write(result)
        print(f'rewrote {len(changed)} file(s)')
    if any(r.error for r in results):
        return 1
    return 1 if args.check and changed else 0


CHECK_DESCRIPTION = """\
Runs every function on both backends against the examples of the behaviour contract and
compares them: exit 1 on any difference (or, with --require-native, when the native
library is not serving).

examples:
  skyutils check
  skyutils check --require-native --json
"""

BENCH_DESCRIPTION = """\
Times skyutils against its pure-Python twin and the installed SkyPilot on the hot cases,
beside floors measured in the same run (the bare system calls), with a verdict per case,
two-thread scaling, and the startup hook's cost.

examples:
  skyutils bench --quick
  skyutils bench --function read_last_n_lines --json bench.json
  skyutils bench --startup
  skyutils bench --quick --json - | jq .summary
"""

INFO_DESCRIPTION = """\
Shows the backend of each function and why, the native library, and the startup hook:
whether it is active, and what it replaced in this process.

examples:
  skyutils info
  skyutils info --skypilot     in a SkyPilot environment (the API server's venv, say):
                               what every SkyPilot process there gets
  skyutils info --json
"""


MIGRATE_DESCRIPTION = """\
Finds every use of the ten SkyPilot functions skyutils serves (through
sky.utils.common_utils and sky.utils.subprocess_utils, in every import style, and
inside those SkyPilot modules themselves) and moves it to skyutils, keeping comments
and formatting. Without a mode it lists the uses.

examples:
  skyutils migrate --check src/          exit 1 when something can move
  skyutils migrate --diff src/ > m.patch  then: patch -p0 < m.patch
  skyutils migrate --write -j 4 src/     rewrite in place with 4 workers
  skyutils migrate --check --json src/   the uses as JSON

exit codes: 0 done (or nothing to move), 1 something can move (--check) or a file
could not be parsed, 2 a usage error.
"""


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `skyutils` console script and of `python -m skyutils`."""
    parser = argparse.ArgumentParser(
        prog='skyutils', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--version', action='version', version=skyutils.__version__)
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    info = commands.add_parser(
        'info',
        help='show which backend serves each function, and why',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=INFO_DESCRIPTION,
    )
    info.add_argument('--json', action='store_true', help='print JSON')
    info.add_argument(
        '--skypilot',
        action='store_true',
        help="import SkyPilot's modules here first, and show what the startup hook replaced",
    )

    check = commands.add_parser(
        'check',
        help='check both backends against the spec examples',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=CHECK_DESCRIPTION,
    )
    check.add_argument(
        '--require-native',
        action='store_true',
        help='also fail when the native library is not serving',
    )
    check.add_argument('--json', action='store_true', help='print JSON')

    bench = commands.add_parser(
        'bench',
        help='time skyutils against pure Python and SkyPilot',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=BENCH_DESCRIPTION,
    )
    bench.add_argument('--quick', action='store_true', help='smaller fixtures, under a minute')
    bench.add_argument(
        '--function', action='append', metavar='NAME', help='only this function (repeatable)'
    )
    bench.add_argument(
        '--startup',
        action='store_true',
        help='only what the startup hook and `import skyutils` add to a fresh '
        "interpreter's start (15 interpreters each), and what the hook costs a SkyPilot "
        'process (21 with it, 21 without; a minute or two)',
    )
    bench.add_argument(
        '--runs',
        type=int,
        metavar='N',
        help='fresh interpreters per startup measure (default: 15, and 21 for SkyPilot)',
    )
    bench.add_argument(
        '--json', metavar='FILE', help="also write the full report as JSON ('-': print it instead)"
    )
    bench.add_argument('--html', metavar='FILE', help='also write an HTML report with a chart')

    migrate = commands.add_parser(
        'migrate',
        help="move code from SkyPilot's functions to skyutils' (needs skypilot-rust[migrate])",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=MIGRATE_DESCRIPTION,
    )
    migrate.add_argument('paths', nargs='+', metavar='PATH', help='files or directories')
    mode = migrate.add_mutually_exclusive_group()
    mode.add_argument('--check', action='store_true', help='exit 1 when something can move')
    mode.add_argument(
        '--diff',
        action='store_true',
        help='print a unified diff (apply it with patch -p0 or git apply -p0)',
    )
    mode.add_argument('--write', action='store_true', help='rewrite the files in place')
    migrate.add_argument(
        '--json', action='store_true', help='print the uses as JSON (with --check or no mode)'
    )
    migrate.add_argument(
        '--jobs',
        '-j',
        type=int,
        metavar='N',
        help='worker processes for parsing (default: the CPUs)',
    )

    args = parser.parse_args(argv)
    handlers = {'info': _info, 'check': _check, 'bench': _bench, 'migrate': _migrate}
    return handlers[args.command](args)


if __name__ == '__main__':
    sys.exit(main())
