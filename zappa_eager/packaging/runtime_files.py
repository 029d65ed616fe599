"""Which ``zappa_eager`` files the Lambda runtime needs: the ``runtime/`` folder, and the package's ``__init__``.

The folder is the boundary: a module in ``zappa_eager/runtime/`` ships in every package and
loads in cold starts; everything beside it stays on the developer's machine. A test keeps the
runtime's imports inside the folder (tests/runtime/test_runtime_imports.py). ``HANDLER_FILE`` is the
runtime's ``handler.py``, which packaging puts at the zip root in place of upstream's.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Collection, Iterator
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
    """Make the package's ``zappa_eager`` runtime this installation's; returns the members added or replaced.

    Upstream copies ``zappa_eager`` from the project's virtualenv, which lacks it (an editable
    install) or may hold another version than the CLI that packages: its runtime would then read
    the ``handler.py`` and ``EAGER_*`` settings this CLI wrote, which a different version may
    misread. So every runtime module that is missing or differs is written from this installation,
    and any bytecode the package holds for a module written here is dropped (packaging compiles
    afresh, or the runtime compiles the source).
    """
    wanted = {f"zappa_eager/{module}": source.read_bytes() for module, source in runtime_sources()}
    with zipfile.ZipFile(zip_path) as package:
        present = set(package.namelist())
        differing = {name for name in wanted if name in present and package.read(name) != wanted[name]}
    changes = {name: data for name, data in wanted.items() if name in differing or name not in present}
    if not changes:
        return []
    stale = {name for name in present if name.endswith(".pyc") and _bytecode_of(name) in changes}
    path = Path(zip_path)
    rewritten = path.with_name(path.name + ".runtime")
    try:
        rewrite_zip(path, rewritten, changes, drop=stale)
        rewritten.replace(path)
    finally:
        rewritten.unlink(missing_ok=True)
    return sorted(changes)


def _bytecode_of(pyc: str) -> str:
    """``zappa_eager/runtime/__pycache__/boot.cpython-312.pyc`` -> ``zappa_eager/runtime/boot.py``."""
    folder, _, filename = pyc.rpartition("/")
    parent = folder.removesuffix("/__pycache__") if folder.endswith("/__pycache__") else folder
    return f"{parent}/{filename.split('.', 1)[0]}.py"


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes], drop: Collection[str] = ()) -> None:
    """Copy ``source`` to ``target`` with the members named in ``replace`` given new contents, without ``drop``.

    Every other member keeps its bytes, name, date and mode; a replaced one keeps its place's
    attributes (Lambda needs 0o644) or gets 0o644 when it was absent.
    """
    written: set[str] = set()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in written or info.filename in drop:
                continue  # a name appended twice: the zip's reader takes the last; keep one
            if info.filename in replace:
                dst.writestr(info, replace[info.filename], compress_type=zipfile.ZIP_DEFLATED)
            else:
                dst.writestr(info, src.read(info.filename), compress_type=info.compress_type)
            written.add(info.filename)
        for name, data in replace.items():
            if name not in written:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
