"""The slim_handler archive phase alone: upstream's unpack against ours, on the same archive.

Each measurement is a fresh process with a fresh, empty ``TMPDIR`` (Lambda's /tmp is new
in every environment), downloading from a moto S3 server on 127.0.0.1; the two sides
alternate order run by run. Timed: upstream's real ``LambdaHandler.load_remote_project_archive``
(on an instance made without ``__init__``) and our ``install_project_archive``; imports and
the boto3 session (with its S3 models loaded) are ready before the clock starts, for both.

Lambda runs functions as a non-root user, so tarfile skips ``chown``; when this machine
runs as root the child processes report a non-root effective uid to match.

Trees are deleted only at the end: ext4 without a journal skips inodes freed in the last
minutes when it allocates new ones, so creating 10,000 files right after deleting 10,000
is tens of times slower, which would measure the file system's bookkeeping, not the unpack.
Other processes' deletions do the same, so the result carries ``file_create_us`` (one
empty file's creation in the work folder, before the runs): ~20 us on a fresh ext4 such as
Lambda's /tmp, hundreds of us in that slow state, where every unpack is mostly file creation.
The eager side also reports its stages (the init report's ``archive_download_ms``,
``archive_inflate_ms`` and ``archive_write_ms``: each stage's own busy time; they overlap).
Tooling: never imported inside Lambda.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, Literal

from zappa_eager.emulator.config import DUMMY_CREDENTIALS
from zappa_eager.emulator.s3 import MotoS3
from zappa_eager.runtime.contract import ARCHIVE_STAGES

BUCKET = "zappa-eager-unpack-bench"
#: Whose unpack a run times: upstream's ``load_remote_project_archive`` or ours.
Side = Literal["upstream", "eager"]
SIDES: tuple[Side, ...] = ("upstream", "eager")
LAMBDA_UID = 993  # the sandbox user Lambda runs functions as (not root)

_CHILD = r"""
import json, os, sys, tempfile, time
from types import SimpleNamespace

side, url, project = sys.argv[1:4]
if hasattr(os, "geteuid") and os.geteuid() == 0:
    uid = int(sys.argv[4])
    os.geteuid = lambda: uid  # as on Lambda: tarfile skips chown for a non-root user

import boto3

session = boto3.Session()
session.client("s3")
session.resource("s3")  # S3 models loaded before the clock starts, for both sides
folder = os.path.join(tempfile.gettempdir(), project)
if side == "upstream":
    from zappa.handler import LambdaHandler

    handler = LambdaHandler.__new__(LambdaHandler)
    # upstream unpacks into "/tmp/" + PROJECT_NAME: point it at this run's fresh TMPDIR
    handler.settings = SimpleNamespace(PROJECT_NAME=os.path.relpath(folder, "/tmp"))
    handler.session = session
    start = time.perf_counter()
    handler.load_remote_project_archive(url)
    elapsed = time.perf_counter() - start
    stages = {}
else:
    from zappa_eager.runtime.archive import install_project_archive, s3_opener

    start = time.perf_counter()
    result = install_project_archive(url, project, open_archive=s3_opener(session))
    elapsed = time.perf_counter() - start
    folder = result.path
    stages = dict(result.stages_ms)
print(json.dumps({"ms": elapsed * 1000.0, "folder": folder, "stages": stages}))
"""


def archive_stats(archive: Path) -> tuple[int, int]:
    """Regular files and their total size, as the archive lists them."""
    sizes: dict[str, int] = {}
    with tarfile.open(archive, "r:*") as listing:
        for member in listing:
            if member.isreg():
                sizes[member.name] = member.size
            elif member.islnk():  # a hard link is one more name for an earlier file's bytes
                sizes[member.name] = sizes.get(member.linkname, 0)
    return len(sizes), sum(sizes.values())


def tree_stats(folder: Path) -> tuple[int, int]:
    """Regular files and total bytes under ``folder`` (our completion marker not counted)."""
    from zappa_eager.runtime.archive import MARKER_NAME

    files = size = 0
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            if (name == MARKER_NAME and root == str(folder)) or os.path.islink(path):
                continue
            files += 1
            size += os.stat(path).st_size
    return files, size


def file_create_us(folder: Path, count: int = 200) -> float:
    """Median microseconds to create one empty file in a new subfolder of ``folder``."""
    probe = Path(tempfile.mkdtemp(prefix="create-probe-", dir=folder))
    times = []
    try:
        for index in range(count):
            start = time.perf_counter()
            os.close(os.open(probe / f"f{index}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            times.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return statistics.median(times) * 1e6


def _child_env(tmpdir: Path, endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    repo = str(Path(__file__).resolve().parents[2])
    env.update(
        DUMMY_CREDENTIALS,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL_S3=endpoint,
        TMPDIR=str(tmpdir),
        PYTHONPATH=os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p),
    )
    return env


def measure_once(
    side: Side, url: str, project_name: str, tmpdir: Path, endpoint: str
) -> tuple[float, Path, dict[str, float]]:
    """One unpack in a fresh process whose TMPDIR is ``tmpdir``: milliseconds, the project folder, the stages."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, side, url, project_name, str(LAMBDA_UID)],
        env=_child_env(tmpdir, endpoint), cwd=str(tmpdir), capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{side} unpack of {url} failed:\n{proc.stderr.strip()[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    stages = {str(stage): float(ms) for stage, ms in (result.get("stages") or {}).items()}
    return float(result["ms"]), Path(result["folder"]), stages


def compare_unpack(
    archive: Path, *, runs: int = 5, project_name: str = "project", workdir: Path | None = None
) -> dict[str, Any]:
    """Upstream's slim_handler unpack against ours, interleaved, ``runs`` fresh processes each.

    Every unpacked tree is checked (file count and bytes equal the archive's) so a broken
    unpack can never pass for a fast one. ``workdir`` holds the per-run TMPDIRs and the S3
    server's log (default: a new folder in the system temp dir).
    """
    archive = Path(archive)
    if runs < 1:
        raise ValueError("runs must be at least 1")
    files, unpacked_bytes = archive_stats(archive)
    root = Path(tempfile.mkdtemp(prefix="zappa-eager-unpack-", dir=workdir))
    s3 = MotoS3(root / "moto.log")
    timings: dict[Side, list[float]] = {side: [] for side in SIDES}
    stages: dict[str, list[float]] = {stage: [] for stage in ARCHIVE_STAGES}
    try:
        create_us = file_create_us(root)
        endpoint = s3.start()
        url = s3.put(BUCKET, archive.name, archive)
        for run in range(runs):
            for side in SIDES if run % 2 == 0 else SIDES[::-1]:
                tmpdir = root / f"run{run}-{side}"
                tmpdir.mkdir()
                ms, folder, split = measure_once(side, url, project_name, tmpdir, endpoint)
                got = tree_stats(folder)
                if got != (files, unpacked_bytes):
                    raise RuntimeError(
                        f"{side} unpacked {got[0]} files / {got[1]} bytes into {folder}, "
                        f"the archive has {files} / {unpacked_bytes}"
                    )
                timings[side].append(ms)
                if side == "eager":
                    for stage in ARCHIVE_STAGES:
                        stages[stage].append(split.get(stage, 0.0))
    finally:
        s3.stop()
        shutil.rmtree(root, ignore_errors=True)
    upstream_median = statistics.median(timings["upstream"])
    eager_median = statistics.median(timings["eager"])
    return {
        "files": files,
        "archive_bytes": archive.stat().st_size,
        "unpacked_bytes": unpacked_bytes,
        "runs": runs,
        "upstream_ms": timings["upstream"],
        "eager_ms": timings["eager"],
        "upstream_median_ms": upstream_median,
        "eager_median_ms": eager_median,
        "speedup": upstream_median / eager_median if eager_median > 0 else None,  # JSON has no infinity
        "file_create_us": create_us,
        # zappa-eager's stages, run by run, and their medians (each stage's own busy time; they overlap)
        "eager_stages_ms": stages,
        "eager_stage_medians_ms": {stage: statistics.median(runs) for stage, runs in stages.items()},
    }


def format_result(archive: Path, result: dict[str, Any]) -> str:
    mb = 1024 * 1024
    lines = [
        f"{archive.name}: {result['archive_bytes'] / mb:.1f} MiB tar.gz, {result['files']:,} files, "
        f"{result['unpacked_bytes'] / mb:.1f} MiB unpacked; {result['runs']} runs each, interleaved; "
        f"creating a file here takes {result['file_create_us']:.0f} us",
        f"{'':<12} {'median ms':>10}   runs (ms)",
    ]
    for label, key in (("upstream", "upstream"), ("zappa-eager", "eager")):
        runs = " ".join(f"{ms:.0f}" for ms in result[f"{key}_ms"])
        lines.append(f"{label:<12} {result[f'{key}_median_ms']:>10.0f}   {runs}")
    speedup = result["speedup"]
    lines.append(f"{'speedup':<12} {speedup:>9.2f}x" if speedup is not None else f"{'speedup':<12} {'-':>10}")
    stage_runs: dict[str, list[float]] = result.get("eager_stages_ms") or {}
    medians: dict[str, float] = result.get("eager_stage_medians_ms") or {}
    if medians:
        lines.append("zappa-eager's stages (each its own busy time; they overlap):")
        for stage, median in medians.items():
            runs = " ".join(f"{ms:.0f}" for ms in stage_runs.get(stage, []))
            lines.append(f"  {stage:<10} {median:>10.0f}   {runs}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zappa_eager.bench.unpack",
        description="Time upstream's slim_handler unpack against zappa-eager's on one tar.gz archive.",
    )
    parser.add_argument("archive", type=Path, help="a slim_handler project archive (tar.gz)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per side (default 5)")
    parser.add_argument("--project-name", default="project")
    parser.add_argument("--workdir", type=Path, default=None, help="where the per-run TMPDIRs go")
    options = parser.parse_args(argv)
    if not options.archive.is_file():
        parser.error(f"{options.archive} is not a file")
    result = compare_unpack(options.archive, runs=options.runs, project_name=options.project_name,
                            workdir=options.workdir)
    print(format_result(options.archive, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
