"""Finding the uses of the functions in a source file (ast), and which SkyPilot module a file is."""

import ast
import os
from collections import Counter
from typing import Any, Dict, List, NamedTuple, Optional, Set

from skyutils.migrate.targets import FUNCTIONS, MOVABLE, Use


def libcst_module() -> Any:
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


def dotted(node) -> Optional[str]:
    """'a.b.c' for a Name/Attribute chain, else None."""
    libcst = libcst_module()
    if isinstance(node, libcst.Name):
        return node.value
    if isinstance(node, libcst.Attribute):
        head = dotted(node.value)
        return f'{head}.{node.attr.value}' if head else None
    return None


def _ast_dotted(node) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _ast_dotted(node.value)
        return f'{head}.{node.attr}' if head else None
    return None


class Found(NamedTuple):
    uses: List[Use]
    aliases: Dict[str, str]
    dotted: Set[str]
    names: Counter  # Name references outside import statements, by name


def find_uses(source: str, path: str) -> Found:
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
    return Found(uses, aliases, dotted, names)
