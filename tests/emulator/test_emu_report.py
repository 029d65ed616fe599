"""REPORT lines: Lambda's format, and parsing them back."""

from __future__ import annotations

from zappa_eager.emulator import parse_report_line
from zappa_eager.emulator.platform_log import Report, billed_ms


def test_report_line_format_and_parse() -> None:
    line = Report("req-1", 3.214, 4, 512, 87, init_duration_ms=812.344).line()
    assert line == ("REPORT RequestId: req-1\tDuration: 3.21 ms\tBilled Duration: 4 ms\tMemory Size: 512 MB"
                    "\tMax Memory Used: 87 MB\tInit Duration: 812.34 ms")
    assert parse_report_line(line) == {"RequestId": "req-1", "Duration": 3.21, "Billed Duration": 4.0,
                                       "Memory Size": 512.0, "Max Memory Used": 87.0, "Init Duration": 812.34}


def test_parse_space_separated_and_restore_fields() -> None:
    line = ("REPORT RequestId: r Duration: 1.00 ms Billed Duration: 1 ms Memory Size: 128 MB Max Memory Used: 40 MB "
            "Restore Duration: 200.50 ms Billed Restore Duration: 201 ms Status: timeout")
    parsed = parse_report_line(line)
    assert parsed["Restore Duration"] == 200.5
    assert parsed["Billed Restore Duration"] == 201.0
    assert parsed["Billed Duration"] == 1.0
    assert parsed["Status"] == "timeout"


def test_billing_rounds_up_to_the_millisecond() -> None:
    assert billed_ms(0.2) == 1
    assert billed_ms(3.0) == 3
    assert billed_ms(3.01) == 4
