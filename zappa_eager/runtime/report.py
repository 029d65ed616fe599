"""The init report: one human log line and one CloudWatch Embedded Metric Format line.

Printed once per execution environment so that an operator can see, in CloudWatch Logs
and as graphable metrics, where INIT time went (settings, remote env, archive, app, warm-up).
Runtime module: standard library and ``zappa_eager.runtime.contract``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from zappa_eager.runtime import contract
from zappa_eager.runtime.contract import (
    ARCHIVE_STAGES,
    FAILED,
    REDIRECTED,
    WARMED,
    ArchiveStage,
    Phase,
    ReportEvent,
    WarmupOutcome,
    current_init_type,
)

#: The contract's phases in the order they run, as the report's keys name them (``<phase>_ms``): the
#: tooling reads reports back as JSON, where they are plain strings.
PHASES: tuple[str, ...] = contract.PHASES

#: Metric names in the EMF namespace, one per phase plus the total.
METRIC_NAMES: dict[str, str] = {
    "imports": "InitImports",
    "settings": "InitSettings",
    "remote_env": "InitRemoteEnv",
    "archive": "InitArchive",
    "app": "InitApp",
    "warmup": "InitWarmup",
    "total": "InitTotal",
    "before_snapshot": "BeforeSnapshot",
    "after_restore": "AfterRestore",
}

#: The ``archive`` phase's stages (``contract.ARCHIVE_STAGES``): their key in ``PhaseTimer.durations_ms``
#: (the report's ``archive_<stage>_ms``) and their metric, emitted when an unpack ran.
ARCHIVE_STAGE_KEYS: dict[ArchiveStage, str] = {stage: f"archive_{stage}" for stage in ARCHIVE_STAGES}
ARCHIVE_METRIC_NAMES: dict[str, str] = {
    "archive_download": "InitArchiveDownload",
    "archive_inflate": "InitArchiveInflate",
    "archive_write": "InitArchiveWrite",
}

EMF_NAMESPACE = "ZappaEager"
REPORT_KEY = "zappa_eager_init"
#: EMF dimension sets: per INIT type (on-demand and provisioned INITs differ by design), and per
#: function across INIT types, the only set before InitType existed, so its dashboards and alarms keep working.
EMF_DIMENSIONS: tuple[tuple[str, ...], ...] = (("FunctionName", "InitType"), ("FunctionName",))


@dataclass
class PhaseTimer:
    """Accumulates wall-clock milliseconds per named phase (and the archive phase's stages, see ``add_stages``)."""

    durations_ms: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: Phase) -> Iterator[None]:
        started = time.perf_counter()
        token = _OPEN_PHASE.set((self, name))
        try:
            yield
        finally:
            _OPEN_PHASE.reset(token)
            self.add(name, (time.perf_counter() - started) * 1000.0)

    def add_stages(self, stages_ms: Mapping[ArchiveStage, float]) -> None:
        """Add the archive phase's stage times (busy time of each stage; they overlap)."""
        for stage, ms in stages_ms.items():
            key = ARCHIVE_STAGE_KEYS[stage]
            self.durations_ms[key] = self.durations_ms.get(key, 0.0) + ms

    def add(self, name: Phase, ms: float) -> None:
        self.durations_ms[name] = self.durations_ms.get(name, 0.0) + ms

    def get(self, name: Phase) -> float:
        return self.durations_ms.get(name, 0.0)


#: The timer and phase being timed in this thread (``PhaseTimer.phase``): where ``record_archive_stages`` adds.
_OPEN_PHASE: ContextVar[tuple[PhaseTimer, Phase] | None] = ContextVar("zappa_eager_open_phase", default=None)


def record_archive_stages(stages_ms: Mapping[ArchiveStage, float]) -> None:
    """Give the unpack's stage times to the timer timing the ``archive`` phase around this call, if one is.

    ``archive.install_project_archive`` calls it (whether the install succeeded or not), so the
    build's report carries the split without its loader passing anything along.
    """
    open_phase = _OPEN_PHASE.get()
    if open_phase is not None and open_phase[1] == "archive":
        open_phase[0].add_stages(stages_ms)


@dataclass
class WarmupResult:
    """One warm-up request: what it answered and whether that warmed the view users will hit."""

    method: str
    path: str
    status: int | None
    ms: float
    error: str | None = None
    round: int = 1
    outcome: WarmupOutcome = WARMED
    location: str | None = None  # the Location of a 3xx
    reason: str | None = None  # short, for the log line: "no route", "expected 200, got 302"
    hint: str | None = None  # what to do about it
    expect: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status, "ms": round(self.ms, 2),
                "error": self.error, "round": self.round, "outcome": self.outcome, "location": self.location,
                "reason": self.reason, "hint": self.hint, "expect": list(self.expect) or None}

    def summary(self) -> str:
        """``GET / -> 200 warmed``, ``GET /a/ -> 302 redirected to /login/``, ``GET /x -> 404 failed: no route``."""
        status = "no response" if self.status is None else str(self.status)
        text = f"{self.method} {self.path} -> {status} {self.outcome}"
        if self.outcome == REDIRECTED and self.location:
            return f"{text} to {self.location}"
        if self.outcome == FAILED and self.reason:
            return f"{text}: {self.reason}"
        return f"{text} (expected)" if self.expect and self.outcome == WARMED else text


@dataclass
class InitReport:
    """What one INIT (or one rebuild on the first request) did and how long each phase took."""

    phases_ms: dict[str, float]
    total_ms: float
    ok: bool
    event: ReportEvent = "init"
    error: str | None = None
    warmup: list[WarmupResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Which of boto3, botocore and s3transfer INIT imported (none unless INIT or the app needed them).
    sdk_modules: list[str] = field(default_factory=list)
    #: True when the garbage collector was held off for this INIT (``runtime.heap``).
    gc_paused: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {f"{name}_ms": round(self.phases_ms.get(name, 0.0), 2) for name in PHASES}
        for key in ARCHIVE_STAGE_KEYS.values():  # 0 when no unpack ran (no slim_handler, or a reused folder)
            data[f"{key}_ms"] = round(self.phases_ms.get(key, 0.0), 2)
        for extra in ("before_snapshot", "after_restore"):
            if extra in self.phases_ms:
                data[f"{extra}_ms"] = round(self.phases_ms[extra], 2)
        data.update(
            total_ms=round(self.total_ms, 2),
            ok=self.ok,
            event=self.event,
            error=self.error,
            init_type=current_init_type(),
            # The runtime process: Lambda Managed Instances run several per environment, each its own INIT.
            process=os.getpid(),
            warmup=[w.as_dict() for w in self.warmup],
            notes=list(self.notes),
            boto3_in_init=bool(self.sdk_modules),
            sdk_modules=list(self.sdk_modules),
            gc_paused=self.gc_paused,
        )
        return data

    def human_line(self) -> str:
        parts = ", ".join(f"{name} {self.phases_ms.get(name, 0.0):.1f}" for name in PHASES)
        extras = "".join(
            f", {name} {self.phases_ms[name]:.1f}" for name in ("before_snapshot", "after_restore")
            if name in self.phases_ms
        )
        status = "ok" if self.ok else f"FAILED: {self.error}"
        if any(key in self.phases_ms for key in ARCHIVE_STAGE_KEYS.values()):
            split = ", ".join(f"{stage} {self.phases_ms.get(key, 0.0):.1f}"
                              for stage, key in ARCHIVE_STAGE_KEYS.items())
            status += f" archive=[{split} ms]"
        warm = ""
        if self.warmup:
            rounds = max(w.round for w in self.warmup)
            last = [w for w in self.warmup if w.round == rounds]  # the statuses the first user will see
            warm = " warmup=[" + ", ".join(w.summary() for w in last) + "]"
            if rounds > 1:
                warm += f" x{rounds}"
        return f"[zappa-eager] {self.event} {self.total_ms:.1f} ms ({parts}{extras} ms) {status}{warm}"

    def emf_line(self) -> str:
        """A CloudWatch Embedded Metric Format document: CloudWatch turns it into metrics."""
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "unknown")
        metrics: dict[str, float] = {METRIC_NAMES["total"]: round(self.total_ms, 2)}
        for name, ms in self.phases_ms.items():
            if name in METRIC_NAMES:
                metrics[METRIC_NAMES[name]] = round(ms, 2)
            elif name in ARCHIVE_METRIC_NAMES:
                metrics[ARCHIVE_METRIC_NAMES[name]] = round(ms, 2)
        document: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": EMF_NAMESPACE,
                        "Dimensions": [list(dimensions) for dimensions in EMF_DIMENSIONS],
                        "Metrics": [{"Name": name, "Unit": "Milliseconds"} for name in metrics],
                    }
                ],
            },
            "FunctionName": function_name,
            "InitType": current_init_type(),
            **metrics,
            REPORT_KEY: self.as_dict(),
        }
        return json.dumps(document, separators=(",", ":"))

    def emit(self) -> None:
        print(self.human_line(), flush=True)
        print(self.emf_line(), flush=True)


def parse_report_lines(text: str) -> list[dict[str, Any]]:
    """Find every init report in a log text (used by tests, the emulator and the benchmark)."""
    reports: list[dict[str, Any]] = []
    for line in text.splitlines():
        start = line.find("{")
        if start < 0 or REPORT_KEY not in line:
            continue
        try:
            document = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(document, dict) and isinstance(document.get(REPORT_KEY), dict):
            reports.append(document[REPORT_KEY])
    return reports
