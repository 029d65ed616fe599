"""``zappa coldstarts`` shows the archive phase's split (download, inflate, write) where the init reports carry it."""

from __future__ import annotations

import os
from typing import Any
from unittest import mock

from zappa_eager.coldstarts.aggregate import Aggregator
from zappa_eager.coldstarts.document import version_entry
from zappa_eager.coldstarts.records import EagerInit, parse_message
from zappa_eager.coldstarts.table import eager_lines
from zappa_eager.runtime.report import InitReport, PhaseTimer, record_archive_stages

STREAM = "2026/12/03/[4]0123456789abcdef"


def emf_line(archive_ms: float, stages: dict[str, float] | None) -> str:
    """A real init report's EMF line; ``stages`` recorded inside its archive phase when given."""
    timer = PhaseTimer()
    timer.add("imports", 300.0)
    timer.add("app", 500.0)
    if archive_ms:
        timer.add("archive", archive_ms)
    if stages is not None:
        with timer.phase("archive"):
            record_archive_stages(stages)  # type: ignore[arg-type]
    report = InitReport(phases_ms=dict(timer.durations_ms), total_ms=sum(timer.durations_ms.values()), ok=True)
    with mock.patch.dict(os.environ, {"AWS_LAMBDA_FUNCTION_NAME": "shop-dev"}):
        return report.emf_line()


def entry_for(lines: list[str]) -> dict[str, Any]:
    aggregator = Aggregator()
    for line in lines:
        aggregator.add(parse_message(line, STREAM))
    return version_entry(aggregator.versions["4"], [])


def test_reports_with_an_unpack_give_the_median_of_each_stage() -> None:
    lines = [emf_line(400.0 + i, {"download": 50.0 + i, "inflate": 250.0 + i, "write": 120.0 + 2 * i})
             for i in range(3)]
    record = parse_message(lines[0], STREAM)
    assert isinstance(record, EagerInit)
    assert record.archive_stages_ms["inflate"] >= 250.0 and record.phases_ms["archive"] > 400.0
    entry = entry_for(lines + [emf_line(0.0, None)])  # a report of an INIT without the archive phase
    stages = entry["archive_stages_ms"]
    assert stages == {"download": 51.0, "inflate": 251.0, "write": 122.0}
    assert entry["archive_unpacks"] == 3
    table = "\n".join(eager_lines([entry]))
    assert "archive (median ms of 3 unpacks" in table and "download 51.0" in table and "write 122" in table


def test_reports_without_the_split_show_none() -> None:
    old = emf_line(0.0, None).replace('"archive_download_ms":0', '"x":0')  # no stage ran: all 0
    assert parse_message(old, STREAM).archive_stages_ms == {}  # type: ignore[union-attr]
    entry = entry_for([emf_line(0.0, None), old])
    assert entry["archive_stages_ms"] is None and entry["archive_unpacks"] == 0
    assert not any("archive (" in line for line in eager_lines([entry]))
