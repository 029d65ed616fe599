"""Packages are reused only while nothing they are made of changed; an entry is written whole or not at all."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from zappa_eager.bench import packagecache


def make_venv(root: Path, distributions: dict[str, str]) -> Path:
    """A virtualenv's site-packages with ``name -> version`` distributions (METADATA and RECORD)."""
    site = root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    for name, version in distributions.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "RECORD").write_text(f"{name}/__init__.py,sha256=abc,10\n")
    return root


def key(project: Path, venv: Path, **changes: Any) -> str:
    arguments: dict[str, Any] = {"venv": venv, "project": project, "skip": [project / "bench-out"],
                                 "settings": {"stage": {"slim_handler": False}}, "slim": False,
                                 "packagings": ["upstream", "eager"]}
    arguments.update(changes)
    return packagecache.cache_key(**arguments)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "views.py").write_text("def index(): return 'hi'\n")
    (folder / "zappa_settings.json").write_text("{}")
    return folder


def test_the_key_follows_what_the_packages_are_made_of(project: Path, tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "venv", {"Django": "5.2", "zappa": "0.63.0"})
    first = key(project, venv)
    assert key(project, venv) == first  # the same inputs: the same key
    (project / "bench-out").mkdir()
    (project / "bench-out" / "bench.json").write_text("{}")  # the bench's own output is not the project
    (project / "app" / "__pycache__").mkdir()
    (project / "app" / "__pycache__" / "views.cpython-311.pyc").write_bytes(b"x")
    assert key(project, venv) == first

    (project / "app" / "views.py").write_text("def index(): return 'hello'\n")
    edited = key(project, venv)
    assert edited != first
    other_venv = make_venv(tmp_path / "venv2", {"Django": "5.2.1", "zappa": "0.63.0"})
    assert key(project, other_venv) != edited  # a new version in the lock
    assert key(project, venv, slim=True) != edited
    assert key(project, venv, settings={"stage": {"slim_handler": False, "exclude": ["*.csv"]}}) != edited
    assert packagecache.environment_lock(venv)[0].startswith("Django==5.2 ")


def test_store_then_load_links_the_packages_into_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAPPA_EAGER_BENCH_CACHE", str(tmp_path / "cache"))
    built = tmp_path / "built"
    built.mkdir()
    (built / "slim_on-upstream.zip").write_bytes(b"upstream zip")
    (built / "slim_on-upstream-project.tar.gz").write_bytes(b"upstream tarball")
    (built / "slim_on-eager.zip").write_bytes(b"eager zip")
    (built / "slim_on-eager-project.tar.gz").write_bytes(b"eager tarball")
    assert packagecache.load("k1", tmp_path) is None  # a miss
    entry = packagecache.store("k1", {
        "upstream": (built / "slim_on-upstream.zip", built / "slim_on-upstream-project.tar.gz"),
        "eager": (built / "slim_on-eager.zip", built / "slim_on-eager-project.tar.gz")})
    assert entry == tmp_path / "cache" / "k1"
    work = tmp_path / "work"
    work.mkdir()
    found = packagecache.load("k1", work)
    assert found is not None and set(found) == {"upstream", "eager"}
    eager_zip, eager_archive = found["eager"]["zip"], found["eager"]["archive"]
    assert eager_zip is not None and eager_archive is not None
    assert eager_zip.read_bytes() == b"eager zip" and eager_archive.read_bytes() == b"eager tarball"
    assert eager_zip.parent == work
    assert not list((tmp_path / "cache").glob(".incoming-*"))  # staged, then renamed whole


def test_an_incomplete_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAPPA_EAGER_BENCH_CACHE", str(tmp_path / "cache"))
    package = tmp_path / "slim_off-upstream.zip"
    package.write_bytes(b"zip")
    entry = packagecache.store("k2", {"upstream": (package, None)})
    assert entry is not None
    (entry / "slim_off-upstream.zip").unlink()
    assert packagecache.load("k2", tmp_path / "work") is None


def test_only_the_newest_entries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZAPPA_EAGER_BENCH_CACHE", str(tmp_path / "cache"))
    package = tmp_path / "p.zip"
    package.write_bytes(b"zip")
    for index in range(packagecache.KEEP + 2):
        entry = packagecache.store(f"key{index}", {"upstream": (package, None)})
        assert entry is not None
        stamp = 1_000_000 + index
        os.utime(entry, (stamp, stamp))
    packagecache.prune(tmp_path / "cache")
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert kept == sorted(f"key{index}" for index in range(2, packagecache.KEEP + 2))
