"""What the archive-fault and INIT-limit scenarios share: the site packaged with slim_handler,
its project archive in a loopback S3 behind the fault proxy, and a look at an environment's /tmp.

The function is the reliability site (tests/fixtures/relsite) as ``zappa package`` lays out
a slim_handler package: the task root holds handler.py, the rendered zappa_settings.py, the
runtime and the packages; the project goes to S3 as a tarball. The tarball also carries
``assets`` files of random bytes (incompressible, like images or compiled libraries) so the
download has a middle for faults to hit and the unpack writes hundreds of files a cut can
leave half-done. Environments reach S3 only through the :class:`FaultProxy`.

Tooling module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from tests.reliability import djangoapp
from tests.reliability.djangoapp import ArchiveSize, ProjectArchive, build_archive
from tests.reliability.faultproxy import FaultProxy, Served
from zappa_eager.emulator import Emulator, Environment, InvokeResult
from zappa_eager.emulator.s3 import MotoS3
from zappa_eager.runtime.archive import MARKER_NAME, PARTIAL_PREFIX

PROJECT = djangoapp.PROJECT
ARCHIVE_KEY = djangoapp.archive_key({})
ARCHIVE_URL = f"s3://{djangoapp.BUCKET}/{ARCHIVE_KEY}"
ARCHIVE_PATH = f"/{djangoapp.BUCKET}/{ARCHIVE_KEY}"  # the GET's path through the proxy
#: Files the site itself may write to /tmp: not leftovers of the archive.
APP_FILES = ("relsite.sqlite3",)


FAST_ARCHIVE = ArchiveSize(assets=400, asset_bytes=16 * 1024)  # ~6.6 MB, ~410 files
FULL_ARCHIVE = ArchiveSize(assets=2500, asset_bytes=16 * 1024)  # ~41 MB, ~2,510 files


@dataclass
class TmpState:
    """An environment's /tmp after a scenario: is the project complete, and what else is there."""

    project_complete: bool
    leftovers: list[str] = field(default_factory=list)
    project_problem: str = ""

    @property
    def clean(self) -> bool:
        return not self.leftovers


class HasTmp(Protocol):
    """An environment of either kind (one runtime process, or a managed-instances one of several)."""

    @property
    def tmp_dir(self) -> Path: ...


def inspect_tmp(env: HasTmp, archive: ProjectArchive, allowed: tuple[str, ...] = ()) -> TmpState:
    """Compare ``env``'s /tmp with what a clean run leaves: the complete project folder, or nothing.

    A project folder counts as complete when its marker names the archive and it holds exactly
    the archive's files at their sizes (``__pycache__`` written by Python on import aside).
    Anything else - partial folders, an incomplete project, stray files - is a leftover.
    """
    tmp = env.tmp_dir
    state = TmpState(project_complete=False)
    for entry in sorted(os.listdir(tmp)) if tmp.is_dir() else []:
        path = tmp / entry
        if entry in APP_FILES or entry in allowed:
            continue
        if entry == PROJECT and path.is_dir() and not path.is_symlink():
            problem = _project_problem(path, archive)
            if not problem:
                state.project_complete = True
                continue
            state.project_problem = problem
        state.leftovers.append(_describe(path))
    return state


def _project_problem(folder: Path, archive: ProjectArchive) -> str:
    try:
        marker = json.loads((folder / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return "no completion marker"
    if marker.get("source") != ARCHIVE_URL or marker.get("complete") is not True:
        return f"marker {marker!r} does not name {ARCHIVE_URL}"
    found: dict[str, int] = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            rel = (Path(root) / name).relative_to(folder).as_posix()
            if rel != MARKER_NAME:
                found[rel] = (Path(root) / name).lstat().st_size
    if found != dict(archive.files):
        missing = sorted(set(archive.files) - set(found))
        extra = sorted(set(found) - set(archive.files))
        wrong = sorted(n for n in set(found) & set(archive.files) if found[n] != archive.files[n])
        return f"differs from the archive: {len(missing)} missing, {len(extra)} extra, {len(wrong)} wrong size"
    return ""


def _describe(path: Path) -> str:
    if path.is_dir() and not path.is_symlink():
        count = sum(len(names) for _, _, names in os.walk(path))
        kind = "partial unpack" if path.name.startswith(PARTIAL_PREFIX) else "folder"
        return f"{path.name}/ ({kind}, {count} files)"
    return path.name


def log_line(env: Environment, *needles: str) -> str:
    """The first log line holding every needle ("" if none)."""
    return next((line for line in env.log_lines() if all(n in line for n in needles)), "")


def served(result: InvokeResult) -> bool:
    return result.ok and result.status_code == 200


class Lab:
    """moto_server, the fault proxy in front of it, and the site's slim task root; S3 holds the archive."""

    def __init__(self, workdir: Path, size: ArchiveSize, *, name: str = "archive",
                 stage: Mapping[str, Any] | None = None, extra: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.size = size
        self.name = name
        self.stage = djangoapp.stage_config(slim_handler=True, **(stage or {}))
        self.extra = dict(extra or {})
        self.moto: MotoS3 | None = None
        self.proxy: FaultProxy | None = None
        self.task_root: Path | None = None
        self.archive: ProjectArchive | None = None

    def __enter__(self) -> Lab:
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.archive = build_archive(self.size, self.extra)
            self.task_root = djangoapp.build_task_root(self.workdir / f"{self.name}-task", self.stage, bytecode=True)
            settings = (self.task_root / "zappa_settings.py").read_text()
            if f"ARCHIVE_PATH={ARCHIVE_URL!r}" not in settings:
                raise RuntimeError(f"the rendered settings do not point at {ARCHIVE_URL}")
            self.moto = MotoS3(self.workdir / f"{self.name}-moto.log")
            self.moto.start()
            self.proxy = FaultProxy(self.moto.endpoint)
            self.proxy.start()
            self.put_archive()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        if self.moto is not None:
            self.moto.stop()

    # -- S3 ------------------------------------------------------------------------------

    @property
    def s3(self) -> MotoS3:
        assert self.moto is not None, "the lab is not started"
        return self.moto

    @property
    def faults(self) -> FaultProxy:
        assert self.proxy is not None, "the lab is not started"
        return self.proxy

    @property
    def project(self) -> ProjectArchive:
        assert self.archive is not None, "the lab is not started"
        return self.archive

    def put_archive(self, data: bytes | None = None) -> None:
        """Upload ``data`` as the project archive (the good archive when None: ``zappa update``)."""
        self.s3.put(djangoapp.BUCKET, ARCHIVE_KEY, self.project.data if data is None else data)

    def delete_archive(self) -> None:
        self.s3.client().delete_object(Bucket=djangoapp.BUCKET, Key=ARCHIVE_KEY)

    def gets(self) -> list[Served]:
        """Every GET of the archive the proxy has seen so far."""
        return self.faults.served(ARCHIVE_PATH)

    # -- environments --------------------------------------------------------------------

    def emulator(self, env: Mapping[str, str] | None = None, **kwargs: Any) -> Emulator:
        """An emulator of the function whose environments reach S3 through the fault proxy."""
        assert self.task_root is not None, "the lab is not started"
        return djangoapp.emulator(self.task_root, {**(env or {}), "AWS_ENDPOINT_URL_S3": self.faults.endpoint},
                                  **kwargs)
