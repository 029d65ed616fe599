"""Which ``zappa_eager`` files the Lambda runtime needs: the ``runtime/`` folder, and the package's ``__init__``.

The folder is the boundary: a module in ``zappa_eager/runtime/`` ships in every package and
loads in cold starts; everything beside it stays on the developer's machine. A test keeps the
runtime's imports inside the folder (tests/runtime/test_runtime_imports.py). ``HANDLER_FILE`` is the
runtime's ``handler.py``, which packaging puts at the zip root in place of upstream's.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import zappa_eager

PACKAGE_DIR = Path(zappa_eager.__file__).resolve().parent
RUNTIME_DIR = "runtime"
#: Our ``handler.py``: packaging puts it at the zip root, where upstream's would be.
HANDLER_FILE = PACKAGE_DIR / RUNTIME_DIR / "handler.py"


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


def add_runtime_to_zip(zip_path: str) -> list[str]:
    """Add the ``zappa_eager`` runtime modules to a package that lacks them (editable installs)."""
    added: list[str] = []
    with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        present = set(package.namelist())
        for module, source in runtime_sources():
            arcname = f"zappa_eager/{module}"
            if arcname not in present:
                info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                package.writestr(info, source.read_bytes())
                added.append(arcname)
    return added
