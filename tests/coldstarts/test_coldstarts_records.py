"""Lambda's log lines (text and JSON formats) and zappa-eager's init reports, parsed into records.

Also home of ``Env``: one execution environment's log stream written exactly as Lambda writes
it, used by the other ``test_coldstarts_*`` modules.
"""

from __future__ import annotations

import datetime
import os
import uuid
from dataclasses import dataclass, field
from unittest import mock

import pytest

from zappa_eager.coldstarts.errors import ColdstartsError
from zappa_eager.coldstarts.options import parse_options
from zappa_eager.coldstarts.records import EagerInit, InitReportLine, Invocation, parse_message, stream_version
from zappa_eager.emulator.cloudwatch import json_format
from zappa_eager.emulator.platform_log import (
    Report,
    end_line,
    init_report_line,
    init_start_line,
    restore_report_line,
    restore_start_line,
    start_line,
    task_timed_out_line,
)
from zappa_eager.runtime.report import InitReport, WarmupResult

RUNTIME = "python:3.12.v40"


@dataclass
class Env:
    """One execution environment: its INIT (or restore) and the Durations of its invocations, in order."""

    version: str
    durations: list[float]
    init_ms: float | None = None  # on-demand: on the first REPORT
    restore_ms: float | None = None  # SnapStart: on the first REPORT
    init_type: str = "on-demand"
    eager: bool = False  # zappa-eager's init report at the end of INIT
    timeout_at: int | None = None  # index of the invocation that timed out
    init_error: bool = False  # INIT failed; the first invoke re-ran it and failed too
    init_cut_ms: float | None = None  # on-demand INIT cut at the init limit; the first invoke re-ran it (in Duration)
    phases: dict[str, float] = field(default_factory=lambda: {"imports": 400.0, "app": 900.0, "warmup": 20.0})

    def init_report_lines(self) -> list[str]:
        total = sum(self.phases.values())
        warmup = [WarmupResult("GET", "/healthz", 200, 5.0), WarmupResult("GET", "/nope", 404, 3.0, outcome="failed",
                                                                          reason="no route")]
        report = InitReport(phases_ms=dict(self.phases), total_ms=total, ok=True, warmup=warmup)
        with mock.patch.dict(os.environ, {"AWS_LAMBDA_INITIALIZATION_TYPE": self.init_type,
                                          "AWS_LAMBDA_FUNCTION_NAME": "shop-dev"}):
            return [report.human_line(), report.emf_line()]

    def lines(self) -> list[str]:
        """The stream as Lambda writes it in the text log format."""
        out = [restore_start_line(RUNTIME) if self.restore_ms is not None else init_start_line(RUNTIME)]
        if self.eager and self.init_cut_ms is None:
            out += self.init_report_lines()
        if self.init_error:
            out.append("[ERROR] Runtime.ImportModuleError: Unable to import module 'handler': No module named 'x'")
            out.append(init_report_line(812.25, "error", "Runtime.ImportModuleError"))
        if self.init_cut_ms is not None:
            out.append(init_report_line(self.init_cut_ms, "timeout"))
        if self.restore_ms is not None:
            out.append(restore_report_line(self.restore_ms))
        for index, duration in enumerate(self.durations):
            request_id = str(uuid.uuid4())
            first = index == 0
            out.append(start_line(request_id, self.version))
            out.append(f"[INFO] GET / 200 in {duration} ms")  # the app's own line: not read
            status = None
            if self.init_cut_ms is not None and first:
                if self.eager:  # the INIT run again inside this invoke prints the init report
                    out += self.init_report_lines()
                out.append(init_report_line(duration - 5.0, "success", phase="invoke"))
            if self.init_error and first:
                out.append(init_report_line(790.0, "error", "Runtime.ImportModuleError", phase="invoke"))
                status = "error"
            if self.timeout_at == index:
                out.append(task_timed_out_line(request_id, "Task timed out after 3.00 seconds"))
                status = "timeout"
            out.append(end_line(request_id))
            report = Report(request_id, duration, int(duration) + 1, 1024, 180,
                            init_duration_ms=self.init_ms if first else None,
                            restore_duration_ms=self.restore_ms if first else None,
                            billed_restore_duration_ms=int(self.restore_ms or 0) + 1 if first else None,
                            status=status, error_type="Runtime.ImportModuleError" if status == "error" else None)
            out.append(report.line())
        return out

    def json_lines(self) -> list[str]:
        """The same stream in the JSON log format (platform records; the app's own lines unchanged)."""
        return [json_format(line, 1795642669798 + i, self.init_type) for i, line in enumerate(self.lines())]

    # What a correct summary must find, from the inputs above.
    @property
    def cold(self) -> bool:
        return self.init_ms is not None or self.restore_ms is not None or self.init_cut_ms is not None

    def waited_init(self) -> float | None:
        """The INIT figure a correct summary reports: Init Duration, or the INIT that was cut at the limit."""
        return self.init_ms if self.init_ms is not None else self.init_cut_ms

    def cold_request(self) -> float | None:
        wait = self.waited_init() if self.waited_init() is not None else self.restore_ms
        return None if wait is None else wait + self.durations[0]

    def warm(self) -> list[float]:
        return self.durations[1:] if self.cold else list(self.durations)


STREAM = "2026/12/01/[12]0a1b2c3d4e5f60718293a4b5c6d7e8f9"


@pytest.mark.parametrize("style", ["text", "json"])
def test_an_environment_parses_into_its_invocations_and_reports(style: str) -> None:
    env = Env("12", [310.5, 12.25, 9.0], init_ms=1650.75, eager=True, timeout_at=2)
    lines = env.lines() if style == "text" else env.json_lines()
    records = [r for r in (parse_message(line, STREAM) for line in lines) if r is not None]
    invocations = [r for r in records if isinstance(r, Invocation)]
    assert [r.duration_ms for r in invocations] == env.durations
    assert invocations[0].init_ms == 1650.75 and invocations[0].cold_request_ms == 1650.75 + 310.5
    assert [r.cold for r in invocations] == [True, False, False]
    assert [r.status for r in invocations] == ["success", "success", "timeout"]
    (eager,) = [r for r in records if isinstance(r, EagerInit)]
    assert eager.version == "12" and eager.init_type == "on-demand" and eager.event == "init"
    assert eager.phases_ms["imports"] == 400.0 and eager.phases_ms["archive"] == 0.0
    assert eager.warmup == ("GET /healthz warmed", "GET /nope failed")
    assert len(records) == 4  # START, END, app lines, the readable init line and INIT_START are not records


@pytest.mark.parametrize("style", ["text", "json"])
def test_restore_and_init_errors(style: str) -> None:
    restored = Env("7", [20.0, 4.5], restore_ms=180.5, init_type="snap-start")
    failed = Env("7", [1200.0], init_ms=None, init_error=True)
    lines = [*(restored.lines() if style == "text" else restored.json_lines()),
             *(failed.lines() if style == "text" else failed.json_lines())]
    records = [r for r in (parse_message(line, "2026/12/01/[7]ab") for line in lines) if r is not None]
    invocations = [r for r in records if isinstance(r, Invocation)]
    assert invocations[0].restore_ms == 180.5 and invocations[0].init_ms is None
    assert invocations[0].cold_request_ms == 200.5
    assert invocations[-1].status in ("error", "failure") and not invocations[-1].cold
    failures = [r for r in records if isinstance(r, InitReportLine)]
    assert [(f.phase, f.status, f.error_type) for f in failures] == [
        ("init", "error", "Runtime.ImportModuleError"), ("invoke", "error", "Runtime.ImportModuleError")]


def test_provisioned_concurrency_reports_carry_no_init_duration() -> None:
    env = Env("3", [15.0, 14.0], init_type="provisioned-concurrency", eager=True)
    records = [parse_message(line, "2026/12/01/[3]ab") for line in env.lines()]
    invocations = [r for r in records if isinstance(r, Invocation)]
    assert not any(r.cold for r in invocations)
    assert [r.init_type for r in records if isinstance(r, EagerInit)] == ["provisioned-concurrency"]


@pytest.mark.parametrize(("stream", "version"), [
    ("2026/12/01/[12]0a1b2c3d", "12"), ("2026/12/01/[$LATEST]ffee", "$LATEST"), ("custom-stream", "?")])
def test_stream_name_carries_the_version(stream: str, version: str) -> None:
    assert stream_version(stream) == version


def test_lines_that_are_not_ours_are_ignored() -> None:
    for line in ("REPORT card printed", '{"type": "something.else"}', "{not json platform.report",
                 '{"zappa_eager_init": "not an object"}', "", "START RequestId: x Version: 1"):
        assert parse_message(line, STREAM) is None


def test_time_options() -> None:
    now = datetime.datetime(2026, 12, 2, 12, 0, 0, 500_000, tzinfo=datetime.timezone.utc)
    options = parse_options(["dev", "--since", "7d", "--compare", "11", "12"], now=now)
    assert options.window.end_ms - options.window.start_ms == 7 * 86_400_000
    assert options.window.end_ms % 1000 == 0 and options.compare == ("11", "12")
    window = parse_options(["dev", "--since", "2026-12-01", "--until", "2026-12-01T06:00:00+02:00"], now=now).window
    assert (window.start_ms, window.end_ms) == (1_796_083_200_000, 1_796_083_200_000 + 4 * 3_600_000)
    for argv, message in ((["dev", "--since", "1h", "--until", "2h"], "is not before --until"),
                          (["dev", "--compare", "3", "3"], "name two different versions"),
                          (["dev", "--until", "soon"], "--until 'soon' is neither a duration nor a time")):
        with pytest.raises(ColdstartsError, match=message):
            parse_options(argv, now=now)


@pytest.mark.parametrize("style", ["text", "json"])
def test_an_init_cut_at_the_limit_makes_the_next_invoke_a_cold_start(style: str) -> None:
    from zappa_eager.coldstarts.aggregate import Aggregator

    env = Env("9", [2950.5, 8.0], init_cut_ms=10000.0, eager=True)
    aggregator = Aggregator()
    for line in env.lines() if style == "text" else env.json_lines():
        aggregator.add(parse_message(line, "2026/12/01/[9]ab"))
    stats = aggregator.versions["9"]
    assert (stats.cold_starts, stats.suppressed_inits, stats.init_errors, stats.invocations) == (1, 1, 1, 2)
    assert stats.cold_request.summary()["max"] == 10000.0 + 2950.5 and stats.warm.summary()["max"] == 8.0
    assert stats.eager_inits == {"on-demand": 1} and aggregator.waiting == {}
