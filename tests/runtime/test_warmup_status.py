"""Warm-up outcomes (warmed / redirected / failed), ``expect`` and the EMF dimensions (issue 12, points 2 and 4).

The judging and the settings are checked here; tests/emulator/test_emu_warmup_status.py runs the
same through the real runtime client and a real Django app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
import zappa.core

from tests.conftest import base_stage, render_settings
from zappa_eager.runtime.report import EMF_NAMESPACE, InitReport, WarmupResult
from zappa_eager.runtime.warmup import expected_statuses, is_warmup_request, judge, response_location
from zappa_eager.settings import EagerSettingsError, WarmupRequest, parse_eager_settings


@pytest.mark.parametrize(("status", "expect", "outcome", "reason"), [
    (200, (), "warmed", None),
    (204, (), "warmed", None),
    (301, (), "redirected", None),
    (302, (), "redirected", None),
    (400, (), "failed", "bad request"),
    (401, (), "failed", "needs authentication"),
    (403, (), "failed", "needs authentication"),
    (404, (), "failed", "no route"),
    (405, (), "failed", "refused"),
    (500, (), "failed", "app error"),
    (503, (), "failed", "app error"),
    (None, (), "failed", "no status"),
    (302, (302,), "warmed", None),
    (404, (200, 404), "warmed", None),
    (302, (200,), "failed", "expected 200, got 302"),
    (200, (204, 302), "failed", "expected 204 or 302, got 200"),
    (500, (200,), "failed", "expected 200, got 500"),
])
def test_each_status_is_judged(status: int | None, expect: tuple[int, ...], outcome: str,
                               reason: str | None) -> None:
    assert judge(status, "/login/", expect)[:2] == (outcome, reason)


def test_failures_carry_the_hint_that_fixes_them() -> None:
    assert "check the path" in str(judge(404, None)[2])
    assert "Warming an authenticated view" in str(judge(401, None)[2]) == str(judge(403, None)[2])
    assert "headers.Host" in str(judge(400, None)[2])
    assert "app raised" in str(judge(500, None)[2])
    assert judge(302, "/accounts/login/?next=/dev/account/", (200,))[2] == (
        "redirected to /accounts/login/?next=/dev/account/")


def test_location_is_read_from_either_header_map_and_any_case() -> None:
    assert response_location({"statusCode": 302, "headers": {"location": "/a/"}}) == "/a/"
    assert response_location({"statusCode": 302, "multiValueHeaders": {"Location": ["/b/"]}}) == "/b/"
    assert response_location({"statusCode": 200, "headers": {"Content-Type": "text/html"}}) is None


def test_expect_in_a_rendered_spec_is_an_int_or_a_list() -> None:
    assert expected_statuses({"path": "/"}) == ()
    assert expected_statuses({"path": "/", "expect": 302}) == (302,)
    assert expected_statuses({"path": "/", "expect": [200, 302]}) == (200, 302)


def test_the_log_line_says_what_each_request_warmed() -> None:
    warmup = [
        WarmupResult("GET", "/", 200, 1.0, round=1),
        WarmupResult("GET", "/", 200, 1.0, round=2, outcome="warmed"),
        WarmupResult("GET", "/account/", 302, 1.0, round=2, outcome="redirected",
                     location="/login/?next=/account/"),
        WarmupResult("GET", "/nope", 404, 1.0, "status 404: no route", round=2, outcome="failed", reason="no route"),
        WarmupResult("GET", "/login/", 302, 1.0, round=2, outcome="warmed", expect=(302,)),
    ]
    line = InitReport(phases_ms={}, total_ms=5.0, ok=True, warmup=warmup).human_line()
    assert line.endswith("warmup=[GET / -> 200 warmed, GET /account/ -> 302 redirected to /login/?next=/account/, "
                         "GET /nope -> 404 failed: no route, GET /login/ -> 302 warmed (expected)] x2")
    entry = InitReport(phases_ms={}, total_ms=5.0, ok=True, warmup=warmup).as_dict()["warmup"][2]
    assert entry == {"method": "GET", "path": "/account/", "status": 302, "ms": 1.0, "error": None, "round": 2,
                     "outcome": "redirected", "location": "/login/?next=/account/", "reason": None, "hint": None,
                     "expect": None}


def test_the_warmup_token_matches_nothing_outside_a_warmup_run() -> None:
    assert is_warmup_request({}) is False
    assert is_warmup_request({"HTTP_X_ZAPPA_EAGER_WARMUP_TOKEN": ""}) is False
    assert is_warmup_request({"HTTP_X_ZAPPA_EAGER_WARMUP": "1"}) is False


# -- expect in eager_init_warmup ---------------------------------------------------------------------------------

def test_expect_accepts_a_status_or_a_list_and_renders_only_when_set(tmp_path: Path) -> None:
    settings = parse_eager_settings({"eager_init_warmup": [
        "/", {"path": "/account/", "expect": 302}, {"path": "/x", "expect": [200, 404, 200]}]}, "dev")
    assert [w.expect for w in settings.warmup] == [(), (302,), (200, 404)]
    assert WarmupRequest(path="/").as_dict() == {"method": "GET", "path": "/", "headers": {}, "body": None}
    rendered = render_settings(base_stage(eager_init_warmup=["/", {"path": "/account/", "expect": 302}]), tmp_path)
    line = next(line for line in rendered.splitlines() if line.startswith("EAGER_INIT_WARMUP="))
    assert line == ("EAGER_INIT_WARMUP=[{'method': 'GET', 'path': '/', 'headers': {}, 'body': None}, "
                    "{'method': 'GET', 'path': '/account/', 'headers': {}, 'body': None, 'expect': [302]}]")


@pytest.mark.parametrize(("expect", "problem", "fix"), [
    ("302", "expected an HTTP status (100 to 599) or a list of them", "without quotes: 302"),
    (True, "expected an HTTP status (100 to 599) or a list of them", '"expect": [200, 302]'),
    (302.0, "expected an HTTP status (100 to 599) or a list of them", '"expect": 200'),
    ({"status": 302}, "expected an HTTP status (100 to 599) or a list of them", '"expect": 200'),
    ([200, None], "expected an HTTP status (100 to 599) or a list of them", '"expect": 200'),
    (99, "99 is not an HTTP status (100 to 599)", '"expect": 200'),
    ([200, 600], "600 is not an HTTP status (100 to 599)", '"expect": 200'),
    ([], "an empty list accepts no status", "remove expect"),
])
def test_bad_expect_names_the_setting_the_value_and_the_fix(expect: Any, problem: str, fix: str) -> None:
    with pytest.raises(EagerSettingsError) as raised:
        parse_eager_settings({"eager_init_warmup": ["/healthz", {"path": "/", "expect": expect}]}, "prod")
    message = str(raised.value)
    shown = json.dumps(expect)  # as written in zappa_settings.json, not a Python repr
    assert message.startswith(f"Invalid eager_init_warmup[1].expect = {shown} in stage 'prod' of zappa_settings: ")
    assert f": {problem}. Fix: " in message and fix in message.split(". Fix: ", 1)[1]


def test_cli_rejects_a_bad_expect_before_creating_any_aws_client(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from zappa_eager.cli import EagerZappaCLI

    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("an AWS client was created before validation")

    monkeypatch.setattr(zappa.core.Zappa, "__init__", no_aws)
    monkeypatch.chdir(tmp_path)
    stage = {"s3_bucket": "b", "eager_init_warmup": [{"path": "/account/", "expect": 1000}]}
    (tmp_path / "zappa_settings.json").write_text(json.dumps({"dev": stage}))
    cli = EagerZappaCLI()
    cli.api_stage = "dev"
    with pytest.raises(click.ClickException) as raised:
        cli.load_settings("zappa_settings.json")
    assert "Invalid eager_init_warmup[0].expect = 1000 in stage 'dev'" in raised.value.message


# -- EMF: an InitType dimension beside the FunctionName one -----------------------------------------------------

@pytest.mark.parametrize("init_type", ["on-demand", "provisioned-concurrency", "snap-start"])
def test_emf_document_has_an_init_type_dimension_and_keeps_the_function_one(
    init_type: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", init_type)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-prod")
    document = json.loads(InitReport(phases_ms={"app": 3.0}, total_ms=4.0, ok=True).emf_line())
    directive = document["_aws"]["CloudWatchMetrics"]
    assert directive == [{"Namespace": EMF_NAMESPACE, "Dimensions": [["FunctionName", "InitType"], ["FunctionName"]],
                          "Metrics": [{"Name": "InitTotal", "Unit": "Milliseconds"},
                                      {"Name": "InitApp", "Unit": "Milliseconds"}]}]
    assert document["InitType"] == init_type == document["zappa_eager_init"]["init_type"]
    assert document["FunctionName"] == "shop-prod"
