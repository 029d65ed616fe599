"""The log lines ``zappa coldstarts`` reads, parsed into small records.

Lambda writes one REPORT per invocation, in the text log format
(``REPORT RequestId: ...\\tDuration: 1.23 ms\\t...\\tInit Duration: 300.00 ms``) or, in the
JSON log format, as a ``platform.report`` record; an ``INIT_REPORT`` / ``platform.initReport``
when an INIT failed or timed out; zappa-eager's handler adds its init report (an EMF document
with a ``zappa_eager_init`` key, see ``zappa_eager.runtime.report``). The log stream name carries the
function version: ``2026/12/01/[12]0a1b...``. Everything else in the log group is ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from zappa_eager.runtime.report import ARCHIVE_STAGE_KEYS, PHASES, REPORT_KEY

#: The version in a Lambda log stream name: ``YYYY/MM/DD/[VERSION]hex``.
_STREAM_VERSION = re.compile(r"\[([^\]]+)\]")
_TEXT_DURATION = re.compile(r"RequestId: \S+\s+Duration: ([0-9.]+) ms")
_TEXT_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
_TEXT_RESTORE = re.compile(r"(?<!Billed )Restore Duration: ([0-9.]+) ms")
_TEXT_STATUS = re.compile(r"Status: (\w+)")
_TEXT_ERROR_TYPE = re.compile(r"Error Type: (\S+)")
_TEXT_PHASE = re.compile(r"Phase: (\w+)")

#: A REPORT's status: Lambda writes none on success (text) or ``success`` (JSON).
SUCCESS = "success"


@dataclass(frozen=True)
class Invocation:
    """One REPORT: an invocation's Duration, and the INIT or restore it waited for, if any."""

    version: str
    stream: str
    duration_ms: float
    init_ms: float | None = None  # on-demand cold start (Lambda logs no Init Duration for provisioned concurrency)
    restore_ms: float | None = None  # SnapStart restore
    status: str = SUCCESS  # success, timeout, error (failure in the JSON format)

    @property
    def cold(self) -> bool:
        """The caller waited for an INIT or a restore."""
        return self.init_ms is not None or self.restore_ms is not None

    @property
    def cold_request_ms(self) -> float | None:
        """What the first caller of a new environment waited: INIT (or restore) plus its own Duration."""
        wait = self.init_ms if self.init_ms is not None else self.restore_ms
        return None if wait is None else wait + self.duration_ms


@dataclass(frozen=True)
class InitReportLine:
    """An ``INIT_REPORT`` (or ``platform.initReport``): Lambda writes one when an INIT failed or timed out.

    An on-demand INIT cut at the init limit (``Phase: init``, ``Status: timeout``) is run again
    inside the first invoke (``Phase: invoke``); that invoke's REPORT carries no Init Duration,
    but its caller waited for both INITs.
    """

    version: str
    stream: str
    status: str
    phase: str
    init_ms: float | None = None
    error_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.status != SUCCESS


@dataclass(frozen=True)
class EagerInit:
    """zappa-eager's init report: its INIT type, phases and warm-up outcomes."""

    version: str
    stream: str
    event: str
    init_type: str
    ok: bool
    total_ms: float | None
    phases_ms: dict[str, float] = field(default_factory=dict)
    #: The archive phase's stages (``download``, ``inflate``, ``write``), when the report carries them and an
    #: unpack ran (reports before the split, stages without slim_handler and reused folders have none).
    archive_stages_ms: dict[str, float] = field(default_factory=dict)
    warmup: tuple[str, ...] = ()  # "GET /healthz warmed", one per request of the last round


Record = Invocation | InitReportLine | EagerInit


def stream_version(stream: str) -> str:
    """``2026/12/01/[12]0a1b...`` -> ``12``; ``$LATEST`` for ``[$LATEST]``; ``?`` for a name Lambda did not write."""
    found = _STREAM_VERSION.search(stream)
    return found.group(1) if found else "?"


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parse_text_report(message: str, version: str, stream: str) -> Invocation | None:
    duration = _TEXT_DURATION.search(message)
    if duration is None:
        return None
    init = _TEXT_INIT.search(message)
    restore = _TEXT_RESTORE.search(message)
    status = _TEXT_STATUS.search(message)
    return Invocation(version, stream, float(duration.group(1)), float(init.group(1)) if init else None,
                      float(restore.group(1)) if restore else None, status.group(1) if status else SUCCESS)


def parse_text_init_report(message: str, version: str, stream: str) -> InitReportLine:
    status = _TEXT_STATUS.search(message)
    phase = _TEXT_PHASE.search(message)
    init = _TEXT_INIT.search(message)
    error = _TEXT_ERROR_TYPE.search(message)
    return InitReportLine(version, stream, status.group(1) if status else SUCCESS, phase.group(1) if phase else "init",
                          float(init.group(1)) if init else None, error.group(1) if error else None)


def parse_platform_record(document: dict[str, Any], version: str, stream: str) -> Record | None:
    """A JSON-format platform event: ``platform.report`` or ``platform.initReport``."""
    record = document.get("record")
    if not isinstance(record, dict):
        return None
    found = record.get("metrics")
    metrics: dict[str, Any] = found if isinstance(found, dict) else {}
    status = str(record.get("status") or SUCCESS)
    if document.get("type") == "platform.report":
        duration = _float(metrics.get("durationMs"))
        if duration is None:
            return None
        return Invocation(version, stream, duration, _float(metrics.get("initDurationMs")),
                          _float(metrics.get("restoreDurationMs")), status)
    if document.get("type") == "platform.initReport":
        error = record.get("errorType")
        return InitReportLine(version, stream, status, str(record.get("phase") or "init"),
                              _float(metrics.get("durationMs")), str(error) if error else None)
    return None


def parse_eager_init(report: dict[str, Any], version: str, stream: str) -> EagerInit:
    phases = {name: float(report[f"{name}_ms"]) for name in PHASES if _float(report.get(f"{name}_ms")) is not None}
    stages: dict[str, float] = {}
    for stage, key in ARCHIVE_STAGE_KEYS.items():
        ms = _float(report.get(f"{key}_ms"))
        if ms is not None:
            stages[stage] = ms
    if not any(stages.values()):  # no unpack ran (all 0), or a report from before the split
        stages = {}
    entries = [w for w in report.get("warmup") or [] if isinstance(w, dict)]
    last_round = max((int(w.get("round") or 1) for w in entries), default=1)
    warmup = tuple(f"{w.get('method')} {w.get('path')} {w.get('outcome') or 'warmed'}" for w in entries
                   if int(w.get("round") or 1) == last_round)
    return EagerInit(version, stream, str(report.get("event") or "init"), str(report.get("init_type") or "unknown"),
                     bool(report.get("ok", True)), _float(report.get("total_ms")), phases,
                     archive_stages_ms=stages, warmup=warmup)


def parse_message(message: str, stream: str, version: str | None = None) -> Record | None:
    """One log event -> a record, or None for every line that is not one of ours to read."""
    version = stream_version(stream) if version is None else version
    text = message.lstrip()
    if text.startswith("REPORT "):
        return parse_text_report(text, version, stream)
    if text.startswith("INIT_REPORT "):
        return parse_text_init_report(text, version, stream)
    if "platform." not in text and REPORT_KEY not in text:
        return None
    start = text.find("{")
    if start < 0:
        return None
    try:
        document = json.loads(text[start:])
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    report = document.get(REPORT_KEY)
    if isinstance(report, dict):
        return parse_eager_init(report, version, stream)
    if str(document.get("type", "")).startswith("platform."):
        return parse_platform_record(document, version, stream)
    return None
