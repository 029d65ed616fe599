"""Deriving the four modes from one package: handler.py and zappa_settings.py per mode."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, base_stage
from zappa_eager.bench.function import FunctionSpec, emulator_env, lambda_env, s3_objects
from zappa_eager.bench.modes import MODE_SPECS, MODES
from zappa_eager.bench.variants import (
    Variant,
    derive_task_roots,
    handler_source,
    package_is_slim,
    render_settings,
    settings_value,
    stage_overrides,
    warmup_requests,
)


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
    assert handler_source(False) == Path(zappa.handler.__file__).read_bytes()
    assert handler_source(True) == (REPO / "zappa_eager" / "handler.py").read_bytes()


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


def test_derive_task_roots_share_files_but_not_handler_or_settings(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "project").mkdir()
    cli = load_cli(tmp_path / "project", monkeypatch, eager_init_warmup=["/healthz"])
    package = tmp_path / "pkg.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("handler.py", "# eager handler from the package\n")
        archive.writestr("zappa_settings.py", "SLIM_HANDLER=False\n")
        archive.writestr("djsite/settings.py", "SECRET_KEY = 'x'\n")
    variant = Variant("slim_off", False, package)
    assert not package_is_slim(package)
    derive_task_roots(cli, variant, MODES, warmup_requests(cli, ["/"]), tmp_path / "work")
    assert set(variant.task_roots) == set(MODES)
    upstream, eager = variant.task_roots["upstream"], variant.task_roots["eager"]
    assert (upstream / "djsite/settings.py").stat().st_ino == (eager / "djsite/settings.py").stat().st_ino
    assert (upstream / "handler.py").read_bytes() == handler_source(False)
    assert (eager / "handler.py").read_bytes() == handler_source(True)
    assert "EAGER_INIT" not in (upstream / "zappa_settings.py").read_text()
    assert (variant.task_roots["eager+warmup"] / "zappa_settings.py").read_text() == variant.settings["eager+warmup"]
    package_copy = tmp_path / "work" / "slim_off" / "package"
    assert (package_copy / "handler.py").read_text() == "# eager handler from the package\n"  # never written through


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
    variant = Variant("slim_on", True, tmp_path / "h.zip", archive)
    settings = "ARCHIVE_PATH='s3://bucket/dev_app_current_project.tar.gz'\nREMOTE_ENV='s3://conf/env.json'\n"
    assert s3_objects(variant, settings) == [("bucket", "dev_app_current_project.tar.gz", archive),
                                             ("conf", "env.json", b"{}")]
    assert s3_objects(Variant("slim_off", False, tmp_path / "z.zip"), "DEBUG=False\n") == []
    function = FunctionSpec(name="f", stage="dev", env=lambda_env({"A": 1, "AWS_REGION": "eu-west-1"}))
    assert function.env == {"A": "1"}
    assert emulator_env(function, "upstream-env", {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}) == {
        "A": "1", "INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1"}
    assert function.event("/x")["path"] == "/x" and function.event("/x")["requestContext"]["stage"] == "dev"
