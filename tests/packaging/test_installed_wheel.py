"""What users install: the sdist and wheel `python -m build` makes, checked, installed, used.

One build and one fresh virtualenv for the module: the wheel (not the source tree, not an editable
install) with the example app's requirements, run from temporary folders. Its `zappa` must be
zappa-eager's, package the example with valid bytecode and no tooling, and after a forced
reinstall of zappa (upstream's `zappa` script back on the PATH) refuse an eager stage, naming
the command that fixes it; that command must fix it.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import django
import pytest
import zappa

from tests.conftest import REPO
from zappa_eager import __version__
from zappa_eager.cli import EXTRA_COMMANDS
from zappa_eager.guard import PTH_LINE, PTH_NAME
from zappa_eager.packaging.facts import describe_package
from zappa_eager.packaging.runtime_files import runtime_modules

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "django_app"
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
#: zappa-eager's tooling, which no Lambda package may carry (the runtime modules are what handler.py imports).
TOOLING = ("zappa_eager/cli.py", "zappa_eager/settings.py", "zappa_eager/guard.py", "zappa_eager/bench/",
           "zappa_eager/emulator/", "zappa_eager/packaging/", "zappa_eager/provisioning/", "zappa_eager/reliability/",
           "tests/", PTH_NAME)


@dataclass(frozen=True)
class Built:
    wheel: Path
    sdist: Path


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def site_packages(self) -> Path:
        return next(self.venv.glob("lib/python*/site-packages"))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(VIRTUAL_ENV=str(self.venv), PATH=f"{self.bin}:{env['PATH']}", COLUMNS="1000")
        return env

    def run(self, *argv: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        program = argv[0] if "/" in argv[0] else str(self.bin / argv[0])
        proc = subprocess.run([program, *argv[1:]], cwd=cwd, env=self.env(), capture_output=True, text=True,
                              timeout=900)
        if check:
            assert proc.returncode == 0, f"{argv}: {proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`python -m build` of a copy of the tree: the sdist, then the wheel built from that sdist."""
    source = tmp_path_factory.mktemp("source") / "zappa-eager"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(".venv*", ".git", "*.egg-info", "build", "dist",
                                                                "__pycache__", ".mypy_cache", ".ruff_cache"))
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)], check=True,
                   capture_output=True, cwd=out, timeout=900)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Built(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A new virtualenv with the wheel and the example app's requirements, as a user would have."""
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    result = Installed(venv=venv, wheel=built.wheel)
    # The Django this run tests (pip's cache has it); pip runs from a temp folder, never the source tree.
    result.run("pip", "install", "--quiet", "--disable-pip-version-check", str(built.wheel),
               "-r", str(EXAMPLE / "requirements.txt"), f"django=={django.get_version()}", cwd=root)
    return result


@pytest.fixture(scope="module")
def example(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example app, with a stage like its `dev` whose runtime is this interpreter's (bytecode matches)."""
    folder = tmp_path_factory.mktemp("example") / "django_app"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "*.zip", "*.tar.gz"))
    settings_file = folder / "zappa_settings.json"
    stages = json.loads(settings_file.read_text())
    stages["installed"] = {"extends": "dev", "runtime": RUNTIME}
    settings_file.write_text(json.dumps(stages, indent=2))
    return folder


def test_sdist_and_wheel_pass_twine_check_strict(built: Built) -> None:
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(built.wheel), str(built.sdist)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2


def test_wheel_holds_the_product_its_license_and_the_guard(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = wheel.namelist()
        pth = wheel.read(PTH_NAME).decode()
        metadata = wheel.read(f"zappa_eager-{__version__}.dist-info/METADATA").decode()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"zappa_eager", f"zappa_eager-{__version__}.dist-info", PTH_NAME}
    assert not [n for n in names if "/tests/" in n or "/reliability/" in n]
    assert f"zappa_eager-{__version__}.dist-info/licenses/LICENSE" in names
    assert pth == PTH_LINE
    assert "License-Expression: MIT" in metadata


def _refers_to_tests(path: Path) -> list[str]:
    """Imports of ``tests`` and ``.../tests/...`` paths in code (docstrings and comments may name test files)."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "tests" for a in node.names):
            found.append(f"{path.name}:{node.lineno} import tests")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "tests" and not node.level:
            found.append(f"{path.name}:{node.lineno} from {node.module}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in ("tests", "fixtures"):
                    found.append(f"{path.name}:{node.lineno} / {side.value!r}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and ("tests/" in node.value or "tests." in node.value.split(" ")[0])):
            found.append(f"{path.name}:{node.lineno} {node.value[:60]!r}")
    return found


def test_installed_package_never_refers_to_tests(installed: Installed) -> None:
    package = installed.site_packages / "zappa_eager"
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 20 and not (package / "reliability").exists()
    assert [ref for source in sources for ref in _refers_to_tests(source)] == []
    assert not (installed.site_packages / "tests").exists()


def test_installed_zappa_is_zappa_eagers(installed: Installed, tmp_path: Path) -> None:
    assert shutil.which("zappa", path=installed.env()["PATH"]) == str(installed.bin / "zappa")
    where = installed.run("python", "-c", "import zappa_eager; print(zappa_eager.__file__)", cwd=tmp_path).stdout
    assert where.strip() == str(installed.site_packages / "zappa_eager" / "__init__.py")  # not the source tree
    version = installed.run("zappa", "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"zappa-eager {__version__} (extends zappa {zappa.__version__})"
    assert version.stderr == ""
    assert installed.run("zappa-eager", "--version", cwd=tmp_path).stdout == version.stdout
    help_text = " ".join(installed.run("zappa", "--help", cwd=tmp_path).stdout.split())
    header = f"zappa-eager {__version__} (extends zappa {zappa.__version__}): Zappa with eager initialization"
    assert header in help_text
    for name, (line, _) in EXTRA_COMMANDS.items():
        assert f"{name} {' '.join(line.split())}" in help_text, name


def test_installed_wheel_packages_the_example_with_valid_bytecode_and_no_tooling(
    installed: Installed, example: Path, tmp_path: Path
) -> None:
    result = installed.run("zappa", "package", "installed", "-o", "installed.zip", cwd=example)
    assert "zappa-eager: bytecode: compiled" in result.stdout, result.stdout
    assert "zappa-eager: lean package" in result.stdout
    package = example / "installed.zip"
    facts = describe_package(package)
    assert facts.bytecode.state == "valid", facts.bytecode.as_dict()
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        handler = archive.read("handler.py")
        settings = archive.read("zappa_settings.py").decode()
    assert handler == (installed.site_packages / "zappa_eager" / "runtime" / "handler.py").read_bytes()
    assert "EAGER_INIT=True" in settings and "'path': '/healthz'" in settings
    assert [n for n in names if n.startswith(TOOLING) or "/tests/" in n and n.startswith("zappa_eager/")] == []
    shipped = {n.removeprefix("zappa_eager/") for n in names if n.startswith("zappa_eager/") and n.endswith(".py")}
    assert shipped == set(runtime_modules())
    assert {"shop/settings.py", "django/__init__.py", "rest_framework/__init__.py"} <= set(names)


def test_after_a_forced_reinstall_of_zappa_an_eager_stage_fails_with_the_fix(
    installed: Installed, example: Path, tmp_path: Path
) -> None:
    installed.run("pip", "install", "--quiet", "--disable-pip-version-check", "--force-reinstall", "--no-deps",
                  f"zappa=={zappa.__version__}", cwd=tmp_path)
    assert "from zappa.cli import handle" in (installed.bin / "zappa").read_text()  # upstream's script again

    version = installed.run("zappa", "--version", cwd=tmp_path)
    assert version.stdout.strip() == zappa.__version__
    assert "this `zappa` is upstream Zappa's CLI" in version.stderr
    help_text = " ".join(installed.run("zappa", "--help", cwd=tmp_path).stdout.split())
    assert "this `zappa` is upstream Zappa's CLI" in help_text

    refused = installed.run("zappa", "package", "installed", "-o", "upstream.zip", cwd=example, check=False)
    message = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, message
    assert "stage 'installed' sets zappa-eager settings (eager_init, eager_init_warmup)" in message
    fix = f"pip install --force-reinstall --no-deps {installed.wheel}"
    assert f"Fix: {fix}" in message
    assert not (example / "upstream.zip").exists()

    # The command the error names puts zappa-eager's `zappa` back.
    installed.run(str(installed.bin / "pip"), *shlex.split(fix)[1:], "--quiet", "--disable-pip-version-check",
                  cwd=tmp_path)
    version = installed.run("zappa", "--version", cwd=tmp_path)
    assert version.stdout.strip().startswith(f"zappa-eager {__version__}") and version.stderr == ""
