"""A pipelined, checked tar.gz unpacker for the slim_handler project archive.

tarfile's per-member extract (mkdir, open, write, chown, chmod, utime for every file),
with download, gunzip and writes one after another, is most of a slim INIT. Here a
reader thread pulls large chunks from the S3 body, an inflater thread gunzips them
(zlib releases the GIL), the calling thread parses the tar headers and checks every
member before anything of it is written, and two writer threads create the files with
``open(O_CREAT | O_EXCL, mode) + write + close``: no chown, no utime, no chmod (the mode,
exec bit or not, goes with the open), each folder made once, by the first file that
needs it. The writers pay off where creating a file is slow; where it is fast, the
unpack is bound by zlib's inflate and they cost little.

The gzip trailer (CRC32 and length) is verified by zlib before success is reported, so a
cut or corrupted stream always raises. Runtime module: standard library only.

The stages live in three modules: ``zappa_eager.runtime.gzstream`` (reader and inflater threads, the
inflated stream), ``zappa_eager.runtime.tarformat`` (headers, checks, errors) and this one (the
writers, the member bookkeeping, ``unpack``).
"""

from __future__ import annotations

import os
import posixpath
import threading
from typing import IO

from zappa_eager.runtime.gzstream import (
    END,
    INFLATE_MAX,
    Channel,
    Failure,
    InflatedStream,
    inflate,
    read_body,
    write_all,
)
from zappa_eager.runtime.tarformat import (
    BLOCK,
    EXTENDED_MAX,
    ArchiveError,
    CorruptArchive,
    Data,
    UnsafeArchiveMember,
    check_link,
    check_name,
    read_members,
)

__all__ = [
    "BATCH_BYTES",
    "BATCH_FILES",
    "DEFAULT_WRITERS",
    "EXTENDED_MAX",
    "INFLATE_MAX",
    "QUEUE_DEPTH",
    "READ_SIZE",
    "STREAM_MIN",
    "ArchiveError",
    "CorruptArchive",
    "UnsafeArchiveMember",
    "check_link",
    "check_name",
    "unpack",
]

# Pieces of 256 KiB (READ_SIZE here, INFLATE_MAX in gzstream): large enough that hand-offs are rare,
# small enough that malloc reuses them (1 MiB pieces cost ~10,000 page faults per 100 MB, a few % of the unpack).
READ_SIZE = 1 << 18  # bytes per read from the S3 body
BATCH_BYTES = 1 << 19  # a writer gets files in batches of about this many bytes ...
BATCH_FILES = 64  # ... or this many files, so hand-offs stay rare
STREAM_MIN = 1 << 20  # files this large are written by the parsing thread, piece by piece
QUEUE_DEPTH = 16  # pieces or batches in flight between two stages: ~20 MiB at most, fine for 128 MB functions
DEFAULT_WRITERS = 2

_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create(path: str, mode: int) -> int:
    """Open a new file; its folder is made on first need (the parser has checked the path lexically)."""
    try:
        return os.open(path, _OPEN_FLAGS, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, _OPEN_FLAGS, mode)


def _write_file(path: str, mode: int, data: Data) -> None:
    fd = _create(path, mode)
    try:
        if data:
            write_all(fd, data)
    finally:
        os.close(fd)


Job = tuple[str, int, Data]


def _write_batches(jobs: Channel[list[Job]], errors: list[BaseException]) -> None:
    """Writer thread: create the files of each batch; the first failure stops every writer."""
    while True:
        batch = jobs.get()
        if batch is END:
            return
        try:
            for path, mode, data in batch:
                _write_file(path, mode, data)
        except BaseException as exc:
            errors.append(exc)
            jobs.abort()
            return


class _Unpacker:
    """The sink of ``read_members``: checks and creates each member; writers get regular files in batches."""

    def __init__(self, destination: str, writers: int, stream: InflatedStream) -> None:
        self.dest = os.path.abspath(destination)
        self.stream = stream
        self.kinds: dict[str, str] = {}  # member path -> "d" (folder), "f" (file), "l" (symlink)
        self.writers = writers
        self.errors: list[BaseException] = []
        self.jobs: Channel[list[Job]] = Channel(QUEUE_DEPTH)
        self.threads: list[threading.Thread] = []
        self.batch: list[Job] = []
        self.batch_bytes = 0
        self.folders: list[str] = []  # folder members: made at the end if no file went into them

    # -- writers -------------------------------------------------------------------------
    def start(self) -> None:
        for index in range(self.writers):
            thread = threading.Thread(
                target=_write_batches, args=(self.jobs, self.errors), name=f"zappa-eager-unpack-writer-{index}",
                daemon=True,
            )
            thread.start()
            self.threads.append(thread)

    def submit(self, path: str, mode: int, data: Data, size: int) -> None:
        if not self.threads:
            _write_file(path, mode, data)
            return
        self.batch.append((path, mode, data))
        self.batch_bytes += size
        if self.batch_bytes >= BATCH_BYTES or len(self.batch) >= BATCH_FILES:
            self.flush()

    def flush(self) -> None:
        if self.errors:
            raise self.errors[0]
        if self.batch:
            batch, self.batch, self.batch_bytes = self.batch, [], 0
            if not self.jobs.put(batch):
                raise self.errors[0] if self.errors else CorruptArchive("the writers stopped")

    def _drain(self) -> None:
        """Hand over the last batch, let the writers finish everything, and raise what they hit."""
        self.flush()
        self.jobs.finish()
        self.join()
        if self.errors:
            raise self.errors[0]

    def settle(self) -> None:
        """Wait until every submitted file is written (before a hard link needs its target)."""
        self._drain()
        self.jobs = Channel(QUEUE_DEPTH)
        self.threads = []
        self.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def finish(self) -> None:
        self._drain()
        for rel in self.folders:
            os.makedirs(self._path(rel), exist_ok=True)

    def abort(self) -> None:
        self.jobs.abort()
        self.join()

    # -- members -------------------------------------------------------------------------
    def _path(self, name: str) -> str:
        return f"{self.dest}/{name}"

    def _folder(self, rel: str, member: str) -> None:
        """Claim ``rel`` and its parents as folders: never a symlink or a file of the archive.

        Only the bookkeeping: a folder is made on disk by whichever thread first writes into it.
        """
        kind = self.kinds.get(rel)
        if kind == "d":
            return
        if kind is not None:
            what = "a symlink" if kind == "l" else "a file"
            raise UnsafeArchiveMember(f"member {member!r} needs {rel!r} as a folder, but it is {what} in the archive")
        head = rel.rpartition("/")[0]
        if head:
            self._folder(head, member)
        self.kinds[rel] = "d"

    def _claim(self, name: str, kind: str) -> str:
        """Check a member name, create its parent folders, and reserve its path."""
        check_name(name)
        rel = posixpath.normpath(name)
        if rel == "." and kind == "d":
            return rel
        if rel == ".":
            raise UnsafeArchiveMember(f"member {name!r} names the project folder itself")
        if rel in self.kinds:
            if kind == "d" and self.kinds[rel] == "d":
                return rel
            raise UnsafeArchiveMember(f"member {name!r} appears twice in the archive (or clashes with a folder)")
        head = rel.rpartition("/")[0]
        if head:
            self._folder(head, name)
        if kind != "d":
            self.kinds[rel] = kind
        return rel

    def directory(self, name: str) -> None:
        rel = self._claim(name, "d")
        if rel != ".":
            self._folder(rel, name)
            self.folders.append(rel)

    def regular(self, name: str, mode: int, size: int) -> None:
        stream = self.stream
        rel = self._claim(name, "f")
        path = self._path(rel)
        file_mode = 0o755 if mode & 0o111 else 0o644
        if size >= STREAM_MIN:
            fd = _create(path, file_mode)
            try:
                stream.stream_to(fd, size)
            finally:
                os.close(fd)
        else:
            data = stream.take(size) if size else b""
            if data is None:
                raise CorruptArchive(f"the tar stream is cut short inside member {name!r}")
            self.submit(path, file_mode, data, size)
        stream.skip(-size % BLOCK)

    def symlink(self, name: str, target: str) -> None:
        check_name(name)
        check_link(name, target, symbolic=True)
        rel = self._claim(name, "l")
        path = self._path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)

    def hardlink(self, name: str, target: str) -> None:
        check_name(name)
        check_link(name, target, symbolic=False)
        source = posixpath.normpath(target)
        if self.kinds.get(source) != "f":
            raise UnsafeArchiveMember(f"hard link {name!r} -> {target!r} does not name an earlier file of the archive")
        rel = self._claim(name, "f")
        self.settle()
        path = self._path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.link(self._path(source), path)


def unpack(
    body: IO[bytes],
    destination: str,
    *,
    writers: int | None = None,
    read_size: int = READ_SIZE,
) -> int:
    """Unpack a tar.gz stream into the existing, empty folder ``destination``; return the member count.

    Every member is checked before it is written: absolute names, ``..``, symlinks or hard
    links leaving the folder, paths through a symlink, duplicates, devices and FIFOs raise
    ``UnsafeArchiveMember``; a cut or corrupt stream raises ``CorruptArchive``; an error
    of the S3 body or of a writer thread is re-raised as is. On any failure every writer
    has stopped before this returns, so the caller can remove ``destination`` safely.
    """
    count_writers = DEFAULT_WRITERS if writers is None else max(0, writers)
    raw: Channel[bytes | Failure] = Channel(QUEUE_DEPTH)
    inflated: Channel[bytes | Failure] = Channel(QUEUE_DEPTH)
    reader = threading.Thread(target=read_body, args=(body, raw, read_size), name="zappa-eager-unpack-reader",
                              daemon=True)
    inflater = threading.Thread(target=inflate, args=(raw, inflated), name="zappa-eager-unpack-inflater",
                                daemon=True)
    stream = InflatedStream(inflated)
    unpacker = _Unpacker(destination, count_writers, stream)
    reader.start()
    inflater.start()
    unpacker.start()
    try:
        members = read_members(stream, unpacker)
        stream.drain()
        unpacker.finish()
    except BaseException:
        unpacker.abort()
        raw.abort()
        inflated.abort()
        inflater.join()  # blocked only on the channels, which are closed now
        raise
    inflater.join()
    reader.join()
    return members


