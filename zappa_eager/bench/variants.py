"""Package each slim_handler variant with the real ``zappa package`` path, then derive the modes.

Each variant is packaged by the CLI's own ``create_package`` as upstream zappa builds it
(``eager_init: false``: upstream's handler, no bytecode compile, no lean selection) for the
``upstream`` and ``upstream-env`` modes; zappa-eager's package for ``eager`` and
``eager+warmup`` is derived from it by the steps ``create_package`` applies with eager init
on (``derive``, which holds ``build_variant``) - so what packaging gains shows in the figures,
for one packaging's time. Each package is unpacked once; every mode's task root is a
hard-linked copy of its packaging's tree with ``handler.py`` (ours, or upstream's own, byte
for byte) and ``zappa_settings.py`` (rendered by the CLI with the mode's eager settings)
written where they differ. ``--zip`` gives one package for every mode (the modes then differ
only in those two files).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import py_compile
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zappa_eager.bench.modes import (
    EAGER_PACKAGING,
    PACKAGINGS,
    Mode,
    ModeSpec,
    PackageOrigin,
    Packaging,
    mode_spec,
)
from zappa_eager.emulator.taskroot import link_or_copy
from zappa_eager.packaging.facts import PackageFacts, describe_package
from zappa_eager.packaging.runtime_files import HANDLER_FILE
from zappa_eager.runtime.contract import WarmupOnDemand
from zappa_eager.settings import WarmupRequest, parse_eager_settings

#: The ``floor`` mode's handler.py (it never ships: the bench copies it into that mode's task root).
FLOOR_HANDLER_FILE = Path(__file__).with_name("floor_handler.py")

if TYPE_CHECKING:
    from zappa_eager.bench.options import SlimChoice
    from zappa_eager.bench.stagecli import StageCLI

#: ``Package.packaging`` of a package given with ``--zip`` (one package for every mode).
GIVEN_PACKAGING: PackageOrigin = "given"


@dataclass
class Package:
    """One built package: the zip Lambda runs and, with slim_handler, the project tarball it fetches."""

    packaging: PackageOrigin  # "upstream" or "eager" (modes.PACKAGINGS), or "given" (--zip)
    zip: Path  # the zip Lambda runs (the small handler zip with slim_handler)
    archive: Path | None = None  # slim_handler: the project tarball the handler fetches from S3
    facts: PackageFacts | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "packaging": self.packaging,
            "zip": str(self.zip),
            "archive": str(self.archive) if self.archive else None,
            "zip_bytes": self.zip.stat().st_size if self.zip.exists() else None,
            "archive_bytes": self.archive.stat().st_size if self.archive and self.archive.exists() else None,
            **(self.facts.as_dict() if self.facts else {}),
        }


@dataclass
class Variant:
    name: str  # "slim_off" or "slim_on"
    slim: bool
    packages: dict[Packaging, Package]  # packaging ("upstream", "eager") -> its package
    single_package: bool = False  # --zip: one package for every mode
    task_roots: dict[Mode, Path] = field(default_factory=dict)  # mode -> unpacked task root
    settings: dict[Mode, str] = field(default_factory=dict)  # mode -> zappa_settings.py text

    def package_for(self, mode: Mode) -> Package:
        return self.packages[mode_spec(mode).packaging]

    def describe(self) -> dict[str, Any]:
        return {
            "slim_handler": self.slim,
            "single_package": self.single_package,
            "packages": {packaging: package.describe() for packaging, package in self.packages.items()},
        }


def given_variant(package: Path, archive: Path | None, slim: bool) -> Variant:
    """``--zip``: one existing package for every mode (upstream modes get upstream's handler.py swapped in)."""
    given = Package(GIVEN_PACKAGING, package, archive, describe_package(package, archive))
    return Variant(variant_name(slim), slim, dict.fromkeys(PACKAGINGS, given), single_package=True)


def variant_name(slim: bool) -> str:
    return "slim_on" if slim else "slim_off"


def plan_variants(choice: SlimChoice, stage_slim: bool) -> list[bool]:
    """slim_handler values to measure, the stage's own first (it is the primary variant)."""
    return {"stage": [stage_slim], "on": [True], "off": [False], "both": [stage_slim, not stage_slim]}[choice]


@contextmanager
def stage_overrides(cli: StageCLI, **settings: Any) -> Iterator[None]:
    """Override stage settings through upstream's API, and put the previous overrides back."""
    previous = dict(cli.stage_config_overrides)
    for key, value in settings.items():
        cli.override_stage_config_setting(key, value)
    try:
        yield
    finally:
        current = cli.stage_config_overrides
        current.clear()
        current.update(previous)


@contextmanager
def eager_settings(cli: StageCLI, *, enabled: bool, warmup: tuple[WarmupRequest, ...] | None = None,
                   warmup_on_demand: WarmupOnDemand | None = None) -> Iterator[None]:
    """Swap ``cli.eager`` (which drives the EAGER_* keys of zappa_settings.py) for a while.

    ``warmup_on_demand``: ``eager_init_warmup_on_demand`` instead of the stage's (None keeps the stage's).
    """
    previous = cli.eager
    keep = previous.warmup if warmup is None else warmup
    on_demand = previous.warmup_on_demand if warmup_on_demand is None else warmup_on_demand
    cli.eager = dataclasses.replace(previous, enabled=enabled, warmup=keep,
                                    warmup_after_restore=previous.warmup_after_restore and bool(keep),
                                    warmup_on_demand=on_demand)
    try:
        yield
    finally:
        cli.eager = previous


@contextmanager
def packaging_settings(cli: StageCLI, packaging: Packaging) -> Iterator[None]:
    """The settings ``create_package`` runs with for one packaging.

    ``upstream``: eager init off, and no packaging step even if the stage asks for one
    (upstream zappa knows no ``compile_bytecode``). ``eager``: eager init on, with the
    stage's packaging steps - parsed as if the stage said ``eager_init: true``, so a lazy
    stage gets the eager defaults from the one place that defines them.
    """
    previous = cli.eager
    if packaging != EAGER_PACKAGING:
        cli.eager = dataclasses.replace(previous, enabled=False, compile_bytecode=False, lean_package=False)
    elif not previous.enabled:
        cli.eager = parse_eager_settings({**cli.stage_config, "eager_init": True}, cli.api_stage)
    try:
        yield
    finally:
        cli.eager = previous


def extra_excludes(project: Path, *folders: Path) -> list[str]:
    """Folder names to keep out of the package (our output and work folders, if inside the project)."""
    names = []
    for folder in folders:
        resolved = folder.resolve()
        if resolved != project and resolved.is_relative_to(project):
            names.append(resolved.relative_to(project).parts[0])
    return names


def package_overrides(cli: StageCLI, slim: bool, exclude: Sequence[str] = ()) -> dict[str, Any]:
    """The stage settings ``zappa package`` runs with for one variant (our folders excluded)."""
    overrides: dict[str, Any] = {"slim_handler": slim, "delete_local_zip": False}
    if exclude:
        overrides["exclude"] = list(cli.stage_config.get("exclude", [])) + list(exclude)
    return overrides


def build_package(cli: StageCLI, slim: bool, packaging: Packaging, work: Path,
                  exclude: Sequence[str] = ()) -> Package:
    """``zappa package`` for one slim_handler value, as upstream or as zappa-eager builds it, into ``work``.

    ``packaging="upstream"`` runs with ``eager_init: false``, which makes the CLI's
    ``create_package`` exactly upstream's (no bytecode compile, no lean selection; see
    ``packaging_settings``).
    """
    stem = f"{variant_name(slim)}-{packaging}"
    output = work / f"{stem}.zip"
    with stage_overrides(cli, **package_overrides(cli, slim, exclude)), packaging_settings(cli, packaging):
        cli.create_package(output=str(output))
    facts = getattr(cli, "package_facts", None)  # computed by create_package when it optimized the package
    if not slim:
        package = Path(cli.zip_path)
        return Package(packaging, package, None, facts or describe_package(package))
    archive = work / f"{stem}-project.tar.gz"
    shutil.move(str(cli.zip_path), archive)  # upstream writes the tarball into the project folder
    package = Path(cli.handler_path)
    return Package(packaging, package, archive, facts or describe_package(package, archive))


def archive_files(archive: Path) -> int:
    """Regular files in a project tarball."""
    with tarfile.open(archive) as tar:
        return sum(1 for member in tar if member.isfile())


def package_is_slim(package: Path) -> bool:
    with zipfile.ZipFile(package) as archive:
        try:
            text = archive.read("zappa_settings.py").decode("utf-8", "replace")
        except KeyError:
            raise ValueError(f"{package} has no zappa_settings.py: not a zappa package") from None
    return settings_value(text, "SLIM_HANDLER") is True


def settings_value(text: str, name: str) -> Any:
    """The literal assigned to ``name`` in a generated zappa_settings.py, or None."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return None
    return None


def handler_source(spec: ModeSpec) -> bytes:
    """Our handler.py, the floor's, or upstream's own ``zappa/handler.py`` exactly as installed."""
    if spec.floor:
        return FLOOR_HANDLER_FILE.read_bytes()
    if spec.eager:
        return HANDLER_FILE.read_bytes()
    upstream = importlib.util.find_spec("zappa.handler")
    if upstream is None or upstream.origin is None:
        raise RuntimeError("zappa is not installed")
    return Path(upstream.origin).read_bytes()


def warmup_requests(cli: StageCLI, paths: Sequence[str]) -> tuple[WarmupRequest, ...]:
    """The stage's eager_init_warmup, then a GET of each benchmarked path it does not already warm.

    ``eager_init_warmup`` is meant for the paths users hit first; the benchmark's ``--path``s
    are by definition those, so ``eager+warmup`` warms them as a user would configure it.
    """
    configured: tuple[WarmupRequest, ...] = tuple(cli.eager.warmup)
    warmed = {(request.method.upper(), request.path) for request in configured}
    extra = tuple(WarmupRequest(path=path) for path in dict.fromkeys(paths) if ("GET", path) not in warmed)
    return configured + extra


def render_settings(cli: StageCLI, slim: bool, spec: ModeSpec, warmup: tuple[WarmupRequest, ...]) -> str:
    """zappa_settings.py for one mode, through the CLI's own renderer (upstream's + EAGER_* keys)."""
    with stage_overrides(cli, slim_handler=slim), eager_settings(cli, enabled=spec.eager,
                                                                 warmup=warmup if spec.warmup else (),
                                                                 warmup_on_demand=spec.warmup_on_demand):
        return str(cli.get_zappa_settings_string())



def _write_fresh(path: Path, data: bytes) -> None:
    """Replace a file without writing through a hard link shared with the other modes."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def replace_module(root: Path, name: str, source: bytes) -> bool:
    """Put ``source`` in the task root's module ``name``, with no bytecode of the old source left.

    Nothing is written when the package already has this source (its bytecode stays valid).
    Otherwise every ``__pycache__/<module>.*.pyc`` is deleted - an unchecked-hash one would
    shadow the new source - and, if the package shipped bytecode for this interpreter, the
    new source's is compiled as ``create_package`` compiles root modules (checked hash), so
    the mode's task root is what packaging that mode would have produced. Returns whether
    the module was replaced.
    """
    path = root / name
    if path.is_file() and path.read_bytes() == source:
        return False
    cached = Path(importlib.util.cache_from_source(str(path)))
    shipped = cached.exists()
    for pyc in cached.parent.glob(f"{path.stem}.*.pyc"):
        pyc.unlink()
    _write_fresh(path, source)
    if shipped:
        py_compile.compile(str(path), cfile=str(cached), dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    return True


def task_root_name(mode: Mode) -> str:
    """A folder name for the mode's task root: ``eager+warmup[once]`` -> ``eager-warmup-once``."""
    return re.sub(r"[^A-Za-z0-9_.]+", "-", mode).strip("-")


def derive_task_roots(cli: StageCLI, variant: Variant, modes: Sequence[Mode], warmup: tuple[WarmupRequest, ...],
                      work: Path) -> None:
    """Unpack each of the variant's packages once and make one task root per mode from its packaging's."""
    bases: dict[PackageOrigin, Path] = {}
    for mode in modes:
        spec = mode_spec(mode)
        package = variant.package_for(mode)
        base = bases.get(package.packaging)
        if base is None:
            base = work / variant.name / f"package-{package.packaging}"
            with zipfile.ZipFile(package.zip) as archive:
                archive.extractall(base)
            bases[package.packaging] = base
        root = work / variant.name / task_root_name(mode)
        shutil.copytree(base, root, copy_function=link_or_copy)
        settings = render_settings(cli, variant.slim, spec, warmup)
        replace_module(root, "handler.py", handler_source(spec))
        replace_module(root, "zappa_settings.py", settings.encode("utf-8"))
        variant.task_roots[mode] = root
        variant.settings[mode] = settings
