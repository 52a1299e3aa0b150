"""The `skyutils` command: info, bench (check and migrate come later)."""
import argparse
import json
import sys
from typing import List, Optional

import skyutils


def _print_info(as_json: bool) -> None:
    info = skyutils.backend_info()
    if as_json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return
    print(f"skyutils {info['version']}, backend: {info['backend']}")
    for name, choice in info['functions'].items():
        print(f"  {name:<34} {choice['backend']:<7} {choice['reason']}")


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write('\r\033[K' + text)
    else:
        sys.stderr.write(text + '\n')
    sys.stderr.flush()


def _bench(args) -> int:
    from skyutils import bench
    unknown = set(args.function or ()) - set(skyutils.__all__)
    if unknown:
        print(f"skyutils bench: no such function: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    report = bench.run(quick=args.quick, functions=args.function, progress=_progress)
    if sys.stderr.isatty():
        sys.stderr.write('\r\033[K')
    for line in bench.table(report):
        print(line)
    if args.json:
        bench.save_json(report, args.json)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `skyutils` console script and of `python -m skyutils`."""
    parser = argparse.ArgumentParser(prog='skyutils', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    info = commands.add_parser('info', help='show which backend serves each function')
    info.add_argument('--json', action='store_true', help='print JSON')
    bench = commands.add_parser('bench', help='time skyutils against pure Python and SkyPilot')
    bench.add_argument('--quick', action='store_true', help='smaller fixtures, under a minute')
    bench.add_argument('--function', action='append', metavar='NAME',
                       help='only this function (repeatable)')
    bench.add_argument('--json', metavar='FILE', help='also write the full report as JSON')
    args = parser.parse_args(argv)
    if args.command == 'info':
        _print_info(args.json)
        return 0
    return _bench(args)


if __name__ == '__main__':
    sys.exit(main())
