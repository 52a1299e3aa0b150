"""Reads a valgrind log; exits 1 if any error record has a frame in the skyutils library.

CPython itself reports uninitialised-value errors under valgrind (its GC and small-int
tricks; CPython ships a suppression file for them); those are counted and left alone.
"""

import re
import sys

OURS = re.compile(r'libskyutils|skyutils::')
ERROR_START = re.compile(
    r'^==\d+== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|'
    r'Source and destination|.* bytes in .* are definitely lost)'
)


def records(lines):
    record = []
    for line in lines:
        if ERROR_START.match(line):
            if record:
                yield record
            record = [line]
        elif record and re.match(r'^==\d+==\s*$', line):
            yield record
            record = []
        elif record:
            record.append(line)
    if record:
        yield record


def main(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        found = list(records(f))
    ours = [r for r in found if any(OURS.search(line) for line in r)]
    for record in ours:
        sys.stdout.write(''.join(record) + '\n')
    print(
        f'valgrind: {len(ours)} error(s) in the skyutils library, '
        f'{len(found) - len(ours)} in CPython itself (ignored)'
    )
    return 1 if ours else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
