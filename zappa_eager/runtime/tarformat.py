"""The tar format as the unpacker reads it (ustar, GNU long names, pax), the member checks, the errors.

``read_members`` walks the headers of an inflated tar stream and hands each member to a sink
(``zappa_eager.runtime.unpack``'s unpacker), which reads the member's data itself. Names and links are
checked here, from the header alone, before anything of a member is written. Runtime module:
standard library only.
"""

from __future__ import annotations

import posixpath
from typing import Protocol

EXTENDED_MAX = 1 << 20  # a pax or GNU long-name header larger than this is not a real one
BLOCK = 512

_ZERO_BLOCK = bytes(BLOCK)
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
    long_name: str | None = None
    long_link: str | None = None
    pax: dict[str, str] = {}
    global_pax: dict[str, str] = {}
    while True:
        block = stream.take(BLOCK)
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
            stream.skip(-size % BLOCK)
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
                sink.directory(name)
            else:
                sink.regular(name, _octal(header[100:108], "mode"), size)
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
        members += 1
