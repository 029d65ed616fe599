"""Which ``zappa_eager`` files the Lambda runtime needs: the ``runtime/`` folder, and the package's ``__init__``.

The folder is the boundary: a module in ``zappa_eager/runtime/`` ships in every package and
loads in cold starts; everything beside it stays on the developer's machine. A test keeps the
runtime's imports inside the folder (tests/runtime/test_runtime_imports.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import zappa_eager

PACKAGE_DIR = Path(zappa_eager.__file__).resolve().parent
RUNTIME_DIR = "runtime"


@cache
def runtime_modules() -> tuple[str, ...]:
    """Files (relative to the package folder) that ship: ``__init__.py`` and ``runtime/**/*.py``."""
    found = {"__init__.py"}
    found.update(path.relative_to(PACKAGE_DIR).as_posix() for path in (PACKAGE_DIR / RUNTIME_DIR).rglob("*.py"))
    return tuple(sorted(found))


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
