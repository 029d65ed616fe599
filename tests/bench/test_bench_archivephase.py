"""The archive phase alone: upstream's unpack against zappa-eager's, on the eager package's tarball."""

from __future__ import annotations

import tarfile
from pathlib import Path

from zappa_eager.bench.archivephase import measure_archive_phase
from zappa_eager.bench.variants import Package, Variant


def project_tarball(path: Path, files: int) -> Path:
    """A small slim_handler project archive, shaped as upstream writes it (relative member names)."""
    source = path.parent / f"{path.stem}-src"
    for index in range(files):
        module = source / "app" / f"pkg{index % 5}" / f"m{index}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"VALUE = {index}\n" * 20)
    with tarfile.open(path, "w:gz") as tar:
        for item in sorted(source.rglob("*")):
            tar.add(item, arcname=str(item.relative_to(source)), recursive=False)
    return path


def slim_variant(tmp_path: Path, eager_archive: Path, upstream_archive: Path | None) -> Variant:
    packages = {"eager": Package("eager", tmp_path / "handler-eager.zip", eager_archive)}
    if upstream_archive is not None:
        packages["upstream"] = Package("upstream", tmp_path / "handler-upstream.zip", upstream_archive)
    return Variant("slim_on", True, packages)


def test_both_unpackers_run_on_the_eager_tarball_and_the_upstream_one_is_counted(tmp_path: Path) -> None:
    eager = project_tarball(tmp_path / "eager.tar.gz", 40)
    upstream = project_tarball(tmp_path / "upstream.tar.gz", 55)
    result = measure_archive_phase(slim_variant(tmp_path, eager, upstream), runs=2, project_name="shop",
                                   workdir=tmp_path / "work")
    assert result is not None and "error" not in result, result
    assert result["files"] == 40 and result["upstream_archive_files"] == 55
    assert result["runs"] == 2 and len(result["upstream_ms"]) == len(result["eager_ms"]) == 2
    assert result["archive"] == str(eager) and result["packaging"] == "eager"
    assert result["speedup"] == result["upstream_median_ms"] / result["eager_median_ms"]


def test_nothing_to_compare_without_a_tarball_or_runs(tmp_path: Path) -> None:
    eager = project_tarball(tmp_path / "eager.tar.gz", 3)
    assert measure_archive_phase(slim_variant(tmp_path, eager, None), runs=0, project_name="shop",
                                 workdir=tmp_path) is None
    slim_off = Variant("slim_off", False, {"eager": Package("eager", tmp_path / "z.zip")})
    assert measure_archive_phase(slim_off, runs=3, project_name="shop", workdir=tmp_path) is None


def test_a_failed_comparison_is_recorded_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    result = measure_archive_phase(slim_variant(tmp_path, broken, None), runs=1, project_name="shop",
                                   workdir=tmp_path / "work")
    assert result is not None and result["error"] and result["archive"] == str(broken)
