"""Valid bytecode for a read-only ``/var/task``: compile, and tell whether a package has it.

Lambda's task root is read-only, so Python can never write the ``__pycache__`` it would
build on first import: without valid ``.pyc`` files shipped in the package, every module is
compiled again on every cold start. Upstream ships the virtualenv's timestamp-based caches,
but its copy drops the source mtimes, so they are all stale. We compile every module with
hash-based pycs that the importer does not check against the source (``UNCHECKED_HASH``):
the package is immutable once built. The few files tooling may rewrite inside an unpacked
package (the root ``handler.py`` and ``zappa_settings.py``) get ``CHECKED_HASH`` pycs, so a
rewritten source is never shadowed by its old bytecode.
"""

from __future__ import annotations

import importlib.util
import os
import py_compile
import shutil
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

#: Root modules that tooling (``zappa bench``, the emulator) may replace in an unpacked package.
CHECKED_ROOT_MODULES = frozenset({"handler.py", "zappa_settings.py"})
#: pyc header flags (PEP 552): bit 0 = hash-based, bit 1 = check the source.
_FLAG_HASH = 0b01
_FLAG_CHECK = 0b10


def cache_tag() -> str:
    """``cpython-311`` and so on: the tag this interpreter's pycs carry."""
    tag = sys.implementation.cache_tag
    if tag is None:  # pragma: no cover - only on interpreters without bytecode caching
        raise RuntimeError("this Python does not cache bytecode")
    return tag


def runtime_python(runtime: str) -> tuple[int, int] | None:
    """``python3.12`` -> (3, 12); None for a runtime string that is not a CPython version."""
    version = runtime.removeprefix("python")
    parts = version.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def runtime_mismatch(runtime: str | None) -> str | None:
    """One line saying why bytecode compiled here would be ignored by the stage's runtime, or None."""
    if not runtime:
        return None
    wanted = runtime_python(runtime)
    here = sys.version_info[:2]
    if wanted is None or wanted == here:
        return None
    return (f"bytecode not compiled: the stage runs {runtime}, but this is Python {here[0]}.{here[1]}, "
            f"whose .pyc files {runtime} would ignore; package with Python {wanted[0]}.{wanted[1]} to ship "
            "valid bytecode")


def _sources(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                yield Path(folder) / name


def remove_caches(root: Path) -> int:
    """Delete every ``__pycache__`` folder (stale timestamp pycs from the virtualenv); returns how many."""
    removed = 0
    for folder, dirs, _files in os.walk(root):
        if "__pycache__" in dirs:
            shutil.rmtree(Path(folder) / "__pycache__")
            dirs.remove("__pycache__")
            removed += 1
    return removed


def _compile_one(job: tuple[str, str, bool]) -> str | None:
    source, display, checked = job
    mode = py_compile.PycInvalidationMode.CHECKED_HASH if checked else py_compile.PycInvalidationMode.UNCHECKED_HASH
    try:
        py_compile.compile(source, dfile=display, doraise=True, invalidation_mode=mode)
    except (py_compile.PyCompileError, SyntaxError, ValueError, UnicodeDecodeError):
        return source  # not valid Python for this interpreter (templates, py2 leftovers): ship it as is
    return None


@dataclass(frozen=True)
class CompileResult:
    compiled: int
    failed: tuple[str, ...] = ()


def compile_tree(root: Path, *, workers: int | None = None, display_root: str = "") -> CompileResult:
    """Compile every ``.py`` under ``root`` in place, replacing any existing caches.

    ``display_root`` is the path recorded in tracebacks of code that is never re-imported from
    source (Python fixes the recorded path on import, so it only matters for oddities).
    """
    remove_caches(root)
    jobs = []
    for source in _sources(root):
        relative = source.relative_to(root)
        checked = len(relative.parts) == 1 and relative.name in CHECKED_ROOT_MODULES
        display = os.path.join(display_root, *relative.parts) if display_root else str(relative)
        jobs.append((str(source), display, checked))
    workers = workers or min(4, os.cpu_count() or 1)
    if workers > 1 and len(jobs) > 200:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            failures = [f for f in pool.map(_compile_one, jobs, chunksize=64) if f]
    else:
        failures = [f for f in map(_compile_one, jobs) if f]
    return CompileResult(compiled=len(jobs) - len(failures),
                         failed=tuple(sorted(str(Path(f).relative_to(root)) for f in failures)))


# -- inspection -------------------------------------------------------------------------------

@dataclass
class BytecodeStatus:
    """How many modules of a package have bytecode this interpreter would use without compiling."""

    tag: str
    modules: int = 0
    valid: int = 0
    stale: int = 0
    missing: int = 0
    unchecked: int = 0
    not_python: int = 0  # ``.py`` files this interpreter cannot compile (templates): never imported
    examples: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``valid`` (every importable module has a pyc Python uses), ``partial``, ``stale`` or ``none``."""
        if self.valid and not self.stale and not self.missing:
            return "valid"
        if self.valid:
            return "partial"
        return "stale" if self.stale else "none"

    def as_dict(self) -> dict[str, object]:
        return {"state": self.state, "tag": self.tag, "modules": self.modules, "valid": self.valid,
                "stale": self.stale, "missing": self.missing, "unchecked": self.unchecked,
                "not_python": self.not_python, "examples": self.examples[:5]}


def pyc_valid(pyc: bytes, source: bytes, source_mtime: int | None, source_size: int) -> tuple[bool, bool]:
    """(valid, unchecked) for one pyc against its source, as the importer would decide.

    Timestamp pycs are valid when mtime and size match; hash pycs when the source hash
    matches, and unchecked-hash pycs are used whatever the source says.
    """
    if len(pyc) < 16 or pyc[:4] != importlib.util.MAGIC_NUMBER:
        return False, False
    flags = int.from_bytes(pyc[4:8], "little")
    if flags & _FLAG_HASH:
        if not flags & _FLAG_CHECK:
            return True, True
        return pyc[8:16] == importlib.util.source_hash(source), False
    mtime = int.from_bytes(pyc[8:12], "little")
    size = int.from_bytes(pyc[12:16], "little")
    valid = source_mtime is not None and mtime == (source_mtime & 0xFFFFFFFF) and size == (source_size & 0xFFFFFFFF)
    return valid, False


def _compilable(source: bytes, path: str) -> bool:
    try:
        compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _pyc_name(source: str, tag: str) -> str:
    folder, _, name = source.rpartition("/")
    cached = f"__pycache__/{name[:-3]}.{tag}.pyc"
    return f"{folder}/{cached}" if folder else cached


def inspect_entries(entries: Iterable[tuple[str, bytes, int | None]], tag: str | None = None) -> BytecodeStatus:
    """Check ``(path, data, mtime)`` entries of a package (``/``-separated paths)."""
    tag = tag or cache_tag()
    files = {path: (data, mtime) for path, data, mtime in entries}
    status = BytecodeStatus(tag=tag)
    for path, (data, mtime) in files.items():
        if not path.endswith(".py"):
            continue
        status.modules += 1
        pyc = files.get(_pyc_name(path, tag))
        if pyc is None:
            if not _compilable(data, path):
                status.not_python += 1
                continue
            status.missing += 1
            if len(status.examples) < 5:
                status.examples.append(f"missing: {path}")
            continue
        valid, unchecked = pyc_valid(pyc[0], data, mtime, len(data))
        if valid:
            status.valid += 1
            status.unchecked += unchecked
        else:
            status.stale += 1
            if len(status.examples) < 5:
                status.examples.append(f"stale: {path}")
    return status


def inspect_tree(root: Path, tag: str | None = None) -> BytecodeStatus:
    """Bytecode status of an unpacked package folder."""
    def entries() -> Iterator[tuple[str, bytes, int | None]]:
        for folder, _dirs, names in os.walk(root):
            for name in names:
                if name.endswith((".py", ".pyc")):
                    path = Path(folder) / name
                    yield path.relative_to(root).as_posix(), path.read_bytes(), int(path.stat().st_mtime)

    return inspect_entries(entries(), tag)
