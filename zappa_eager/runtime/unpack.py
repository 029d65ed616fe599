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

Each stage's own busy time is measured (``StageClock``): ``download`` inside the S3 body's reads,
``inflate`` the CPU time of the inflater and of the parsing thread (its own file writes left out),
``write`` inside file creation and writes, summed over the threads that write.

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
import time
from typing import IO

from zappa_eager.runtime.gzstream import (
    END,
    INFLATE_MAX,
    Channel,
    Failure,
    InflatedStream,
    StageClock,
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
    "StageClock",
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


def _make_folders(folders: tuple[str, ...]) -> None:
    """Make the new folders a file goes into, parent first (the parser has checked the paths lexically).

    One ``mkdir`` each; a parent another writer has not made yet is made here too, and a folder
    another writer has just made is fine.
    """
    for folder in folders:
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)


def _create(path: str, mode: int) -> int:
    """Open a new file; a folder another writer was to make and has not yet is made here."""
    try:
        return os.open(path, _OPEN_FLAGS, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, _OPEN_FLAGS, mode)


def _write_file(path: str, mode: int, data: Data, folders: tuple[str, ...] = ()) -> None:
    if folders:
        _make_folders(folders)
    fd = _create(path, mode)
    try:
        if data:
            write_all(fd, data)
    finally:
        os.close(fd)


#: One file for a writer: its path, mode, bytes, and the folders to make first (new ones only, parent first).
Job = tuple[str, int, Data, tuple[str, ...]]


def _write_batches(jobs: Channel[list[Job]], errors: list[BaseException], clock: StageClock) -> None:
    """Writer thread: create the files of each batch; the first failure stops every writer."""
    busy = 0.0
    clock_now = time.perf_counter
    try:
        while True:
            batch = jobs.get()
            if batch is END:
                return
            started = clock_now()
            try:
                for path, mode, data, folders in batch:
                    _write_file(path, mode, data, folders)
            except BaseException as exc:
                errors.append(exc)
                jobs.abort()
                return
            finally:
                busy += clock_now() - started
    finally:
        clock.add("write", busy)


class _Unpacker:
    """The sink of ``read_members``: checks and creates each member; writers get regular files in batches."""

    def __init__(self, destination: str, writers: int, stream: InflatedStream, clock: StageClock) -> None:
        self.dest = os.path.abspath(destination)
        self.stream = stream
        self.clock = clock
        self.write_seconds = 0.0  # the parsing thread's own writes: all without writers, large files, empty folders
        self.kinds: dict[str, str] = {}  # member path -> "d" (folder), "f" (file), "l" (symlink)
        self.writers = writers
        self.errors: list[BaseException] = []
        self.jobs: Channel[list[Job]] = Channel(QUEUE_DEPTH)
        self.threads: list[threading.Thread] = []
        self.batch: list[Job] = []
        self.batch_bytes = 0
        self.folders: list[str] = []  # folder members: made at the end if no file went into them
        self.new_folders: tuple[str, ...] = ()  # set by ``_claim``
        self.populated: set[str] = set()  # folders a file or link goes into: made before it, by its writer

    # -- writers -------------------------------------------------------------------------
    def start(self) -> None:
        for index in range(self.writers):
            thread = threading.Thread(
                target=_write_batches, args=(self.jobs, self.errors, self.clock),
                name=f"zappa-eager-unpack-writer-{index}", daemon=True,
            )
            thread.start()
            self.threads.append(thread)

    def submit(self, path: str, mode: int, data: Data, size: int, folders: tuple[str, ...]) -> None:
        if not self.threads:
            started = time.perf_counter()
            _write_file(path, mode, data, folders)
            self.write_seconds += time.perf_counter() - started
            return
        self.batch.append((path, mode, data, folders))
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
        started = time.perf_counter()
        for rel in self.folders:
            if rel not in self.populated:  # an empty folder (or one holding only empty folders)
                os.makedirs(self._path(rel), exist_ok=True)
        self.write_seconds += time.perf_counter() - started

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
        """Check a member name, claim its parent folders, and reserve its path.

        For a file or link, ``self.new_folders`` is then the folders above it that no earlier file or
        link went into, parent first: whoever creates it makes them first.
        """
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
            populated = self.populated
            new: list[str] = []
            while head and head not in populated:
                populated.add(head)
                new.append(self._path(head))
                head = head.rpartition("/")[0]
            new.reverse()
            self.new_folders = tuple(new)
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
            started = time.perf_counter()
            _make_folders(self.new_folders)
            fd = _create(path, file_mode)
            self.write_seconds += time.perf_counter() - started
            try:
                stream.stream_to(fd, size)
            finally:
                os.close(fd)
        else:
            data = stream.take(size) if size else b""
            if data is None:
                raise CorruptArchive(f"the tar stream is cut short inside member {name!r}")
            self.submit(path, file_mode, data, size, self.new_folders)
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
    clock: StageClock | None = None,
) -> int:
    """Unpack a tar.gz stream into the existing, empty folder ``destination``; return the member count.

    Every member is checked before it is written: absolute names, ``..``, symlinks or hard
    links leaving the folder, paths through a symlink, duplicates, devices and FIFOs raise
    ``UnsafeArchiveMember``; a cut or corrupt stream raises ``CorruptArchive``; an error
    of the S3 body or of a writer thread is re-raised as is. On any failure every writer
    has stopped before this returns, so the caller can remove ``destination`` safely.
    ``clock`` (optional) gets each stage's busy time, also when the unpack fails.
    """
    clock = clock if clock is not None else StageClock()
    count_writers = DEFAULT_WRITERS if writers is None else max(0, writers)
    raw: Channel[bytes | Failure] = Channel(QUEUE_DEPTH)
    inflated: Channel[bytes | Failure] = Channel(QUEUE_DEPTH)
    reader = threading.Thread(target=read_body, args=(body, raw, read_size, clock),
                              name="zappa-eager-unpack-reader", daemon=True)
    inflater = threading.Thread(target=inflate, args=(raw, inflated, clock), name="zappa-eager-unpack-inflater",
                                daemon=True)
    stream = InflatedStream(inflated)
    unpacker = _Unpacker(destination, count_writers, stream, clock)
    cpu_started = time.thread_time()
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
    finally:
        # The parsing thread: its CPU time is tar parsing (``inflate``), but for the files it wrote itself.
        own_writes = unpacker.write_seconds + stream.write_seconds
        clock.add("inflate", time.thread_time() - cpu_started - own_writes)
        clock.add("write", own_writes)
    inflater.join()
    reader.join()
    return members


