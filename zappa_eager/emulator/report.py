"""Lambda's platform log lines (START / END / REPORT / INIT_REPORT) and their parsing.

The benchmark reads the same REPORT lines it would read from CloudWatch Logs, so the format
follows Lambda's: tab-separated ``Name: value unit`` fields after ``REPORT RequestId: <id>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_FIELD_START = re.compile(
    r"(?<!Billed)(?<!Restore)(?<!Init) +(?=(?:Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration|"
    r"Restore Duration|Billed Restore Duration|Status|Error Type): )"
)


def billed_ms(duration_ms: float) -> int:
    """Lambda bills in 1 ms increments, rounded up."""
    return max(1, math.ceil(duration_ms - 1e-9))


@dataclass
class Report:
    """One invoke's platform report."""

    request_id: str
    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    restore_duration_ms: float | None = None
    billed_restore_duration_ms: int | None = None
    status: str | None = None  # None (success), "error", "timeout"
    error_type: str | None = None

    def line(self) -> str:
        fields = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            fields.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        if self.restore_duration_ms is not None:
            fields.append(f"Restore Duration: {self.restore_duration_ms:.2f} ms")
            fields.append(f"Billed Restore Duration: {self.billed_restore_duration_ms or 0} ms")
        if self.status:
            fields.append(f"Status: {self.status}")
        if self.error_type:
            fields.append(f"Error Type: {self.error_type}")
        return "\t".join(fields)


def parse_report_line(line: str) -> dict[str, str | float]:
    """``REPORT RequestId: x\\tDuration: 1.00 ms ...`` -> ``{"RequestId": "x", "Duration": 1.0, ...}``.

    Values with a unit (ms, MB) become floats; tab- or space-separated lines both parse.
    """
    text = line.strip()
    if text.startswith("REPORT "):
        text = text[len("REPORT "):]
    text = _FIELD_START.sub("\t", text)
    parsed: dict[str, str | float] = {}
    for part in text.split("\t"):
        name, sep, value = part.strip().partition(": ")
        if not sep:
            continue
        number, _, unit = value.rpartition(" ")
        parsed[name] = float(number) if unit in ("ms", "MB") else value
    return parsed


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def init_start_line(runtime: str) -> str:
    return f"INIT_START Runtime Version: {runtime}\tRuntime Version ARN: (zappa-eager emulator)"


def init_report_line(duration_ms: float, status: str, error_type: str | None = None) -> str:
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: init\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def peak_rss_mb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) in MB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for row in status:
                if row.startswith("VmHWM:"):
                    return math.ceil(int(row.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None
