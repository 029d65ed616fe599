"""zappa-eager's package of a variant, derived from upstream's instead of packaged a second time.

Both packagings run the same ``create_lambda_zip`` over the same virtualenv and project (the
same dependency set, the same wheels, for slim_handler the same handler virtualenv); what
``EagerZappaCLI.create_package`` does differently is, in order: our ``handler.py`` at the zip
root instead of upstream's, ``zappa_settings.py`` with the ``EAGER_*`` keys, the runtime
modules added (``add_runtime_to_zip``; with slim_handler they are copied into the handler
virtualenv, which lands at the same names), then ``optimize_packages`` (lean selection and
bytecode) in place. ``derive_eager`` applies exactly those steps to a copy of upstream's
package, so the bench copies the virtualenv (and pip-installs the handler virtualenv) once per
variant instead of twice. tests/bench/test_bench_derive.py compares it with packaging twice.
``build_variant`` packages a variant: upstream's package, then the eager one derived from it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from zappa_eager.bench.modes import EAGER_PACKAGING, PACKAGINGS, UPSTREAM_PACKAGING, Packaging
from zappa_eager.bench.variants import (
    Package,
    Variant,
    build_package,
    package_overrides,
    packaging_settings,
    stage_overrides,
    variant_name,
)
from zappa_eager.packaging.facts import describe_package
from zappa_eager.packaging.runtime_files import HANDLER_FILE, add_runtime_to_zip, rewrite_zip

if TYPE_CHECKING:
    from zappa_eager.bench.stagecli import StageCLI


def derive_eager(cli: StageCLI, upstream: Package, slim: bool, work: Path, stem: str) -> Package:
    """The eager package from upstream's one (same variant): what ``create_package`` with eager init makes."""
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


def build_variant(cli: StageCLI, slim: bool, work: Path, exclude: Sequence[str] = (),
                  packagings: Sequence[Packaging] = PACKAGINGS,
                  on_built: Callable[[Package], None] = lambda package: None, *, derive: bool = True) -> Variant:
    """One package per packaging the modes need (``on_built`` after each: they take a while).

    With ``derive`` (the default), when both are needed zappa-eager's package is derived from
    upstream's by the steps ``create_package`` applies (``derive_eager``): packaged once.
    """
    packages: dict[Packaging, Package] = {}
    for packaging in packagings:
        if derive and packaging == EAGER_PACKAGING and UPSTREAM_PACKAGING in packages:
            with stage_overrides(cli, **package_overrides(cli, slim, exclude)):
                packages[packaging] = derive_eager(cli, packages[UPSTREAM_PACKAGING], slim, work,
                                                   f"{variant_name(slim)}-{packaging}")
        else:
            packages[packaging] = build_package(cli, slim, packaging, work, exclude)
        on_built(packages[packaging])
    return Variant(variant_name(slim), slim, packages)
