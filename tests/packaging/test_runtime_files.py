"""The package carries the packaging CLI's own runtime, whatever ``zappa_eager`` the virtualenv holds."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from zappa_eager.packaging.runtime_files import add_runtime_to_zip, runtime_sources

TAG = sys.implementation.cache_tag


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as package:
        return {name: package.read(name) for name in package.namelist()}


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, data in files.items():
            package.writestr(name, data)
    return path


def ours() -> dict[str, bytes]:
    return {f"zappa_eager/{module}": source.read_bytes() for module, source in runtime_sources()}


def test_a_package_without_the_runtime_gets_all_of_it(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "p.zip", {"handler.py": b"# ours\n", "app.py": b"x = 1\n"})
    added = add_runtime_to_zip(str(package))
    assert set(added) == set(ours())
    assert members(package) == {"handler.py": b"# ours\n", "app.py": b"x = 1\n", **ours()}


def test_another_versions_runtime_is_replaced_and_its_bytecode_dropped(tmp_path: Path) -> None:
    """The virtualenv held an older zappa-eager: the CLI's handler.py must not run on its runtime."""
    current = ours()
    old_boot = b"# zappa-eager 0.0.1's boot.py\n"
    files = {**current, "zappa_eager/runtime/boot.py": old_boot,
             f"zappa_eager/runtime/__pycache__/boot.{TAG}.pyc": b"old bytecode",
             f"zappa_eager/runtime/__pycache__/report.{TAG}.pyc": b"bytecode of an unchanged module",
             f"zappa_eager/runtime/__pycache__/heap.{TAG}.pyc": b"bytecode whose source is missing",
             "zappa_eager/runtime/gone.py": b"# a module this version no longer has\n",
             "django/__init__.py": b"# the app's\n"}
    del files["zappa_eager/runtime/heap.py"]
    package = make_zip(tmp_path / "p.zip", files)
    changed = add_runtime_to_zip(str(package))
    assert changed == ["zappa_eager/runtime/boot.py", "zappa_eager/runtime/heap.py"]
    after = members(package)
    assert {name: after[name] for name in current} == current
    assert f"zappa_eager/runtime/__pycache__/boot.{TAG}.pyc" not in after
    assert f"zappa_eager/runtime/__pycache__/heap.{TAG}.pyc" not in after
    assert after[f"zappa_eager/runtime/__pycache__/report.{TAG}.pyc"] == b"bytecode of an unchanged module"
    assert after["django/__init__.py"] == b"# the app's\n" and "zappa_eager/runtime/gone.py" in after
    assert not list(tmp_path.glob("*.runtime"))  # no temporary copy left behind
    with zipfile.ZipFile(package) as zipped:
        assert zipped.getinfo("zappa_eager/runtime/heap.py").external_attr >> 16 == 0o644
        assert len(zipped.namelist()) == len(set(zipped.namelist()))


def test_a_package_with_this_runtime_is_left_as_it_is(tmp_path: Path) -> None:
    package = make_zip(tmp_path / "p.zip", {**ours(), "handler.py": b"# ours\n"})
    before = package.read_bytes()
    assert add_runtime_to_zip(str(package)) == []
    assert package.read_bytes() == before
