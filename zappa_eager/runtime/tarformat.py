"""The tar format as the unpacker reads it (ustar, GNU long names, pax), the member checks, the errors.

``read_members`` walks the headers of an inflated tar stream and hands each member to a sink
(``zappa_eager.runtime.unpack``'s unpacker), which reads the member's data itself. Names and links are
checked here, from the header alone, before anything of a member is written. Runtime module:
standard library only.
"""

from __future__ import annotations

import posixpath
import zlib
from typing import Protocol

EXTENDED_MAX = 1 << 20  # a pax or GNU long-name header larger than this is not a real one
BLOCK = 512


def _field(offset: int, length: int) -> slice:
    return slice(offset, offset + length)


# The fields of the 512-byte ustar header this module reads, by (offset, length) as POSIX lists them.
NAME = _field(0, 100)
MODE = _field(100, 8)
SIZE = _field(124, 12)
CHECKSUM = _field(148, 8)
TYPEFLAG = _field(156, 1)
LINKNAME = _field(157, 100)
MAGIC = _field(257, 6)
PREFIX = _field(345, 155)

_ZERO_BLOCK = bytes(BLOCK)
_POSIX_MAGIC = b"ustar\x00"
_CHECKSUM_SPACES: int = (CHECKSUM.stop - CHECKSUM.start) * ord(" ")  # the sum counts the checksum field as spaces
_REGULAR = (b"0", b"\x00", b"7")
_SPECIAL = {b"3": "character device", b"4": "block device", b"6": "FIFO"}
_EXTENDED = (b"x", b"g", b"L", b"K")  # pax (next member; global), GNU long name, GNU long link target

Data = bytes | bytearray | memoryview


class ArchiveError(RuntimeError):
    """The project archive could not be installed; the message names its s3:// URL."""


class UnsafeArchiveMember(ArchiveError):
    """A member would write outside the project folder, or is a device, FIFO or unsupported type."""


class CorruptArchive(ArchiveError):
    """The stream is not a complete, intact tar.gz (bad gzip data, CRC, length, or tar header; cut short)."""



class Source(Protocol):
    """The inflated tar stream."""

    def take(self, size: int) -> Data | None:
        """Exactly ``size`` bytes; ``None`` at a clean end; ``CorruptArchive`` if cut inside."""

    def skip(self, size: int) -> None: ...


class Sink(Protocol):
    """Where members go; ``regular`` reads the file's data and padding from the stream itself."""

    def directory(self, name: str) -> None: ...

    def regular(self, name: str, mode: int, size: int) -> None: ...

    def symlink(self, name: str, target: str) -> None: ...

    def hardlink(self, name: str, target: str) -> None: ...


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


def read_members(stream: Source, sink: Sink) -> int:
    """Walk the tar headers (ustar, GNU long names, pax), hand each member to ``sink``; return the count."""
    members = 0
    extended = _Extended()
    while True:
        block = stream.take(BLOCK)
        if block is None:
            return members  # no end-of-archive blocks: tarfile accepts this too; gzip's CRC covers the cut
        header = bytes(block)
        if header == _ZERO_BLOCK:
            return members
        _check_checksum(header)
        kind = header[TYPEFLAG]
        size = _octal(header[SIZE], "size")
        if size < 0:
            raise CorruptArchive("invalid tar header (negative size)")
        if kind in _EXTENDED:
            extended.read(stream, kind, size)
            continue
        name, link, size = extended.member(header, size)
        _hand_over(sink, header, kind, name, link, size)
        members += 1


def _byte_sum(data: bytes) -> int:
    """``sum(data)`` of at most 256 bytes, computed in C: Adler-32's low 16 bits are 1 + the byte sum modulo
    65521, and 256 bytes sum to at most 65,280, below the modulus, so it is exact (2.5x faster than ``sum``)."""
    return (zlib.adler32(data) & 0xFFFF) - 1


#: The header outside its checksum field, in pieces of at most 256 bytes (``_byte_sum``).
_SUMMED = (slice(0, CHECKSUM.start), slice(CHECKSUM.stop, 400), slice(400, BLOCK))


def _unsigned_sum(header: bytes) -> int:
    """The header's bytes summed, its checksum field counted as spaces (POSIX's unsigned checksum)."""
    before, after, last = _SUMMED
    return _byte_sum(header[before]) + _byte_sum(header[after]) + _byte_sum(header[last]) + _CHECKSUM_SPACES


def _check_checksum(header: bytes) -> None:
    """The header's bytes, its checksum field counted as spaces, sum to the stored checksum (unsigned or signed)."""
    stored = _octal(header[CHECKSUM], "checksum")
    if stored != _unsigned_sum(header):
        outside = header[:CHECKSUM.start] + header[CHECKSUM.stop:]
        signed = _CHECKSUM_SPACES + sum(b - 256 if b > 127 else b for b in outside)
        if stored != signed:
            raise CorruptArchive("invalid tar header (checksum mismatch): not a tar archive, or corrupt")


class _Extended:
    """GNU long names and pax records read so far: they apply to the next member (global pax records to all)."""

    __slots__ = ("global_pax", "long_link", "long_name", "pax")

    def __init__(self) -> None:
        self.long_name: str | None = None
        self.long_link: str | None = None
        self.pax: dict[str, str] = {}
        self.global_pax: dict[str, str] = {}

    def read(self, stream: Source, kind: bytes, size: int) -> None:
        """Read an extended header's data (a pax, global pax, GNU long name or long link block)."""
        if size > EXTENDED_MAX:
            raise CorruptArchive(f"invalid tar header (an extended header of {size} bytes)")
        data = stream.take(size) if size else b""
        if data is None:
            raise CorruptArchive("the tar stream is cut short inside an extended header")
        stream.skip(-size % BLOCK)
        if kind == b"x":
            self.pax = _parse_pax(bytes(data))
        elif kind == b"g":
            self.global_pax.update(_parse_pax(bytes(data)))
        elif kind == b"L":
            self.long_name = _decode(_cstr(bytes(data)))
        else:
            self.long_link = _decode(_cstr(bytes(data)))

    def member(self, header: bytes, size: int) -> tuple[str, str, int]:
        """A member's name, link target and size: its header's, overridden by the extended headers before it."""
        name_raw = _cstr(header[NAME])
        if header[MAGIC] == _POSIX_MAGIC and header[PREFIX.start] != 0:
            name_raw = _cstr(header[PREFIX]) + b"/" + name_raw
        name = self.long_name if self.long_name is not None else _decode(name_raw)
        link = self.long_link if self.long_link is not None else _decode(_cstr(header[LINKNAME]))
        if self.pax or self.global_pax:
            records = {**self.global_pax, **self.pax}
            if any(key.startswith("GNU.sparse.") for key in records):
                raise UnsafeArchiveMember(f"member {name!r} is a GNU sparse file, which is not supported")
            name = records.get("path", name)
            link = records.get("linkpath", link)
            if "size" in records:
                try:
                    size = int(records["size"])
                except ValueError:
                    raise CorruptArchive(f"invalid pax size for member {name!r}") from None
        self.long_name = self.long_link = None
        self.pax = {}
        return name, link, size


def _hand_over(sink: Sink, header: bytes, kind: bytes, name: str, link: str, size: int) -> None:
    """Give one member to ``sink`` by its type flag; devices, FIFOs and unknown types are refused."""
    if kind in _REGULAR:
        if name.endswith("/") and kind == b"\x00":
            sink.directory(name)
        else:
            sink.regular(name, _octal(header[MODE], "mode"), size)
    elif kind == b"5":
        sink.directory(name)  # a folder has no data blocks, whatever its size field says
    elif kind == b"2":
        sink.symlink(name, link)
    elif kind == b"1":
        sink.hardlink(name, link)
    elif kind in _SPECIAL:
        check_name(name)
        raise UnsafeArchiveMember(f"member {name!r} is a device or FIFO ({_SPECIAL[kind]})")
    else:
        check_name(name)
        raise UnsafeArchiveMember(f"member {name!r} has tar type {kind!r}, which is not supported")
