"""`skyutils migrate` on SkyPilot's own source: the `sky/` package of the installed reference
release, copied to a temporary directory. The uses it finds are compared, file by file, with
a count this test makes independently with Python's `ast` (the tool uses libcst); the
rewritten tree must compile, and every rewritten module must import."""

import ast
import json
import os
import shutil
import subprocess
import sys

import pytest
import reference

pytest.importorskip('libcst', reason='skyutils migrate needs libcst (skypilot-rust[migrate])')

from skyutils import migrate

# Scripts SkyPilot runs on its hosts: importing one acts (this one starts a skylet).
SCRIPTS = {'sky.skylet.attempt_skylet'}


@pytest.fixture(scope='module')
def sky_copy(tmp_path_factory):
    common_utils, _ = reference.load()
    package = os.path.dirname(os.path.dirname(os.path.dirname(common_utils.__file__)))
    root = tmp_path_factory.mktemp('skypilot')
    shutil.copytree(
        os.path.join(package, 'sky'), root / 'sky', ignore=shutil.ignore_patterns('__pycache__')
    )
    return root


def independent_count(path: str, source: str) -> int:
    """The uses in one file, found with ast: from-imported names of the ten, attributes of
    a module bound by an import, and (in SkyPilot's own two modules) calls and arguments
    naming one of its functions outside the functions' own definitions."""
    tree = ast.parse(source)
    modules = {
        'sky.utils.common_utils': set(migrate.MOVABLE['sky.utils.common_utils']),
        'sky.utils.subprocess_utils': set(migrate.MOVABLE['sky.utils.subprocess_utils']),
    }
    aliases, dotted, count = {}, set(), 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if node.module in modules and alias.name in modules[node.module]:
                    count += 1
                full = f'{node.module}.{alias.name}'
                if full in modules:
                    aliases[alias.asname or alias.name] = full
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        dotted.add(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            target = ast.unparse(node.value) if hasattr(ast, 'unparse') else None
            module = aliases.get(target) or (target if target in dotted else None)
            if module and node.attr in modules[module]:
                count += 1
    own = [m for m in modules if path.endswith(os.sep + m.replace('.', os.sep) + '.py')]
    if own:
        functions = modules[own[0]]

        def walk(node, inside):
            nonlocal count
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef):
                    walk(child, inside or child.name in functions)
                    continue
                if not inside and isinstance(child, ast.Call):
                    for value in [child.func] + list(child.args):
                        if isinstance(value, ast.Name) and value.id in functions:
                            count += 1
                walk(child, inside)

        walk(tree, False)
    return count


@pytest.mark.skipif(not hasattr(ast, 'unparse'), reason='the independent count needs ast.unparse')
def test_migrate_finds_every_use_in_skypilot_s_tree(sky_copy):
    results = migrate.migrate_paths([str(sky_copy / 'sky')], jobs=1)
    assert not [r.error for r in results if r.error]
    assert len(results) > 500
    found = {r.path: len(r.uses) for r in results if r.uses}
    expected = {}
    for result in results:
        with open(result.path, encoding='utf-8') as f:
            count = independent_count(result.path, f.read())
        if count:
            expected[result.path] = count
    assert found == expected
    assert migrate.DISAGREED == []  # the finder (ast) and the rewrite (libcst) agree
    assert sum(found.values()) >= 48  # SkyPilot 0.14.1: 48 through modules, 2 in its own
    for result in results:
        if result.uses:
            compile(result.new, result.path, 'exec')
            migrate.write(result)
    modules = sorted(os.path.relpath(path, sky_copy)[:-3].replace(os.sep, '.') for path in found)
    modules = [m for m in modules if m not in SCRIPTS]
    code = (
        'import importlib, json, sys\n'
        'bad = []\n'
        'for name in sys.argv[1:]:\n'
        '    try:\n'
        '        module = importlib.import_module(name)\n'
        f'        assert module.__file__.startswith({str(sky_copy)!r}), module.__file__\n'
        '    except BaseException as e:\n'
        '        bad.append(f"{name}: {e!r}")\n'
        'print(json.dumps(bad))\n'
    )
    env = dict(os.environ, PYTHONPATH=str(sky_copy), HOME=str(sky_copy / 'home'))
    done = subprocess.run(
        [sys.executable, '-c', code, *modules],
        env=env,
        cwd=str(sky_copy),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    again = migrate.migrate_paths([str(sky_copy / 'sky')], jobs=1)
    assert sum(len(r.uses) for r in again) == 0  # nothing left to move
