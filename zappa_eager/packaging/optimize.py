"""Rewrite a package upstream has built: lean selection, then valid bytecode, then the archive.

We compose around upstream's ``create_lambda_zip`` instead of copying it: upstream writes
its zip (or the slim_handler tarball) exactly as it always has, manylinux wheels included;
this step unpacks it, applies the lean selection and compiles every module, and writes it
back in place (atomically: a temporary file renamed over the original). Files keep
upstream's names and modes.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zappa_eager.packaging.bytecode import CompileResult, cache_tag, compile_tree
from zappa_eager.packaging.lean import LeanResult, make_lean

MB = 1024 * 1024
#: gzip level of the slim_handler tarball: upstream's tarfile default is 9, which takes
#: several times longer to write and unpacks no faster than 6.
TARBALL_LEVEL = 6


@dataclass(frozen=True)
class PackageSteps:
    """Which steps to run on one archive."""

    compile_bytecode: bool = True
    lean: bool = True
    lean_keep: tuple[str, ...] = ()
    user_roots: bool = True  # False for the slim handler zip: it holds zappa and us, never the project
    project_dir: Path | None = None


@dataclass(frozen=True)
class OptimizeResult:
    path: Path
    lean: LeanResult | None
    bytecode: CompileResult | None
    seconds: float


def _safe_extract_zip(path: Path, dest: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = dest / info.filename
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ValueError(f"{path}: member {info.filename!r} points outside the package")
        archive.extractall(dest)


def _safe_extract_tar(path: Path, dest: Path) -> None:
    with tarfile.open(path) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            for member in archive.getmembers():
                if not (dest / member.name).resolve().is_relative_to(dest.resolve()):
                    raise ValueError(f"{path}: member {member.name!r} points outside the package")
            archive.extractall(dest)


def _files(root: Path) -> Iterator[tuple[Path, str]]:
    """Files in a stable order (sorted walk), with their ``/``-separated archive names."""
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            yield path, path.relative_to(root).as_posix()


def write_zip(root: Path, dest: Path, date_time: tuple[int, int, int, int, int, int]) -> None:
    """As upstream writes it (Unix entries, mode 0755, deflated), with real dates instead of 1980."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in _files(root):
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def write_tarball(root: Path, dest: Path, mtime: int) -> None:
    """As upstream writes the slim_handler project archive: regular files, mode 0755."""
    with open(dest, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=TARBALL_LEVEL) as archive:
        for path, name in _files(root):
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            info.mtime = mtime
            info.size = path.stat().st_size
            with open(path, "rb") as handle:
                archive.addfile(info, handle)


def optimize_archive(path: Path, steps: PackageSteps, *, display_root: str = "") -> OptimizeResult:
    """Apply ``steps`` to the zip or ``.tar.gz`` at ``path``, replacing it atomically."""
    started = time.perf_counter()
    tarball = path.name.endswith((".tar.gz", ".tgz"))
    work = Path(tempfile.mkdtemp(prefix="zappa-eager-package-"))
    try:
        tree = work / "tree"
        tree.mkdir()
        (_safe_extract_tar if tarball else _safe_extract_zip)(path, tree)
        lean = None
        if steps.lean:
            lean = make_lean(tree, keep_names=steps.lean_keep, project_dir=steps.project_dir,
                             user_roots=steps.user_roots)
        compiled = compile_tree(tree, display_root=display_root) if steps.compile_bytecode else None
        now = time.time()
        partial = path.with_name(f".{path.name}.partial")
        try:
            if tarball:
                write_tarball(tree, partial, int(now))
            else:
                write_zip(tree, partial, time.localtime(now)[:6])
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return OptimizeResult(path=path, lean=lean, bytecode=compiled, seconds=time.perf_counter() - started)


def lean_summary(results: Iterable[OptimizeResult]) -> str | None:
    """One line: what the lean selection left out, biggest first, and how many MB."""
    dropped: dict[str, int] = {}
    tooling = 0
    for result in results:
        if result.lean is None:
            continue
        tooling += result.lean.tooling_bytes
        for item in result.lean.dropped:
            key = f"{item.name} {item.version}".strip()
            dropped[key] = dropped.get(key, 0) + item.bytes
    if not dropped and not tooling:
        return None
    total = sum(dropped.values()) + tooling
    names = ", ".join(name for name, _ in sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0])))
    parts = [f"left out {len(dropped)} distributions the Lambda runtime never imports"]
    if names:
        parts.append(f"({names})")
    parts.append(f"and zappa-eager's tooling: {total / MB:.1f} MB unzipped")
    return "lean package: " + " ".join(parts) + '. Keep one with "lean_keep": ["NAME"], or set "lean_package": false.'


def bytecode_summary(results: Iterable[OptimizeResult]) -> str | None:
    compiled = [r.bytecode for r in results if r.bytecode is not None]
    if not compiled:
        return None
    modules = sum(c.compiled for c in compiled)
    failed = [name for c in compiled for name in c.failed]
    line = f"bytecode: compiled {modules} modules for {cache_tag()} (unchecked-hash: /var/task is read-only)"
    if failed:
        line += f"; {len(failed)} files are not valid Python here and ship as source (e.g. {failed[0]})"
    return line
