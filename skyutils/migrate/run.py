"""Migrating a source, a file, and paths (in --jobs processes)."""

import os
from collections import Counter
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from skyutils.migrate.find import dotted, find_uses, libcst_module, mentions_a_function
from skyutils.migrate.imports import add_import_skyutils, drop_imports
from skyutils.migrate.rewrite import rewrite_uses
from skyutils.migrate.targets import DISAGREED, MOVABLE, FileResult, Use


def migrate_source(
    source: str, path: str = '<source>', rewrite: bool = True
) -> Tuple[str, List[Use]]:
    """The source with the movable uses rewritten, and the list of those uses (with
    `rewrite` False, the uses alone: the source comes back as it is)."""
    if not mentions_a_function(source):  # nothing to parse
        return source, []
    found = find_uses(source, path)
    if not found.uses or not rewrite:
        return source, found.uses
    libcst = libcst_module()
    module = libcst.parse_module(source)
    made: List[Use] = []
    new, attribute_uses, removed = rewrite_uses(module, path, found, made, positions=False)
    uses = found.uses
    if Counter((u.function, u.style) for u in made) != Counter((u.function, u.style) for u in uses):
        # The two parsers disagree: report what the rewrite did, at libcst's own lines.
        DISAGREED.append(path)
        made = []
        new, attribute_uses, removed = rewrite_uses(
            libcst.parse_module(source), path, found, made, positions=True
        )
        uses = sorted(made, key=lambda use: use.line)
    unused = {
        name for name in found.aliases if found.names[name] and found.names[name] == removed[name]
    }
    dotted_unused = set()
    if found.names['sky'] and found.names['sky'] == removed['sky']:
        dotted_unused = found.dotted

    def drop(node_and_alias) -> bool:
        node, alias = node_and_alias
        if isinstance(node, libcst.Import):
            name = dotted(alias.name)
            if alias.asname:
                return alias.asname.name.value in unused
            return name in dotted_unused
        if node.relative or not node.module:
            return False
        module_name = f'{dotted(node.module)}.{alias.name.value}'
        local = alias.asname.name.value if alias.asname else alias.name.value
        return module_name in MOVABLE and local in unused

    if unused or dotted_unused:
        new = drop_imports(new, drop)
    if attribute_uses:
        new = add_import_skyutils(new)
    return new.code, uses


def python_files(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            for directory, subdirs, files in os.walk(path):
                subdirs[:] = sorted(
                    d
                    for d in subdirs
                    if not d.startswith('.') and d not in ('__pycache__', 'node_modules', 'venv')
                )
                for name in sorted(files):
                    if name.endswith('.py'):
                        yield os.path.join(directory, name)
        else:
            yield path


def migrate_file(path: str, rewrite: bool = True) -> FileResult:
    """One file, read and rewritten in memory (nothing is written)."""
    try:
        with open(path, encoding='utf-8') as f:
            old = f.read()
        new, uses = migrate_source(old, path, rewrite)
        return FileResult(path, uses, old, new)
    except Exception as e:
        return FileResult(path, [], '', '', f'{type(e).__name__}: {e}')


def _needs_parsing(path: str) -> bool:
    """The pre-filter on a file's text: unreadable files are passed on, to be reported."""
    try:
        with open(path, encoding='utf-8') as f:
            return mentions_a_function(f.read())
    except (OSError, UnicodeDecodeError):
        return True


def migrate_paths(
    paths: Sequence[str],
    jobs: int = 1,
    progress: Optional[Callable[[int, int], None]] = None,
    rewrite: bool = True,
) -> List[FileResult]:
    """Every .py file under `paths`, read and rewritten in memory (nothing is written): the
    files the pre-filter lets through are parsed by `jobs` worker processes; `progress`
    hears (done, total) of those. `rewrite` False: the uses only (for --check)."""
    import functools

    libcst_module()
    files = list(python_files(paths))
    candidates = [path for path in files if _needs_parsing(path)]
    done: Dict[str, FileResult] = {}
    if jobs > 1 and len(candidates) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(jobs, len(candidates))) as pool:
            work = functools.partial(migrate_file, rewrite=rewrite)
            for index, result in enumerate(pool.map(work, candidates), 1):
                done[result.path] = result
                if progress:
                    progress(index, len(candidates))
    else:
        for index, path in enumerate(candidates, 1):
            done[path] = migrate_file(path, rewrite)
            if progress:
                progress(index, len(candidates))
    results = []
    for path in files:
        if path in done:
            results.append(done[path])
        else:  # never names a function: unchanged, and not read twice
            results.append(FileResult(path, [], '', ''))
    return results
