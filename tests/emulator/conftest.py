"""Emulator test helpers: task roots made from tiny fixture handlers, and a leak check."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: What boto3 needs, linked into a task root for the S3 test (Lambda packages carry their own boto3).
BOTO_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def _children() -> set[int]:
    """PIDs whose parent is this process."""
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # running, or a zombie nobody reaped: both are leaks
            found.add(int(entry))
    return found


def _emulator_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("zappa-emu-") and t.is_alive()]


@pytest.fixture(autouse=True)
def nothing_left_running() -> Iterator[None]:
    """Every test must leave no process, zombie or emulator thread behind."""
    before = _children()
    yield
    leaked = _children() - before
    assert not leaked, f"child processes left running: {sorted(leaked)}"
    assert not _emulator_threads(), f"emulator threads left running: {_emulator_threads()}"


@pytest.fixture
def task_root(tmp_path: Path) -> Callable[..., Path]:
    """``task_root("hello.py", ...)`` -> a fresh task root holding copies of those fixture modules."""

    def make(*modules: str, name: str = "task") -> Path:
        root = tmp_path / name
        root.mkdir()
        for module in modules:
            shutil.copy(FIXTURES / module, root / module)
        return root

    return make


def link_tree(source: Path, dest: Path) -> None:
    """Hard-link (or copy, across filesystems) a package into a task root; symlinks into a venv
    under /tmp would dangle inside an environment whose /tmp is private."""
    if source.is_file():
        try:
            os.link(source, dest)
        except OSError:
            shutil.copy2(source, dest)
        return

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, dest, copy_function=link, ignore=shutil.ignore_patterns("__pycache__"))


def add_packages(root: Path, names: tuple[str, ...]) -> None:
    """Put the tooling venv's copies of ``names`` into the task root."""
    import importlib.util

    for name in names:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            source = Path(spec.origin)
        link_tree(source, root / source.name)


@pytest.fixture
def with_packages() -> Callable[..., None]:
    """``with_packages(root, names=BOTO_PACKAGES)`` links the tooling venv's packages into a task root."""

    def add(root: Path, names: tuple[str, ...] = BOTO_PACKAGES) -> None:
        add_packages(root, names)

    return add
