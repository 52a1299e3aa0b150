"""Rewriting the uses a file makes (libcst), keeping comments and formatting."""

from collections import Counter
from typing import List

from skyutils.migrate.find import Found, dotted, libcst_module, own_module
from skyutils.migrate.targets import FUNCTIONS, MOVABLE, Use


def rewrite_uses(module, path: str, bindings: Found, uses: List[Use], positions: bool):
    """The module with every use rewritten; `uses` gets each one (with its line where
    `positions`: libcst's PositionProvider, a whole extra pass, else line 0), and the
    references to each module alias the rewrite removed."""
    libcst = libcst_module()
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
                dotted(statement.module) if statement.module and not statement.relative else None
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
            target = dotted(original.value)
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
