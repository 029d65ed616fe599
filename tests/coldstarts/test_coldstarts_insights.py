"""The Logs Insights path with botocore's Stubber (moto lacks Insights' parse/stats): every request is
validated against botocore's service model, and the answers are what Insights returns for the log lines
(computed here by applying the queries' own regular expressions to lines written as Lambda writes them)."""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.coldstarts.test_coldstarts_filter import EAGER, UPSTREAM, expected_version
from tests.coldstarts.test_coldstarts_records import Env
from zappa_eager.coldstarts import insights
from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.command import read_logs
from zappa_eager.coldstarts.document import version_entry
from zappa_eager.coldstarts.errors import ColdstartsError
from zappa_eager.coldstarts.filter import FILTER_PATTERN
from zappa_eager.coldstarts.insights import QUERIES, followup_query, read_insights
from zappa_eager.coldstarts.options import ColdstartsOptions, Window
from zappa_eager.coldstarts.stage import StageTarget

GROUP = "/aws/lambda/shop-dev"
WINDOW = Window(1_795_600_000_000, 1_795_700_000_000)
START_S, END_S = WINDOW.start_ms // 1000, (WINDOW.end_ms - 1) // 1000


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.strip("/"))


NOT_WARM = _regex(insights.NOT_WARM)
REPORTS = _regex(insights.REPORTS)
OTHER_ROWS = re.compile(r'INIT_REPORT|platform\.initReport|"zappa_eager_init"')


def events(envs: list[Env]) -> list[tuple[str, str]]:
    """(stream, message) of every line, text format for version 1, JSON for the others."""
    out = []
    for index, env in enumerate(envs):
        stream = f"2026/12/01/[{env.version}]{index:032x}"
        out += [(stream, line) for line in (env.lines() if env.version == "1" else env.json_lines())]
    return out


def answer_rows(lines: list[tuple[str, str]]) -> list[list[dict[str, str]]]:
    """What ROWS_QUERY returns: the raw lines that are not plain warm REPORTs."""
    return [[{"field": "@timestamp", "value": "2026-12-01 10:00:00.000"}, {"field": "@logStream", "value": stream},
             {"field": "@message", "value": message}, {"field": "@ptr", "value": "p"}]
            for stream, message in lines if NOT_WARM.search(message) or OTHER_ROWS.search(message)]


def answer_warm(lines: list[tuple[str, str]]) -> list[list[dict[str, str]]]:
    """What WARM_QUERY returns: count(*) by version, duration of the plain warm REPORTs."""
    counts: Counter[tuple[str, str]] = Counter()
    for stream, message in lines:
        if REPORTS.search(message) and not NOT_WARM.search(message):
            found = re.search(r'(?:Duration: |"durationMs":\s*)([0-9.]+)', message)
            assert found is not None
            counts[(re.search(r"\[([^\]]+)\]", stream).group(1), found.group(1))] += 1  # type: ignore[union-attr]
    return [[{"field": "version", "value": v}, {"field": "duration", "value": d}, {"field": "n", "value": str(n)}]
            for (v, d), n in counts.items()]


def answer_followup(lines: list[tuple[str, str]], stream: str) -> list[list[dict[str, str]]]:
    """What a follow-up query returns: the REPORTs of one stream, oldest first."""
    return [[{"field": "@logStream", "value": name}, {"field": "@message", "value": message}]
            for name, message in lines if name == stream and REPORTS.search(message)]


def start(stub: Stubber, kind: str, query_id: str, start_s: int = START_S, end_s: int = END_S) -> None:
    stub.add_response("start_query", {"queryId": query_id},
                      {"logGroupName": GROUP, "startTime": start_s, "endTime": end_s, "queryString": QUERIES[kind],
                       "limit": insights.MAX_ROWS})


def result(stub: Stubber, query_id: str, status: str, rows: list[Any] | None = None) -> None:
    stub.add_response("get_query_results", {"status": status, "results": rows or [],
                                            "statistics": {"recordsMatched": float(len(rows or []))}},
                      {"queryId": query_id})


def test_insights_gives_the_same_exact_figures_as_reading_every_line() -> None:
    lines = events(UPSTREAM + EAGER)
    logs = boto3.client("logs", region_name="us-east-1")
    aggregator = Aggregator()
    with Stubber(logs) as stub:
        start(stub, "rows", "q-rows")
        start(stub, "warm", "q-warm")
        result(stub, "q-rows", "Running")
        result(stub, "q-warm", "Complete", answer_warm(lines))
        result(stub, "q-rows", "Complete", answer_rows(lines))
        # The INIT cut at the limit: its stream's REPORTs, the first one counted warm above is moved to cold.
        (cut,) = {stream for stream, message in lines if "Phase: init\tStatus: timeout" in message
                  or '"phase":"init","status":"timeout"' in message}
        stub.add_response("start_query", {"queryId": "q-cut"}, {
            "logGroupName": GROUP, "startTime": START_S, "endTime": END_S, "limit": insights.MAX_ROWS,
            "queryString": followup_query([cut])})
        result(stub, "q-cut", "Complete", answer_followup(lines, cut))
        queries = read_insights(logs, GROUP, "us-east-1", WINDOW, aggregator, sleep=lambda s: None)
        stub.assert_no_pending_responses()
    assert queries == 3 and aggregator.waiting == {}
    for version, envs in (("1", UPSTREAM), ("2", EAGER)):
        entry = version_entry(aggregator.versions[version], [])
        for key, value in expected_version(envs).items():
            if isinstance(value, dict):
                assert {k: entry[key][k] for k in value} == value, (version, key)
            else:
                assert entry[key] == value, (version, key)
    assert aggregator.versions["2"].zappa_eager and not aggregator.versions["1"].zappa_eager


def test_a_full_answer_is_asked_again_in_two_halves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(insights, "MAX_ROWS", 3)
    env = Env("5", [11.0, 12.0, 13.0, 14.0, 15.0])
    warm = answer_warm(events([env]))
    assert len(warm) == 5  # five distinct durations: more than one answer holds
    middle = (START_S + END_S) // 2
    logs = boto3.client("logs", region_name="us-east-1")
    aggregator = Aggregator()
    with Stubber(logs) as stub:
        start(stub, "rows", "r")
        start(stub, "warm", "w")
        result(stub, "r", "Complete", [])
        result(stub, "w", "Complete", warm[:3])  # cut at MAX_ROWS: not fed, split
        start(stub, "warm", "w1", START_S, middle)
        start(stub, "warm", "w2", middle + 1, END_S)
        result(stub, "w1", "Complete", warm[:2])
        result(stub, "w2", "Complete", warm[2:4])
        queries = read_insights(logs, GROUP, "us-east-1", WINDOW, aggregator, sleep=lambda s: None)
        stub.assert_no_pending_responses()
    assert queries == 4
    assert aggregator.versions["5"].invocations == 4  # the halves' rows, once each


def test_concurrency_limit_is_retried_and_failed_queries_explained() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    slept: list[float] = []
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "LimitExceededException", "too many concurrent queries", 400,
                              expected_params={"logGroupName": GROUP, "startTime": START_S, "endTime": END_S,
                                               "queryString": QUERIES["rows"], "limit": insights.MAX_ROWS})
        start(stub, "rows", "r")
        start(stub, "warm", "w")
        result(stub, "r", "Failed")
        with pytest.raises(ColdstartsError) as raised:
            read_insights(logs, GROUP, "us-east-1", WINDOW, Aggregator(), sleep=slept.append, poll_s=0.5)
    assert "ended Failed" in raised.value.message and "--source filter" in raised.value.message
    assert len(slept) >= 2  # one backoff, one poll


def target() -> StageTarget:
    return StageTarget(stage="dev", function="shop-dev", region="us-east-1")


def test_auto_falls_back_to_filter_log_events_when_insights_is_refused() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    options = ColdstartsOptions(stage="dev", window=WINDOW)
    line = Env("3", [21.5]).lines()[-1]
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "AccessDeniedException", "not authorized", 400)
        stub.add_response("filter_log_events", {"events": [{"logStreamName": "2026/12/01/[3]ab", "message": line,
                                                            "timestamp": WINDOW.start_ms}]},
                          {"logGroupName": GROUP, "startTime": WINDOW.start_ms, "endTime": WINDOW.end_ms - 1,
                           "filterPattern": FILTER_PATTERN, "limit": 10000})
        aggregator, source, notes = read_logs(logs, target(), options, sleep=lambda s: None, stream=io.StringIO())
    assert source == "filter-log-events" and aggregator.versions["3"].invocations == 1
    assert "logs:StartQuery" in notes[0]


def test_insights_forced_reports_the_action_to_grant() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    options = ColdstartsOptions(stage="dev", window=WINDOW, source="insights")
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(ColdstartsError) as raised:
            read_logs(logs, target(), options, sleep=lambda s: None, stream=io.StringIO())
    assert "Grant logs:StartQuery on /aws/lambda/shop-dev" in raised.value.message


def test_no_log_group_is_explained_on_the_insights_path() -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    options = ColdstartsOptions(stage="dev", window=WINDOW)
    with Stubber(logs) as stub:
        stub.add_client_error("start_query", "ResourceNotFoundException", "Log group does not exist", 400)
        with pytest.raises(ColdstartsError) as raised:
            read_logs(logs, target(), options, sleep=lambda s: None, stream=io.StringIO())
    assert raised.value.message.startswith("no log group /aws/lambda/shop-dev in us-east-1")
