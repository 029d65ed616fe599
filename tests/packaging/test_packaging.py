"""`pip install .` in a fresh virtualenv: `zappa` is ours, and `zappa package` ships our handler."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import django
import pytest

from tests.conftest import FIXTURES, REPO

HANDLER = Path(__file__).resolve().parents[2] / "zappa_eager" / "runtime" / "handler.py"
pytestmark = pytest.mark.e2e

STAGES = {
    "dev": {
        "django_settings": "djsite.settings",
        "project_name": "djsite",
        "s3_bucket": "zappa-eager-tests",
        "aws_region": "us-east-1",
        "keep_warm": False,
        "use_precompiled_packages": False,
        "eager_init_warmup": ["/healthz"],
    },
    "lazy": {"extends": "dev", "eager_init": False},
    "slim": {"extends": "dev", "slim_handler": True},
    "bad": {"extends": "dev", "eager_init_on_error": "explode"},
}


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new virtualenv with `pip install .` (not editable) and Django, as a user would have."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    build = tmp_path_factory.mktemp("src")
    # ".venv*": scripts/test's matrix virtualenvs (.venv-py3.12-django6.1, ...) and the demo's live there too.
    shutil.copytree(REPO, build / "zappa-eager", ignore=shutil.ignore_patterns(".venv*", ".git", "*.egg-info", "build"))
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         str(build / "zappa-eager"), f"django=={django.get_version()}"],  # the Django this run tests
        check=True,
    )
    yield venv


def venv_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}:{env['PATH']}")
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("project") / "djsite"
    shutil.copytree(FIXTURES / "djsite", folder)
    (folder / "zappa_settings.json").write_text(json.dumps(STAGES))
    return folder


def zappa(venv: Path, project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "zappa"), *args], cwd=project, env=venv_env(venv),
                          capture_output=True, text=True, check=check, timeout=900)


class Packages:
    """`zappa package STAGE` run once per stage and virtualenv; the tests read the same zip (a package build
    is the slow part of this module: each test asserting on its own copy would build the same zip again)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.built: dict[tuple[Path, str], tuple[Path, subprocess.CompletedProcess[str]]] = {}

    def __call__(self, venv: Path, stage: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
        key = (venv, stage)
        if key not in self.built:
            output = self.project / f"{stage}-{len(self.built)}.zip"
            self.built[key] = output, zappa(venv, self.project, "package", stage, "-o", output.name)
        return self.built[key]


@pytest.fixture(scope="module")
def packaged(project: Path) -> Packages:
    return Packages(project)


def test_zappa_on_path_is_zappa_eager(fresh_venv: Path, project: Path) -> None:
    assert shutil.which("zappa", path=venv_env(fresh_venv)["PATH"]) == str(fresh_venv / "bin" / "zappa")
    out = zappa(fresh_venv, project, "--version").stdout
    assert out.startswith("zappa-eager 0.1.0") and "extends zappa 0.63." in out
    alias = subprocess.run([str(fresh_venv / "bin" / "zappa-eager"), "--version"], capture_output=True, text=True)
    assert alias.stdout == out


def test_package_puts_the_eager_handler_and_settings_in_the_zip(fresh_venv: Path, packaged: Packages) -> None:
    dev_zip, _ = packaged(fresh_venv, "dev")
    with zipfile.ZipFile(dev_zip) as package:
        names = set(package.namelist())
        handler = package.read("handler.py")
        settings = package.read("zappa_settings.py").decode()
    assert handler == HANDLER.read_bytes()
    assert {"zappa_eager/runtime/boot.py", "zappa_eager/runtime/archive.py", "djsite/settings.py",
            "django/__init__.py"} <= names
    assert "EAGER_INIT=True" in settings and "EAGER_INIT_ON_ERROR='auto'" in settings
    assert "'path': '/healthz'" in settings


def test_packaged_zip_boots_eagerly_in_an_isolated_interpreter(fresh_venv: Path, packaged: Packages,
                                                               tmp_path: Path) -> None:
    dev_zip, _ = packaged(fresh_venv, "dev")
    task = tmp_path / "task"
    with zipfile.ZipFile(dev_zip) as package:
        package.extractall(task)
    script = (
        "import sys; sys.path.insert(0, '.'); import handler, zappa.handler as u; "
        "print('BUILT', u.global_handler is not None, 'djsite.urls' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-I", "-c", script], cwd=task, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "DJSITE_DB": str(tmp_path / "db.sqlite3"),
                               "HOME": str(tmp_path), "AWS_LAMBDA_INITIALIZATION_TYPE": "provisioned-concurrency"},
                          timeout=120)
    assert "BUILT True True" in proc.stdout, proc.stdout + proc.stderr
    assert "warmup=[GET /healthz -> 200 warmed] x2" in proc.stdout


def test_eager_init_false_packages_upstreams_handler_unmodified(fresh_venv: Path, packaged: Packages) -> None:
    lazy_zip, _ = packaged(fresh_venv, "lazy")
    upstream = subprocess.run(
        [str(fresh_venv / "bin" / "python"), "-c", "import zappa.handler as h; print(h.__file__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    with zipfile.ZipFile(lazy_zip) as package:
        assert package.read("handler.py") == Path(upstream).read_bytes()
        assert "EAGER_INIT" not in package.read("zappa_settings.py").decode()


def test_slim_handler_zip_has_our_handler_and_runtime(fresh_venv: Path, project: Path, packaged: Packages,
                                                      tmp_path: Path) -> None:
    slim_zip, result = packaged(fresh_venv, "slim")
    assert "Package created" in result.stdout
    # use_precompiled_packages: false holds for the handler zip too (upstream looks each package up on PyPI there).
    assert "manylinux wheel" not in result.stdout + result.stderr
    with zipfile.ZipFile(slim_zip) as package:
        assert package.read("handler.py") == HANDLER.read_bytes()
        settings = package.read("zappa_settings.py").decode()
        assert "SLIM_HANDLER=True" in settings and "EAGER_INIT=True" in settings
        assert "ARCHIVE_PATH='s3://zappa-eager-tests/slim_djsite_current_project.tar.gz'" in settings
        assert "djsite/settings.py" not in package.namelist()
        package.extractall(tmp_path / "handler")
    proc = subprocess.run(
        [sys.executable, "-I", "-c",
         "import sys; sys.path.insert(0, '.'); import zappa_eager.runtime.boot; print('OK')"],
        cwd=tmp_path / "handler", capture_output=True, text=True, timeout=120,
    )
    assert proc.stdout.strip() == "OK", proc.stderr
    tarballs = sorted(project.glob("djsite-slim-*.tar.gz"))
    assert tarballs, list(project.iterdir())
    with tarfile.open(tarballs[-1]) as archive:
        assert "djsite/settings.py" in archive.getnames()


#: Imports the handler from a read-only task root (``-B``: Python writes nothing, as on /var/task) and
#: counts the modules compiled from source because no valid bytecode was there.
COUNT_SOURCE_COMPILES = r"""
import importlib._bootstrap_external as ext, sys
compiled = []
original = ext.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
ext.SourceLoader.source_to_code = counting
sys.path.insert(0, '.')
import handler, zappa.handler as u
print('BUILT', u.global_handler is not None)
print('COMPILED', len(compiled), compiled[:5])
"""

TOOLING_FILES = ("zappa_eager/cli.py", "zappa_eager/settings.py", "zappa_eager/bench/", "zappa_eager/emulator/",
                 "zappa_eager/packaging/", "troposphere/", "pip/", "setuptools/", "cfn_flip/", "argcomplete/", "tqdm/",
                 "moto/", "matplotlib/", "numpy/", "awslambdaric/", "pytest/", "mypy/")


def compiled_on_import(task: Path, tmp_path: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-I", "-B", "-c", COUNT_SOURCE_COMPILES], cwd=task, capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], "DJSITE_DB": str(tmp_path / "db.sqlite3"),
                                          "HOME": str(tmp_path), "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"},
                          timeout=120)
    assert "BUILT True" in proc.stdout, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("COMPILED"))
    return int(line.split()[1]), line


def test_package_has_valid_bytecode_and_no_tooling(fresh_venv: Path, packaged: Packages, tmp_path: Path) -> None:
    from zappa_eager.packaging.facts import describe_package

    lean_zip, result = packaged(fresh_venv, "dev")
    assert "zappa-eager: lean package: left out" in result.stdout and "troposphere" in result.stdout
    assert "zappa-eager: bytecode: compiled" in result.stdout
    facts = describe_package(lean_zip)
    assert facts.bytecode.state == "valid", facts.bytecode.as_dict()
    with zipfile.ZipFile(lean_zip) as package:
        names = package.namelist()
        package.extractall(tmp_path / "task")
    assert not [n for n in names if n.startswith(TOOLING_FILES)]
    assert {"zappa_eager/runtime/boot.py", "django/__init__.py", "werkzeug/__init__.py",
            "boto3/__init__.py"} <= set(names)
    count, line = compiled_on_import(tmp_path / "task", tmp_path)
    assert count == 0, line


def test_upstream_package_ships_stale_bytecode_that_is_recompiled(fresh_venv: Path, packaged: Packages) -> None:
    """The baseline the bytecode step fixes: upstream's copies drop mtimes, so every shipped pyc is stale."""
    from zappa_eager.packaging.facts import describe_package

    upstream_zip, _ = packaged(fresh_venv, "lazy")
    facts = describe_package(upstream_zip)
    assert facts.bytecode.state in ("stale", "partial", "none") and facts.bytecode.stale > 100
    with zipfile.ZipFile(upstream_zip) as package:
        assert any(n.startswith("troposphere/") for n in package.namelist())


def test_slim_archive_and_handler_zip_have_valid_bytecode(fresh_venv: Path, project: Path,
                                                          packaged: Packages) -> None:
    from zappa_eager.packaging.facts import describe_package

    slim_zip, _ = packaged(fresh_venv, "slim")
    tarball = sorted(project.glob("djsite-slim-*.tar.gz"))[-1]
    facts = describe_package(slim_zip, tarball)
    assert facts.bytecode.state == "valid", facts.bytecode.as_dict()
    with zipfile.ZipFile(slim_zip) as package:
        assert not [n for n in package.namelist() if n.startswith(TOOLING_FILES)]
    with tarfile.open(tarball) as archive:
        assert f"djsite/__pycache__/settings.{sys.implementation.cache_tag}.pyc" in archive.getnames()


def test_package_built_beside_the_bench_tooling_is_no_larger_than_upstreams_without_it(
    fresh_venv: Path, packaged: Packages
) -> None:
    """This interpreter's virtualenv has zappa-eager[bench,dev] (moto, matplotlib, awslambdaric, ...)."""
    with_tooling, result = packaged(Path(sys.prefix), "dev")
    assert "moto" in result.stdout and "matplotlib" in result.stdout
    upstream_zip, _ = packaged(fresh_venv, "lazy")
    with zipfile.ZipFile(with_tooling) as package:
        names = package.namelist()
        unzipped = sum(i.file_size for i in package.infolist())
    with zipfile.ZipFile(upstream_zip) as package:
        upstream_unzipped = sum(i.file_size for i in package.infolist())
    assert not [n for n in names if n.startswith(TOOLING_FILES)]
    assert with_tooling.stat().st_size <= upstream_zip.stat().st_size
    assert unzipped <= upstream_unzipped


def test_bad_setting_fails_before_any_aws_call(fresh_venv: Path, project: Path) -> None:
    result = zappa(fresh_venv, project, "package", "bad", check=False)
    assert result.returncode != 0
    assert "Invalid eager_init_on_error = \"explode\" in stage 'bad'" in result.stdout + result.stderr
    assert not list(project.glob("djsite-bad-*"))
