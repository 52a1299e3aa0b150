"""The import statements of a rewrite: `import skyutils` among the third-party ones, and
the imports it leaves unused removed."""

import os
import sys
from typing import Callable, Optional, Set

from skyutils.migrate.find import dotted, libcst_module
from skyutils.migrate.targets import FIRST_PARTY_ROOTS


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
    libcst = libcst_module()
    if not isinstance(statement, libcst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    node = statement.body[0]
    if isinstance(node, libcst.Import):
        root = (dotted(node.names[0].name) or '').split('.')[0]
    elif isinstance(node, libcst.ImportFrom):
        if node.relative:
            return 'first'
        root = (dotted(node.module) or '').split('.')[0]
    else:
        return None
    if root == '__future__':
        return 'future'
    if root in FIRST_PARTY_ROOTS:
        return 'first'
    return 'stdlib' if root in stdlib else 'third'


def add_import_skyutils(module):
    """`import skyutils` at the end of the third-party import group; where there is none,
    a group of its own before the first-party imports (or after the standard library's)."""
    libcst = libcst_module()
    body = list(module.body)
    stdlib = _stdlib_roots()
    groups = [_import_group(statement, stdlib) for statement in body]
    already = any(
        isinstance(s, libcst.SimpleStatementLine)
        and len(s.body) == 1
        and isinstance(s.body[0], libcst.Import)
        and any(dotted(a.name) == 'skyutils' and not a.asname for a in s.body[0].names)
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
    libcst = libcst_module()
    return (
        isinstance(statement, libcst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], libcst.Expr)
        and isinstance(statement.body[0].value, libcst.SimpleString)
    )


def drop_imports(module, drop: Callable[[object], bool]):
    """Removes the import names for which `drop(alias)` holds; a line left empty goes, with
    its leading lines and its trailing comment carried to the next statement."""
    libcst = libcst_module()

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
