"""Which ``zappa_eager`` files the Lambda runtime needs: those reachable from ``handler.py``.

Computed from the import statements, so a new runtime module is shipped (and a tooling
module left out) without anyone having to update a list.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
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


def runtime_sources() -> Iterator[tuple[str, Path]]:
    """``(relative path, source file)`` of every runtime module present in this installation."""
    for module in runtime_modules():
        source = PACKAGE_DIR / module
        if source.is_file():
            yield module, source


def copy_runtime(package: Path) -> list[str]:
    """Copy the runtime modules into ``package`` (a ``zappa_eager`` folder); returns what was copied."""
    copied = []
    for module, source in runtime_sources():
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, package / module)
        copied.append(module)
    return copied
