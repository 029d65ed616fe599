"""The reliability site as Lambda runs it: a task root shaped like an unpacked zappa-eager package.

``zappa_settings.py`` is rendered by the real CLI (upstream's ``get_zappa_settings_string``
plus our eager keys), ``handler.py`` and the runtime modules are the ones ``zappa package``
ships, and the third-party packages are hard links to the tooling venv's copies (only those
the app imports: the emulator hides the venv, as Lambda would). With ``slim_handler`` the
site itself goes into a tarball for S3 instead. The site lives in tests/fixtures/relsite, so
the suite runs from a clone of the repository. Tooling module.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import zappa_eager
from zappa_eager.emulator import Emulator, events, taskroot
from zappa_eager.packaging.runtime_files import copy_runtime

PACKAGE_DIR = Path(zappa_eager.__file__).resolve().parent
SITE = Path(__file__).resolve().parent.parent / "fixtures" / "relsite"
PROJECT = "relsite"
STAGE = "dev"
FUNCTION_NAME = f"{PROJECT}-{STAGE}"
BUCKET = "zappa-eager-reliability"
#: What the app imports at load and on its first requests (PostgreSQL included).
APP_IMPORTS = ("import zappa.handler, boto3, django; django.setup(); import django.db.backends.postgresql.base; "
               "from django.test import Client; Client().get('/')")


def check_site() -> Path:
    if not (SITE / PROJECT / "settings.py").is_file():
        raise FileNotFoundError(f"the reliability site is not at {SITE}: run the suite from a clone of zappa-eager")
    return SITE


def stage_config(**overrides: Any) -> dict[str, Any]:
    """A stage of zappa_settings.json for the site; ``overrides`` are the scenario's keys."""
    stage: dict[str, Any] = {
        "django_settings": f"{PROJECT}.settings",
        "project_name": PROJECT,
        "s3_bucket": BUCKET,
        "aws_region": "us-east-1",
        "keep_warm": False,
    }
    stage.update(overrides)
    return stage


def render_settings(stage: Mapping[str, Any], workdir: Path) -> str:
    """Generate zappa_settings.py through the real CLI path (upstream + our override)."""
    from zappa_eager.cli import EagerZappaCLI

    workdir.mkdir(parents=True, exist_ok=True)
    settings_file = workdir / "zappa_settings.json"
    settings_file.write_text(json.dumps({STAGE: dict(stage)}))
    cli = EagerZappaCLI()
    cli.api_stage = STAGE
    cli.load_settings(str(settings_file))  # the stage names its project: nothing is read from the cwd
    return str(cli.get_zappa_settings_string())


@cache
def app_packages() -> tuple[Path, ...]:
    """The venv's top-level packages (and their dist-info) the site imports, found by importing it."""
    return taskroot.imported_packages(APP_IMPORTS, pythonpath=check_site(),
                                      env={"DJANGO_SETTINGS_MODULE": f"{PROJECT}.settings", "DATABASE_URL": ""})


def build_task_root(dest: Path, stage: Mapping[str, Any], *, bytecode: bool = False) -> Path:
    """``dest`` becomes the function's /var/task; the site is in it unless the stage is slim.

    ``bytecode`` links the venv's bytecode beside the packages (see :func:`taskroot.link_packages`).
    """
    site = check_site()
    dest.mkdir(parents=True)
    if not stage.get("slim_handler"):
        shutil.copytree(site, dest, dirs_exist_ok=True)
    (dest / "zappa_settings.py").write_text(render_settings(stage, dest.parent / f"{dest.name}-settings"))
    shutil.copy(PACKAGE_DIR / "runtime" / "handler.py", dest / "handler.py")
    copy_runtime(dest / "zappa_eager")
    taskroot.link_packages(dest, app_packages(), bytecode=bytecode)
    return dest


def archive_key(stage: Mapping[str, Any]) -> str:
    """Where upstream's slim_handler settings say the project tarball is."""
    return f"{STAGE}_{stage.get('project_name', PROJECT)}_current_project.tar.gz"


@dataclass(frozen=True)
class ArchiveSize:
    """How many files of random bytes the project archive carries besides the site (none: the site alone)."""

    assets: int = 0
    asset_bytes: int = 0

    @property
    def label(self) -> str:
        return f"{self.assets} assets x {self.asset_bytes // 1024} KiB"


NO_ASSETS = ArchiveSize()


@dataclass(frozen=True)
class ProjectArchive:
    data: bytes
    files: Mapping[str, int]  # regular file -> size, as the unpacked folder must hold them

    @property
    def mb(self) -> float:
        return len(self.data) / 1e6


def build_archive(size: ArchiveSize = NO_ASSETS, extra: Mapping[str, str] | None = None,
                  seed: int = 11) -> ProjectArchive:
    """The site's tarball, as slim_handler uploads it (its packages stay in the task root), plus
    ``extra`` modules and ``size``'s assets: random, so incompressible, like images or compiled libraries."""
    site = check_site()
    rng = random.Random(seed)
    files: dict[str, int] = {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for path in sorted((site / PROJECT).rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            name = path.relative_to(site).as_posix()
            archive.add(path, arcname=name, recursive=False)
            files[name] = path.stat().st_size
        for name, text in sorted((extra or {}).items()):
            _add_bytes(archive, name, text.encode())
            files[name] = len(text.encode())
        for index in range(size.assets):
            name = f"assets/{index // 100:02d}/asset-{index:05d}.bin"
            _add_bytes(archive, name, rng.randbytes(size.asset_bytes))
            files[name] = size.asset_bytes
    return ProjectArchive(buffer.getvalue(), files)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


# -- running it ------------------------------------------------------------------------------

def emulator(root: Path, env: Mapping[str, str] | None = None, **kwargs: Any) -> Emulator:
    """An emulator of the site's function (a 30 s function timeout unless ``kwargs`` say otherwise)."""
    kwargs.setdefault("timeout_s", 30.0)
    return Emulator(root, env=dict(env or {}), function_name=FUNCTION_NAME, **kwargs)


def home_event() -> dict[str, Any]:
    """A request for the site's home page (a template, no database)."""
    return events.api_gateway_v1("GET", "/")


def healthz_event() -> dict[str, Any]:
    """A request for the site's health check (one database query)."""
    return events.api_gateway_v1("GET", "/healthz")
