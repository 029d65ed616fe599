"""The eager runtime in a fresh interpreter per environment, with a real Django site."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import FIXTURES, base_stage, make_task_root, run_probe
from zappa_eager.runtime.report import parse_report_lines

HTTP_HOME = {"kind": "http", "path": "/"}
HTTP_HEALTH = {"kind": "http", "path": "/healthz"}


def the_report(result: dict[str, Any]) -> dict[str, Any]:
    reports = parse_report_lines(result["stdout"])
    assert len(reports) == 1, result["stdout"]
    return reports[0]


def test_import_builds_the_app_and_warms_it_before_any_event(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_warmup=["/healthz"]))
    result = run_probe(root, [HTTP_HOME, HTTP_HOME])
    assert result["built_at_import"] is True
    assert result["urlconf_loaded"] is True
    report = the_report(result)
    assert report["ok"] is True and report["event"] == "init"
    # Two passes by default (eager_init_warmup_rounds): the second runs what the first filled.
    assert [(w["path"], w["status"], w["round"]) for w in report["warmup"]] == [("/healthz", 200, 1),
                                                                               ("/healthz", 200, 2)]
    for phase in ("imports", "settings", "remote_env", "archive", "app", "warmup", "total"):
        assert f"{phase}_ms" in report
    assert report["app_ms"] > 0 and report["warmup_ms"] > 0
    # The warm-up went through the app (marked), then the user's requests.
    assert result["served"] == ["/healthz", "/healthz", "/", "/"]
    first = result["responses"][0]["response"]
    assert first["statusCode"] == 200 and "Hello from djsite" in first["body"]
    # The first invoke imports none of the project's modules: INIT already did.
    assert [m for m in result["new_modules"][0] if m.startswith("djsite")] == []
    assert result["tooling_modules"] == []


@pytest.mark.parametrize(("policy", "rounds"), [(None, [1]), ("skip", []), ("once", [1]), ("full", [1, 2])])
def test_on_demand_init_warms_up_as_eager_init_warmup_on_demand_says(tmp_path: Path, policy: str | None,
                                                                     rounds: list[int]) -> None:
    """An on-demand INIT (a caller waits, or Lambda initialized it proactively): one pass by default."""
    stage = base_stage(eager_init_warmup=["/healthz"])
    if policy is not None:
        stage["eager_init_warmup_on_demand"] = policy
    root = make_task_root(tmp_path, stage)
    result = run_probe(root, [HTTP_HOME], env={"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"})
    report = the_report(result)
    assert [w["round"] for w in report["warmup"]] == rounds
    assert result["urlconf_loaded"] is True  # the cheap part (URL resolver, templates) always runs
    assert result["served"] == ["/healthz"] * len(rounds) + ["/"]
    if not rounds:
        assert "warm-up skipped: on-demand INIT" in result["stdout"]


def test_snap_start_init_keeps_the_full_warm_up(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_warmup=["/healthz"]))
    result = run_probe(root, [HTTP_HOME], env={"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"})
    assert [w["round"] for w in the_report(result)["warmup"]] == [1, 2]


def test_human_and_emf_lines_are_logged_once(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage())
    result = run_probe(root, [HTTP_HEALTH])
    assert result["stdout"].count("[zappa-eager] init ") == 1
    emf_lines = [line for line in result["stdout"].splitlines() if line.startswith('{"_aws"')]
    assert len(emf_lines) == 1
    import json

    document = json.loads(emf_lines[0])
    metrics = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"InitTotal", "InitApp", "InitSettings"} <= metrics
    assert document["FunctionName"] == "djsite-dev"
    assert document["InitTotal"] >= document["InitApp"]


def test_without_warmup_the_urlconf_is_still_primed(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage())
    result = run_probe(root, [HTTP_HOME])
    assert result["urlconf_loaded"] is True
    assert the_report(result)["warmup"] == []
    assert result["served"] == ["/"]


def test_keep_warm_event_does_not_touch_the_app(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage())
    result = run_probe(root, [{"kind": "keep_warm"}, {"kind": "keep_warm"}])
    assert [r["response"] for r in result["responses"]] == [None, None]
    assert result["served"] == []
    assert result["new_modules"] == [[], []]


def test_failing_warmup_is_logged_and_init_succeeds(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_warmup=["/boom", "/healthz"]))
    result = run_probe(root, [HTTP_HOME])
    report = the_report(result)
    assert report["ok"] is True
    assert [w["status"] for w in report["warmup"]] == [500, 200, 500, 200]
    assert "warm-up GET /boom failed" in result["stdout"]
    assert result["responses"][0]["response"]["statusCode"] == 200


@pytest.mark.parametrize("rounds", [1, 3])
def test_warmup_rounds_repeat_the_whole_list(tmp_path: Path, rounds: int) -> None:
    stage = base_stage(eager_init_warmup=["/healthz", "/"], eager_init_warmup_rounds=rounds)
    result = run_probe(make_task_root(tmp_path, stage), [HTTP_HOME])
    assert result["served"] == ["/healthz", "/"] * rounds + ["/"]
    report = the_report(result)
    assert [w["round"] for w in report["warmup"]] == [r for r in range(1, rounds + 1) for _ in range(2)]
    human = next(line for line in result["stdout"].splitlines() if line.startswith("[zappa-eager] init "))
    warmed = "warmup=[GET /healthz -> 200 warmed, GET / -> 200 warmed]"
    assert human.endswith(warmed + (f" x{rounds}" if rounds > 1 else ""))


def test_eager_init_false_behaves_like_upstream(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init=False))
    assert "EAGER_INIT" not in (root / "zappa_settings.py").read_text()
    result = run_probe(root, [HTTP_HOME])
    assert result["built_at_import"] is False and result["urlconf_loaded"] is False
    assert parse_report_lines(result["stdout"]) == []
    assert result["responses"][0]["response"]["statusCode"] == 200
    assert "djsite.urls" in result["new_modules"][0]  # built lazily, inside the first invoke


def test_on_error_lazy_keeps_the_environment_and_builds_on_first_request(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_on_error="lazy"))
    flag = tmp_path / "raised-once"
    result = run_probe(root, [HTTP_HOME, HTTP_HOME], env={"DJSITE_SETTINGS_RAISE_ONCE": str(flag)})
    assert result["built_at_import"] is False
    reports = parse_report_lines(result["stdout"])
    assert [r["event"] for r in reports] == ["init", "lazy-rebuild"]
    assert reports[0]["ok"] is False and "djsite settings exploded (once)" in reports[0]["error"]
    assert reports[1]["ok"] is True
    assert [r["response"]["statusCode"] for r in result["responses"]] == [200, 200]


def test_on_error_lazy_reports_a_persistent_failure_on_each_request(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_on_error="lazy"))
    result = run_probe(root, [HTTP_HOME, HTTP_HOME], env={"DJSITE_SETTINGS_RAISE": "1"})
    assert "import_error" not in result
    assert [r["ok"] for r in result["responses"]] == [False, False]
    assert all("djsite settings exploded" in r["error"] for r in result["responses"])


def test_on_error_raise_fails_init(tmp_path: Path) -> None:
    root = make_task_root(tmp_path, base_stage(eager_init_on_error="raise"))
    result = run_probe(root, [HTTP_HOME], env={"DJSITE_SETTINGS_RAISE": "1"}, expect_exit=3)
    assert "djsite settings exploded" in result["import_error"]
    report = the_report(result)
    assert report["ok"] is False and "djsite settings exploded" in report["error"]


def _project_tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(FIXTURES / "djsite" / "djsite", arcname="djsite")
        archive.add(FIXTURES / "djsite" / "templates", arcname="templates")
    return buffer.getvalue()


@pytest.fixture
def slim_bucket(moto_endpoint: str) -> Any:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = "zappa-eager-slim-tests"
    s3.create_bucket(Bucket=bucket)
    return s3, bucket


def test_slim_handler_archive_is_unpacked_during_init(tmp_path: Path, moto_endpoint: str, slim_bucket: Any) -> None:
    s3, bucket = slim_bucket
    stage = base_stage(slim_handler=True, s3_bucket=bucket, eager_init_warmup=["/healthz"])
    root = make_task_root(tmp_path, stage, with_project=False)
    settings_text = (root / "zappa_settings.py").read_text()
    assert f"ARCHIVE_PATH='s3://{bucket}/dev_djsite_current_project.tar.gz'" in settings_text
    s3.put_object(Bucket=bucket, Key="dev_djsite_current_project.tar.gz", Body=_project_tarball())
    lambda_tmp = tmp_path / "lambda-tmp"
    lambda_tmp.mkdir()
    probe_env = {"AWS_ENDPOINT_URL_S3": moto_endpoint, "TMPDIR": str(lambda_tmp)}
    result = run_probe(root, [HTTP_HOME], env=probe_env)
    report = the_report(result)
    assert report["ok"] is True and report["archive_ms"] > 0
    assert result["built_at_import"] is True and result["served"] == ["/healthz", "/healthz", "/"]
    assert result["responses"][0]["response"]["statusCode"] == 200
    assert (lambda_tmp / "djsite" / "djsite" / "urls.py").exists()


def test_slim_handler_missing_archive_fails_init_with_its_url(
    tmp_path: Path, moto_endpoint: str, slim_bucket: Any
) -> None:
    _, bucket = slim_bucket
    stage = base_stage(slim_handler=True, s3_bucket=bucket, project_name="missingproj", eager_init_on_error="raise")
    root = make_task_root(tmp_path, stage, with_project=False)
    result = run_probe(root, [HTTP_HOME], env={"AWS_ENDPOINT_URL_S3": moto_endpoint}, expect_exit=3)
    assert f"s3://{bucket}/dev_missingproj_current_project.tar.gz" in result["import_error"]
    assert "not found" in result["import_error"]


@pytest.mark.parametrize(("function", "app_type"), [("plainapp.wsgi_app", "wsgi"), ("plainapp.asgi_app", "asgi")])
def test_app_function_wsgi_and_asgi_are_built_at_import(tmp_path: Path, function: str, app_type: str) -> None:
    stage = {"app_function": function, "project_name": "plainapp", "s3_bucket": "zappa-eager-tests",
             "aws_region": "us-east-1", "keep_warm": False, "eager_init_warmup": ["/warm"]}
    root = make_task_root(tmp_path, stage, project="plainapp")
    result = run_probe(root, [{"kind": "http", "path": "/hello"}])
    assert result["built_at_import"] is True and result["app_module_loaded"] is True
    assert the_report(result)["warmup"][0]["status"] == 200
    response = result["responses"][0]["response"]
    assert response["statusCode"] == 200 and response["body"] == f"{app_type} /hello"
    assert result["served"] == ["/warm", "/warm", "/hello"]
    assert result["new_modules"][0] == []
