"""Packages of earlier runs of the same project, reused while nothing they are made of changed.

Packaging is most of a quick run's time and, between two runs of ``zappa bench`` on the same
project, usually gives the same bytes. A variant's packages are kept under a key that hashes
what they are made of: the virtualenv's lock (every installed distribution's name, version and
``RECORD``, which lists each file's hash), the project's files, the stage's settings as
resolved (and the variables the bench keeps), the slim_handler value, the packagings, and
zappa-eager's and zappa's code and Python's version. Any change gives a new key. Not in the key:
what PyPI serves for upstream's slim_handler handler virtualenv (``pip install zappa``) - pass
``--no-cache`` to package afresh. Where: ``$ZAPPA_EAGER_BENCH_CACHE``, else
``$XDG_CACHE_HOME/zappa-eager/bench-packages`` (``~/.cache/...``); the newest ``KEEP`` entries stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import zappa_eager
from zappa_eager.emulator.taskroot import link_or_copy

#: Bump when what an entry holds (or how it is keyed) changes.
FORMAT = "zappa-eager-bench-packages/1"
KEEP = 6
#: Folders never part of a package's project files (zappa leaves them out too).
SKIP_DIRS = {"__pycache__", ".git", ".hg", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", "node_modules",
             "handler_venv"}


def cache_root() -> Path:
    explicit = os.environ.get("ZAPPA_EAGER_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zappa-eager" / "bench-packages"


def _site_packages(venv: Path) -> list[Path]:
    return sorted(venv.glob("lib/python*/site-packages")) + sorted(venv.glob("lib64/python*/site-packages"))


def environment_lock(venv: Path) -> list[str]:
    """``name==version sha256(RECORD)`` of every distribution installed in ``venv``, sorted."""
    lines = set()
    for dist in distributions(path=[str(p) for p in _site_packages(venv)]):
        record = dist.read_text("RECORD") or ""
        digest = hashlib.sha256(record.encode("utf-8")).hexdigest()[:16]
        lines.add(f"{dist.metadata['Name']}=={dist.version} {digest}")
    return sorted(lines)


def project_files(project: Path, skip: Iterable[Path]) -> Iterable[Path]:
    """The project's files, minus virtualenvs, caches and the bench's own folders."""
    skipped = {path.resolve() for path in skip}
    for folder, dirs, files in os.walk(project):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and (here / d).resolve() not in skipped
                         and not (here / d / "pyvenv.cfg").exists())
        for name in sorted(files):
            if not name.endswith((".pyc", ".zip", ".tar.gz")):
                yield here / name


def _hash_tree(digest: Any, root: Path, files: Iterable[Path]) -> None:
    for path in files:
        digest.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            digest.update(b"<unreadable>")
        digest.update(b"\0")


def cache_key(*, venv: Path, project: Path, skip: Sequence[Path], settings: Mapping[str, Any], slim: bool,
              packagings: Sequence[str]) -> str:
    from importlib.metadata import version

    digest = hashlib.sha256()
    header = {"format": FORMAT, "python": sys.version, "zappa": version("zappa"), "slim": slim,
              "packagings": list(packagings), "settings": settings, "zappa_eager": zappa_eager.__version__,
              "lock": environment_lock(venv)}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode("utf-8"))
    package_dir = Path(zappa_eager.__file__).resolve().parent
    _hash_tree(digest, package_dir, sorted(package_dir.rglob("*.py")))
    _hash_tree(digest, project, project_files(project, skip))
    return digest.hexdigest()[:32]


def load(key: str, work: Path) -> dict[str, dict[str, Path | None]] | None:
    """The cached packages (packaging -> {"zip", "archive"}), linked into ``work``; None on a miss."""
    entry = cache_root() / key
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found: dict[str, dict[str, Path | None]] = {}
    for packaging, names in meta.get("packages", {}).items():
        paths: dict[str, Path | None] = {}
        for kind in ("zip", "archive"):
            name = names.get(kind)
            if name is None:
                paths[kind] = None
                continue
            if not (entry / name).is_file():
                return None
            target = work / name
            link_or_copy(str(entry / name), str(target))
            paths[kind] = target
        found[packaging] = paths
    os.utime(entry)  # most recently used: pruned last
    return found


def store(key: str, packages: Mapping[str, tuple[Path, Path | None]]) -> Path | None:
    """Keep ``packages`` (packaging -> (zip, archive)) under ``key``; written whole or not at all."""
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
        meta: dict[str, Any] = {"format": FORMAT, "packages": {}}
        for packaging, (zip_path, archive) in packages.items():
            shutil.copyfile(zip_path, staging / zip_path.name)
            if archive is not None:
                shutil.copyfile(archive, staging / archive.name)
            meta["packages"][packaging] = {"zip": zip_path.name, "archive": archive.name if archive else None}
        (staging / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        entry = root / key
        shutil.rmtree(entry, ignore_errors=True)
        staging.rename(entry)
    except OSError:
        return None  # a cache that cannot be written only costs time next run
    prune(root)
    return entry


def prune(root: Path, keep: int = KEEP) -> None:
    entries = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[keep:]:
        shutil.rmtree(stale, ignore_errors=True)
