"""Fingerprints of SkyPilot's function bodies, so that a patch replaces only what was verified.

A fingerprint is a hash of the function's normalised syntax tree together with those of the
module-level helpers it names (functions, transitively) and the module-level constants it
reads; docstrings and source positions are left out, and so is everything that differs
between Python versions' trees (3.8's Index nodes, type comments, type parameters), so one
source gives one fingerprint on every Python. It is computed from source text, so the
fingerprints of a release come straight from its wheel, without installing it.
"""

import ast
import hashlib
import zipfile
from typing import Dict, List, Optional, Set

# Fields that say nothing about behaviour, or that only some Python versions have.
_SKIPPED_FIELDS = frozenset(['type_comment', 'type_params', 'kind', 'ctx', 'type_ignores'])


def _normal(node) -> str:
    if isinstance(node, list):
        return '[' + ','.join(_normal(item) for item in node) + ']'
    if not isinstance(node, ast.AST):
        return repr(node)
    kind = type(node).__name__
    if kind == 'Index':  # Python 3.8: x[i] wrapped its subscript
        return _normal(node.value)  # type: ignore[attr-defined]
    if kind == 'ExtSlice':  # Python 3.8: x[a:b, c]
        return _normal(ast.Tuple(elts=node.dims, ctx=ast.Load()))  # type: ignore[attr-defined]
    fields = [
        f'{name}={_normal(getattr(node, name, None))}'
        for name in node._fields
        if name not in _SKIPPED_FIELDS
    ]
    return f'{kind}({",".join(fields)})'


def _without_docstring(function: ast.AST) -> ast.AST:
    body = function.body  # type: ignore[attr-defined]
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        function = type(function)(**{**vars(function), 'body': body[1:]})
    return function


def _names_read(node: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def fingerprints(source: str, names) -> Dict[str, Optional[str]]:
    """{name: fingerprint, or None where the module defines no such function}."""
    tree = ast.parse(source)
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    constants: Dict[str, ast.AST] = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            constants[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            constants[node.target.id] = node.value
    found: Dict[str, Optional[str]] = {}
    for name in names:
        if name not in functions:
            found[name] = None
            continue
        parts: List[str] = []
        seen: Set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            body = _without_docstring(functions[current])
            parts.append(f'def {current}: {_normal(body)}')
            for read in sorted(_names_read(body)):
                if read in functions:
                    todo.append(read)
                elif read in constants and read not in seen:
                    seen.add(read)
                    parts.append(f'{read} = {_normal(constants[read])}')
        digest = hashlib.sha256('\n'.join(sorted(parts)).encode()).hexdigest()
        found[name] = digest[:16]
    return found


def from_wheel(path: str, modules: Dict[str, tuple]) -> Dict[str, Optional[str]]:
    """{'module.function': fingerprint} for the modules' functions in a SkyPilot wheel."""
    found: Dict[str, Optional[str]] = {}
    with zipfile.ZipFile(path) as wheel:
        for module, names in modules.items():
            source = wheel.read(module.replace('.', '/') + '.py').decode('utf-8')
            for name, digest in fingerprints(source, names).items():
                found[f'{module}.{name}'] = digest
    return found
