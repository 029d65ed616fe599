"""Valid bytecode: compiled unchecked-hash, recognised as valid, and used from a read-only task root."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zappa_eager.packaging.bytecode import (
    cache_tag,
    compile_tree,
    inspect_tree,
    pyc_valid,
    remove_caches,
    runtime_mismatch,
)

#: Counts, in a child interpreter, the modules under ROOT that Python compiles from source.
COUNT_COMPILES = r"""
import importlib._bootstrap_external as ext, sys
root = sys.argv[1]
compiled = []
original = ext.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    if str(path).startswith(root):
        compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
ext.SourceLoader.source_to_code = counting
sys.path.insert(0, root)
import pkg.mod, pkg.sub.deep, top, handler
print("VALUE", pkg.mod.VALUE, handler.WHO)
print("COMPILED", len(compiled), sorted(compiled))
"""


def make_tree(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "mod.py").write_text("VALUE = 41 + 1\n")
    (root / "pkg" / "sub" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "deep.py").write_text("import pkg.mod\nDEEP = pkg.mod.VALUE\n")
    (root / "top.py").write_text("TOP = 1\n")
    (root / "handler.py").write_text("WHO = 'original'\n")
    (root / "template.py").write_text("def {{ name }}(:\n")  # like Django's app templates
    return root


def read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = Path(folder) / name
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    root.chmod(0o555)


def writable(root: Path) -> None:
    for folder, dirs, _files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in dirs:
            (Path(folder) / name).chmod(0o755)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    root = make_tree(tmp_path / "task")
    yield root
    writable(root)


def compiles_from_source(root: Path) -> tuple[int, str]:
    """Import the tree as on Lambda (``-B``: nothing written; /var/task is read-only) and count compiles."""
    env = {"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-I", "-B", "-c", COUNT_COMPILES, str(root)], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("COMPILED"))
    return int(line.split()[1]), proc.stdout


def test_without_bytecode_every_module_is_compiled_on_import(tree: Path) -> None:
    read_only(tree)
    count, out = compiles_from_source(tree)
    assert count == 6, out  # pkg, pkg.mod, pkg.sub, pkg.sub.deep, top, handler
    assert inspect_tree(tree).state == "none"


def test_compiled_tree_imports_from_a_read_only_root_without_compiling(tree: Path) -> None:
    result = compile_tree(tree)
    assert result.compiled == 6 and result.failed == ("template.py",)
    status = inspect_tree(tree)
    assert status.state == "valid" and status.valid == 6 and status.not_python == 1 and status.tag == cache_tag()
    read_only(tree)
    count, out = compiles_from_source(tree)
    assert count == 0, out
    assert "VALUE 42 original" in out


def test_stale_timestamp_bytecode_is_recompiled_and_reported_stale(tree: Path, tmp_path: Path) -> None:
    """What upstream ships: the virtualenv's pycs next to sources copied without their mtimes."""
    for source in tree.rglob("*.py"):
        if source.name != "template.py":
            __import__("py_compile").compile(str(source), doraise=True)
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy, copy_function=shutil.copyfile)  # like upstream's copytree(metadata=False)
    for source in copy.rglob("*.py"):
        os.utime(source, (1_000_000_000, 1_000_000_000))
    status = inspect_tree(copy)
    assert status.state == "stale" and status.stale == 6
    read_only(copy)
    try:
        count, _ = compiles_from_source(copy)
    finally:
        writable(copy)
    assert count == 6


def test_compile_replaces_stale_caches(tree: Path) -> None:
    stale = tree / "pkg" / "__pycache__" / f"mod.{cache_tag()}.pyc"
    stale.parent.mkdir()
    stale.write_bytes(b"not bytecode")
    compile_tree(tree)
    assert stale.read_bytes()[:4] == __import__("importlib.util").util.MAGIC_NUMBER
    assert inspect_tree(tree).stale == 0


def test_root_handler_gets_checked_bytecode_so_a_rewritten_source_wins(tree: Path) -> None:
    """Tooling (zappa bench, the emulator) rewrites handler.py in an unpacked package."""
    compile_tree(tree)
    (tree / "handler.py").write_text("WHO = 'rewritten'\n")
    assert inspect_tree(tree).stale == 1
    read_only(tree)
    count, out = compiles_from_source(tree)
    assert "VALUE 42 rewritten" in out and count == 1


def test_unchecked_bytecode_is_valid_whatever_the_source_says() -> None:
    import importlib.util

    header = importlib.util.MAGIC_NUMBER + (0b01).to_bytes(4, "little") + b"\0" * 8
    assert pyc_valid(header + b"code", b"anything", None, 8) == (True, True)
    checked = importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little") + importlib.util.source_hash(b"x = 1\n")
    assert pyc_valid(checked, b"x = 1\n", None, 6) == (True, False)
    assert pyc_valid(checked, b"x = 2\n", None, 6) == (False, False)
    assert pyc_valid(b"\0\0\0\0" + header[4:], b"", None, 0) == (False, False)


def test_remove_caches_counts_folders(tree: Path) -> None:
    compile_tree(tree)
    assert remove_caches(tree) == 3
    assert not list(tree.rglob("*.pyc"))


@pytest.mark.parametrize(
    ("runtime", "mismatch"),
    [(f"python{sys.version_info[0]}.{sys.version_info[1]}", False), ("python3.9", True), ("python2.7", True),
     ("provided.al2", False), ("", False)],
)
def test_runtime_mismatch_names_both_versions(runtime: str, mismatch: bool) -> None:
    line = runtime_mismatch(runtime)
    assert (line is not None) == mismatch
    if line:
        assert runtime in line and f"{sys.version_info[0]}.{sys.version_info[1]}" in line and "ignore" in line
