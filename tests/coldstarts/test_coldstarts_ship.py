"""The demo's path: the emulator runs two versions of a Django package (upstream's handler and
zappa-eager's), its lines are shipped into moto's log group as Lambda would write them, and
``zappa coldstarts`` summarizes them with the same figures an independent parse of the lines gives."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import boto3
import pytest
import zappa.handler
from moto import mock_aws

from tests.coldstarts.test_coldstarts_filter import SETTINGS, create_function
from tests.conftest import base_stage, make_task_root
from tests.emulator.conftest import add_packages
from zappa_eager.cli import EagerZappaCLI
from zappa_eager.emulator import events, parse_report_line
from zappa_eager.emulator.cloudwatch import (
    JSON_METRICS,
    json_format,
    record_versions,
    stream_name,
    upstream_task_root,
)

PACKAGES = ("django", "asgiref", "sqlparse", "zappa", "werkzeug", "markupsafe", "durationpy", "boto3", "botocore",
            "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def test_stream_names_are_lambdas() -> None:
    name = stream_name("12", 1795642669798)
    assert name.startswith("2026/11/25/[12]") and len(name) == len("2026/11/25/[12]") + 32
    assert stream_name("$LATEST", 0, "ab") == "1970/01/01/[$LATEST]ab"


def test_json_format_keeps_lambdas_field_names() -> None:
    line = ("REPORT RequestId: r1\tDuration: 3.21 ms\tBilled Duration: 4 ms\tMemory Size: 512 MB\t"
            "Max Memory Used: 87 MB\tRestore Duration: 200.50 ms\tBilled Restore Duration: 201 ms")
    document = json.loads(json_format(line, 0, "snap-start"))
    assert document["type"] == "platform.report" and document["time"] == "1970-01-01T00:00:00.000Z"
    assert document["record"] == {"requestId": "r1", "status": "success", "metrics": {
        "durationMs": 3.21, "billedDurationMs": 4, "memorySizeMB": 512, "maxMemoryUsedMB": 87,
        "restoreDurationMs": 200.5, "billedRestoreDurationMs": 201}}
    assert set(document["record"]["metrics"]) <= set(JSON_METRICS.values())
    assert json_format("[INFO] an app line", 0) == "[INFO] an app line"


def test_emulator_runs_shipped_and_summarized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    eager = make_task_root(tmp_path, base_stage())
    add_packages(eager, PACKAGES)
    roots = {"1": upstream_task_root(eager, tmp_path / "upstream"), "2": eager}  # as the demo runs them
    assert (roots["1"] / "handler.py").read_bytes() == Path(zappa.handler.__file__).read_bytes()
    project = tmp_path / "project"
    project.mkdir()
    (project / "zappa_settings.json").write_text(json.dumps(SETTINGS))
    monkeypatch.chdir(project)
    with mock_aws():
        create_function(versions=2)
        shipped = record_versions(roots, logs_client=boto3.client("logs"), function_name="shop-dev",
                                  env={"DJSITE_DB": str(tmp_path / "db.sqlite3")},
                                  event=events.api_gateway_v1("GET", "/healthz"), cold_starts=2, warm=2, provisioned=1)
        assert EagerZappaCLI().handle(["coldstarts", "dev", "--json", "--source", "filter"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_version = {v["version"]: v for v in doc["versions"]}
    for version, environments in shipped.items():
        reports = [parse_report_line(line) for lines in environments for line in lines if line.startswith("REPORT ")]
        cold = [float(r["Init Duration"]) + float(r["Duration"]) for r in reports if "Init Duration" in r]
        entry = by_version[version]
        assert entry["invocations"] == len(reports) == 3 * 3
        assert entry["cold_starts"] == len(cold) == 2  # the provisioned-concurrency environment logs no Init Duration
        assert entry["cold_request_ms"]["p50"] == statistics.median(cold)
        assert entry["errors"] == entry["init_errors"] == entry["timeouts"] == 0
    assert not by_version["1"]["zappa_eager"] and by_version["1"]["phases_ms"] is None
    assert by_version["2"]["inits_by_type"] == {"on-demand": 2, "provisioned-concurrency": 1}
    assert (doc["compare"]["before"], doc["compare"]["after"]) == ("1", "2")
