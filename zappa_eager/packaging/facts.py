"""What a built package is: sizes, file count, and whether its bytecode is valid.

``zappa package`` prints it and ``zappa bench`` puts it beside every mode's figures, so the
effect of packaging on the cold start is visible next to the cold start itself.
"""

from __future__ import annotations

import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zappa_eager.packaging.bytecode import BytecodeStatus, inspect_entries

MB = 1024 * 1024


@dataclass(frozen=True)
class PackageFacts:
    zipped_bytes: int
    unzipped_bytes: int
    files: int
    bytecode: BytecodeStatus

    def as_dict(self) -> dict[str, Any]:
        return {"zipped_bytes": self.zipped_bytes, "unzipped_bytes": self.unzipped_bytes, "files": self.files,
                "bytecode": self.bytecode.as_dict()}

    def summary(self) -> str:
        b = self.bytecode
        return (f"{self.zipped_bytes / MB:.1f} MB zipped, {self.unzipped_bytes / MB:.1f} MB unzipped, "
                f"{self.files} files, bytecode {b.state} ({b.valid}/{b.modules} modules, {b.tag})")


def _zip_entries(path: Path, sizes: list[int]) -> Iterator[tuple[str, bytes, int | None]]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            sizes.append(info.file_size)
            if info.filename.endswith((".py", ".pyc")):
                yield info.filename, archive.read(info), int(time.mktime(info.date_time + (0, 0, -1)))


def _tar_entries(path: Path, sizes: list[int]) -> Iterator[tuple[str, bytes, int | None]]:
    with tarfile.open(path) as archive:
        for member in archive:
            if not member.isfile():
                continue
            sizes.append(member.size)
            if member.name.endswith((".py", ".pyc")):
                handle = archive.extractfile(member)
                if handle is not None:
                    yield member.name.removeprefix("./"), handle.read(), int(member.mtime)


def describe_package(package: Path, archive: Path | None = None, tag: str | None = None) -> PackageFacts:
    """Facts of a package zip (and, with slim_handler, its project tarball), for interpreter ``tag``."""
    sizes: list[int] = []
    entries = list(_zip_entries(package, sizes))
    if archive is not None:
        entries.extend(_tar_entries(archive, sizes))
    zipped = package.stat().st_size + (archive.stat().st_size if archive is not None else 0)
    return PackageFacts(zipped_bytes=zipped, unzipped_bytes=sum(sizes), files=len(sizes),
                        bytecode=inspect_entries(entries, tag))
