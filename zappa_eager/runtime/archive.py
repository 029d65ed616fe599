"""The slim_handler project archive: fetch from S3, unpack safely and atomically, retry.

Upstream unpacks straight into ``/tmp/PROJECT`` and reuses that folder whenever it
exists, so an init interrupted mid-unpack (INIT timeout, out of memory) leaves a
half-written tree that later inits import from. Here the archive is unpacked into a
sibling temporary folder, a completion marker is written last, and the folder is renamed
into place only when complete (``rename`` is atomic on one file system). Members that
would write outside the project folder are rejected before anything of them is written.
The unpacking itself (download, gunzip and writes overlapped) is ``zappa_eager.runtime.unpack``.

Every S3 read is bounded: the client connects within ``CONNECT_TIMEOUT_S`` and gives up on a
stream that sends nothing for ``READ_TIMEOUT_S``, and the SDK does not retry on its own; this
module's loop makes all ``attempts`` (with jittered backoff), so the worst case - S3 stalling
every attempt - ends INIT with an error naming the archive before Lambda's 10 s cut.

Runtime module: standard library plus boto3 (only when the archive is fetched).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, cast

from zappa_eager.runtime.contract import ArchiveStage
from zappa_eager.runtime.envlock import environment_lock
from zappa_eager.runtime.report import record_archive_stages
from zappa_eager.runtime.unpack import ArchiveError, CorruptArchive, StageClock, UnsafeArchiveMember, unpack

if TYPE_CHECKING:
    from boto3.session import Session

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
DENIED_S3_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "ExpiredToken",
                             "InvalidToken", "SignatureDoesNotMatch", "403", "Forbidden"})

#: Seconds to open the connection to S3, and the longest silence of a response before the
#: attempt is abandoned (S3's guidance for latency-sensitive GETs: retry one slower than ~2 s).
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class ArchiveResult:
    path: str
    reused: bool
    members: int
    attempts: int
    #: Each stage's busy time over all attempts (``download`` includes opening the S3 object); empty when reused.
    stages_ms: Mapping[ArchiveStage, float] = field(default_factory=dict)


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` (what upstream writes as ARCHIVE_PATH) into bucket and key."""
    if not url.startswith("s3://"):
        raise ArchiveError(f"ARCHIVE_PATH {url!r} is not an s3:// URL")
    bucket, _, key = url[len("s3://"):].partition("/")
    if not bucket or not key:
        raise ArchiveError(f"ARCHIVE_PATH {url!r} must look like s3://bucket/key")
    return bucket, key


def extract_safely(stream: IO[bytes], destination: str, *, writers: int | None = None,
                   clock: StageClock | None = None) -> int:
    """Unpack a gzipped tar stream into the empty folder ``destination``, checking each member first."""
    return unpack(stream, destination, writers=writers, clock=clock)


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
    """Remove partial folders left by an interrupted init (an unmarked project folder: ``_remove_unmarked``).

    Called only under the environment's lock, so no partial folder here is another process's work in progress.
    """
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


def s3_opener(session: Session | None = None, *, connect_timeout_s: float = CONNECT_TIMEOUT_S,
              read_timeout_s: float = READ_TIMEOUT_S) -> OpenArchive:
    """Return a function that opens ``bucket/key`` as a streaming body, with bounded waits and no SDK retries."""

    def open_archive(bucket: str, key: str) -> IO[bytes]:
        from botocore.config import Config

        config = Config(connect_timeout=connect_timeout_s, read_timeout=read_timeout_s,
                        retries={"mode": "standard", "total_max_attempts": 1})
        if session is not None:
            client = session.client("s3", config=config)
        else:
            import boto3

            client = boto3.client("s3", config=config)
        # A botocore StreamingBody: read() and close() are all the unpacker calls.
        return cast("IO[bytes]", client.get_object(Bucket=bucket, Key=key)["Body"])

    return open_archive


def _log(message: str) -> None:
    print(f"[zappa-eager] {message}", flush=True)


def _no_space(tmp_root: str, archive_url: str) -> ArchiveError:
    try:
        size = f" ({shutil.disk_usage(tmp_root).total / 1e6:.0f} MB)"
    except OSError:
        size = ""
    return ArchiveError(
        f"no space left in {tmp_root}{size} while unpacking {archive_url}; raise the function's ephemeral "
        'storage (zappa_settings: "ephemeral_storage": {"Size": MB}, 512-10240) or make the archive smaller'
    )


@dataclass(frozen=True)
class _Target:
    """What an install is about: the archive and where it goes."""

    url: str
    bucket: str
    key: str
    project_name: str
    tmp_root: str

    @property
    def destination(self) -> str:
        return project_folder(self.project_name, self.tmp_root)


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
    number of file-writing threads (``None``: ``zappa_eager.runtime.unpack.DEFAULT_WRITERS``).
    Transient S3 and network errors get another attempt (``attempts`` in all, jittered
    exponential backoff from ``backoff_s``); anything else is raised at once.
    """
    bucket, key = parse_s3_url(archive_url)
    target = _Target(archive_url, bucket, key, project_name, tmp_root or tempfile.gettempdir())
    destination = target.destination
    reused = _reuse_complete(destination, archive_url)
    if reused is not None:
        return reused
    # Once per environment: on Lambda Managed Instances several processes INIT at once and share /tmp.
    # The first one fetches under the lock; the others wait for it, then find the complete folder.
    with environment_lock(target.tmp_root, project_name) as held:
        # Again under the lock: another process may have finished between the look above and the lock.
        reused = _reuse_complete(destination, archive_url)
        if reused is not None:
            if held.contended:
                _log(f"archive {archive_url}: waited {held.waited_ms:.0f} ms for another process's unpack")
            return reused
        return _install_locked(target, open_archive, attempts, backoff_s, writers)


def _install_locked(target: _Target, open_archive: OpenArchive | None, attempts: int, backoff_s: float,
                    writers: int | None) -> ArchiveResult:
    """The install proper, under the environment's lock: nobody else writes the project or a partial folder."""
    project_name, destination = target.project_name, target.destination
    _clean_leftovers(target.tmp_root, project_name)
    _remove_unmarked(destination)

    opener = open_archive or s3_opener()
    clock = StageClock()
    try:
        return _attempts(target, opener, attempts, backoff_s, writers, clock)
    finally:
        record_archive_stages(clock.ms())  # into the init report, failed attempts included


def _attempts(target: _Target, opener: OpenArchive, attempts: int, backoff_s: float, writers: int | None,
              clock: StageClock) -> ArchiveResult:
    """Up to ``attempts`` installs, with backoff between them; the first fatal error ends them."""
    archive_url, destination = target.url, target.destination
    last_error: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            members = _install_once(target, opener, writers, clock)
        except Exception as exc:
            fatal = _fatal_error(exc, target)
            if fatal is not None:
                raise fatal from exc
            last_error = exc
        else:
            return ArchiveResult(destination, reused=False, members=members, attempts=attempt,
                                 stages_ms=clock.ms())
        if attempt < attempts:
            delay = backoff_s * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # jitter: bursts spread out
            _log(f"archive {archive_url}: attempt {attempt} of {attempts} failed "
                 f"({type(last_error).__name__}: {last_error}); retrying in {delay:.2f} s")
            time.sleep(delay)
    raise ArchiveError(
        f"could not fetch project archive {archive_url} after {attempts} attempts "
        f"({type(last_error).__name__}: {last_error}); S3 or the network path to it kept failing: check S3's "
        "health and, in a VPC, the function's route to S3 (an S3 gateway endpoint or a NAT)"
    ) from last_error


def _reuse_complete(destination: str, archive_url: str) -> ArchiveResult | None:
    """The complete unpack of this archive an earlier INIT of this environment left (Lambda cut that INIT later)."""
    marker = _read_marker(destination)
    if marker is None or marker.get("source") != archive_url or marker.get("complete") is not True:
        return None
    _log(f"archive {archive_url}: reusing the complete unpack in {destination} from an earlier INIT")
    return ArchiveResult(destination, reused=True, members=int(marker.get("members", 0)), attempts=0)


def _remove_unmarked(destination: str) -> None:
    """No marker: an interrupted or foreign unpack is at ``destination``. Never import from it."""
    if not os.path.lexists(destination):
        return
    if os.path.isdir(destination) and not os.path.islink(destination):
        shutil.rmtree(destination, ignore_errors=True)
    else:
        os.unlink(destination)


def _install_once(target: _Target, opener: OpenArchive, writers: int | None, clock: StageClock) -> int:
    """One attempt: unpack into a fresh sibling folder, write the marker last, rename it into place atomically.

    The one cleanup path: whatever stops the attempt (unsafe member, corrupt or dropped stream,
    full disk), the partial folder is removed unless it became ``/tmp/PROJECT``; ``unpack`` has
    stopped every writer thread before it raises, so nothing writes into it any more.
    """
    partial = tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{target.project_name}-", dir=target.tmp_root)
    installed = False
    try:
        started = time.perf_counter()
        try:
            body = opener(target.bucket, target.key)  # the request and the response's headers: ``download``
        finally:
            clock.add("download", time.perf_counter() - started)
        try:
            members = extract_safely(body, partial, writers=writers, clock=clock)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        with open(os.path.join(partial, MARKER_NAME), "w", encoding="utf-8") as handle:
            json.dump({"source": target.url, "complete": True, "members": members}, handle)
        os.rename(partial, target.destination)
        installed = True
        return members
    finally:
        if not installed:
            shutil.rmtree(partial, ignore_errors=True)


def _fatal_error(exc: Exception, target: _Target) -> ArchiveError | None:
    """The error that ends the install for a failed attempt, or None when another attempt is worth it."""
    archive_url, tmp_root = target.url, target.tmp_root
    if isinstance(exc, UnsafeArchiveMember):
        return UnsafeArchiveMember(f"refusing to unpack {archive_url}: {exc}")
    if isinstance(exc, CorruptArchive):
        return CorruptArchive(f"project archive {archive_url} is corrupt or truncated ({exc}); "
                              "run `zappa update` to upload it again")
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return _no_space(tmp_root, archive_url)
        if not is_transient(exc):
            return ArchiveError(f"could not unpack {archive_url} into {tmp_root}: {exc}; "
                                f"check that {tmp_root} is writable")
        return None
    code = _s3_error_code(exc)
    if code in MISSING_S3_CODES:
        return ArchiveError(f"project archive {archive_url} not found ({code}); deploy it with `zappa update`")
    if code in DENIED_S3_CODES:
        return ArchiveError(
            f"access to project archive {archive_url} denied ({code}); give the function's role "
            f"s3:GetObject on arn:aws:s3:::{target.bucket}/{target.key} (without s3:ListBucket S3 answers "
            "AccessDenied for a missing key too: check the archive exists, `zappa update` uploads it)"
        )
    if not is_transient(exc):
        return ArchiveError(f"could not fetch project archive {archive_url}: {exc}; "
                            "check the bucket, the key and the function's role")
    return None
