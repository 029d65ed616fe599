"""zappa-eager's package of a variant, derived from upstream's instead of packaged a second time.

Both packagings run the same ``create_lambda_zip`` over the same virtualenv and project (the
same dependency set, the same wheels, for slim_handler the same handler virtualenv); what
``EagerZappaCLI.create_package`` does differently is, in order: our ``handler.py`` at the zip
root instead of upstream's, ``zappa_settings.py`` with the ``EAGER_*`` keys, the runtime
modules added (``add_runtime_to_zip``; with slim_handler they are copied into the handler
virtualenv, which lands at the same names), then ``optimize_packages`` (lean selection and
bytecode) in place. ``derive_eager`` applies exactly those steps to a copy of upstream's
package, so the bench copies the virtualenv (and pip-installs the handler virtualenv) once per
variant instead of twice. tests/test_bench_derive.py compares it with packaging twice.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from zappa_eager.bench.modes import EAGER_PACKAGING
from zappa_eager.packaging.facts import describe_package

if TYPE_CHECKING:
    from zappa_eager.bench.variants import Package
    from zappa_eager.cli import EagerZappaCLI


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes]) -> None:
    """Copy ``source`` to ``target`` with the members named in ``replace`` given new contents.

    Every other member keeps its bytes, name, date and mode; a replaced one keeps its place's
    attributes (Lambda needs 0o644) or gets 0o644 when it was absent.
    """
    written: set[str] = set()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in written:
                continue  # a name appended twice: the zip's reader takes the last; keep one
            if info.filename in replace:
                dst.writestr(info, replace[info.filename], compress_type=zipfile.ZIP_DEFLATED)
            else:
                dst.writestr(info, src.read(info.filename), compress_type=info.compress_type)
            written.add(info.filename)
        for name, data in replace.items():
            if name not in written:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


def derive_eager(cli: EagerZappaCLI, upstream: Package, slim: bool, work: Path, stem: str) -> Package:
    """The eager package from upstream's one (same variant): what ``create_package`` with eager init makes."""
    from zappa_eager.bench.variants import Package, packaging_settings, stage_overrides
    from zappa_eager.cli import HANDLER_FILE, add_runtime_to_zip

    handler_zip = work / f"{stem}.zip"
    archive = work / f"{stem}-project.tar.gz" if slim else None
    with stage_overrides(cli, slim_handler=slim), packaging_settings(cli, EAGER_PACKAGING):
        settings = str(cli.get_zappa_settings_string())
        rewrite_zip(upstream.zip, handler_zip, {"handler.py": HANDLER_FILE.read_bytes(),
                                                "zappa_settings.py": settings.encode("utf-8")})
        add_runtime_to_zip(str(handler_zip))
        if archive is not None and upstream.archive is not None:
            shutil.copyfile(upstream.archive, archive)
        previous = (getattr(cli, "zip_path", None), getattr(cli, "handler_path", None))
        cli.zip_path = str(archive if archive is not None else handler_zip)
        cli.handler_path = str(handler_zip)
        cli.package_facts = None
        try:
            cli.optimize_packages()
        finally:
            cli.zip_path, cli.handler_path = previous
    facts = cli.package_facts or describe_package(handler_zip, archive)
    return Package(EAGER_PACKAGING, handler_zip, archive, facts)
