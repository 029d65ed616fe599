"""The archive phase split into download, inflate and write: measured by the unpack, carried into the init report."""

from __future__ import annotations

import io
import json
import random
import tarfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.conftest import FIXTURES, base_stage, make_task_root, run_probe
from zappa_eager.runtime.archive import CorruptArchive, install_project_archive, s3_opener
from zappa_eager.runtime.contract import ARCHIVE_STAGES
from zappa_eager.runtime.report import (
    ARCHIVE_METRIC_NAMES,
    InitReport,
    PhaseTimer,
    parse_report_lines,
    record_archive_stages,
)
from zappa_eager.runtime.unpack import STREAM_MIN, StageClock, unpack

BUCKET = "zappa-eager-stages"
KEY = "dev_shop_current_project.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"
STAGE_KEYS = [f"archive_{stage}_ms" for stage in ARCHIVE_STAGES]


def tarball(files: dict[str, bytes], folders: tuple[str, ...] = (), links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name in folders:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def a_project() -> bytes:
    """Some thousand modules in nested packages, and a file large enough to be streamed by the parsing thread."""
    rng = random.Random(20)
    files = {f"pkg{i % 7}/sub{i % 13}/mod_{i}.py": (f"VALUE_{i} = {i}\n" * 40).encode() for i in range(1500)}
    files["data/big.bin"] = rng.randbytes(STREAM_MIN + 4096)
    return tarball(files)


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_a_real_install_reports_each_stage_in_the_init_report(s3, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=a_project())  # type: ignore[attr-defined]
    timer = PhaseTimer()
    with timer.phase("archive"):
        result = install_project_archive(URL, "shop", tmp_root=str(tmp_path), open_archive=s3_opener())
    assert (tmp_path / "shop" / "data" / "big.bin").stat().st_size == STREAM_MIN + 4096
    report = InitReport(phases_ms=dict(timer.durations_ms), total_ms=timer.get("archive") + 1.0, ok=True)
    fields = report.as_dict()
    archive_ms = fields["archive_ms"]
    stages = {stage: fields[f"archive_{stage}_ms"] for stage in ARCHIVE_STAGES}
    assert all(ms > 0 for ms in stages.values()), stages
    # The stages ran inside the phase: the download and the inflating threads each within it; the writes
    # are summed over the writer threads and the parsing thread (3 at most, by default).
    assert stages["download"] <= archive_ms and stages["inflate"] <= archive_ms, (stages, archive_ms)
    assert stages["write"] <= 3 * archive_ms, (stages, archive_ms)
    # ... and they overlap, so together they may exceed the phase, but not all its threads' time.
    assert sum(stages.values()) <= 5 * archive_ms
    assert {stage: round(ms, 2) for stage, ms in result.stages_ms.items()} == stages
    assert result.attempts == 1 and not result.reused


def test_the_report_shows_the_split_only_when_an_unpack_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-dev")
    plain = InitReport(phases_ms={"imports": 10.0, "app": 20.0}, total_ms=30.0, ok=True)
    assert [plain.as_dict()[key] for key in STAGE_KEYS] == [0, 0, 0]
    assert "archive=[" not in plain.human_line()
    metrics = json.loads(plain.emf_line())
    assert not set(ARCHIVE_METRIC_NAMES.values()) & set(metrics)

    timer = PhaseTimer()
    timer.add("imports", 10.0)
    with timer.phase("archive"):
        record_archive_stages({"download": 12.5, "inflate": 40.25, "write": 30.0})
    slim = InitReport(phases_ms=dict(timer.durations_ms), total_ms=100.0, ok=True)
    line = slim.human_line()
    assert " ms) ok archive=[download 12.5, inflate 40.2, write 30.0 ms]" in line, line
    # The phases stay one parenthesis, in order, as every reader of the line expects.
    assert line.split("(", 1)[1].split(" ms)")[0].split(", ")[3].startswith("archive ")
    document = json.loads(slim.emf_line())
    assert document["InitArchiveDownload"] == 12.5 and document["InitArchiveWrite"] == 30.0
    declared = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert set(ARCHIVE_METRIC_NAMES.values()) <= declared
    assert document["zappa_eager_init"]["archive_inflate_ms"] == 40.25


def test_stage_times_outside_the_archive_phase_go_nowhere() -> None:
    timer = PhaseTimer()
    record_archive_stages({"download": 5.0})  # no phase open
    with timer.phase("app"):
        record_archive_stages({"download": 5.0})
    assert set(timer.durations_ms) == {"app"}


def test_a_failed_install_still_reports_what_its_attempt_cost(tmp_path: Path) -> None:
    data = a_project()
    cut = data[: len(data) // 2]
    timer = PhaseTimer()
    with pytest.raises(CorruptArchive), timer.phase("archive"):
        install_project_archive(URL, "shop", tmp_root=str(tmp_path), open_archive=lambda b, k: io.BytesIO(cut))
    assert timer.get("archive") > 0
    assert timer.durations_ms["archive_inflate"] > 0 and timer.durations_ms["archive_write"] > 0
    assert not (tmp_path / "shop").exists()


@pytest.mark.parametrize("writers", [0, 2])
def test_the_clock_sees_every_stage_with_and_without_writer_threads(tmp_path: Path, writers: int) -> None:
    clock = StageClock()
    out = tmp_path / "out"
    out.mkdir()
    unpack(io.BytesIO(a_project()), str(out), writers=writers, clock=clock)
    stages = clock.ms()
    assert set(stages) == set(ARCHIVE_STAGES) and all(ms > 0 for ms in stages.values()), stages


def test_folders_are_made_once_and_empty_ones_still_exist(tmp_path: Path) -> None:
    """Folders a file goes into are made by its writer; empty ones (and ones holding only empty ones) at the end."""
    folders = ("only_empty/", "only_empty/inner/", "late/", "with_link/")
    files = {f"late/sub{i}/m{i}.py": b"x = 1\n" for i in range(200)} | {"top.py": b"", "late/a.py": b"a"}
    data = tarball(files, folders, links={"with_link/to_top": "../top.py"})
    out = tmp_path / "out"
    out.mkdir()
    assert unpack(io.BytesIO(data), str(out), writers=2) == len(files) + len(folders) + 1
    assert (out / "only_empty" / "inner").is_dir() and not any((out / "only_empty" / "inner").iterdir())
    assert (out / "late" / "sub199" / "m199.py").read_bytes() == b"x = 1\n"
    assert (out / "with_link" / "to_top").is_symlink()
    reference = tmp_path / "ref"
    reference.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        archive.extractall(reference, filter="fully_trusted")
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert made == sorted(str(p.relative_to(reference)) for p in reference.rglob("*"))


def test_a_slim_handler_init_reports_its_archive_stages(tmp_path: Path, moto_endpoint: str) -> None:
    """A real INIT (fresh interpreter, upstream's handler building ours) from moto S3 on 127.0.0.1."""
    bucket = "zappa-eager-stages-init"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(FIXTURES / "djsite" / "djsite", arcname="djsite")
        archive.add(FIXTURES / "djsite" / "templates", arcname="templates")
    client.put_object(Bucket=bucket, Key="dev_djsite_current_project.tar.gz", Body=buffer.getvalue())
    root = make_task_root(tmp_path, base_stage(slim_handler=True, s3_bucket=bucket), with_project=False)
    lambda_tmp = tmp_path / "lambda-tmp"
    lambda_tmp.mkdir()
    result = run_probe(root, [], env={"AWS_ENDPOINT_URL_S3": moto_endpoint, "TMPDIR": str(lambda_tmp)})
    (report,) = parse_report_lines(result["stdout"])
    assert report["ok"] is True and report["archive_ms"] > 0
    stages = {stage: report[f"archive_{stage}_ms"] for stage in ARCHIVE_STAGES}
    assert all(0 < ms for ms in stages.values()), stages
    assert stages["download"] <= report["archive_ms"] and stages["inflate"] <= report["archive_ms"]
    (line,) = [line for line in result["stdout"].splitlines() if line.startswith("[zappa-eager] init ")]
    assert " archive=[download " in line
    (document,) = [json.loads(line) for line in result["stdout"].splitlines() if line.startswith('{"_aws"')]
    assert document["InitArchiveInflate"] == stages["inflate"]
