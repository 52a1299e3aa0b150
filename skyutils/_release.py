"""What a SkyPilot module file's functions read, from its source: the facts the startup hook's
table of verified releases (`_skyutils_verified.py`) is made of.

For a function, `reads()` gives every name its behaviour depends on at call time: the module
globals it and the module's helpers it calls (transitively) read, the attributes of modules it
reaches through them (`os.path.isfile`, `psutil.cpu_count`), and the builtins it uses. The
hook watches each of them while it serves the function: a rebinding (`unittest.mock.patch`,
monkeypatch, assignment) hands calls back to SkyPilot's own function.

`fingerprint()` hashes the function, those helpers, and every top-level statement that binds a
name they read (imports, assignments, definitions), normalised (no docstrings, positions or
fields that differ between Python versions): two files whose function has the same fingerprint
run the same code on the same bindings. A release file is verified for a function when its
fingerprint is the reference release's, whose function the conformance suite compares with
skyutils; the hook itself only compares whole-file hashes, so that it parses nothing.

Used by the tests and by `python -m skyutils._release`, which writes the table, never at a
SkyPilot process's start.
"""

import ast
import builtins
import hashlib
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

# Fields that say nothing about behaviour, or that only some Python versions have.
_SKIPPED_FIELDS = frozenset(['type_comment', 'type_params', 'kind', 'ctx', 'type_ignores'])
_LAZY_IMPORT = 'LazyImport'  # sky.adaptors.common.LazyImport('module'): a module, loaded late


class Reads(NamedTuple):
    """What one function reads: dotted chains from its module's namespace (a global, then
    attributes while they are modules; a name the module does not bind is a builtin), and the
    globals bound to a module imported lazily, with that module's name."""

    chains: Tuple[str, ...]
    lazy: Tuple[Tuple[str, str], ...]


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
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        node = _without_docstring(node)
    fields = [
        f'{name}={_normal(getattr(node, name, None))}'
        for name in node._fields
        if name not in _SKIPPED_FIELDS
    ]
    return f'{kind}({",".join(fields)})'


def _without_docstring(node):
    body = node.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        node = type(node)(**{**vars(node), 'body': body[1:]})
    return node


def _top_level(tree: ast.Module):
    """The module's top-level statements, also those inside top-level if/try/with blocks."""
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)) or type(node).__name__ == 'TryStar':
            for field in ('body', 'orelse', 'finalbody'):
                todo.extend(getattr(node, field, None) or [])
            for handler in getattr(node, 'handlers', None) or []:
                todo.extend(handler.body)


def _bound_names(node) -> List[str]:
    """The module-level names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split('.')[0] for a in node.names]
    targets: List[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in node.items if item.optional_vars]
    names: List[str] = []
    for target in targets:
        names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


class Module:
    """One SkyPilot module's source, analysed once."""

    def __init__(self, source: str):
        import symtable  # here: PyPy has none, and importing this module must not fail there

        self.tree = ast.parse(source)
        self.table = symtable.symtable(source, '<skypilot>', 'exec')
        self.bindings: Dict[str, List[ast.AST]] = {}
        self.functions: Dict[str, ast.AST] = {}
        for node in _top_level(self.tree):
            for name in _bound_names(node):
                self.bindings.setdefault(name, []).append(node)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node  # the last definition wins, as at run time
        self.lazy = {}
        for name, nodes in self.bindings.items():
            for node in nodes:
                module = _lazy_import_target(node)
                if module is not None:
                    self.lazy[name] = module
        self.modules = {
            name for name, nodes in self.bindings.items() if all(_is_import(n) for n in nodes)
        } | set(self.lazy)

    def _scope(self, name: str):
        found = None
        for child in self.table.get_children():
            if child.get_name() == name and child.get_type() == 'function':
                found = child  # the last definition wins
        return found

    def _globals_of(self, name: str) -> Set[str]:
        todo, found = [self._scope(name)], set()
        while todo:
            scope = todo.pop()
            if scope.get_type() == 'function':
                found.update(scope.get_globals())
            todo.extend(scope.get_children())
        return found

    def _state_of(self, name: str) -> Set[str]:
        """The globals `name` assigns (`global x; x = ...`): state it keeps, not a binding."""
        todo, found = [self._scope(name)], set()
        while todo:
            scope = todo.pop()
            for symbol in scope.get_symbols():
                if symbol.is_declared_global() and symbol.is_assigned():
                    found.add(symbol.get_name())
            todo.extend(scope.get_children())
        return found

    def block(self, name: str, parameter: str):
        """The function's first statement when it is `if <parameter> is not None:` and the
        rest of the function never reads `parameter` (so calling it with None runs the rest
        alone); None otherwise."""
        function = self.functions.get(name)
        if function is None:
            return None
        body = _without_docstring(function).body
        first = body[0] if body else None
        if not (
            isinstance(first, ast.If)
            and not first.orelse
            and isinstance(first.test, ast.Compare)
            and isinstance(first.test.left, ast.Name)
            and first.test.left.id == parameter
            and len(first.test.ops) == 1
            and isinstance(first.test.ops[0], ast.IsNot)
            and isinstance(first.test.comparators[0], ast.Constant)
            and first.test.comparators[0].value is None
        ):
            return None
        for node in body[1:]:
            if any(isinstance(n, ast.Name) and n.id == parameter for n in ast.walk(node)):
                return None
        return first

    def _block_closure(self, name: str, parameter: str) -> Tuple[List[str], Set[str]]:
        """The helpers the block runs and the global names it and they read (the function's
        own locals left out)."""
        scope = self._scope(name)
        local = {s.get_name() for s in scope.get_symbols() if s.is_local() or s.is_parameter()}
        block = self.block(name, parameter)
        read = {
            n.id
            for n in ast.walk(block)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in local
        }
        functions: List[str] = []
        names = set(read)
        for helper in sorted(n for n in read if n in self.functions):
            more_functions, more_names = self.closure(helper)
            functions += [f for f in more_functions if f not in functions]
            names |= more_names
        return functions, names

    def closure(self, name: str) -> Tuple[List[str], Set[str]]:
        """The module's functions `name` runs (itself first, then its helpers, transitively),
        and every global name they read."""
        functions, names, todo = [], set(), [name]
        while todo:
            current = todo.pop(0)
            if current in functions:
                continue
            functions.append(current)
            read = self._globals_of(current)
            names |= read
            todo.extend(sorted(n for n in read if n in self.functions and n not in functions))
        return functions, names

    def reads(self, name: str) -> Optional[Reads]:
        """What `name` reads (for a served block, what the block reads), or None where the
        module defines no such function."""
        if name not in self.functions:
            return None
        parameter = _blocks().get(name)
        if parameter is not None:
            if self.block(name, parameter) is None:
                return None
            functions, names = self._block_closure(name, parameter)
            block = self.block(name, parameter)
            nodes = [block] + [self.functions[f] for f in functions]
        else:
            functions, names = self.closure(name)
            nodes = [self.functions[f] for f in functions]
        for function in functions:
            names -= self._state_of(function)
        chains = set(names)
        for top in nodes:
            for node in ast.walk(top):
                chain = _chain(node)
                if chain and chain[0] in self.modules and chain[0] in names:
                    for end in range(2, len(chain) + 1):
                        chains.add('.'.join(chain[:end]))
        lazy = tuple(sorted((n, self.lazy[n]) for n in names if n in self.lazy))
        return Reads(tuple(sorted(chains)), lazy)

    def fingerprint(self, name: str) -> Optional[str]:
        """The hash of what `name` runs and the bindings of what it reads; None where the
        module defines no such function."""
        if name not in self.functions:
            return None
        parameter = _blocks().get(name)
        parts = []
        if parameter is not None:
            block = self.block(name, parameter)
            if block is None:
                return None
            functions, names = self._block_closure(name, parameter)
            signature = self.functions[name].args  # type: ignore[attr-defined]  # bound
            parts.append(f'{name}({_normal(signature)}): {_normal(block)}')
        else:
            functions, names = self.closure(name)
            names = names | {name}
        for read in sorted(names):  # a def and anything else binding its name
            for node in self.bindings.get(read, []):
                parts.append(f'{read} <- {_normal(node)}')
            if read not in self.bindings:
                parts.append(f'{read} <- builtins' if hasattr(builtins, read) else f'{read} <- ?')
        return hashlib.sha256('\n'.join(parts).encode()).hexdigest()[:16]


def _is_import(node) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom)) or _lazy_import_target(node) is not None


def _lazy_import_target(node) -> Optional[str]:
    """'psutil' for `psutil = adaptors_common.LazyImport('psutil', ...)`."""
    if not isinstance(node, ast.Assign) or not isinstance(node.value, ast.Call):
        return None
    function = node.value.func
    called = function.attr if isinstance(function, ast.Attribute) else getattr(function, 'id', '')
    args = node.value.args
    if called == _LAZY_IMPORT and args and isinstance(args[0], ast.Constant):
        return str(args[0].value)
    return None


def _chain(node) -> Optional[List[str]]:
    """['os', 'path', 'isfile'] for the expression os.path.isfile."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or not parts:
        return None
    return [node.id] + parts[::-1]


def file_digest(data: bytes) -> str:
    """The hash the startup hook compares: sha256 of the file's exact bytes."""
    return hashlib.sha256(data).hexdigest()


# The releases whose files the startup hook may serve (tests/test_verified.py downloads them),
# and SkyPilot's newest nightly; ci/follow-skypilot adds SkyPilot's newest release and nightly
# here. The reference is the release the conformance suite compares with skyutils: a release
# file is verified for a function when its fingerprint is the reference's.
REFERENCE = '0.14.1'
SKYPILOT_RELEASES = (
    '0.10.0',
    '0.10.1',
    '0.10.1.post1',
    '0.10.2',
    '0.10.3',
    '0.10.3.post1',
    '0.10.3.post2',
    '0.10.5',
    '0.11.0',
    '0.11.1',
    '0.11.2',
    '0.12.0',
    '0.12.1',
    '0.12.2',
    '0.12.2.post1',
    '0.12.3',
    '0.12.3.post1',
    '0.13.0',
    '0.14.0',
    '0.14.1',
)
SKYPILOT_NIGHTLY = '1.0.0.dev20261027'
RELEASES = tuple(
    [('skypilot', v) for v in SKYPILOT_RELEASES]
    + [('skypilot-nightly', v) for v in (SKYPILOT_NIGHTLY,) if v]  # '': no nightly
)
TABLE = '_skyutils_verified.py'


def served_functions() -> Dict[str, Tuple[str, ...]]:
    """SkyPilot module -> the functions of it the library serves (the registry's rows, and the
    waits it serves)."""
    from skyutils import _registry

    found: Dict[str, Tuple[str, ...]] = {}
    rows = [f for f in _registry.FUNCTIONS if f.skypilot_module and f.native]
    for function in list(rows) + list(_registry.WAITS):
        module = str(function.skypilot_module)
        found[module] = found.get(module, ()) + (function.name,)
    return found


def _blocks() -> Dict[str, str]:
    """Function -> the parameter whose `if <it> is not None:` block alone is served."""
    from skyutils import _registry

    return {w.name: w.block_parameter for w in _registry.WAITS if w.block_parameter is not None}


def table(wheels: Dict[str, str]) -> str:
    """The text of _skyutils_verified.py for the wheels ({version: path}; the reference among
    them): a file digest per release file, and what its verified functions read."""
    import zipfile

    from skyutils import _registry

    served = served_functions()
    releases: Dict[str, Dict[str, List[str]]] = {m: {} for m in served}
    functions_of: Dict[Tuple[str, str], Dict[str, Reads]] = {}
    reference: Dict[str, Module] = {}
    with zipfile.ZipFile(wheels[REFERENCE]) as wheel:
        for module in served:
            reference[module] = Module(wheel.read(_path(module)).decode('utf-8'))
    listed = {v for _, v in RELEASES}
    for version, path in wheels.items():
        if version not in listed:
            continue  # the reference alone, when it is not a listed release
        with zipfile.ZipFile(path) as wheel:
            for module, names in served.items():
                data = wheel.read(_path(module))
                digest = file_digest(data)
                source = Module(data.decode('utf-8'))
                verified: Dict[str, Reads] = {}
                for name in names:
                    mine = source.fingerprint(name)
                    if mine is not None and mine == reference[module].fingerprint(name):
                        verified[name] = source.reads(name)  # type: ignore[assignment]
                if verified:
                    releases[module].setdefault(digest, []).append(version)
                    functions_of[(module, digest)] = verified
    helper_files = _helper_files(wheels)
    profiles: Dict[str, str] = {}  # repr of what functions read -> profile name
    lines = [
        '"""The SkyPilot files the startup hook serves: made by `python -m skyutils._release`',
        'from the published wheels, made again and compared by tests/test_verified.py. Do not',
        'edit by hand."""',
        '',
        '# module -> {sha256 of the file: (releases with exactly that file, what it reads)}',
        'RELEASES = {',
    ]
    bodies = []
    for module in served:
        lines.append(f'    {module!r}: {{')
        for digest, versions in sorted(releases[module].items(), key=lambda i: _order(i[1])):
            reads = functions_of[(module, digest)]
            key = repr(sorted(reads.items()))
            if key not in profiles:
                profiles[key] = f'{module.rsplit(".", 1)[1]}-{len(profiles) + 1}'
                bodies.append((profiles[key], reads))
            lines.append(f'        {digest!r}: ({", ".join(versions)!r}, {profiles[key]!r}),')
        lines.append('    },')
    lines.append('}')
    lines.append('# profile -> {function: (the dotted names it reads, (global, lazy module)...)}')
    lines.append('READS = {')
    for profile, reads in bodies:
        lines.append(f'    {profile!r}: {{')
        for name, read in sorted(reads.items()):
            lines.append(f'        {name!r}: (')
            lines.append(f'            {read.chains!r},')
            lines.append(f'            {read.lazy!r},')
            lines.append('        ),')
        lines.append('    },')
    lines.append('}')
    lines.append(
        '# The registry\'s natively served functions, and where Python serves some anyway.'
    )
    lines.append(f'SERVED = {served!r}')
    lines.append(
        "# Files of the helpers served functions rely on (the registry's HELPERS) whose helper "
        'has the'
    )
    lines.append("# reference's fingerprint: module -> sha256 of the file -> releases.")
    lines.append('HELPER_FILES = {')
    for module, digests in helper_files.items():
        lines.append(f'    {module!r}: {{')
        for digest, versions in sorted(digests.items(), key=lambda i: _order(i[1])):
            lines.append(f'        {digest!r}: {", ".join(versions)!r},')
        lines.append('    },')
    lines.append('}')
    python_on = {k: tuple(sorted(v)) for k, v in _registry.PYTHON_ON.items()}
    lines.append(f'PYTHON_ON = {python_on!r}')
    lines += [
        '',
        '',
        'def native_here(implementation):',
        '    """The served functions the library serves on this Python implementation."""',
        '    skipped = PYTHON_ON.get(implementation, ())',
        '    return {f for names in SERVED.values() for f in names if f not in skipped}',
        '',
    ]
    return '\n'.join(lines)


def _helper_files(wheels: Dict[str, str]) -> Dict[str, Dict[str, List[str]]]:
    """module -> {file digest: [versions]} for the registry's HELPERS: the files (of the listed
    releases) whose helper has the reference release's fingerprint."""
    import zipfile

    from skyutils import _registry

    with zipfile.ZipFile(wheels[REFERENCE]) as wheel:
        reference = {
            (m, f): Module(wheel.read(_path(m)).decode('utf-8')).fingerprint(f)
            for m, f in _registry.HELPERS
        }
    listed = {v for _, v in RELEASES}
    found: Dict[str, Dict[str, List[str]]] = {m: {} for m, _ in _registry.HELPERS}
    for version, path in wheels.items():
        if version not in listed:
            continue
        with zipfile.ZipFile(path) as wheel:
            for module, function in _registry.HELPERS:
                try:
                    data = wheel.read(_path(module))
                except KeyError:
                    continue
                if (
                    Module(data.decode('utf-8')).fingerprint(function)
                    == reference[(module, function)]
                ):
                    found[module].setdefault(file_digest(data), []).append(version)
    return found


def _path(module: str) -> str:
    return module.replace('.', '/') + '.py'


def _order(versions: List[str]):
    order = [f'{name}=={v}' for name, v in RELEASES]
    return min(order.index(_spec(v)) for v in versions)


def _spec(version: str) -> str:
    return next(f'{name}=={v}' for name, v in RELEASES if v == version)


def download(cache: str) -> Dict[str, str]:
    """{version: wheel path} for RELEASES, downloaded with pip into `cache` when missing."""
    import os
    import subprocess
    import sys

    os.makedirs(cache, exist_ok=True)
    found = {}
    wanted = list(RELEASES)
    if ('skypilot', REFERENCE) not in wanted:
        wanted.append(('skypilot', REFERENCE))  # the fingerprints' reference, listed or not
    for name, version in wanted:
        prefix = f"{name.replace('-', '_')}-{version}-"
        have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
        if not have:
            subprocess.run(
                [sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check',
                 '--no-deps', '--only-binary=:all:', f'{name}=={version}', '-d', cache],
                check=True,
            )  # fmt: skip
            have = [f for f in os.listdir(cache) if f.startswith(prefix) and f.endswith('.whl')]
        found[version] = os.path.join(cache, have[0])
    return found


CACHE = '~/.cache/skyutils-test-wheels'


def main() -> None:
    """Writes _skyutils_verified.py beside the skyutils package from the releases' wheels."""
    import os

    import skyutils

    text = table(download(os.path.expanduser(CACHE)))
    target = os.path.join(os.path.dirname(os.path.dirname(skyutils.__file__)), TABLE)
    with open(target, 'w', encoding='utf-8') as f:
        f.write(text)
    print(f'wrote {target}')


if __name__ == '__main__':
    main()
