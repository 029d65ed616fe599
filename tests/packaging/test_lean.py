"""The lean selection, on a package of fake distributions: tooling goes, anything the project needs stays."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from zappa_eager.packaging.lean import make_lean, read_distributions, select
from zappa_eager.packaging.optimize import PackageSteps, lean_summary, optimize_archive


def add_dist(root: Path, name: str, version: str = "1.0", requires: tuple[str, ...] = (),
             modules: tuple[str, ...] | None = None, requested: bool = False, size: int = 10) -> None:
    """A distribution as pip installs it: its modules, and a dist-info with METADATA, RECORD (and REQUESTED)."""
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"] + [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    if requested:
        (info / "REQUESTED").write_text("")
    record = []
    for module in modules if modules is not None else (name.replace("-", "_"),):
        path = root / module / "__init__.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" + "#" * size)
        record.append(f"{module}/__init__.py,,")
    record += [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,", f"../../../bin/{name},,"]
    (info / "RECORD").write_text("\n".join(record) + "\n")


def zappa_eager_like(root: Path) -> None:
    """zappa, its CLI and runtime requirements, and zappa-eager with a [bench] extra, as installed."""
    add_dist(root, "zappa", "0.63.0", ("boto3>=1.17", "durationpy", "werkzeug", "requests>=2.32", "troposphere>=3",
                                       "pip>=24", "setuptools", "tqdm", "pyyaml", "argcomplete"))
    add_dist(root, "boto3", requires=("botocore", "s3transfer"))
    add_dist(root, "botocore", requires=("jmespath", "python-dateutil", "urllib3"))
    for name in ("s3transfer", "jmespath", "urllib3", "durationpy", "certifi", "idna", "markupsafe", "tqdm",
                 "argcomplete", "pip", "setuptools"):
        add_dist(root, name)
    add_dist(root, "python-dateutil", modules=("dateutil",), requires=("six",))
    add_dist(root, "six", modules=())
    (root / "six.py").write_text("")
    add_dist(root, "werkzeug", requires=("markupsafe",))
    add_dist(root, "requests", requires=("urllib3", "certifi", "idna"))
    add_dist(root, "troposphere", requires=("cfn-flip",))
    add_dist(root, "cfn-flip", modules=("cfn_flip",), requires=("pyyaml", "six"))
    add_dist(root, "pyyaml", modules=("yaml",))
    add_dist(root, "zappa-eager", "0.1.0", ("zappa<0.64,>=0.63.0", 'moto[server]>=5.1; extra == "bench"',
                                            'matplotlib>=3.7; extra == "bench"'), modules=(), requested=True)
    package = root / "zappa_eager"
    for module in ("__init__.py", "runtime/__init__.py", "runtime/handler.py", "runtime/boot.py", "cli.py",
                   "settings.py", "bench/__init__.py",
                   "emulator/__init__.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("")
    add_dist(root, "moto", requires=("boto3", "requests", "werkzeug", "xmltodict", 'flask; extra == "server"'))
    add_dist(root, "xmltodict")
    add_dist(root, "flask", requires=("werkzeug", "blinker"))
    add_dist(root, "blinker")
    add_dist(root, "matplotlib", requires=("numpy", "pillow"), size=5000)
    add_dist(root, "numpy", size=20000)
    add_dist(root, "pillow", modules=("PIL",))


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "package"
    root.mkdir()
    zappa_eager_like(root)
    (root / "myapp").mkdir()
    (root / "myapp" / "__init__.py").write_text("import django\nfrom myapp import views\n")
    add_dist(root, "django", requires=("asgiref", "sqlparse"), requested=True)
    add_dist(root, "asgiref")
    add_dist(root, "sqlparse")
    return root


def names(root: Path) -> set[str]:
    return set(read_distributions(root))


def test_tooling_and_zappa_cli_dependencies_go_runtime_and_project_stay(package: Path) -> None:
    result = make_lean(package, project_dir=None)
    kept = names(package)
    assert {"django", "asgiref", "sqlparse", "zappa", "zappa-eager", "boto3", "botocore", "s3transfer", "jmespath",
            "python-dateutil", "six", "urllib3", "werkzeug", "markupsafe", "durationpy"} == kept
    dropped = {d.name for d in result.dropped}
    assert {"moto", "flask", "blinker", "xmltodict", "matplotlib", "numpy", "pillow", "troposphere", "cfn-flip",
            "pyyaml", "pip", "setuptools", "tqdm", "argcomplete", "requests", "certifi", "idna"} == dropped
    for gone in ("moto", "numpy", "PIL", "yaml", "cfn_flip", "pip", "numpy-1.0.dist-info"):
        assert not (package / gone).exists(), gone
    assert (package / "six.py").exists() and (package / "dateutil" / "__init__.py").exists()
    # zappa-eager keeps only what handler.py imports, transitively
    assert all((package / "zappa_eager" / "runtime" / name).exists() for name in ("handler.py", "boot.py"))
    for tooling in ("cli.py", "settings.py", "bench", "emulator"):
        assert not (package / "zappa_eager" / tooling).exists(), tooling
    assert result.total_bytes > 25000  # numpy and matplotlib alone


def test_a_user_dependency_shared_with_tooling_stays(package: Path) -> None:
    """The project asked for flask itself (REQUESTED): moto needs it too, but moto's need is not why it stays."""
    info = next(package.glob("flask-*.dist-info"))
    (info / "REQUESTED").write_text("")
    make_lean(package)
    kept = names(package)
    assert {"flask", "blinker", "werkzeug"} <= kept and "moto" not in kept


def test_requests_serves_zappa_cli_only_and_stays_when_the_project_uses_it(package: Path, tmp_path: Path) -> None:
    """zappa requires requests for its version check; a project keeps it by importing it, as any other."""
    make_lean(package)
    assert not {"requests", "certifi", "idna"} & names(package)
    assert "urllib3" in names(package)  # botocore's

    again = tmp_path / "again"
    again.mkdir()
    zappa_eager_like(again)
    (again / "myapp").mkdir()
    (again / "myapp" / "client.py").write_text("import requests\n")
    make_lean(again)
    assert {"requests", "certifi", "idna", "urllib3"} <= names(again)


def test_a_dependency_named_in_requirements_txt_stays(package: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("# app\nDjango>=4.2\nNumPy==1.0  # charts\n-r other.txt\n")
    make_lean(package, project_dir=project)
    kept = names(package)
    assert "numpy" in kept and "matplotlib" not in kept and "pillow" not in kept


def test_a_module_the_project_imports_keeps_its_distribution(package: Path) -> None:
    """The project imports yaml without declaring it (zappa's CLI brought PyYAML along)."""
    (package / "myapp" / "config.py").write_text("import os, yaml\n")
    make_lean(package)
    assert "pyyaml" in names(package) and "troposphere" not in names(package)


def test_lean_keep_keeps_a_distribution_and_what_it_needs(package: Path) -> None:
    make_lean(package, keep_names=("matplotlib",))
    assert {"matplotlib", "numpy", "pillow"} <= names(package) and "moto" not in names(package)


def test_the_slim_handler_zip_ignores_requested_markers(package: Path) -> None:
    """The handler venv is pip-installed from a flat pinned list: every distribution there is REQUESTED."""
    for info in package.glob("*.dist-info"):
        (info / "REQUESTED").write_text("")
    make_lean(package, user_roots=False)
    kept = names(package)
    assert "django" not in kept and "troposphere" not in kept and {"zappa", "boto3", "werkzeug"} <= kept


def test_an_unrequired_distribution_is_a_root_unless_it_is_tooling(package: Path) -> None:
    add_dist(package, "orphan-lib", modules=("orphan_lib",))
    selection = select(read_distributions(package))
    assert "orphan-lib" in selection.keep and selection.roots["orphan-lib"] == "not required by anything else"
    assert "moto" in selection.drop and "pip" in selection.drop


def test_optimize_archive_rewrites_a_zip_in_place_and_prints_what_it_left_out(package: Path, tmp_path: Path) -> None:
    archive = tmp_path / "lambda.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(package.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(package).as_posix())
    result = optimize_archive(archive, PackageSteps(compile_bytecode=True, lean=True))
    with zipfile.ZipFile(archive) as handle:
        listing = handle.namelist()
        info = handle.getinfo("django/__init__.py")
    assert "numpy/__init__.py" not in listing and "django/__init__.py" in listing
    assert any(name.startswith("django/__pycache__/__init__.") for name in listing)
    assert info.date_time[0] >= 2025 and (info.external_attr >> 16) & 0o777 == 0o755
    line = lean_summary([result])
    assert line is not None and "numpy 1.0" in line and "moto 1.0" in line and "MB unzipped" in line


def test_a_corrupt_package_is_left_as_it_was(tmp_path: Path) -> None:
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(zipfile.BadZipFile):
        optimize_archive(archive, PackageSteps())
    assert archive.read_bytes() == b"PK\x03\x04 not really a zip"
    assert [p.name for p in tmp_path.iterdir()] == ["broken.zip"]
