"""zappa-eager's package derived from upstream's ships exactly what packaging it a second time ships.

The bench packages each variant once (upstream's ``create_package``) and derives zappa-eager's
package from it (``bench.derive``). Here both ways run on a small Django project, per
slim_handler value, and every file of the handler zip and of the project tarball is compared:
names, contents (bytecode included) and modes; only upstream's per-build ``package_info.json``
(a uuid and the build time) differs.
"""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.bench.test_bench_e2e import project  # noqa: F401 - the fixture: a Django project packaged offline
from zappa_eager.bench.derive import derive_eager
from zappa_eager.bench.variants import build_package

HANDLER = Path(__file__).resolve().parents[2] / "zappa_eager" / "runtime" / "handler.py"
pytestmark = pytest.mark.e2e


def zip_files(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (CRC-32 of the content, Unix mode) of every file in a zip."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: (info.CRC, info.external_attr >> 16) for info in archive.infolist()
                if not info.is_dir()}


def tar_files(path: Path) -> dict[str, tuple[str, int]]:
    """name -> (sha256 of the content, mode) of every regular file in a tarball."""
    files = {}
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                files[member.name] = (hashlib.sha256(handle.read()).hexdigest(), member.mode)
    return files


@pytest.mark.parametrize("slim", [False, True], ids=["slim_off", "slim_on"])
def test_the_derived_eager_package_is_the_packaged_one(project: Path, tmp_path: Path,  # noqa: F811
                                                       slim: bool) -> None:
    from zappa_eager.cli import EagerZappaCLI

    cli = EagerZappaCLI()
    cli.api_stage = "dev"
    cli.load_credentials = False
    cli.load_settings()
    work = tmp_path / "work"
    work.mkdir()
    packaged = build_package(cli, slim, "eager", work)
    upstream = build_package(cli, slim, "upstream", work)
    derived = derive_eager(cli, upstream, slim, work, "derived")

    assert derived.packaging == "eager" and derived.zip != packaged.zip
    expected, got = zip_files(packaged.zip), zip_files(derived.zip)
    assert sorted(set(expected) ^ set(got)) == []
    # Every file has the same bytes and mode, but package_info.json: upstream writes a new uuid and build
    # time into each package it builds (packaging twice the old way differs there too).
    assert {name for name in expected if expected[name] != got[name]} == {"package_info.json"}
    with zipfile.ZipFile(derived.zip) as archive:
        assert archive.read("handler.py") == HANDLER.read_bytes()
        assert b"EAGER_INIT=True" in archive.read("zappa_settings.py")
    if slim:
        assert packaged.archive is not None and derived.archive is not None
        expected_tar, got_tar = tar_files(packaged.archive), tar_files(derived.archive)
        assert sorted(set(expected_tar) ^ set(got_tar)) == []
        assert {name for name in expected_tar if expected_tar[name] != got_tar[name]} == {"package_info.json"}
    assert derived.facts is not None and packaged.facts is not None
    expected_facts, got_facts = packaged.facts.as_dict(), derived.facts.as_dict()
    assert abs(got_facts.pop("zipped_bytes") - expected_facts.pop("zipped_bytes")) <= 0.01 * packaged.zip.stat().st_size
    assert got_facts == expected_facts  # unzipped bytes, files, bytecode state
