"""The slim_handler archive phase alone: upstream's unpack against zappa-eager's, on one tarball.

INIT figures mix the archive phase with imports and the app build; this isolates it. Both
unpackers read the zappa-eager package's project tarball from a loopback S3, alternated,
each run in a fresh TMPDIR (``bench.unpack.compare_unpack``). The upstream package's own
tarball holds other files (no compiled bytecode, no lean selection): its file count is
noted beside the figures, so the reader sees both archives' sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zappa_eager.bench.modes import EAGER_PACKAGING, UPSTREAM_PACKAGING
from zappa_eager.bench.variants import Variant, archive_files


def measure_archive_phase(variant: Variant, *, runs: int, project_name: str, workdir: Path) -> dict[str, Any] | None:
    """compare_unpack on the variant's eager (or given) tarball; None without one or with ``runs`` 0.

    A failure is recorded as ``{"error": ...}`` (and listed with the run's errors), not raised:
    the environments' figures measured before it stay.
    """
    package = variant.packages.get(EAGER_PACKAGING) or variant.packages.get(UPSTREAM_PACKAGING)
    if runs <= 0 or package is None or package.archive is None:
        return None
    upstream = variant.packages.get(UPSTREAM_PACKAGING)
    upstream_files = None
    if upstream is not None and upstream.archive is not None and upstream.archive != package.archive:
        upstream_files = archive_files(upstream.archive)
    try:
        from zappa_eager.bench.unpack import compare_unpack

        workdir.mkdir(parents=True, exist_ok=True)
        result = dict(compare_unpack(package.archive, runs=runs, project_name=project_name, workdir=workdir))
    except Exception as exc:  # a measurement that failed is reported, the others are kept
        return {"error": f"{type(exc).__name__}: {exc}"[:300], "archive": str(package.archive),
                "upstream_archive_files": upstream_files}
    result.update(archive=str(package.archive), packaging=package.packaging, upstream_archive_files=upstream_files)
    return result
