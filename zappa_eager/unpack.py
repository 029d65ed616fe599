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
"""

from __future__ import annotations

import collections
import os
import posixpath
import threading
import zlib
from typing import IO, Any

# Pieces of 256 KiB: large enough that hand-offs are rare, small enough that malloc reuses
# them (1 MiB pieces cost ~10,000 page faults per 100 MB, a few % of the whole unpack).
READ_SIZE = 1 << 18  # bytes per read from the S3 body
INFLATE_MAX = 1 << 18  # most decompressed bytes per piece (bounds memory on highly compressible data)
BATCH_BYTES = 1 << 19  # a writer gets files in batches of about this many bytes ...
BATCH_FILES = 64  # ... or this many files, so hand-offs stay rare
STREAM_MIN = 1 << 20  # files this large are written by the parsing thread, piece by piece
QUEUE_DEPTH = 16  # pieces or batches in flight between two stages: ~20 MiB at most, fine for 128 MB functions
EXTENDED_MAX = 1 << 20  # a pax or GNU long-name header larger than this is not a real one
DEFAULT_WRITERS = 2

_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_BLOCK = 512
_ZERO_BLOCK = bytes(_BLOCK)
_POSIX_MAGIC = b"ustar\x00"
_REGULAR = (b"0", b"\x00", b"7")
_SPECIAL = {b"3": "character device", b"4": "block device", b"6": "FIFO"}

Data = bytes | bytearray | memoryview


class ArchiveError(RuntimeError):
    """The project archive could not be installed; the message names its s3:// URL."""


class UnsafeArchiveMember(ArchiveError):
    """A member would write outside the project folder, or is a device, FIFO or unsupported type."""


class CorruptArchive(ArchiveError):
    """The stream is not a complete, intact tar.gz (bad gzip data, CRC, length, or tar header; cut short)."""


class _Failure:
    """An exception travelling down the pipeline, re-raised as is by the consumer."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


_END = object()


class _Channel:
    """A bounded hand-off that either side can close (``queue.Queue`` cannot before 3.13).

    ``finish`` lets the consumer drain what was put; ``abort`` drops it and wakes everyone,
    so no thread stays blocked after a failure.
    """

    def __init__(self, capacity: int) -> None:
        self._items: collections.deque[Any] = collections.deque()
        self._capacity = capacity
        self._closed = False
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)

    def put(self, item: Any) -> bool:
        with self._not_full:
            while len(self._items) >= self._capacity and not self._closed:
                self._not_full.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._not_empty.notify()
            return True

    def get(self) -> Any:
        """The next item, or ``_END`` once the channel is finished and drained (or aborted)."""
        with self._not_empty:
            while not self._items and not self._closed:
                self._not_empty.wait()
            if not self._items:
                return _END
            item = self._items.popleft()
            self._not_full.notify()
            return item

    def finish(self) -> None:
        with self._not_full:
            self._closed = True
            self._not_empty.notify_all()
            self._not_full.notify_all()

    def abort(self) -> None:
        with self._not_full:
            self._closed = True
            self._items.clear()
            self._not_empty.notify_all()
            self._not_full.notify_all()


def _read_body(body: IO[bytes], out: _Channel, read_size: int) -> None:
    """Reader thread: large reads from the streaming body (the socket read releases the GIL)."""
    try:
        while True:
            data = body.read(read_size)
            if not data:
                break
            if not out.put(data):
                return
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(_Failure(exc))
    out.finish()


def _inflate(raw: _Channel, out: _Channel) -> None:
    """Inflater thread: gunzip every gzip member; zlib checks each trailer's CRC32 and length."""
    inflater: Any = None
    members = 0
    try:
        while True:
            item = raw.get()
            if item is _END:
                break
            if isinstance(item, _Failure):
                out.put(item)
                out.finish()
                return
            data: bytes = item
            while data:
                if inflater is None:
                    data = data.lstrip(b"\x00")  # padding between gzip members, as gzip.GzipFile allows
                    if not data:
                        break
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                try:
                    piece = inflater.decompress(data, INFLATE_MAX)
                except zlib.error as exc:
                    raise CorruptArchive(f"the gzip data is corrupt ({exc})") from exc
                if piece and not out.put(piece):
                    return
                while inflater.unconsumed_tail:
                    try:
                        piece = inflater.decompress(inflater.unconsumed_tail, INFLATE_MAX)
                    except zlib.error as exc:
                        raise CorruptArchive(f"the gzip data is corrupt ({exc})") from exc
                    if piece and not out.put(piece):
                        return
                if inflater.eof:
                    members += 1
                    data = inflater.unused_data
                    inflater = None
                else:
                    data = b""
        if inflater is not None:
            raise CorruptArchive("the gzip stream is cut short (it ends before its CRC32/length trailer)")
        if members == 0:
            raise CorruptArchive("the archive is empty, not a gzip stream")
    except BaseException as exc:
        raw.abort()
        out.put(_Failure(exc))
    out.finish()


class _Stream:
    """The inflated bytes as one stream: zero-copy slices inside a piece, copies across pieces."""

    def __init__(self, source: _Channel) -> None:
        self._source = source
        self._buf = memoryview(b"")
        self._pos = 0

    def _advance(self) -> bool:
        item = self._source.get()
        if item is _END:
            return False
        if isinstance(item, _Failure):
            raise item.exc
        self._buf = memoryview(item)
        self._pos = 0
        return True

    def take(self, size: int) -> Data | None:
        """Exactly ``size`` bytes; ``None`` at a clean end; ``CorruptArchive`` if cut inside."""
        end = self._pos + size
        if end <= len(self._buf):
            view = self._buf[self._pos:end]
            self._pos = end
            return view
        gathered = bytearray(self._buf[self._pos:])
        self._pos = len(self._buf)
        while len(gathered) < size:
            if not self._advance():
                if not gathered:
                    return None
                raise CorruptArchive("the tar stream is cut short inside a member")
            piece = self._buf[: size - len(gathered)]
            gathered += piece
            self._pos = len(piece)
        return gathered

    def stream_to(self, fd: int, size: int) -> None:
        """Write ``size`` bytes to ``fd`` piece by piece, as they are inflated."""
        while size:
            if self._pos >= len(self._buf) and not self._advance():
                raise CorruptArchive("the tar stream is cut short inside a member")
            piece = self._buf[self._pos:self._pos + size]
            self._pos += len(piece)
            size -= len(piece)
            _write_all(fd, piece)

    def skip(self, size: int) -> None:
        while size:
            if self._pos >= len(self._buf) and not self._advance():
                raise CorruptArchive("the tar stream is cut short inside a member")
            step = min(size, len(self._buf) - self._pos)
            self._pos += step
            size -= step

    def drain(self) -> None:
        """Consume the rest, so the gzip trailer is checked before success is reported."""
        while self._advance():
            pass


def _write_all(fd: int, data: Data) -> None:
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view):]


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
            _write_all(fd, data)
    finally:
        os.close(fd)


Job = tuple[str, int, Data]


def _write_batches(jobs: _Channel, errors: list[BaseException]) -> None:
    """Writer thread: create the files of each batch; the first failure stops every writer."""
    while True:
        batch = jobs.get()
        if batch is _END:
            return
        try:
            for path, mode, data in batch:
                _write_file(path, mode, data)
        except BaseException as exc:
            errors.append(exc)
            jobs.abort()
            return


def _octal(field: bytes, what: str) -> int:
    """A numeric header field: octal text, or base-256 when the top bit of the first byte is set."""
    try:
        return int(field.rstrip(b"\x00 ") or b"0", 8)  # the common case: digits, then NUL or space
    except ValueError:
        pass
    if field[0] in (0x80, 0xFF):
        value = int.from_bytes(field[1:], "big")
        return -(256 ** (len(field) - 1) - value) if field[0] == 0xFF else value
    end = field.find(b"\x00")
    text = (field if end < 0 else field[:end]).strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise CorruptArchive(f"invalid tar header ({what} field {field!r})") from None


def _cstr(field: bytes) -> bytes:
    end = field.find(b"\x00")
    return field if end < 0 else field[:end]


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _parse_pax(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records of a pax extended header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise CorruptArchive("invalid pax extended header") from None
        if space < 0 or length <= 0 or pos + length > len(data):
            raise CorruptArchive("invalid pax extended header")
        key, sep, value = data[space + 1:pos + length - 1].partition(b"=")
        if not sep:
            raise CorruptArchive("invalid pax extended header")
        records[_decode(key)] = _decode(value)
        pos += length
    return records


def check_name(name: str) -> None:
    """Reject names that are absolute, carry a drive, or contain a ``..`` component."""
    if not name or "\x00" in name:
        raise UnsafeArchiveMember(f"a member has an empty or invalid name ({name!r})")
    if name.startswith(("/", "\\")) or posixpath.isabs(name) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveMember(f"member {name!r} has an absolute path")
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveMember(f"member {name!r} contains '..'")


def check_link(name: str, target: str, *, symbolic: bool) -> None:
    """A symlink must resolve inside the folder; a hard link must name a member path."""
    if symbolic:
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
        if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
            raise UnsafeArchiveMember(f"symlink {name!r} -> {target!r} points outside the project folder")
    elif posixpath.isabs(target) or ".." in target.split("/"):
        raise UnsafeArchiveMember(f"hard link {name!r} -> {target!r} points outside the project folder")


class _Unpacker:
    """Parses the tar stream and creates members; writers get regular files in batches."""

    def __init__(self, destination: str, writers: int) -> None:
        self.dest = os.path.abspath(destination)
        self.kinds: dict[str, str] = {}  # member path -> "d" (folder), "f" (file), "l" (symlink)
        self.writers = writers
        self.errors: list[BaseException] = []
        self.jobs = _Channel(QUEUE_DEPTH)
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
        self.jobs = _Channel(QUEUE_DEPTH)
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

    def regular(self, name: str, mode: int, size: int, stream: _Stream) -> None:
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
        stream.skip(-size % _BLOCK)

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
    raw = _Channel(QUEUE_DEPTH)
    inflated = _Channel(QUEUE_DEPTH)
    reader = threading.Thread(target=_read_body, args=(body, raw, read_size), name="zappa-eager-unpack-reader",
                              daemon=True)
    inflater = threading.Thread(target=_inflate, args=(raw, inflated), name="zappa-eager-unpack-inflater",
                                daemon=True)
    unpacker = _Unpacker(destination, count_writers)
    stream = _Stream(inflated)
    reader.start()
    inflater.start()
    unpacker.start()
    try:
        members = _parse(stream, unpacker)
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


def _parse(stream: _Stream, unpacker: _Unpacker) -> int:
    """Walk the tar headers (ustar, GNU long names, pax) and hand each member to the unpacker."""
    members = 0
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    global_pax: dict[str, str] = {}
    while True:
        block = stream.take(_BLOCK)
        if block is None:
            return members  # no end-of-archive blocks: tarfile accepts this too; gzip's CRC covers the cut
        header = bytes(block)
        if header == _ZERO_BLOCK:
            return members
        stored = _octal(header[148:156], "checksum")
        if stored != 256 + sum(header[:148]) + sum(header[156:]):
            signed = 256 + sum(b - 256 if b > 127 else b for b in header[:148] + header[156:])
            if stored != signed:
                raise CorruptArchive("invalid tar header (checksum mismatch): not a tar archive, or corrupt")
        kind = header[156:157]
        size = _octal(header[124:136], "size")
        if size < 0:
            raise CorruptArchive("invalid tar header (negative size)")
        if kind in (b"x", b"g", b"L", b"K"):
            if size > EXTENDED_MAX:
                raise CorruptArchive(f"invalid tar header (an extended header of {size} bytes)")
            data = stream.take(size) if size else b""
            if data is None:
                raise CorruptArchive("the tar stream is cut short inside an extended header")
            stream.skip(-size % _BLOCK)
            if kind == b"x":
                pax = _parse_pax(bytes(data))
            elif kind == b"g":
                global_pax.update(_parse_pax(bytes(data)))
            elif kind == b"L":
                long_name = _decode(_cstr(bytes(data)))
            else:
                long_link = _decode(_cstr(bytes(data)))
            continue
        name_raw = _cstr(header[0:100])
        if header[257:263] == _POSIX_MAGIC and header[345] != 0:
            name_raw = _cstr(header[345:500]) + b"/" + name_raw
        name = long_name if long_name is not None else _decode(name_raw)
        link = long_link if long_link is not None else _decode(_cstr(header[157:257]))
        if pax or global_pax:
            extended = {**global_pax, **pax}
            if any(key.startswith("GNU.sparse.") for key in extended):
                raise UnsafeArchiveMember(f"member {name!r} is a GNU sparse file, which is not supported")
            name = extended.get("path", name)
            link = extended.get("linkpath", link)
            if "size" in extended:
                try:
                    size = int(extended["size"])
                except ValueError:
                    raise CorruptArchive(f"invalid pax size for member {name!r}") from None
        long_name = long_link = None
        pax = {}
        if kind in _REGULAR:
            if name.endswith("/") and kind == b"\x00":
                unpacker.directory(name)
            else:
                unpacker.regular(name, _octal(header[100:108], "mode"), size, stream)
        elif kind == b"5":
            unpacker.directory(name)  # a folder has no data blocks, whatever its size field says
        elif kind == b"2":
            unpacker.symlink(name, link)
        elif kind == b"1":
            unpacker.hardlink(name, link)
        elif kind in _SPECIAL:
            check_name(name)
            raise UnsafeArchiveMember(f"member {name!r} is a device or FIFO ({_SPECIAL[kind]})")
        else:
            check_name(name)
            raise UnsafeArchiveMember(f"member {name!r} has tar type {kind!r}, which is not supported")
        members += 1
