"""The download and gunzip stages of the unpacker, and the inflated bytes as one stream.

A reader thread pulls large chunks from the S3 body and an inflater thread gunzips them
(zlib releases the GIL); ``InflatedStream`` gives the parsing thread the result as one byte
stream. ``Channel`` is the bounded hand-off between any two stages (the writers use it too);
``StageClock`` sums each stage's own busy time for the init report.
zlib verifies each gzip trailer (CRC32 and length), so a cut or corrupted stream always
raises ``CorruptArchive``. Runtime module: standard library only.
"""

from __future__ import annotations

import collections
import enum
import os
import threading
import time
import zlib
from typing import IO, Final, Generic, Literal, TypeVar

from zappa_eager.runtime.contract import ARCHIVE_STAGES, ArchiveStage
from zappa_eager.runtime.tarformat import CorruptArchive, Data

INFLATE_MAX = 1 << 18  # most decompressed bytes per piece (bounds memory on highly compressible data)


class Failure:
    """An exception travelling down the pipeline, re-raised as is by the consumer."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class StageClock:
    """Each stage's own busy time (``contract.ARCHIVE_STAGES``), in seconds, summed over its threads.

    A thread keeps its own running sum and adds it once, when it ends, so the clock costs two
    ``perf_counter`` calls per read, batch or file, and one lock per thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[ArchiveStage, float] = dict.fromkeys(ARCHIVE_STAGES, 0.0)

    def add(self, stage: ArchiveStage, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] += max(0.0, seconds)

    def ms(self) -> dict[ArchiveStage, float]:
        with self._lock:
            return {stage: seconds * 1000.0 for stage, seconds in self.seconds.items()}


class _End(enum.Enum):
    END = "end"


#: What ``Channel.get`` answers once the channel is finished and drained (or aborted).
END: Final = _End.END

T = TypeVar("T")


class Channel(Generic[T]):
    """A bounded hand-off that either side can close (``queue.Queue`` cannot before 3.13).

    ``finish`` lets the consumer drain what was put; ``abort`` drops it and wakes everyone,
    so no thread stays blocked after a failure.
    """

    def __init__(self, capacity: int) -> None:
        self._items: collections.deque[T] = collections.deque()
        self._capacity = capacity
        self._closed = False
        lock = threading.Lock()
        self._not_empty = threading.Condition(lock)
        self._not_full = threading.Condition(lock)

    def put(self, item: T) -> bool:
        with self._not_full:
            while len(self._items) >= self._capacity and not self._closed:
                self._not_full.wait()
            if self._closed:
                return False
            self._items.append(item)
            self._not_empty.notify()
            return True

    def get(self) -> T | Literal[_End.END]:
        """The next item, or ``END`` once the channel is finished and drained (or aborted)."""
        with self._not_empty:
            while not self._items and not self._closed:
                self._not_empty.wait()
            if not self._items:
                return END
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


def read_body(body: IO[bytes], out: Channel[bytes | Failure], read_size: int, clock: StageClock) -> None:
    """Reader thread: large reads from the streaming body (the socket read releases the GIL).

    Its ``download`` time is the time spent inside ``body.read``, waiting on the network included.
    """
    busy = 0.0
    clock_now = time.perf_counter
    try:
        while True:
            started = clock_now()
            data = body.read(read_size)
            busy += clock_now() - started
            if not data:
                break
            if not out.put(data):
                return
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(Failure(exc))
    finally:
        clock.add("download", busy)
    out.finish()


def inflate(raw: Channel[bytes | Failure], out: Channel[bytes | Failure], clock: StageClock) -> None:
    """Inflater thread: gunzip every gzip member; zlib checks each trailer's CRC32 and length.

    Its ``inflate`` time is the thread's CPU time (waiting on the reader or the parser costs none).
    """
    cpu_started = time.thread_time()
    try:
        _inflate(raw, out)
    finally:
        clock.add("inflate", time.thread_time() - cpu_started)


def _inflate(raw: Channel[bytes | Failure], out: Channel[bytes | Failure]) -> None:
    inflater: zlib._Decompress | None = None
    members = 0
    try:
        while True:
            item = raw.get()
            if item is END:
                break
            if isinstance(item, Failure):
                out.put(item)
                out.finish()
                return
            data = item
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
        out.put(Failure(exc))
    out.finish()


class InflatedStream:
    """The inflated bytes as one stream: zero-copy slices inside a piece, copies across pieces."""

    def __init__(self, source: Channel[bytes | Failure]) -> None:
        self._source = source
        self._buf = memoryview(b"")
        self._pos = 0
        self.write_seconds = 0.0  # spent in ``stream_to``'s writes (the parsing thread's own ``write`` time)

    def _advance(self) -> bool:
        item = self._source.get()
        if item is END:
            return False
        if isinstance(item, Failure):
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
            started = time.perf_counter()
            write_all(fd, piece)
            self.write_seconds += time.perf_counter() - started

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


def write_all(fd: int, data: Data) -> None:
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view):]


