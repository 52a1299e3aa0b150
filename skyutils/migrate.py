"""`skyutils migrate`: moves uses of SkyPilot's versions of the functions over to skyutils.

Every import style is handled through libcst's qualified names, with comments and formatting
kept: `from sky.utils.common_utils import f [as g]` becomes `from skyutils import f [as g]`
(call sites untouched); `common_utils.f` / `sky.utils.common_utils.f` / `cu.f` (module
imports, aliased or not) become `skyutils.f`, with `import skyutils` added and module imports
left unused removed. Needs libcst (`pip install skypilot-rust[migrate]`).
"""
import difflib
import os
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple

# The SkyPilot module of each function skyutils serves under the same name.
MOVABLE: Dict[str, Tuple[str, ...]] = {
    'sky.utils.common_utils': (
        'base36_encode', 'read_last_n_lines', 'find_free_port', 'format_float',
        'truncate_long_string', 'hash_file', 'get_cpu_count', 'get_mem_size_gb'),
    'sky.utils.subprocess_utils': ('get_parallel_threads', 'get_max_workers_for_file_mounts'),
}
QUALIFIED = {f'{module}.{name}': name for module, names in MOVABLE.items() for name in names}


class Use(NamedTuple):
    """One place that can move: where, which function, and in which style."""
    path: str
    line: int
    function: str
    style: str  # 'from-import' or 'module attribute'


class FileResult(NamedTuple):
    path: str
    uses: List[Use]
    old: str
    new: str
    error: Optional[str] = None


def _libcst():
    try:
        import libcst
    except ImportError as e:
        raise RuntimeError('skyutils migrate needs libcst: '
                           'pip install "skypilot-rust[migrate]"') from e
    return libcst


def _dotted(node) -> Optional[str]:
    """'a.b.c' for a Name/Attribute chain, else None."""
    libcst = _libcst()
    if isinstance(node, libcst.Name):
        return node.value
    if isinstance(node, libcst.Attribute):
        head = _dotted(node.value)
        return f'{head}.{node.attr.value}' if head else None
    return None


def _drop_unused_dotted_imports(module, dotted_imports: Set[str]):
    """Removes `import sky.utils.x` lines for x in dotted_imports when no `sky` name is used
    outside import statements any more (libcst keeps them while other names reach x)."""
    libcst = _libcst()

    class SkyNames(libcst.CSTVisitor):
        used = False

        def visit_Import(self, node):
            return False

        def visit_ImportFrom(self, node):
            return False

        def visit_Name(self, node):
            if node.value == 'sky':
                self.used = True

    finder = SkyNames()
    module.visit(finder)
    if finder.used:
        return module

    class Drop(libcst.CSTTransformer):
        def leave_Import(self, original, updated):
            kept = [a for a in updated.names
                    if a.asname or _dotted(a.name) not in dotted_imports]
            if len(kept) == len(updated.names):
                return updated
            if not kept:
                return libcst.RemoveFromParent()
            kept[-1] = kept[-1].with_changes(comma=libcst.MaybeSentinel.DEFAULT)
            return updated.with_changes(names=kept)

    return module.visit(Drop())


def _make_command(path: str, uses: List[Use], dotted_imports: Set[str]):
    libcst = _libcst()
    from libcst.codemod import VisitorBasedCodemodCommand
    from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
    from libcst.metadata import PositionProvider, QualifiedNameProvider

    class Migrate(VisitorBasedCodemodCommand):
        METADATA_DEPENDENCIES = (QualifiedNameProvider, PositionProvider)

        def _line(self, node) -> int:
            return self.get_metadata(PositionProvider, node).start.line

        def leave_SimpleStatementLine(self, original, updated):
            """Rewrites `from <SkyPilot module> import ...` in place, keeping its comments."""
            if len(updated.body) != 1 or not isinstance(updated.body[0], libcst.ImportFrom):
                return updated
            statement = updated.body[0]
            module = (_dotted(statement.module)
                      if statement.module and not statement.relative else None)
            if module not in MOVABLE or isinstance(statement.names, libcst.ImportStar):
                return updated
            moving = [a for a in statement.names if a.name.value in MOVABLE[module]]
            if not moving:
                return updated
            line = self._line(original)
            for alias in moving:
                uses.append(Use(path, line, alias.name.value, 'from-import'))
            staying = [a for a in statement.names if a not in moving]
            if not staying:
                return updated.with_changes(
                    body=[statement.with_changes(module=libcst.Name('skyutils'))])
            last = libcst.MaybeSentinel.DEFAULT
            staying[-1] = staying[-1].with_changes(comma=last)
            moved = [a.with_changes(comma=last) for a in moving]
            kept = updated.with_changes(body=[statement.with_changes(names=staying)])
            added = libcst.SimpleStatementLine(
                body=[libcst.ImportFrom(module=libcst.Name('skyutils'), names=moved)])
            return libcst.FlattenSentinel([kept, added])

        def leave_Attribute(self, original, updated):
            names = self.get_metadata(QualifiedNameProvider, original, set())
            for qualified in names:
                function = QUALIFIED.get(qualified.name)
                if function and _dotted(original) and original.attr.value == function:
                    uses.append(Use(path, self._line(original), function, 'module attribute'))
                    AddImportsVisitor.add_needed_import(self.context, 'skyutils')
                    self._drop_module_import(original.value)
                    return updated.with_changes(value=libcst.Name('skyutils'))
            return updated

        def _drop_module_import(self, value) -> None:
            """Ask to remove the import that bound `value`, if nothing else uses it now."""
            for qualified in self.get_metadata(QualifiedNameProvider, value, set()):
                module = qualified.name
                if module not in MOVABLE:
                    continue
                parent, _, leaf = module.rpartition('.')
                dotted = _dotted(value)
                if dotted == module:  # import sky.utils.common_utils
                    RemoveImportsVisitor.remove_unused_import(self.context, module)
                    dotted_imports.add(module)
                elif dotted == leaf:  # from sky.utils import common_utils
                    RemoveImportsVisitor.remove_unused_import(self.context, parent, leaf)
                else:  # an alias: import ... as cu / from sky.utils import common_utils as cu
                    RemoveImportsVisitor.remove_unused_import(self.context, module,
                                                              asname=dotted)
                    RemoveImportsVisitor.remove_unused_import(self.context, parent, leaf,
                                                              asname=dotted)

    return Migrate


def migrate_source(source: str, path: str = '<source>') -> Tuple[str, List[Use]]:
    """The source with the movable uses rewritten, and the list of those uses."""
    libcst = _libcst()
    from libcst.codemod import CodemodContext
    uses: List[Use] = []
    module = libcst.parse_module(source)
    if not any(name in source for name in MOVABLE):  # fast path: never mentions SkyPilot's
        return source, uses
    dotted_imports: Set[str] = set()
    command = _make_command(path, uses, dotted_imports)(CodemodContext(filename=path))
    new = _drop_unused_dotted_imports(command.transform_module(module), dotted_imports).code
    uses.sort(key=lambda use: use.line)
    return new, uses


def python_files(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            for directory, subdirs, files in os.walk(path):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith('.') and
                                    d not in ('__pycache__', 'node_modules', 'venv'))
                for name in sorted(files):
                    if name.endswith('.py'):
                        yield os.path.join(directory, name)
        else:
            yield path


def migrate_paths(paths: Sequence[str]) -> List[FileResult]:
    """Every .py file under `paths`, read and rewritten in memory (nothing is written)."""
    _libcst()
    results = []
    for path in python_files(paths):
        try:
            with open(path, encoding='utf-8') as f:
                old = f.read()
            new, uses = migrate_source(old, path)
            results.append(FileResult(path, uses, old, new))
        except Exception as e:  # noqa: BLE001 - a file that cannot be parsed is reported
            results.append(FileResult(path, [], '', '', f'{type(e).__name__}: {e}'))
    return results


def unified_diff(result: FileResult) -> str:
    return ''.join(difflib.unified_diff(result.old.splitlines(True), result.new.splitlines(True),
                                        f'a/{result.path}', f'b/{result.path}'))


def write(result: FileResult) -> None:
    """Replaces the file's content, keeping its mode (written beside it, then renamed)."""
    temporary = f'{result.path}.skyutils-migrate'
    with open(temporary, 'w', encoding='utf-8') as f:
        f.write(result.new)
    os.chmod(temporary, os.stat(result.path).st_mode & 0o7777)
    os.replace(temporary, result.path)


def report(results: List[FileResult]) -> Iterator[str]:
    moved: Set[str] = set()
    for result in results:
        if result.error:
            yield f'{result.path}: skipped, cannot parse ({result.error})'
        for use in result.uses:
            moved.add(use.path)
            yield f'{use.path}:{use.line}: {use.function} ({use.style}) can move to skyutils'
    count = sum(len(r.uses) for r in results)
    yield (f'{count} use(s) in {len(moved)} of {len(results)} file(s) can move to skyutils'
           if count else f'nothing to move in {len(results)} file(s)')
