"""``zappa coldstarts STAGE`` end to end on moto's CloudWatch Logs, through the FilterLogEvents path.

Log streams are written as Lambda writes them (text and JSON formats) by the same module the demo
uses to ship the emulator's lines; every expected figure is computed with ``statistics`` from the
durations the streams were written with.
"""

from __future__ import annotations

import io
import json
import statistics
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.coldstarts.test_coldstarts_records import Env
from zappa_eager.cli import EagerZappaCLI
from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.errors import ColdstartsError
from zappa_eager.coldstarts.filter import FILTER_PATTERN, read_filtered
from zappa_eager.coldstarts.options import Window
from zappa_eager.coldstarts.progress import ReadProgress
from zappa_eager.emulator.cloudwatch import ensure_group, put_lines, stream_name

FUNCTION = "shop-dev"
GROUP = f"/aws/lambda/{FUNCTION}"
SETTINGS = {"dev": {"project_name": "shop", "s3_bucket": "shop-bucket", "aws_region": "us-east-1",
                    "django_settings": "djsite.settings"}}

UPSTREAM = [  # version 1: deployed by upstream Zappa, text log format
    Env("1", [310.5, 12.25, 11.0, 13.5], init_ms=1850.25),
    Env("1", [298.0, 10.0], init_ms=1920.5, timeout_at=1),
    Env("1", [305.75, 9.5, 9.75], init_ms=2010.0),
    Env("1", [330.0], init_ms=1790.75),
    Env("1", [1200.0], init_error=True),
    Env("1", [15.0, 14.0], init_type="provisioned-concurrency"),
]
EAGER = [  # version 2: deployed by zappa-eager, JSON log format, init reports interleaved
    Env("2", [45.5, 8.0, 8.25], init_ms=650.25, eager=True),
    Env("2", [40.0, 7.5], init_ms=700.5, eager=True),
    Env("2", [52.25], init_ms=610.0, eager=True),
    Env("2", [38.0, 8.0], init_ms=690.75, eager=True),
    Env("2", [2950.5, 8.0], init_cut_ms=10000.0, eager=True),  # INIT cut at the limit, re-run in the first invoke
    Env("2", [9.0, 8.5], init_type="provisioned-concurrency", eager=True),
]


def figures(values: list[float]) -> dict[str, Any]:
    if len(values) == 1:
        return {"count": 1, "p50": values[0], "p95": values[0], "p99": values[0], "max": values[0]}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"count": len(values), "p50": statistics.median(values), "p95": q[94], "p99": q[98], "max": max(values)}


def expected_version(envs: list[Env]) -> dict[str, Any]:
    cold = [e for e in envs if e.cold]
    return {
        "invocations": sum(len(e.durations) for e in envs),
        "cold_starts": len(cold),
        "timeouts": sum(e.timeout_at is not None for e in envs),
        # INIT_REPORT of the INIT, and of its re-run in invoke; an INIT cut at the limit
        "init_errors": 2 * sum(e.init_error for e in envs) + sum(e.init_cut_ms is not None for e in envs),
        "init_ms": figures([w for e in cold if (w := e.waited_init()) is not None]),
        "cold_request_ms": figures([r for e in cold if (r := e.cold_request()) is not None]),
        "warm_ms": figures([d for e in envs for d in e.warm()]),
    }


def write_streams(logs: Any, envs: list[Env], start_ms: int, *, json_format: bool = False) -> None:
    ensure_group(logs, GROUP)
    for index, env in enumerate(envs):
        lines = env.json_lines() if json_format else env.lines()
        put_lines(logs, GROUP, stream_name(env.version, start_ms), lines, start_ms + index * 10_000)


def package(number: int) -> bytes:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", f"def lambda_handler(event, context):\n    return {number}\n")
    return code.getvalue()


def create_function(versions: int) -> None:
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="shop-dev-ZappaLambdaExecutionRole", AssumeRolePolicyDocument="{}")["Role"]
    client = boto3.client("lambda")
    client.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role["Arn"],
                           Handler="handler.lambda_handler", Code={"ZipFile": package(0)})
    for number in range(1, versions + 1):
        if number > 1:
            client.update_function_code(FunctionName=FUNCTION, ZipFile=package(number))
        client.publish_version(FunctionName=FUNCTION)
    client.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion=str(versions))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "zappa_settings.json").write_text(json.dumps(SETTINGS))
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        yield tmp_path


def coldstarts(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = EagerZappaCLI().handle(["coldstarts", "dev", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_two_versions_before_and_after(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_function(versions=2)
    logs = boto3.client("logs")
    now_ms = int(time.time() * 1000)
    write_streams(logs, UPSTREAM, now_ms - 3_000_000)
    write_streams(logs, EAGER, now_ms - 1_500_000, json_format=True)
    # Three days ago, outside --since 1h: not counted.
    write_streams(logs, [Env("1", [400.0], init_ms=5000.0)], now_ms - 3 * 86_400_000)
    put_lines(logs, GROUP, "2026/12/01/[2]ffff", ["[INFO] just an app line", "REPORT card printed"], now_ms - 60_000)

    status, out, _ = coldstarts(capsys, "--json", "--source", "filter", "--since", "1h", "--output",
                                str(project / "out"))
    assert status == 0
    doc = json.loads(out)
    assert doc["schema"] == "zappa-eager-coldstarts/1" and doc["source"] == "filter-log-events"
    assert doc["log_group"] == GROUP and doc["function"] == FUNCTION
    by_version = {v["version"]: v for v in doc["versions"]}
    assert list(by_version) == ["1", "2"]
    for version, envs in (("1", UPSTREAM), ("2", EAGER)):
        entry = by_version[version]
        for key, value in expected_version(envs).items():
            if isinstance(value, dict):
                assert {k: entry[key][k] for k in value} == value, (version, key)
            else:
                assert entry[key] == value, (version, key)
    upstream, eager = by_version["1"], by_version["2"]
    assert not upstream["zappa_eager"] and upstream["phases_ms"] is None
    assert eager["zappa_eager"] and eager["aliases"] == ["live"]
    assert eager["inits_by_type"] == {"on-demand": 5, "provisioned-concurrency": 1}
    assert eager["phases_ms"]["imports"] == 400.0 and eager["phases_ms"]["total"] == 1320.0
    assert eager["warmup"] == {"GET /healthz warmed": 6, "GET /nope failed": 6}
    assert upstream["cold_start_rate"] == 4 / 13

    compare = doc["compare"]
    assert (compare["before"], compare["after"]) == ("1", "2")
    for q in ("p50", "p95"):
        before = expected_version(UPSTREAM)["cold_request_ms"][q]
        after = expected_version(EAGER)["cold_request_ms"][q]
        assert compare[f"cold_request_{q}"] == {"before": before, "after": after, "ratio": after / before,
                                                "speedup": before / after}
    warm_before, warm_after = (expected_version(envs)["warm_ms"]["p95"] for envs in (UPSTREAM, EAGER))
    assert compare["warm_p95"]["ratio"] == warm_after / warm_before
    assert json.loads((project / "out" / "coldstarts.json").read_text())["versions"] == doc["versions"]
    assert (project / "out" / "coldstarts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    status, table, _ = coldstarts(capsys, "--source", "filter", "--since", "1h", "--compare", "2", "1")
    assert status == 0
    assert "before/after, version 2 -> 1 (as named)" in table and "cold request p50" in table
    assert "zappa-eager INIT phases" in table


def test_snapstart_restores_are_cold_requests(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_function(versions=1)
    envs = [Env("1", [20.0, 5.0], restore_ms=180.5, init_type="snap-start"),
            Env("1", [22.5], restore_ms=210.25, init_type="snap-start")]
    write_streams(boto3.client("logs"), envs, int(time.time() * 1000) - 60_000)
    status, out, _ = coldstarts(capsys, "--json", "--source", "filter")
    assert status == 0
    (entry,) = json.loads(out)["versions"]
    assert entry["restores"] == 2 and entry["cold_starts"] == 0
    assert entry["restore_ms"]["p50"] == statistics.median([180.5, 210.25])
    assert entry["cold_request_ms"]["by_init_type"]["snap-start"]["max"] == 210.25 + 22.5
    assert json.loads(out)["compare"] is None


def test_stage_not_deployed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = coldstarts(capsys, "--source", "filter")
    assert status == 1 and "stage 'dev' is not deployed: no Lambda function shop-dev in us-east-1" in err


def test_no_log_group(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_function(versions=1)
    status, _, err = coldstarts(capsys, "--source", "filter")
    assert status == 1 and "no log group /aws/lambda/shop-dev in us-east-1" in err and "never invoked" in err


def test_empty_window_says_what_was_searched(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_function(versions=1)
    write_streams(boto3.client("logs"), [Env("1", [300.0], init_ms=1500.0)], int(time.time() * 1000) - 5 * 86_400_000)
    status, _, err = coldstarts(capsys, "--source", "filter", "--since", "2h")
    assert status == 1
    assert "no REPORT lines in /aws/lambda/shop-dev (us-east-1)" in err and "--since 2h" in err
    assert FILTER_PATTERN in err


def test_bad_time_fails_before_any_aws_call(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = coldstarts(capsys, "--since", "last tuesday")
    assert status == 1 and "--since 'last tuesday' is neither a duration nor a time" in err


WINDOW = Window(1_795_600_000_000, 1_795_700_000_000)
PARAMS = {"logGroupName": GROUP, "startTime": WINDOW.start_ms, "endTime": WINDOW.end_ms - 1,
          "filterPattern": FILTER_PATTERN, "limit": 10000}


def test_access_denied_names_the_action() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    with Stubber(logs) as stub:
        stub.add_client_error("filter_log_events", "AccessDeniedException", "not authorized", 400,
                              expected_params=PARAMS)
        with pytest.raises(ColdstartsError) as raised:
            read_filtered(logs, GROUP, "us-east-1", WINDOW, Aggregator(), sleep=lambda s: None)
    assert "Grant logs:FilterLogEvents" in raised.value.message


def test_throttling_is_retried_with_backoff_and_pages_followed() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    line = Env("4", [12.5]).lines()[-1]
    event = {"logStreamName": "2026/12/01/[4]ab", "timestamp": WINDOW.start_ms + 5, "message": line,
             "ingestionTime": WINDOW.start_ms + 6, "eventId": "1"}
    slept: list[float] = []
    ticks = iter(range(0, 1000, 10))
    progress_out = io.StringIO()
    aggregator = Aggregator()
    with Stubber(logs) as stub:
        stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded", 400, expected_params=PARAMS)
        stub.add_response("filter_log_events", {"events": [event], "nextToken": "t1"}, PARAMS)
        stub.add_response("filter_log_events", {"events": [event]}, {**PARAMS, "nextToken": "t1"})
        pages = read_filtered(logs, GROUP, "us-east-1", WINDOW, aggregator, sleep=slept.append,
                              progress=ReadProgress(progress_out, clock=lambda: float(next(ticks)), every_s=5))
        stub.assert_no_pending_responses()
    assert pages == 2 and len(slept) == 1
    assert aggregator.versions["4"].invocations == 2
    assert "zappa coldstarts: FilterLogEvents: 2 lines, 1 version(s)" in progress_out.getvalue()


def test_weighted_alias_names_both_versions(project: Path) -> None:
    from zappa_eager.coldstarts.stage import StageTarget, load_aliases

    create_function(versions=2)
    client = boto3.client("lambda")
    client.update_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="2",
                        RoutingConfig={"AdditionalVersionWeights": {"1": 0.1}})
    target = StageTarget(stage="dev", function=FUNCTION, region="us-east-1")
    load_aliases(client, target)
    assert target.aliases == {"2": ["live (90%)"], "1": ["live (10%)"]} and target.notes == []


def test_aliases_refused_leaves_a_note_and_goes_on() -> None:
    from zappa_eager.coldstarts.stage import StageTarget, load_aliases

    client = boto3.client("lambda", region_name="us-east-1")
    target = StageTarget(stage="dev", function=FUNCTION, region="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("list_aliases", "AccessDeniedException", "not authorized", 403,
                              expected_params={"FunctionName": FUNCTION})
        load_aliases(client, target)
    assert target.aliases == {} and "grant lambda:ListAliases on shop-dev" in target.notes[0]
