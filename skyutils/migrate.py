"""`skyutils migrate`: moves uses of SkyPilot's versions of the functions over to skyutils.

Every import style, resolved from the file's own import statements (one libcst pass, no scope
analysis: that took 173 s on SkyPilot's 26 candidate files), comments and formatting kept:
- `from sky.utils.common_utils import f [as g]` becomes `from skyutils import f [as g]`
  (call sites untouched);
- `common_utils.f`, `cu.f`, `sky.utils.common_utils.f` through `from sky.utils import
  common_utils [as cu]` or `import sky.utils.common_utils [as cu]` become `skyutils.f`;
- inside SkyPilot's own `sky/utils/common_utils.py` and `subprocess_utils.py`, calls of the
  functions by their bare name become `skyutils.f(...)`; the definitions stay.
`import skyutils` goes into the third-party import group; module imports left unused are
removed, their trailing comments kept. Files that never spell a function's name are not
parsed. Needs libcst (`pip install skypilot-rust[migrate]`).
"""

import ast
import difflib
import os
import sys
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

from skyutils import _registry

# The SkyPilot module of each function skyutils serves under the same name.
MOVABLE: Dict[str, Tuple[str, ...]] = _registry.skypilot_modules()
QUALIFIED = {f'{module}.{name}': name for module, names in MOVABLE.items() for name in names}
FUNCTIONS = frozenset(QUALIFIED.values())
# Files where the ast finder and the libcst rewrite counted different uses (in this process):
# the rewrite's count was reported. Tests assert it stays empty.
DISAGREED: List[str] = []
# Import roots that are not third-party for the placement of `import skyutils`.
FIRST_PARTY_ROOTS = frozenset(['sky'])


class Use(NamedTuple):
    """One place that can move: where, which function, and in which style."""

    path: str
    line: int
    function: str
    style: str  # 'from-import', 'module attribute' or 'own module'


class FileResult(NamedTuple):
    path: str
    uses: List[Use]
    old: str
    new: str
    error: Optional[str] = None


def _libcst() -> Any:
    try:
        import libcst
    except ImportError as e:
        raise RuntimeError(
            'skyutils migrate needs libcst: pip install "skypilot-rust[migrate]"'
        ) from e
    return libcst


def mentions_a_function(source: str) -> bool:
    """The cheap text pre-filter: a file that never spells one of the functions' names has
    nothing to move, whatever its imports (SkyPilot writes `from sky.utils import
    common_utils`, then `common_utils.f(...)`: the dotted module name never appears)."""
    return any(name in source for name in FUNCTIONS)


def own_module(path: str) -> Optional[str]:
    """The SkyPilot module that `path` is (sky/utils/common_utils.py ...), or None."""
    normal = os.path.normpath(os.path.abspath(path))
    for module in MOVABLE:
        if normal.endswith(os.sep + module.replace('.', os.sep) + '.py'):
            return module
    return None


def _dotted(node) -> Optional[str]:
    """'a.b.c' for a Name/Attribute chain, else None."""
    libcst = _libcst()
    if isinstance(node, libcst.Name):
        return node.value
    if isinstance(node, libcst.Attribute):
        head = _dotted(node.value)
        return f'{head}.{node.attr.value}' if head else None
    return None


def _ast_dotted(node) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _ast_dotted(node.value)
        return f'{head}.{node.attr}' if head else None
    return None


class _Found(NamedTuple):
    uses: List[Use]
    aliases: Dict[str, str]
    dotted: Set[str]
    names: Counter  # Name references outside import statements, by name


def find_uses(source: str, path: str) -> _Found:
    """The uses in `source`, with their lines, found with the standard library's parser (a
    C parser and fast walks: libcst then only rewrites files that have uses). The same rules
    as the rewrite, which is checked against this list."""
    tree = ast.parse(source)
    aliases: Dict[str, str] = {}
    dotted: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MOVABLE:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        dotted.add(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                module = f'{node.module}.{alias.name}'
                if module in MOVABLE:
                    aliases[alias.asname or alias.name] = module
    own_functions = set(MOVABLE.get(own_module(path) or '', ()))
    uses: List[Use] = []
    names: Counter = Counter()

    def own_reference(node, defining) -> bool:
        return (
            isinstance(node, ast.Name)
            and node.id in own_functions
            and not own_functions.intersection(defining)
        )

    def visit(node, defining):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ImportFrom):
                if child.module in MOVABLE and not child.level:
                    uses.extend(
                        Use(path, child.lineno, alias.name, 'from-import')
                        for alias in child.names
                        if alias.name in MOVABLE[child.module]
                    )
                continue
            if isinstance(child, ast.Import):
                continue
            if isinstance(child, ast.Name):
                names[child.id] += 1
            elif isinstance(child, ast.Attribute) and child.attr in FUNCTIONS:
                target = _ast_dotted(child.value)
                module = target and (aliases.get(target) or (target if target in dotted else None))
                if module and child.attr in MOVABLE[module]:
                    uses.append(Use(path, child.lineno, child.attr, 'module attribute'))
            elif isinstance(child, ast.Call) and own_functions:
                values = (
                    [child.func]
                    + list(child.args)
                    + [k.value for k in child.keywords if k.arg is not None]
                )
                uses.extend(
                    Use(path, value.lineno, value.id, 'own module')  # type: ignore[attr-defined]
                    for value in values
                    if own_reference(value, defining)
                )
            inner = defining
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = defining + [child.name]
            visit(child, inner)

    visit(tree, [])
    uses.sort(key=lambda use: use.line)
    return _Found(uses, aliases, dotted, names)


def _rewrite(module, path: str, bindings: _Found, uses: List[Use], positions: bool):
    """The module with every use rewritten; `uses` gets each one (with its line where
    `positions`: libcst's PositionProvider, a whole extra pass, else line 0), and the
    references to each module alias the rewrite removed."""
    libcst = _libcst()
    from libcst.metadata import MetadataWrapper, PositionProvider

    own = own_module(path)
    own_functions = set(MOVABLE.get(own or '', ()))
    removed: Counter = Counter()

    class Rewrite(libcst.CSTTransformer):  # type: ignore[name-defined]  # libcst loads lazily
        METADATA_DEPENDENCIES = (PositionProvider,) if positions else ()

        def __init__(self):
            super().__init__()
            self.attribute_uses = 0
            self.defining: List[str] = []  # the functions whose bodies we are in

        def _use(self, node, function: str, style: str) -> None:
            line = self.get_metadata(PositionProvider, node).start.line if positions else 0
            uses.append(Use(path, line, function, style))

        def visit_FunctionDef(self, node):
            self.defining.append(node.name.value)

        def leave_FunctionDef(self, original, updated):
            self.defining.pop()
            return updated

        def leave_SimpleStatementLine(self, original, updated):
            """Rewrites `from <SkyPilot module> import ...` in place, keeping its comments."""
            if len(updated.body) != 1 or not isinstance(updated.body[0], libcst.ImportFrom):
                return updated
            statement = updated.body[0]
            module_name = (
                _dotted(statement.module) if statement.module and not statement.relative else None
            )
            if module_name not in MOVABLE or isinstance(statement.names, libcst.ImportStar):
                return updated
            moving = [a for a in statement.names if a.name.value in MOVABLE[module_name]]
            if not moving:
                return updated
            for alias in moving:
                self._use(original, alias.name.value, 'from-import')
            staying = [a for a in statement.names if a not in moving]
            if not staying:
                return updated.with_changes(
                    body=[statement.with_changes(module=libcst.Name('skyutils'))]
                )
            last = libcst.MaybeSentinel.DEFAULT
            staying[-1] = staying[-1].with_changes(comma=last)
            moved = [a.with_changes(comma=last) for a in moving]
            kept = updated.with_changes(body=[statement.with_changes(names=staying)])
            added = libcst.SimpleStatementLine(
                body=[libcst.ImportFrom(module=libcst.Name('skyutils'), names=moved)]
            )
            return libcst.FlattenSentinel([kept, added])

        def leave_Attribute(self, original, updated):
            function = original.attr.value
            if function not in FUNCTIONS:
                return updated
            target = _dotted(original.value)
            if target is None:
                return updated
            module_name = bindings.aliases.get(target)
            if module_name is None and target in bindings.dotted:
                module_name = target
            if module_name is None or function not in MOVABLE[module_name]:
                return updated
            self._use(original, function, 'module attribute')
            self.attribute_uses += 1
            removed[target.split('.')[0]] += 1  # the alias, or 'sky' of sky.utils.x
            return updated.with_changes(value=libcst.Name('skyutils'))

        def _own_call(self, original, updated_name):
            """`f` -> `skyutils.f` for a function of this very module, outside the
            definitions of the functions themselves (those stay SkyPilot's)."""
            if (
                not own_functions
                or not isinstance(updated_name, libcst.Name)
                or updated_name.value not in own_functions
                or own_functions.intersection(self.defining)
            ):
                return None
            self._use(original, updated_name.value, 'own module')
            self.attribute_uses += 1
            return libcst.Attribute(value=libcst.Name('skyutils'), attr=updated_name)

        def leave_Call(self, original, updated):
            replaced = self._own_call(original, updated.func)
            return updated if replaced is None else updated.with_changes(func=replaced)

        def leave_Arg(self, original, updated):
            if updated.star:  # *args, **kwargs: not a reference to one function
                return updated
            replaced = self._own_call(original, updated.value)
            return updated if replaced is None else updated.with_changes(value=replaced)

    rewrite = Rewrite()
    if positions:
        new = MetadataWrapper(module, unsafe_skip_copy=True).visit(rewrite)
    else:
        new = module.visit(rewrite)
    return new, rewrite.attribute_uses, removed


def _stdlib_roots() -> Set[str]:
    names = getattr(sys, 'stdlib_module_names', None)  # Python 3.10+
    if names is not None:
        return set(names)
    import sysconfig

    stdlib = sysconfig.get_paths()['stdlib']
    roots = set(sys.builtin_module_names)
    for entry in os.listdir(stdlib):
        roots.add(entry[:-3] if entry.endswith('.py') else entry)
    return roots


def _import_group(statement, stdlib: Set[str]) -> Optional[str]:
    """'future', 'stdlib', 'third' or 'first' for a module-level import line, else None."""
    libcst = _libcst()
    if not isinstance(statement, libcst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if isinstance(node, libcst.Import):
        root = (_dotted(node.names[0].name) or '').split('.')[0]
    elif isinstance(node, libcst.ImportFrom):
        if node.relative:
            return 'first'
        root = (_dotted(node.module) or '').split('.')[0]
    else:
        return None
    if root == '__future__':
        return 'future'
    if root in FIRST_PARTY_ROOTS:
        return 'first'
    return 'stdlib' if root in stdlib else 'third'


def _add_import_skyutils(module):
    """`import skyutils` at the end of the third-party import group; where there is none,
    a group of its own before the first-party imports (or after the standard library's)."""
    libcst = _libcst()
    body = list(module.body)
    stdlib = _stdlib_roots()
    groups = [_import_group(statement, stdlib) for statement in body]
    already = any(
        isinstance(s, libcst.SimpleStatementLine)
        and len(s.body) == 1
        and isinstance(s.body[0], libcst.Import)
        and any(_dotted(a.name) == 'skyutils' and not a.asname for a in s.body[0].names)
        for s in body
    )
    if already:
        return module
    statement = libcst.parse_statement('import skyutils\n')
    blank = [libcst.EmptyLine()]
    if 'third' in groups:
        at = max(i for i, g in enumerate(groups) if g == 'third') + 1
        body.insert(at, statement)
    elif 'first' in groups:
        at = groups.index('first')
        first = body[at]
        body[at] = first.with_changes(leading_lines=blank)
        body.insert(at, statement.with_changes(leading_lines=first.leading_lines))
    elif any(g in ('stdlib', 'future') for g in groups):
        at = max(i for i, g in enumerate(groups) if g in ('stdlib', 'future')) + 1
        body.insert(at, statement.with_changes(leading_lines=blank))
    else:  # no imports: after the docstring, if any
        at = 1 if body and _is_docstring(body[0]) else 0
        body.insert(at, statement.with_changes(leading_lines=blank if at else []))
    return module.with_changes(body=body)


def _is_docstring(statement) -> bool:
    libcst = _libcst()
    return (
        isinstance(statement, libcst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], libcst.Expr)
        and isinstance(statement.body[0].value, libcst.SimpleString)
    )


def _drop_imports(module, drop: Callable[[object], bool]):
    """Removes the import names for which `drop(alias)` holds; a line left empty goes, with
    its leading lines and its trailing comment carried to the next statement."""
    libcst = _libcst()

    def filtered(statement):
        if not (
            isinstance(statement, libcst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], (libcst.Import, libcst.ImportFrom))
        ):
            return statement
        node = statement.body[0]
        if isinstance(node.names, libcst.ImportStar):
            return statement
        kept = [alias for alias in node.names if not drop((node, alias))]
        if len(kept) == len(node.names):
            return statement
        if not kept:
            return None
        kept[-1] = kept[-1].with_changes(comma=libcst.MaybeSentinel.DEFAULT)
        return statement.with_changes(body=[node.with_changes(names=kept)])

    def clean(statements):
        """The statements with emptied import lines gone; what they carried (comments, and a
        blank line where the next statement has none) moves to the next one."""
        out, carried, blank = [], [], False
        for statement in statements:
            new = filtered(statement)
            if new is None:
                for line in statement.leading_lines:
                    if line.comment is None:
                        blank = True
                    else:
                        carried.append(line)
                comment = statement.trailing_whitespace.comment
                if comment is not None:
                    carried.append(libcst.EmptyLine(comment=comment))
                continue
            if (carried or blank) and hasattr(new, 'leading_lines'):
                own = list(new.leading_lines)
                spacer = [libcst.EmptyLine()] if blank and not own else []
                new = new.with_changes(leading_lines=spacer + carried + own)
                carried, blank = [], False
            out.append(new)
        return out, carried

    class Drop(libcst.CSTTransformer):  # type: ignore[name-defined]  # libcst loads lazily
        def leave_Module(self, original, updated):
            body, carried = clean(updated.body)
            return updated.with_changes(body=body, footer=carried + list(updated.footer))

        def leave_IndentedBlock(self, original, updated):
            body, carried = clean(updated.body)
            if not body:  # the block held only the import: `pass` keeps it valid
                body = [libcst.SimpleStatementLine(body=[libcst.Pass()])]
            return updated.with_changes(body=body, footer=carried + list(updated.footer))

    return module.visit(Drop())


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
    libcst = _libcst()
    module = libcst.parse_module(source)
    made: List[Use] = []
    new, attribute_uses, removed = _rewrite(module, path, found, made, positions=False)
    uses = found.uses
    if Counter((u.function, u.style) for u in made) != Counter((u.function, u.style) for u in uses):
        # The two parsers disagree: report what the rewrite did, at libcst's own lines.
        DISAGREED.append(path)
        made = []
        new, attribute_uses, removed = _rewrite(
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
            name = _dotted(alias.name)
            if alias.asname:
                return alias.asname.name.value in unused
            return name in dotted_unused
        if node.relative or not node.module:
            return False
        module_name = f'{_dotted(node.module)}.{alias.name.value}'
        local = alias.asname.name.value if alias.asname else alias.name.value
        return module_name in MOVABLE and local in unused

    if unused or dotted_unused:
        new = _drop_imports(new, drop)
    if attribute_uses:
        new = _add_import_skyutils(new)
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

    _libcst()
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
