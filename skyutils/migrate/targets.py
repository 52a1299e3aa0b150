"""What can move: the functions and their SkyPilot modules, and the shapes of a result."""

from typing import Dict, List, NamedTuple, Optional, Tuple

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
