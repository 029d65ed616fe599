"""Which ``zappa_eager`` files the Lambda runtime needs: those reachable from ``handler.py``.

Computed from the import statements, so a new runtime module is shipped (and a tooling
module left out) without anyone having to update a list.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import zappa_eager

PACKAGE_DIR = Path(zappa_eager.__file__).resolve().parent
ENTRY = "handler.py"


def _module_file(name: str) -> str | None:
    """``zappa_eager.boot`` -> ``boot.py`` (None for modules outside the package or sub-packages)."""
    if name == "zappa_eager":
        return "__init__.py"
    if not name.startswith("zappa_eager."):
        return None
    relative = name.removeprefix("zappa_eager.").replace(".", "/")
    if (PACKAGE_DIR / f"{relative}.py").is_file():
        return f"{relative}.py"
    if (PACKAGE_DIR / relative / "__init__.py").is_file():
        return f"{relative}/__init__.py"
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@cache
def runtime_modules() -> tuple[str, ...]:
    """Files (relative to the package folder) imported, directly or not, by ``handler.py``."""
    seen = {"__init__.py", ENTRY}
    todo = [ENTRY, "__init__.py"]
    while todo:
        for name in _imports(PACKAGE_DIR / todo.pop()):
            found = _module_file(name)
            if found is not None and found not in seen:
                seen.add(found)
                todo.append(found)
    return tuple(sorted(seen))
