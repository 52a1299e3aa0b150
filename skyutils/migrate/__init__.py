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

# One room a job, as skyutils/bench/: targets (what can move), find (uses, ast), rewrite
# (libcst), imports (the import statements of a rewrite), run (sources, files, paths), report.
from skyutils.migrate.find import find_uses, mentions_a_function, own_module
from skyutils.migrate.report import as_json, report, unified_diff, write
from skyutils.migrate.run import migrate_file, migrate_paths, migrate_source, python_files
from skyutils.migrate.targets import (
    DISAGREED,
    FIRST_PARTY_ROOTS,
    FUNCTIONS,
    MOVABLE,
    QUALIFIED,
    FileResult,
    Use,
)

__all__ = [
    'DISAGREED',
    'FUNCTIONS',
    'FIRST_PARTY_ROOTS',
    'MOVABLE',
    'QUALIFIED',
    'FileResult',
    'Use',
    'find_uses',
    'mentions_a_function',
    'own_module',
    'migrate_source',
    'migrate_file',
    'migrate_paths',
    'python_files',
    'unified_diff',
    'write',
    'as_json',
    'report',
]
