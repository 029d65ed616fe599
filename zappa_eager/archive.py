"""The slim_handler project archive: fetch from S3, unpack safely and atomically, retry.

Upstream unpacks straight into ``/tmp/PROJECT`` and reuses that folder whenever it
exists, so an init interrupted mid-unpack (INIT timeout, out of memory) leaves a
half-written tree that later inits import from. Here the archive is unpacked into a
sibling temporary folder, a completion marker is written last, and the folder is renamed
into place only when complete (``rename`` is atomic on one file system). Members that
would write outside the project folder are rejected before anything of them is written.
The unpacking itself (download, gunzip and writes overlapped) is ``zappa_eager.unpack``.

Runtime module: standard library plus boto3 (only when the archive is fetched).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from zappa_eager.unpack import ArchiveError, CorruptArchive, UnsafeArchiveMember, unpack

__all__ = [
    "ArchiveError",
    "ArchiveResult",
    "CorruptArchive",
    "UnsafeArchiveMember",
    "extract_safely",
    "install_project_archive",
    "parse_s3_url",
    "project_folder",
    "s3_opener",
]

MARKER_NAME = ".zappa-eager-archive.json"
PARTIAL_PREFIX = ".zappa-eager-partial-"

#: S3 error codes worth another attempt; anything else is reported at once.
TRANSIENT_S3_CODES = frozenset(
    {
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "Throttling",
        "ThrottlingException",
        "500",
        "502",
        "503",
        "504",
    }
)
MISSING_S3_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


@dataclass(frozen=True)
class ArchiveResult:
    path: str
    reused: bool
    members: int
    attempts: int


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` (what upstream writes as ARCHIVE_PATH) into bucket and key."""
    if not url.startswith("s3://"):
        raise ArchiveError(f"ARCHIVE_PATH {url!r} is not an s3:// URL")
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ArchiveError(f"ARCHIVE_PATH {url!r} must look like s3://bucket/key")
    return bucket, key


def extract_safely(stream: IO[bytes], destination: str, *, writers: int | None = None) -> int:
    """Unpack a gzipped tar stream into the empty folder ``destination``, checking each member first."""
    return unpack(stream, destination, writers=writers)


def _s3_error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_transient(exc: BaseException) -> bool:
    """Network hiccups and S3 throttling/5xx are retried; a missing or corrupt archive is not."""
    code = _s3_error_code(exc)
    if code is not None:
        return code in TRANSIENT_S3_CODES
    name = type(exc).__name__
    return name in {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "IncompleteReadError",
        "ResponseStreamingError",
        "ProtocolError",
        "ConnectionError",
        "ConnectionResetError",
    }


def _clean_leftovers(tmp_root: str, project_name: str) -> None:
    """Remove partial folders left by an interrupted init, and an unmarked project folder."""
    prefix = f"{PARTIAL_PREFIX}{project_name}-"
    for entry in os.listdir(tmp_root):
        if entry.startswith(prefix):
            shutil.rmtree(os.path.join(tmp_root, entry), ignore_errors=True)


def _read_marker(folder: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(folder, MARKER_NAME), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def project_folder(project_name: str, tmp_root: str | None = None) -> str:
    """Where upstream's slim handler keeps the project (``/tmp/PROJECT`` on Lambda).

    ``TMPDIR`` is honoured (Lambda leaves it unset) so tests and the emulator can give
    each environment its own temporary directory.
    """
    return os.path.join(tmp_root or tempfile.gettempdir(), project_name)


OpenArchive = Callable[[str, str], IO[bytes]]


def s3_opener(session: Any = None) -> OpenArchive:
    """Return a function that opens ``bucket/key`` as a streaming body."""

    def open_archive(bucket: str, key: str) -> IO[bytes]:
        if session is not None:
            client = session.client("s3")
        else:
            import boto3

            client = boto3.client("s3")
        body: IO[bytes] = client.get_object(Bucket=bucket, Key=key)["Body"]
        return body

    return open_archive


def install_project_archive(
    archive_url: str,
    project_name: str,
    *,
    tmp_root: str | None = None,
    open_archive: OpenArchive | None = None,
    attempts: int = 3,
    backoff_s: float = 0.2,
    writers: int | None = None,
) -> ArchiveResult:
    """Make ``/tmp/PROJECT`` hold the complete archive, or raise ``ArchiveError``.

    A complete folder from this environment's earlier init (same archive URL) is reused;
    anything else at that path is treated as incomplete and replaced. ``writers`` is the
    number of file-writing threads (``None``: ``zappa_eager.unpack.DEFAULT_WRITERS``).
    """
    bucket, key = parse_s3_url(archive_url)
    tmp_root = tmp_root or tempfile.gettempdir()
    destination = project_folder(project_name, tmp_root)
    marker = _read_marker(destination)
    if marker is not None and marker.get("source") == archive_url and marker.get("complete") is True:
        return ArchiveResult(destination, reused=True, members=int(marker.get("members", 0)), attempts=0)

    _clean_leftovers(tmp_root, project_name)
    if os.path.lexists(destination):
        # No marker: an interrupted or foreign unpack. Never import from it.
        if os.path.isdir(destination) and not os.path.islink(destination):
            shutil.rmtree(destination, ignore_errors=True)
        else:
            os.unlink(destination)

    opener = open_archive or s3_opener()
    last_error: BaseException | None = None
    for attempt in range(1, attempts + 1):
        partial = tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{project_name}-", dir=tmp_root)
        try:
            body = opener(bucket, key)
            try:
                members = extract_safely(body, partial, writers=writers)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
            with open(os.path.join(partial, MARKER_NAME), "w", encoding="utf-8") as handle:
                json.dump({"source": archive_url, "complete": True, "members": members}, handle)
            os.rename(partial, destination)
            return ArchiveResult(destination, reused=False, members=members, attempts=attempt)
        except UnsafeArchiveMember as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise UnsafeArchiveMember(f"refusing to unpack {archive_url}: {exc}") from exc
        except CorruptArchive as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise CorruptArchive(
                f"project archive {archive_url} is corrupt or truncated ({exc}); "
                "run `zappa update` to upload it again"
            ) from exc
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            if exc.errno == errno.ENOSPC:
                raise ArchiveError(
                    f"no space left in {tmp_root} while unpacking {archive_url}; "
                    "raise the function's ephemeral_storage"
                ) from exc
            if not is_transient(exc):
                raise ArchiveError(f"could not unpack {archive_url}: {exc}") from exc
            last_error = exc
        except Exception as exc:
            shutil.rmtree(partial, ignore_errors=True)
            code = _s3_error_code(exc)
            if code in MISSING_S3_CODES:
                raise ArchiveError(
                    f"project archive {archive_url} not found ({code}); deploy it with `zappa update`"
                ) from exc
            if not is_transient(exc):
                raise ArchiveError(f"could not fetch project archive {archive_url}: {exc}") from exc
            last_error = exc
        if attempt < attempts:
            time.sleep(backoff_s * (2 ** (attempt - 1)))
    raise ArchiveError(
        f"could not fetch project archive {archive_url} after {attempts} attempts: {last_error}"
    ) from last_error
