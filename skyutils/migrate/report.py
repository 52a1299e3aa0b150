"""What a migration says: a unified diff, the write, JSON and the text report."""

import difflib
import os
from typing import Any, Dict, Iterator, List, Set

from skyutils.migrate.targets import FileResult


def unified_diff(result: FileResult) -> str:
    """A diff that `patch -p0` and `git apply -p0` take, from the directory the paths are
    relative to; a last line without a newline is marked as diff(1) marks it."""
    lines = []
    for line in difflib.unified_diff(
        result.old.splitlines(True), result.new.splitlines(True), result.path, result.path
    ):
        if not line.endswith('\n'):
            line += '\n\\ No newline at end of file\n'
        lines.append(line)
    return ''.join(lines)


def write(result: FileResult) -> None:
    """Replaces the file's content, keeping its mode (written beside it, then renamed)."""
    temporary = f'{result.path}.skyutils-migrate'
    with open(temporary, 'w', encoding='utf-8') as f:
        f.write(result.new)
    os.chmod(temporary, os.stat(result.path).st_mode & 0o7777)
    os.replace(temporary, result.path)


def as_json(results: List[FileResult]) -> Dict[str, Any]:
    """The uses and errors, for `skyutils migrate --json`."""
    return {
        'files': len(results),
        'uses': [use._asdict() for result in results for use in result.uses],
        'errors': {result.path: result.error for result in results if result.error},
    }


def report(results: List[FileResult]) -> Iterator[str]:
    moved: Set[str] = set()
    errors = 0
    for result in results:
        if result.error:
            errors += 1
            yield f'{result.path}: error: cannot parse ({result.error})'
        for use in result.uses:
            moved.add(use.path)
            yield f'{use.path}:{use.line}: {use.function} ({use.style}) can move to skyutils'
    count = sum(len(r.uses) for r in results)
    summary = (
        f'{count} use(s) in {len(moved)} of {len(results)} file(s) can move to skyutils'
        if count
        else f'nothing to move in {len(results)} file(s)'
    )
    if errors:
        summary += f'; {errors} file(s) could not be parsed'
    yield summary
