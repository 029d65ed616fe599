"""Lambda's platform log lines (START / END / REPORT / INIT_REPORT / RESTORE_*), billing, and parsing REPORTs.

The benchmark reads the same REPORT lines it would read from CloudWatch Logs, so the format
follows Lambda's: tab-separated ``Name: value unit`` fields after ``REPORT RequestId: <id>``.
(Not to be confused with ``zappa_eager.runtime.report``, the init report our handler prints.)
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Literal

from .config import InitType
from .result import InvokeResult

#: A REPORT's Status field: absent on success.
ReportStatus = Literal["error", "timeout"]
#: An INIT_REPORT's Status and Phase ("invoke": INIT run again inside the first invoke after the init limit cut it).
InitStatus = Literal["success", "error", "timeout"]
InitPhase = Literal["init", "invoke"]

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
    status: ReportStatus | None = None  # None: success
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


def init_report_line(duration_ms: float, status: InitStatus, error_type: str | None = None,
                     phase: InitPhase = "init") -> str:
    """``phase`` is "invoke" for an INIT run again inside the first invoke after the init limit cut it."""
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def restore_start_line(runtime: str) -> str:
    return f"RESTORE_START Runtime Version: {runtime}"


def restore_report_line(duration_ms: float, error_type: str | None = None) -> str:
    """A successful restore has no Status; a failed one says ``Status: error`` and its Error Type."""
    line = f"RESTORE_REPORT Restore Duration: {duration_ms:.2f} ms"
    return f"{line}\tStatus: error\tError Type: {error_type}" if error_type is not None else line


def task_timed_out_line(request_id: str, message: str) -> str:
    """Lambda's ``<timestamp> <request id> Task timed out after X seconds``."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    return f"{stamp} {request_id} {message}"


def invoke_report(result: InvokeResult, status: ReportStatus | None, *, init_type: InitType,
                  memory_mb: int) -> Report:
    """Bill the invoke and write its REPORT.

    Billed Duration is Duration rounded up to the ms, plus an on-demand INIT (billed since Aug
    2025); a restore is billed apart (Billed Restore Duration). Max Memory Used is
    ``result.max_memory_mb``.
    """
    billed = billed_ms(result.duration_ms)
    if init_type == "on-demand" and result.init_duration_ms is not None:
        billed += math.ceil(result.init_duration_ms)
    restore_ms = result.restore_duration_ms
    return Report(
        request_id=result.request_id, duration_ms=result.duration_ms, billed_duration_ms=billed,
        memory_size_mb=memory_mb, max_memory_used_mb=result.max_memory_mb or 0,
        init_duration_ms=result.init_duration_ms, restore_duration_ms=restore_ms,
        billed_restore_duration_ms=None if restore_ms is None else billed_ms(restore_ms),
        status=status, error_type=result.error_type if status else None,
    )

