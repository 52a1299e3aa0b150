"""The `skyutils` command: `info` for now (check, bench and migrate come later)."""
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


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the `skyutils` console script and of `python -m skyutils`."""
    parser = argparse.ArgumentParser(prog='skyutils', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    info = commands.add_parser('info', help='show which backend serves each function')
    info.add_argument('--json', action='store_true', help='print JSON')
    args = parser.parse_args(argv)
    if args.command == 'info':
        _print_info(args.json)
    return 0


if __name__ == '__main__':
    sys.exit(main())
