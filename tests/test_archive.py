"""slim_handler archive: fetched from S3 (moto), unpacked safely and atomically, retried."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from zappa_eager.archive import (
    MARKER_NAME,
    PARTIAL_PREFIX,
    ArchiveError,
    UnsafeArchiveMember,
    install_project_archive,
    s3_opener,
)

BUCKET = "zappa-eager-tests"
KEY = "dev_djsite_current_project.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"


def make_tarball(files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info)
    return buffer.getvalue()


def project_files(count: int = 50) -> dict[str, bytes]:
    files = {f"djsite/mod_{i}.py": f"VALUE = {i}\n".encode() for i in range(count)}
    files["djsite/__init__.py"] = b""
    return files


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    return root


def leftovers(tmp_root: Path) -> list[str]:
    return [p.name for p in tmp_root.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


def test_happy_path_unpacks_and_marks_complete(s3, tmp_root: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(project_files()))
    result = install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    folder = tmp_root / "djsite"
    assert result.path == str(folder) and not result.reused and result.attempts == 1
    assert result.members == 51
    assert (folder / "djsite" / "mod_7.py").read_text() == "VALUE = 7\n"
    assert (folder / MARKER_NAME).exists()
    assert leftovers(tmp_root) == []


def test_second_init_in_same_environment_reuses_complete_folder(s3, tmp_root: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(project_files()))
    install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    again = install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert again.reused and again.attempts == 0


def test_missing_archive_names_its_url(s3, tmp_root: Path) -> None:
    with pytest.raises(ArchiveError) as raised:
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert URL in str(raised.value) and "not found" in str(raised.value)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []


def test_truncated_archive_is_reported_as_corrupt_and_leaves_nothing(s3, tmp_root: Path) -> None:
    data = make_tarball(project_files(200))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=data[: len(data) // 2])
    with pytest.raises(ArchiveError) as raised:
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert URL in str(raised.value) and "corrupt or truncated" in str(raised.value)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []


def test_not_a_gzip_is_reported_as_corrupt(s3, tmp_root: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"this is not a tarball at all" * 10)
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    info.devmajor, info.devminor = 1, 3
    return info


@pytest.mark.parametrize(
    ("files", "extra", "reason"),
    [
        ({"../escaped.txt": b"x"}, [], "contains '..'"),
        ({"djsite/../../escaped.txt": b"x"}, [], "contains '..'"),
        ({"/tmp/escaped-absolute.txt": b"x"}, [], "absolute path"),
        ({}, [_symlink("djsite/evil", "../../outside")], "points outside"),
        ({}, [_symlink("djsite/evil", "/etc/passwd")], "points outside"),
        ({}, [_hardlink("djsite/evil", "../outside")], "points outside"),
        ({}, [_device("djsite/null")], "device"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-up", "symlink-absolute", "hardlink-up", "device"],
)
def test_unsafe_members_are_rejected_and_nothing_is_written_outside(
    s3, tmp_root: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo], reason: str
) -> None:
    content = {"djsite/__init__.py": b"", "djsite/ok.py": b"OK = 1\n", **files}
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(content, extra))
    before = sorted(p.name for p in tmp_root.parent.iterdir())
    with pytest.raises(UnsafeArchiveMember) as raised:
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert reason in str(raised.value) and URL in str(raised.value)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []
    assert sorted(p.name for p in tmp_root.parent.iterdir()) == before
    assert not Path("/tmp/escaped-absolute.txt").exists()


def test_symlinks_inside_the_project_are_allowed(s3, tmp_root: Path) -> None:
    content = {"djsite/lib.so.1": b"\x7fELF", "djsite/__init__.py": b""}
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(content, [_symlink("djsite/lib.so", "lib.so.1")]))
    install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert (tmp_root / "djsite" / "djsite" / "lib.so").read_bytes() == b"\x7fELF"


class FlakyOpener:
    """Raises the given S3 errors on the first calls, then serves the real object."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self, bucket: str, key: str) -> IO[bytes]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return s3_opener()(bucket, key)


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetObject")


def test_transient_errors_are_retried(s3, tmp_root: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(project_files()))
    opener = FlakyOpener([_client_error("SlowDown"), ConnectionResetError("reset by peer")])
    result = install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=opener, backoff_s=0)
    assert result.attempts == 3 and opener.calls == 3
    assert (tmp_root / "djsite" / MARKER_NAME).exists()


def test_retries_are_bounded(s3, tmp_root: Path) -> None:
    opener = FlakyOpener([_client_error("InternalError")] * 10)
    with pytest.raises(ArchiveError, match="after 3 attempts") as raised:
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=opener, backoff_s=0)
    assert opener.calls == 3 and URL in str(raised.value)
    assert leftovers(tmp_root) == []


def test_access_denied_is_not_retried(s3, tmp_root: Path) -> None:
    opener = FlakyOpener([_client_error("AccessDenied")])
    with pytest.raises(ArchiveError, match="AccessDenied"):
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=opener, backoff_s=0)
    assert opener.calls == 1


INTERRUPTED_INIT = r"""
import io, sys, tarfile
sys.path.insert(0, sys.argv[3])
from zappa_eager.archive import install_project_archive

data = open(sys.argv[1], "rb").read()

class Stalling(io.RawIOBase):
    '''Serves half the archive, then tells the test and blocks: the test kills us there.'''
    def __init__(self):
        self.pos = 0
    def readable(self):
        return True
    def readinto(self, buffer):
        if self.pos >= len(data) // 2:
            print("HALFWAY", flush=True)
            sys.stdin.readline()
        chunk = data[self.pos:self.pos + min(len(buffer), 4096)]
        buffer[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)

install_project_archive("s3://b/k.tar.gz", "djsite", tmp_root=sys.argv[2],
                        open_archive=lambda b, k: io.BufferedReader(Stalling()))
"""


def test_interrupted_unpack_is_never_used_and_next_init_retries_cleanly(s3, tmp_root: Path, tmp_path: Path) -> None:
    data = make_tarball(project_files(2000))
    archive_file = tmp_path / "archive.tar.gz"
    archive_file.write_bytes(data)
    repo = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_INIT, str(archive_file), str(tmp_root), repo],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "HALFWAY"
    proc.kill()  # INIT interrupted mid-unpack (timeout, OOM)
    proc.wait()
    partial = leftovers(tmp_root)
    assert len(partial) == 1 and any((tmp_root / partial[0]).rglob("*.py"))
    assert not (tmp_root / "djsite").exists()

    # Upstream's handler would also have left an unmarked /tmp/PROJECT: never trust it.
    (tmp_root / "djsite").mkdir()
    (tmp_root / "djsite" / "stale.py").write_text("STALE = True\n")

    s3.put_object(Bucket=BUCKET, Key="k.tar.gz", Body=data)
    result = install_project_archive(f"s3://{BUCKET}/k.tar.gz", "djsite", tmp_root=str(tmp_root),
                                     open_archive=s3_opener())
    assert not result.reused and result.members == 2001
    assert leftovers(tmp_root) == []
    assert not (tmp_root / "djsite" / "stale.py").exists()
    assert len(list((tmp_root / "djsite" / "djsite").glob("*.py"))) == 2001
    assert os.path.exists(tmp_root / "djsite" / MARKER_NAME)
