"""Package once per slim_handler variant with the real ``zappa package`` path, then derive the modes.

Packaging is the slow part (it copies the whole virtualenv), so each variant is packaged
once, with eager init on, and unpacked once. Every mode's task root is a hard-linked copy
of that tree with two files replaced: ``handler.py`` (ours, or upstream's own, byte for
byte) and ``zappa_settings.py`` (rendered by the CLI with the mode's eager settings).
Everything else - the app, the virtualenv, the slim_handler tarball - is identical.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import shutil
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zappa_eager.bench.modes import MODE_SPECS, ModeSpec
from zappa_eager.settings import WarmupRequest


@dataclass
class Variant:
    name: str  # "slim_off" or "slim_on"
    slim: bool
    package: Path  # the zip Lambda runs (the small handler zip with slim_handler)
    archive: Path | None = None  # slim_handler: the project tarball the handler fetches from S3
    task_roots: dict[str, Path] = field(default_factory=dict)  # mode -> unpacked task root
    settings: dict[str, str] = field(default_factory=dict)  # mode -> zappa_settings.py text

    def describe(self) -> dict[str, Any]:
        return {
            "slim_handler": self.slim,
            "package": str(self.package),
            "package_bytes": self.package.stat().st_size if self.package.exists() else None,
            "archive_bytes": self.archive.stat().st_size if self.archive and self.archive.exists() else None,
        }


def variant_name(slim: bool) -> str:
    return "slim_on" if slim else "slim_off"


def plan_variants(choice: str, stage_slim: bool) -> list[bool]:
    """slim_handler values to measure, the stage's own first (it is the primary variant)."""
    return {"stage": [stage_slim], "on": [True], "off": [False], "both": [stage_slim, not stage_slim]}[choice]


@contextmanager
def stage_overrides(cli: Any, **settings: Any) -> Iterator[None]:
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
def eager_settings(cli: Any, *, enabled: bool, warmup: tuple[WarmupRequest, ...] | None = None) -> Iterator[None]:
    """Swap ``cli.eager`` (which drives the EAGER_* keys of zappa_settings.py) for a while."""
    previous = cli.eager
    keep = previous.warmup if warmup is None else warmup
    cli.eager = dataclasses.replace(previous, enabled=enabled, warmup=keep,
                                    warmup_after_restore=previous.warmup_after_restore and bool(keep))
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


def build_variant(cli: Any, slim: bool, work: Path, exclude: Sequence[str] = ()) -> Variant:
    """``zappa package`` for one slim_handler value, with eager init on; the outputs land in ``work``."""
    name = variant_name(slim)
    output = work / f"{name}.zip"
    overrides: dict[str, Any] = {"slim_handler": slim, "delete_local_zip": False}
    if exclude:
        overrides["exclude"] = list(cli.stage_config.get("exclude", [])) + list(exclude)
    with stage_overrides(cli, **overrides), eager_settings(cli, enabled=True):
        cli.create_package(output=str(output))
    if not slim:
        return Variant(name, slim, Path(cli.zip_path))
    archive = work / f"{name}-project.tar.gz"
    shutil.move(str(cli.zip_path), archive)  # upstream writes the tarball into the project folder
    return Variant(name, slim, Path(cli.handler_path), archive)


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


def handler_source(eager: bool) -> bytes:
    """Our handler.py, or upstream's own ``zappa/handler.py`` exactly as installed."""
    if eager:
        from zappa_eager.cli import HANDLER_FILE

        return HANDLER_FILE.read_bytes()
    spec = importlib.util.find_spec("zappa.handler")
    if spec is None or spec.origin is None:
        raise RuntimeError("zappa is not installed")
    return Path(spec.origin).read_bytes()


def warmup_requests(cli: Any, paths: Sequence[str]) -> tuple[WarmupRequest, ...]:
    """The stage's eager_init_warmup, then a GET of each benchmarked path it does not already warm.

    ``eager_init_warmup`` is meant for the paths users hit first; the benchmark's ``--path``s
    are by definition those, so ``eager+warmup`` warms them as a user would configure it.
    """
    configured: tuple[WarmupRequest, ...] = tuple(cli.eager.warmup)
    warmed = {(request.method.upper(), request.path) for request in configured}
    extra = tuple(WarmupRequest(path=path) for path in dict.fromkeys(paths) if ("GET", path) not in warmed)
    return configured + extra


def render_settings(cli: Any, slim: bool, spec: ModeSpec, warmup: tuple[WarmupRequest, ...]) -> str:
    """zappa_settings.py for one mode, through the CLI's own renderer (upstream's + EAGER_* keys)."""
    with stage_overrides(cli, slim_handler=slim), eager_settings(cli, enabled=spec.eager,
                                                                 warmup=warmup if spec.warmup else ()):
        return str(cli.get_zappa_settings_string())


def _link(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _write_fresh(path: Path, data: bytes) -> None:
    """Replace a file without writing through a hard link shared with the other modes."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)


def derive_task_roots(cli: Any, variant: Variant, modes: Sequence[str], warmup: tuple[WarmupRequest, ...],
                      work: Path) -> None:
    """Unpack the variant's package once and make one task root per mode."""
    base = work / variant.name / "package"
    with zipfile.ZipFile(variant.package) as archive:
        archive.extractall(base)
    for mode in modes:
        spec = MODE_SPECS[mode]
        root = work / variant.name / mode.replace("+", "-")
        shutil.copytree(base, root, copy_function=_link)
        settings = render_settings(cli, variant.slim, spec, warmup)
        _write_fresh(root / "handler.py", handler_source(spec.eager))
        _write_fresh(root / "zappa_settings.py", settings.encode("utf-8"))
        variant.task_roots[mode] = root
        variant.settings[mode] = settings
