"""slim_handler archive: fetched from S3 (moto), unpacked safely, atomically and pipelined, retried."""

from __future__ import annotations

import gzip
import io
import os
import random
import stat
import subprocess
import sys
import tarfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from zappa_eager.runtime.archive import (
    MARKER_NAME,
    PARTIAL_PREFIX,
    ArchiveError,
    CorruptArchive,
    UnsafeArchiveMember,
    install_project_archive,
    s3_opener,
)
from zappa_eager.runtime.unpack import unpack

BUCKET = "zappa-eager-tests"
KEY = "dev_djsite_current_project.tar.gz"
URL = f"s3://{BUCKET}/{KEY}"
REPO = Path(__file__).resolve().parents[2]


def make_tarball(
    files: dict[str, bytes],
    extra: list[tarfile.TarInfo] | None = None,
    *,
    fmt: int = tarfile.PAX_FORMAT,
    modes: dict[str, int] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=fmt) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = (modes or {}).get(name, 0o644)
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info)
    return buffer.getvalue()


def project_files(count: int = 50) -> dict[str, bytes]:
    files = {f"djsite/mod_{i}.py": f"VALUE = {i}\n".encode() for i in range(count)}
    files["djsite/__init__.py"] = b""
    return files


def snapshot(folder: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``folder`` with its kind and content (our completion marker left out)."""
    found: dict[str, tuple[object, ...]] = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if rel == MARKER_NAME:
                continue
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir",)
            else:
                found[rel] = ("file", path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
    return found


def tarfile_reference(data: bytes, folder: Path) -> dict[str, tuple[object, ...]]:
    """What tarfile's own extraction makes of the same archive."""
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        if hasattr(tarfile, "fully_trusted_filter"):
            archive.extractall(folder, filter="fully_trusted")
        else:
            archive.extractall(folder)
    return snapshot(folder)


def unpack_bytes(data: bytes, folder: Path, **kwargs: object) -> int:
    folder.mkdir()
    return unpack(io.BytesIO(data), str(folder), **kwargs)  # type: ignore[arg-type]


def install_from_bytes(data: bytes, tmp_root: Path, **kwargs: object) -> object:
    return install_project_archive(URL, "djsite", tmp_root=str(tmp_root),
                                   open_archive=lambda bucket, key: io.BytesIO(data), **kwargs)  # type: ignore[arg-type]


def unpack_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("zappa-eager-unpack-writer")]


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


def _mixed_archive() -> bytes:
    """Compressible and incompressible files, so cuts land in headers, data and padding alike."""
    rng = random.Random(9)
    files = {f"djsite/pkg{i % 7}/mod_{i}.py": f"VALUE = {i}\n".encode() * rng.randint(0, 400) for i in range(300)}
    files["djsite/blob.bin"] = rng.randbytes(300_000)
    return make_tarball(files)


@pytest.mark.parametrize("cut", ["1", "9", "header+5", "10%", "33%", "50%", "75%", "99%", "end-8", "end-4", "end-1"])
def test_a_stream_cut_anywhere_raises_and_leaves_nothing(tmp_root: Path, cut: str) -> None:
    data = _mixed_archive()
    if cut.endswith("%"):
        keep = len(data) * int(cut[:-1]) // 100
    elif cut.startswith("end-"):
        keep = len(data) - int(cut[4:])
    elif cut.startswith("header+"):
        keep = 10 + int(cut[7:])
    else:
        keep = int(cut)
    with pytest.raises(ArchiveError) as raised:
        install_from_bytes(data[:keep], tmp_root)
    assert URL in str(raised.value) and "corrupt or truncated" in str(raised.value)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []
    assert unpack_threads() == []


@pytest.mark.parametrize(
    ("where", "expected"),
    [(-8, "incorrect data check"), (-5, "incorrect data check"), (-4, "incorrect length check")],
    ids=["crc32-first-byte", "crc32-last-byte", "isize"],
)
def test_a_corrupt_gzip_trailer_is_detected(tmp_root: Path, where: int, expected: str) -> None:
    data = bytearray(_mixed_archive())
    data[where] ^= 0x01
    with pytest.raises(ArchiveError) as raised:
        install_from_bytes(bytes(data), tmp_root)
    assert expected in str(raised.value) and URL in str(raised.value)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []


def test_corrupt_deflate_data_is_detected(tmp_root: Path) -> None:
    data = bytearray(_mixed_archive())
    for offset in range(len(data) // 3, len(data) // 3 + 64):
        data[offset] ^= 0x5A
    with pytest.raises(ArchiveError, match="corrupt or truncated"):
        install_from_bytes(bytes(data), tmp_root)
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []


def test_a_tar_header_with_a_bad_checksum_is_corrupt(tmp_path: Path) -> None:
    raw = bytearray(zlib.decompress(make_tarball(project_files(3)), 16 + zlib.MAX_WBITS))
    raw[5] ^= 0x20  # a byte of the first member's name: its header checksum no longer matches
    with pytest.raises(CorruptArchive, match="checksum"):
        unpack_bytes(gzip.compress(bytes(raw)), tmp_path / "out")


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


def _device(name: str, kind: bytes = tarfile.CHRTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    return info


def _file(name: str, data: bytes = b"x") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = len(data)
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
        ({}, [_device("djsite/pipe", tarfile.FIFOTYPE)], "FIFO"),
        # each link resolves inside on its own; together they would reach the folder's parent
        ({}, [_symlink("djsite/up", ".."), _symlink("djsite/up/up2", "..")], "is a symlink"),
        ({}, [_symlink("djsite/up", ".."), _symlink("djsite/up/up2", ".."), _file("djsite/up/up2/escaped.txt")],
         "is a symlink"),
        ({}, [_symlink("djsite/lib", "."), _file("djsite/lib/x.py")], "is a symlink"),
        ({}, [_hardlink("djsite/copy", "djsite/never-seen.py")], "earlier file"),
        ({"djsite/ok.py": b"again"}, [], "appears twice"),
        ({"djsite/ok.py/inner.py": b"x"}, [], "is a file"),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-up", "symlink-absolute", "hardlink-up", "device", "fifo",
         "symlink-chain", "write-through-symlink-chain", "write-through-symlink", "hardlink-to-nothing",
         "duplicate", "file-as-folder"],
)
def test_unsafe_members_are_rejected_and_nothing_is_written_outside(
    s3, tmp_root: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo], reason: str
) -> None:
    content = {"djsite/__init__.py": b"", "djsite/ok.py": b"OK = 1\n"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in [*content.items(), *files.items()]:
            archive.addfile(_file(name, data), io.BytesIO(data))
        for info in extra:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=buffer.getvalue())
    before = sorted(p.name for p in tmp_root.parent.iterdir())
    with pytest.raises(UnsafeArchiveMember) as raised:
        install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert reason in str(raised.value) and URL in str(raised.value)
    assert list(tmp_root.iterdir()) == []  # no project folder, no partial one, nothing escaped next to them
    assert sorted(p.name for p in tmp_root.parent.iterdir()) == before
    assert not Path("/tmp/escaped-absolute.txt").exists()


def test_an_unsupported_member_type_is_refused(tmp_path: Path) -> None:
    sparse = tarfile.TarInfo("djsite/sparse.bin")
    sparse.type = tarfile.GNUTYPE_SPARSE
    with pytest.raises(UnsafeArchiveMember, match="not supported"):
        unpack_bytes(make_tarball({"djsite/a.py": b"A"}, [sparse], fmt=tarfile.GNU_FORMAT), tmp_path / "out")


def test_symlinks_inside_the_project_are_allowed(s3, tmp_root: Path) -> None:
    content = {"djsite/lib.so.1": b"\x7fELF", "djsite/__init__.py": b""}
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=make_tarball(content, [_symlink("djsite/lib.so", "lib.so.1")]))
    install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=s3_opener())
    assert (tmp_root / "djsite" / "djsite" / "lib.so").read_bytes() == b"\x7fELF"


def test_hard_links_to_earlier_files_share_their_bytes(tmp_path: Path) -> None:
    files = {f"djsite/m{i}.py": f"M = {i}\n".encode() for i in range(200)}
    data = make_tarball(files, [_hardlink("other/alias.py", "djsite/m150.py")])
    assert unpack_bytes(data, tmp_path / "out") == 201
    alias, original = tmp_path / "out" / "other" / "alias.py", tmp_path / "out" / "djsite" / "m150.py"
    assert alias.read_bytes() == b"M = 150\n" and os.path.samefile(alias, original)


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


class ResetMidway:
    """A body whose connection resets after ``limit`` bytes, as a dropped S3 download does."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.pos = data, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self.pos >= self.limit:
            raise ConnectionResetError("connection reset by peer")
        chunk = self.data[self.pos:min(self.pos + size, self.limit)]
        self.pos += len(chunk)
        return chunk


def test_a_download_dropped_midway_is_retried_from_scratch(s3, tmp_root: Path) -> None:
    data = make_tarball(project_files(2000))
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=data)
    calls: list[int] = []

    def opener(bucket: str, key: str) -> IO[bytes]:
        calls.append(1)
        if len(calls) == 1:
            return cast(IO[bytes], ResetMidway(data, len(data) // 2))
        return s3_opener()(bucket, key)

    result = install_project_archive(URL, "djsite", tmp_root=str(tmp_root), open_archive=opener, backoff_s=0)
    assert result.attempts == 2 and result.members == 2001 and leftovers(tmp_root) == []
    assert len(list((tmp_root / "djsite" / "djsite").glob("*.py"))) == 2001


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


def test_a_failing_writer_thread_stops_the_unpack_and_every_writer(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "djsite").mkdir(parents=True)
    (out / "djsite" / "mod_1500.py").write_text("already here\n")  # the writer's O_EXCL open fails on it
    with pytest.raises(FileExistsError) as raised:
        unpack(io.BytesIO(make_tarball(project_files(3000))), str(out), writers=2)
    assert raised.value.filename.endswith("mod_1500.py")
    assert unpack_threads() == []
    assert (out / "djsite" / "mod_1500.py").read_text() == "already here\n"


WRITER_FAILURE = r"""
import resource, signal, sys
sys.path.insert(0, sys.argv[3])
from zappa_eager.runtime.archive import ArchiveError, install_project_archive

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a file past RLIMIT_FSIZE fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
try:
    install_project_archive("s3://b/k.tar.gz", "djsite", tmp_root=sys.argv[2], writers=2,
                            open_archive=lambda b, k: open(sys.argv[1], "rb"))
except ArchiveError as exc:
    print(exc)
"""


def test_a_write_failure_in_a_writer_thread_leaves_nothing_partial(tmp_root: Path, tmp_path: Path) -> None:
    files = project_files(1500)
    files["djsite/data/too_big.json"] = b"[" + b"1," * 100_000 + b"1]"  # 200 KB: a writer's job, past the limit
    archive_file = tmp_path / "archive.tar.gz"
    archive_file.write_bytes(make_tarball(files))
    proc = subprocess.run([sys.executable, "-c", WRITER_FAILURE, str(archive_file), str(tmp_root), str(REPO)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "could not unpack s3://b/k.tar.gz" in proc.stdout and "File too large" in proc.stdout
    assert not (tmp_root / "djsite").exists() and leftovers(tmp_root) == []


def test_the_exec_bit_is_kept_and_nothing_else_is_needed(tmp_path: Path) -> None:
    files = {"bin/tool": b"#!/bin/sh\necho hi\n", "pkg/mod.py": b"X = 1\n", "pkg/lib.so": b"\x7fELF"}
    data = make_tarball(files, modes={"bin/tool": 0o755, "pkg/mod.py": 0o644, "pkg/lib.so": 0o775})
    unpack_bytes(data, tmp_path / "out")
    modes = {name: os.stat(tmp_path / "out" / name).st_mode for name in files}
    assert modes["bin/tool"] & 0o111 and modes["pkg/lib.so"] & 0o111
    assert not modes["pkg/mod.py"] & 0o111
    assert all(mode & stat.S_IRUSR for mode in modes.values())


def test_empty_files_and_empty_folders(tmp_path: Path) -> None:
    files = {f"pkg{i}/sub/__init__.py": b"" for i in range(40)} | {"pkg0/data.txt": b"data"}
    folder = tarfile.TarInfo("static/empty")
    folder.type = tarfile.DIRTYPE
    data = make_tarball(files, [folder])
    unpack_bytes(data, tmp_path / "out")
    assert snapshot(tmp_path / "out") == tarfile_reference(data, tmp_path / "ref")
    assert (tmp_path / "out" / "pkg39" / "sub" / "__init__.py").stat().st_size == 0
    assert (tmp_path / "out" / "static" / "empty").is_dir()


def test_large_files_spanning_many_chunks(tmp_path: Path) -> None:
    rng = random.Random(3)
    files = {
        "big/random.bin": rng.randbytes(5 * 1024 * 1024 + 123),  # streamed piece by piece
        "big/text.txt": b"line of text\n" * 200_000,  # 2.6 MB that inflates from a few KB
        "big/medium.bin": rng.randbytes(900_000),  # a writer's job that spans inflated pieces
    } | {f"small/{i}.py": f"S = {i}\n".encode() for i in range(100)}
    data = make_tarball(files)
    unpack_bytes(data, tmp_path / "out", read_size=4096)
    got = snapshot(tmp_path / "out")
    for name, content in files.items():
        assert got[name][1] == content, name


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT],
                         ids=["pax", "gnu", "ustar"])
def test_deep_folder_trees_and_long_names(tmp_path: Path, fmt: int) -> None:
    depth = 19 if fmt == tarfile.USTAR_FORMAT else 80  # ustar: a 155-character prefix + a 100-character name
    parts = [f"level{i:02d}" for i in range(depth)]
    files = {"/".join(parts[:n] + [f"f{n}.py"]): f"N = {n}\n".encode() for n in range(0, depth, 7)}
    files["/".join(parts) + "/" + "long_module_name_" * 4 + ".py"] = b"LONG = 1\n"
    data = make_tarball(files, fmt=fmt)
    unpack_bytes(data, tmp_path / "out")
    assert snapshot(tmp_path / "out") == tarfile_reference(data, tmp_path / "ref")


def test_more_than_ten_thousand_small_files_match_tarfile(tmp_path: Path) -> None:
    rng = random.Random(10_000)
    files: dict[str, bytes] = {}
    for index in range(10_500):
        folder = f"site/pkg{index % 37}/sub{index % 11}"
        files[f"{folder}/m{index}.py"] = rng.randbytes(rng.randint(0, 40)) + b"X = 1\n" * rng.randint(0, 300)
    modes = {name: 0o755 for name in list(files)[::9]}
    extra = [_symlink("site/pkg0/alias.py", "sub0/m0.py"), _hardlink("site/hard.py", "site/pkg1/sub1/m1.py")]
    data = make_tarball(files, extra, modes=modes)
    assert unpack_bytes(data, tmp_path / "out") == 10_502
    assert snapshot(tmp_path / "out") == tarfile_reference(data, tmp_path / "ref")


def test_a_multi_member_gzip_with_padding_unpacks(tmp_path: Path) -> None:
    raw = zlib.decompress(make_tarball(project_files(100)), 16 + zlib.MAX_WBITS)
    third = len(raw) // 3
    data = gzip.compress(raw[:third]) + gzip.compress(raw[third:]) + b"\x00" * 100
    assert unpack_bytes(data, tmp_path / "out") == 101
    with pytest.raises(CorruptArchive):
        unpack_bytes(gzip.compress(raw) + b"trailing garbage", tmp_path / "out2")


def test_an_archive_from_upstreams_packager_unpacks_as_tarfile_does(tmp_path: Path, monkeypatch) -> None:
    from zappa.core import Zappa

    site_packages = tmp_path / "venv" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = site_packages / "site-packages"
    for index in range(30):
        module = site_packages / f"dep{index % 3}" / f"mod{index}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"VALUE = {index}\n")
    (site_packages / "dep0" / "data").mkdir()
    (site_packages / "dep0" / "data" / "table.json").write_text('{"a": 1}')
    project = tmp_path / "project"
    (project / "shop").mkdir(parents=True)
    (project / "shop" / "views.py").write_text("def index(): return 'hi'\n")
    (project / "manage.py").write_text("print('manage')\n")
    monkeypatch.chdir(project)
    name = Zappa(load_credentials=False).create_lambda_zip(
        prefix="shop", use_precompiled_packages=False, venv=tmp_path / "venv", output="project.tar.gz",
        disable_progress=True, archive_format="tarball",
    )
    data = (project / name).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data)) as listing:
        assert "shop/views.py" in listing.getnames() and "dep0/data/table.json" in listing.getnames()
    unpack_bytes(data, tmp_path / "out")
    assert snapshot(tmp_path / "out") == tarfile_reference(data, tmp_path / "ref")


INTERRUPTED_INIT = r"""
import sys, threading
sys.path.insert(0, sys.argv[3])
from zappa_eager.runtime.archive import PARTIAL_PREFIX, install_project_archive

opened = 0
lock = threading.Lock()


def stall_halfway(event, args):
    # Once 1000 project files are being created, tell the test and block: the test kills us there.
    global opened
    if event == "open" and isinstance(args[0], str) and PARTIAL_PREFIX in args[0] and args[0].endswith(".py"):
        with lock:
            opened += 1
            count = opened
        if count == 1000:
            print("HALFWAY", flush=True)
        if count >= 1000:
            sys.stdin.readline()


sys.addaudithook(stall_halfway)
install_project_archive("s3://b/k.tar.gz", "djsite", tmp_root=sys.argv[2],
                        open_archive=lambda b, k: open(sys.argv[1], "rb"))
"""


def test_interrupted_unpack_is_never_used_and_next_init_retries_cleanly(s3, tmp_root: Path, tmp_path: Path) -> None:
    data = make_tarball(project_files(2000))
    archive_file = tmp_path / "archive.tar.gz"
    archive_file.write_bytes(data)
    proc = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_INIT, str(archive_file), str(tmp_root), str(REPO)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "HALFWAY"
    proc.kill()  # INIT interrupted mid-unpack (timeout, OOM)
    proc.wait()
    partial = leftovers(tmp_root)
    assert len(partial) == 1 and len(list((tmp_root / partial[0]).rglob("*.py"))) > 900  # half of the project
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


def test_compare_unpack_measures_both_sides_on_one_archive(tmp_path: Path) -> None:
    from zappa_eager.bench.unpack import compare_unpack, format_result

    archive = tmp_path / "small.tar.gz"
    files = project_files(30) | {"djsite/static/app.js": b"console.log(1);\n" * 100}
    archive.write_bytes(make_tarball(files))
    result = compare_unpack(archive, runs=2, project_name="shop", workdir=tmp_path)
    assert result["files"] == 32 and result["runs"] == 2
    assert result["archive_bytes"] == archive.stat().st_size
    assert result["unpacked_bytes"] == sum(len(data) for data in files.values())
    assert len(result["upstream_ms"]) == len(result["eager_ms"]) == 2
    assert all(ms > 0 for ms in result["upstream_ms"] + result["eager_ms"])
    assert result["speedup"] == result["upstream_median_ms"] / result["eager_median_ms"]
    assert result["file_create_us"] > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("zappa-eager-unpack-")] == []
    assert "speedup" in format_result(archive, result)
    # zappa-eager's side carries the init report's split, run by run
    assert set(result["eager_stage_medians_ms"]) == {"download", "inflate", "write"}
    assert all(len(runs) == 2 and all(ms > 0 for ms in runs) for runs in result["eager_stages_ms"].values())
    assert all(f"  {stage} " in format_result(archive, result) for stage in ("download", "inflate", "write"))
