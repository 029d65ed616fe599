"""Deriving the four modes: upstream's package for the upstream modes, ours for the eager ones."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, base_stage
from zappa_eager.bench.environment import plan_environment
from zappa_eager.bench.function import FunctionSpec, emulator_env, s3_objects
from zappa_eager.bench.modes import EAGER, FLOOR, MODE_SPECS, MODES, UPSTREAM, packagings_for
from zappa_eager.bench.variants import (
    Package,
    Variant,
    archive_files,
    derive_task_roots,
    given_variant,
    handler_source,
    package_is_slim,
    packaging_settings,
    render_settings,
    replace_module,
    settings_value,
    stage_overrides,
    warmup_requests,
)
from zappa_eager.packaging.bytecode import pyc_valid

CHECKED = py_compile.PycInvalidationMode.CHECKED_HASH
UNCHECKED = py_compile.PycInvalidationMode.UNCHECKED_HASH


def load_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Any:
    from zappa_eager.cli import EagerZappaCLI

    (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": base_stage(**overrides)}))
    monkeypatch.chdir(tmp_path)
    cli = EagerZappaCLI()
    cli.api_stage = "dev"
    cli.load_credentials = False
    cli.load_settings()
    return cli


def test_upstream_modes_get_upstream_settings_and_handler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zappa.handler

    cli = load_cli(tmp_path, monkeypatch, eager_init_warmup=["/healthz"])
    warmup = warmup_requests(cli, ["/"])
    text = render_settings(cli, False, MODE_SPECS["upstream"], warmup)
    assert "DJANGO_SETTINGS='djsite.settings'" in text and "EAGER" not in text
    assert handler_source(MODE_SPECS[UPSTREAM]) == Path(zappa.handler.__file__).read_bytes()
    assert handler_source(MODE_SPECS[EAGER]) == (REPO / "zappa_eager" / "runtime" / "handler.py").read_bytes()


def test_eager_modes_differ_only_in_warmup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = load_cli(tmp_path, monkeypatch, eager_init_warmup=["/healthz"])
    warmup = warmup_requests(cli, ["/"])
    eager = render_settings(cli, False, MODE_SPECS["eager"], warmup)
    warm = render_settings(cli, False, MODE_SPECS["eager+warmup"], warmup)
    assert settings_value(eager, "EAGER_INIT") is True and settings_value(eager, "EAGER_INIT_WARMUP") == []
    assert [w["path"] for w in settings_value(warm, "EAGER_INIT_WARMUP")] == ["/healthz", "/"]
    assert cli.eager.enabled and [w.path for w in cli.eager.warmup] == ["/healthz"]  # restored


def test_warmup_defaults_to_the_benchmark_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = load_cli(tmp_path, monkeypatch)
    assert [w.path for w in warmup_requests(cli, ["/", "/api/", "/"])] == ["/", "/api/"]


def test_warmup_is_the_stage_warmup_plus_the_benchmarked_paths(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cli = load_cli(tmp_path, monkeypatch, eager_init_warmup=[
        "/healthz", {"method": "GET", "path": "/api/", "headers": {"Accept": "application/json"}},
        {"method": "POST", "path": "/"},
    ])
    warmup = warmup_requests(cli, ["/", "/api/"])
    assert [(w.method, w.path) for w in warmup] == [("GET", "/healthz"), ("GET", "/api/"), ("POST", "/"), ("GET", "/")]
    assert dict(warmup[1].headers) == {"Accept": "application/json"}  # the stage's own request is kept as is


def test_slim_rendering_points_at_the_archive_and_overrides_are_restored(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cli = load_cli(tmp_path, monkeypatch, eager_init=False)
    cli.override_stage_config_setting("memory_size", 1024)
    text = render_settings(cli, True, MODE_SPECS["eager"], ())
    assert settings_value(text, "SLIM_HANDLER") is True
    assert settings_value(text, "ARCHIVE_PATH") == "s3://zappa-eager-tests/dev_djsite_current_project.tar.gz"
    assert settings_value(text, "EAGER_INIT") is True  # the mode decides, not the stage
    assert cli.stage_config_overrides == {"memory_size": 1024}
    assert not cli.eager.enabled
    with stage_overrides(cli, slim_handler=True):
        assert cli.stage_config["slim_handler"] is True
    assert "slim_handler" not in cli.stage_config


def compiled(source: str, mode: py_compile.PycInvalidationMode, tmp: Path) -> bytes:
    """The pyc this interpreter writes for ``source`` with invalidation ``mode``."""
    path = tmp / f"m{len(list(tmp.glob('*.py')))}.py"
    path.write_text(source)
    return Path(py_compile.compile(str(path), cfile=str(path) + "c", doraise=True, invalidation_mode=mode)).read_bytes()


def write_package(path: Path, handler: str, settings: str, *, extra: dict[str, str | bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handler.py", handler)
        archive.writestr("zappa_settings.py", settings)
        archive.writestr("djsite/settings.py", "SECRET_KEY = 'x'\n")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return path


def test_derive_task_roots_take_each_mode_from_its_packaging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    cli = load_cli(tmp_path / "project", monkeypatch, eager_init_warmup=["/healthz"])
    warmup = warmup_requests(cli, ["/"])
    upstream_settings = render_settings(cli, False, MODE_SPECS["upstream"], warmup)
    upstream_zip = write_package(tmp_path / "upstream.zip", handler_source(MODE_SPECS[UPSTREAM]).decode(),
                                 upstream_settings, extra={"marker_upstream.txt": "built by upstream's create_package"})
    eager_zip = write_package(tmp_path / "eager.zip", handler_source(MODE_SPECS[EAGER]).decode(), "EAGER_INIT=True\n",
                              extra={"marker_eager.txt": "built with eager init"})
    variant = Variant("slim_off", False, {"upstream": Package("upstream", upstream_zip),
                                          "eager": Package("eager", eager_zip)})
    assert not package_is_slim(eager_zip)
    derive_task_roots(cli, variant, (*MODES, FLOOR), warmup, tmp_path / "work")
    assert set(variant.task_roots) == {*MODES, FLOOR}
    roots = variant.task_roots
    # the floor: zappa-eager's package, the app behind the floor handler (no zappa imported at run time)
    assert (roots[FLOOR] / "marker_eager.txt").exists() and not (roots[FLOOR] / "marker_upstream.txt").exists()
    assert (roots[FLOOR] / "handler.py").read_bytes() == handler_source(MODE_SPECS[FLOOR])
    assert b"import zappa" not in handler_source(MODE_SPECS[FLOOR])
    for mode in ("upstream", "upstream-env"):
        assert (roots[mode] / "marker_upstream.txt").exists() and not (roots[mode] / "marker_eager.txt").exists()
        assert (roots[mode] / "handler.py").read_bytes() == handler_source(MODE_SPECS[UPSTREAM])
        assert "EAGER_INIT" not in (roots[mode] / "zappa_settings.py").read_text()
    for mode in ("eager", "eager+warmup"):
        assert (roots[mode] / "marker_eager.txt").exists() and not (roots[mode] / "marker_upstream.txt").exists()
        assert (roots[mode] / "handler.py").read_bytes() == handler_source(MODE_SPECS[EAGER])
        assert (roots[mode] / "zappa_settings.py").read_text() == variant.settings[mode]
    assert settings_value(variant.settings["eager+warmup"], "EAGER_INIT_WARMUP")
    # modes of one packaging share its files; the two packagings do not
    assert (roots["upstream"] / "djsite/settings.py").stat().st_ino == \
        (roots["upstream-env"] / "djsite/settings.py").stat().st_ino
    assert (roots["upstream"] / "djsite/settings.py").stat().st_ino != \
        (roots["eager"] / "djsite/settings.py").stat().st_ino
    base = tmp_path / "work" / "slim_off" / "package-eager"
    assert (base / "zappa_settings.py").read_text() == "EAGER_INIT=True\n"  # never written through a hard link


def test_a_given_package_serves_every_mode_with_handler_and_settings_swapped(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    cli = load_cli(tmp_path / "project", monkeypatch, eager_init_warmup=["/healthz"])
    package = write_package(tmp_path / "pkg.zip", "# eager handler from the package\n", "SLIM_HANDLER=False\n")
    variant = given_variant(package, None, False)
    assert variant.single_package and variant.package_for("upstream") is variant.package_for("eager")
    assert variant.describe()["packages"]["upstream"]["packaging"] == "given"
    assert variant.describe()["packages"]["eager"]["files"] == 3
    derive_task_roots(cli, variant, MODES, warmup_requests(cli, ["/"]), tmp_path / "work")
    upstream, eager = variant.task_roots["upstream"], variant.task_roots["eager"]
    assert (upstream / "djsite/settings.py").stat().st_ino == (eager / "djsite/settings.py").stat().st_ino
    assert (upstream / "handler.py").read_bytes() == handler_source(MODE_SPECS[UPSTREAM])
    assert (eager / "handler.py").read_bytes() == handler_source(MODE_SPECS[EAGER])
    assert "EAGER_INIT" not in (upstream / "zappa_settings.py").read_text()
    package_copy = tmp_path / "work" / "slim_off" / "package-given"
    assert (package_copy / "handler.py").read_text() == "# eager handler from the package\n"  # never written through


def test_a_replaced_module_never_runs_the_old_bytecode(tmp_path: Path) -> None:
    """The eager package's root pycs are checked-hash, every other unchecked: none may shadow a new source."""
    tag = sys.implementation.cache_tag
    old_settings, new_settings = "VALUE = 'old'\n", "VALUE = 'new'\n"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    package = write_package(tmp_path / "eager.zip", "# handler\n", old_settings, extra={
        f"__pycache__/zappa_settings.{tag}.pyc": compiled(old_settings, UNCHECKED, scratch),  # would shadow
        f"__pycache__/zappa_settings.{tag}.opt-1.pyc": compiled(old_settings, UNCHECKED, scratch),
        "__pycache__/zappa_settings.cpython-30.pyc": b"another interpreter's",
        f"__pycache__/handler.{tag}.pyc": compiled("# handler\n", CHECKED, scratch),
    })
    base = tmp_path / "base"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(base)
    root = tmp_path / "root"
    shutil.copytree(base, root, copy_function=os.link)  # hard-linked, as derive_task_roots makes task roots
    handler_pyc = root / "__pycache__" / f"handler.{tag}.pyc"
    handler_bytes = handler_pyc.read_bytes()

    assert replace_module(root, "handler.py", b"# handler\n") is False  # same source: its bytecode stays
    assert handler_pyc.read_bytes() == handler_bytes
    assert replace_module(root, "zappa_settings.py", new_settings.encode()) is True

    cache = root / "__pycache__"
    assert sorted(p.name for p in cache.glob("zappa_settings.*")) == [f"zappa_settings.{tag}.pyc"]
    fresh = (cache / f"zappa_settings.{tag}.pyc").read_bytes()
    assert pyc_valid(fresh, new_settings.encode(), None, len(new_settings)) == (True, False)  # checked hash
    assert (base / "__pycache__" / f"zappa_settings.{tag}.pyc").read_bytes()[:4] == importlib.util.MAGIC_NUMBER
    assert (base / "zappa_settings.py").read_text() == old_settings  # the shared tree is untouched
    for flags in ([], ["-O"]):
        value = subprocess.run([sys.executable, *flags, "-c", "import zappa_settings; print(zappa_settings.VALUE)"],
                               cwd=root, capture_output=True, text=True, check=True,
                               env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(root)})
        assert value.stdout.strip() == "new", flags


def test_replacing_a_module_without_shipped_bytecode_compiles_none(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("# upstream's\n")
    assert replace_module(tmp_path, "handler.py", b"# ours\n") is True
    assert (tmp_path / "handler.py").read_text() == "# ours\n" and not (tmp_path / "__pycache__").exists()


def test_packagings_follow_the_modes() -> None:
    assert packagings_for(MODES) == ("upstream", "eager")
    assert packagings_for(["eager+warmup", "eager"]) == ("eager",)
    assert packagings_for(["upstream-env"]) == ("upstream",)
    assert [MODE_SPECS[mode].packaging for mode in MODES] == ["upstream", "upstream", "eager", "eager"]


def test_archive_files_counts_regular_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "a.py").write_text("a = 1\n")
    (source / "b.txt").write_text("b")
    with tarfile.open(tmp_path / "p.tar.gz", "w:gz") as tar:
        tar.add(source, arcname=".")
    assert archive_files(tmp_path / "p.tar.gz") == 2


def test_package_is_slim_reads_the_packaged_settings(tmp_path: Path) -> None:
    package = tmp_path / "handler.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("zappa_settings.py", "ARCHIVE_PATH='s3://b/k.tar.gz'\nSLIM_HANDLER=True\n")
    assert package_is_slim(package)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("x.py", "")
    with pytest.raises(ValueError, match="not a zappa package"):
        package_is_slim(tmp_path / "other.zip")


def test_s3_objects_and_environment(tmp_path: Path) -> None:
    archive = tmp_path / "project.tar.gz"
    package = Package("eager", tmp_path / "h.zip", archive)
    settings = "ARCHIVE_PATH='s3://bucket/dev_app_current_project.tar.gz'\nREMOTE_ENV='s3://conf/env.json'\n"
    assert s3_objects(package, settings) == [("bucket", "dev_app_current_project.tar.gz", archive),
                                             ("conf", "env.json", b"{}")]
    assert s3_objects(Package("eager", tmp_path / "z.zip"), "DEBUG=False\n") == []
    plan = plan_environment({"aws_environment_variables": {"A": 1, "AWS_REGION": "eu-west-1"}}, "dev")
    function = FunctionSpec(name="f", stage="dev", env=plan.lambda_env)
    assert function.env == {"A": "1"}
    assert emulator_env(function, "upstream-env", {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}) == {
        "A": "1", "INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}
    assert function.event("/x")["path"] == "/x" and function.event("/x")["requestContext"]["stage"] == "dev"


@pytest.mark.parametrize("stage", [{}, {"eager_init": False}, {"eager_init": False, "compile_bytecode": True},
                                   {"lean_package": False}])
def test_upstream_packaging_has_no_packaging_steps_and_eager_packaging_the_stages(
        stage: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = load_cli(tmp_path, monkeypatch, **stage)
    before = (cli.eager, dict(cli.stage_config_overrides))
    with packaging_settings(cli, "upstream"):
        steps = cli.package_steps()
        assert not cli.eager.enabled and not steps.compile_bytecode and not steps.lean
    with packaging_settings(cli, "eager"):
        steps = cli.package_steps()
        assert cli.eager.enabled and steps.compile_bytecode
        assert steps.lean is (stage.get("lean_package") is not False)
    assert (cli.eager, cli.stage_config_overrides) == before


@pytest.mark.parametrize(("slim_choice", "stage_slim"), [("on", False), ("both", False), ("stage", True)])
def test_the_floor_mode_with_a_slim_variant_is_refused_before_packaging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slim_choice: str, stage_slim: bool) -> None:
    import io

    from click import ClickException

    from zappa_eager.bench.command import prepare_variants
    from zappa_eager.bench.options import parse_options
    from zappa_eager.bench.progress import Progress

    cli = load_cli(tmp_path, monkeypatch, slim_handler=stage_slim)
    options = parse_options(["dev", "--modes", "eager,floor", "--slim", slim_choice])
    with pytest.raises(ClickException, match="add --slim off"):
        prepare_variants(cli, options, tmp_path, tmp_path / "out", tmp_path / "work", Progress(1, io.StringIO()))
    assert not (tmp_path / "work").exists()  # nothing packaged
