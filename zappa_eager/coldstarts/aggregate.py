"""Per-version figures, exact, in memory that does not grow with the number of lines.

Every duration goes into a ``Distribution``: a histogram of exact values (value -> how many
times it was seen). Lambda logs durations to 0.01 ms, so a busy function's millions of REPORT
lines hold far fewer distinct values than lines, and the Logs Insights path can hand over
server-side counts (``stats count(*) by duration``) directly. Percentiles are then computed
on the sorted values with their multiplicities, with the very arithmetic of ``statistics``:
``p50`` is ``statistics.median``, ``pNN`` is ``statistics.quantiles(values, n=100,
method="inclusive")[NN-1]`` (a single value is its own percentile, as Python 3.13 has it).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from zappa_eager.coldstarts.records import SUCCESS, EagerInit, InitReportLine, Invocation, Record
from zappa_eager.runtime.report import ARCHIVE_STAGE_KEYS, PHASES

#: The percentiles every distribution reports, besides p50 (the median) and max.
PERCENTILES: tuple[int, ...] = (95, 99)


class Distribution:
    """Exact values with their multiplicities; memory grows with distinct values, not with additions."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[float, int] = {}
        self.total = 0

    def add(self, value: float, count: int = 1) -> None:
        if count <= 0:
            return
        self.counts[value] = self.counts.get(value, 0) + count
        self.total += count

    def remove(self, value: float, count: int = 1) -> bool:
        """Take back ``count`` occurrences of ``value`` (a line counted warm that was a cold start after all)."""
        held = self.counts.get(value, 0)
        if held < count:
            return False
        if held == count:
            del self.counts[value]
        else:
            self.counts[value] = held - count
        self.total -= count
        return True

    def merge(self, other: Distribution) -> None:
        for value, count in other.counts.items():
            self.add(value, count)

    def __len__(self) -> int:
        return self.total

    def _sorted(self) -> tuple[list[float], list[int]]:
        """Distinct values ascending, and how many values are <= each (cumulative counts)."""
        values = sorted(self.counts)
        cumulative: list[int] = []
        running = 0
        for value in values:
            running += self.counts[value]
            cumulative.append(running)
        return values, cumulative

    @staticmethod
    def _at(values: list[float], cumulative: list[int], index: int) -> float:
        """The ``index``-th (0-based) value of the sorted data, repeated values included."""
        return values[bisect_right(cumulative, index)]

    def median(self) -> float | None:
        if not self.total:
            return None
        values, cumulative = self._sorted()
        return self._median(values, cumulative)

    def _median(self, values: list[float], cumulative: list[int]) -> float:
        n = self.total
        if n % 2 == 1:
            return self._at(values, cumulative, n // 2)
        i = n // 2
        return (self._at(values, cumulative, i - 1) + self._at(values, cumulative, i)) / 2

    def _percentile(self, values: list[float], cumulative: list[int], q: int) -> float:
        """``statistics.quantiles(data, n=100, method="inclusive")[q - 1]``, same arithmetic."""
        if self.total == 1:
            return values[0]
        n = 100
        j, delta = divmod(q * (self.total - 1), n)
        return (self._at(values, cumulative, j) * (n - delta) + self._at(values, cumulative, j + 1) * delta) / n

    def summary(self) -> dict[str, Any]:
        """``{"count", "p50", "p95", "p99", "max"}``; the figures are None without values."""
        if not self.total:
            return {"count": 0, "p50": None, **{f"p{q}": None for q in PERCENTILES}, "max": None}
        values, cumulative = self._sorted()
        figures: dict[str, Any] = {"count": self.total, "p50": self._median(values, cumulative)}
        for q in PERCENTILES:
            figures[f"p{q}"] = self._percentile(values, cumulative, q)
        figures["max"] = values[-1]
        return figures


@dataclass
class VersionStats:
    """Everything counted for one function version."""

    version: str
    invocations: int = 0
    cold_starts: int = 0  # REPORTs with an Init Duration (on-demand INIT on the request path)
    restores: int = 0  # REPORTs with a Restore Duration (SnapStart)
    timeouts: int = 0
    errors: int = 0  # REPORTs with Status: error (or failure)
    init_errors: int = 0  # INIT_REPORTs whose status is error or timeout
    suppressed_inits: int = 0  # on-demand INITs cut at the init limit and run again inside the first invoke
    init: Distribution = field(default_factory=Distribution)
    restore: Distribution = field(default_factory=Distribution)
    cold_request: Distribution = field(default_factory=Distribution)
    cold_request_by_type: dict[str, Distribution] = field(default_factory=dict)
    warm: Distribution = field(default_factory=Distribution)
    eager_inits: Counter[str] = field(default_factory=Counter)  # init reports per INIT type (event "init")
    eager_events: Counter[str] = field(default_factory=Counter)  # every init report per event
    eager_failed: int = 0
    phases: dict[str, Distribution] = field(default_factory=dict)
    archive_stages: dict[str, Distribution] = field(default_factory=dict)  # INITs whose report has the split
    archive_unpacks: int = 0  # successful init reports with the archive phase's split (an unpack ran)
    warmup: Counter[str] = field(default_factory=Counter)

    @property
    def zappa_eager(self) -> bool:
        return bool(self.eager_events)

    def add_invocation(self, record: Invocation, waited_ms: float | None = None) -> None:
        """``waited_ms``: the INIT this invocation's caller waited for though the REPORT has no Init Duration
        (an on-demand INIT cut at the init limit, plus its re-run inside this invoke)."""
        self.invocations += 1
        if record.status == "timeout":
            self.timeouts += 1
        elif record.status != SUCCESS:
            self.errors += 1
        cold_request = record.cold_request_ms
        if waited_ms is not None and not record.cold:
            self.suppressed_inits += 1
            # The re-run INIT is inside Duration: the caller waited the cut INIT plus this Duration.
            cold_request = waited_ms + record.duration_ms
            self.cold_starts += 1
            self.init.add(waited_ms)
            kind = "on-demand"
        elif record.init_ms is not None:
            self.cold_starts += 1
            self.init.add(record.init_ms)
            kind = "on-demand"
        elif record.restore_ms is not None:
            self.restores += 1
            self.restore.add(record.restore_ms)
            kind = "snap-start"
        else:
            self.warm.add(record.duration_ms)
            return
        if cold_request is not None:
            self.cold_request.add(cold_request)
            self.cold_request_by_type.setdefault(kind, Distribution()).add(cold_request)

    def add_warm(self, duration_ms: float, count: int) -> None:
        """Warm REPORTs counted server-side (Logs Insights ``stats count(*) by duration``), all successes."""
        self.invocations += count
        self.warm.add(duration_ms, count)

    def add_eager_init(self, record: EagerInit) -> None:
        self.eager_events[record.event] += 1
        if not record.ok:
            self.eager_failed += 1
        if record.event != "init":
            return
        self.eager_inits[record.init_type] += 1
        if record.ok:
            for name, ms in record.phases_ms.items():
                self.phases.setdefault(name, Distribution()).add(ms)
            if record.total_ms is not None:
                self.phases.setdefault("total", Distribution()).add(record.total_ms)
            if record.archive_stages_ms:
                self.archive_unpacks += 1
            for stage, ms in record.archive_stages_ms.items():
                self.archive_stages.setdefault(stage, Distribution()).add(ms)
        self.warmup.update(record.warmup)

    def phase_medians(self) -> dict[str, float | None] | None:
        if not self.phases:
            return None
        return {name: self.phases[name].median() if name in self.phases else None for name in (*PHASES, "total")}

    def archive_stage_medians(self) -> dict[str, float | None] | None:
        """Median ms of each archive stage over the INITs that unpacked (None when no report carries the split)."""
        if not self.archive_stages:
            return None
        return {stage: self.archive_stages[stage].median() if stage in self.archive_stages else None
                for stage in ARCHIVE_STAGE_KEYS}


class Aggregator:
    """Feeds records to their version; holds nothing per line (per stream: only an INIT cut at the limit)."""

    def __init__(self) -> None:
        self.versions: dict[str, VersionStats] = {}
        self.lines = 0  # events read (REPORTs, INIT_REPORTs, init reports, and lines that were none of those)
        #: stream -> ms of its on-demand INIT cut at the init limit, until the REPORT of the invoke that re-ran it.
        self.waiting: dict[str, float] = {}

    def stats(self, version: str) -> VersionStats:
        found = self.versions.get(version)
        if found is None:
            found = self.versions[version] = VersionStats(version)
        return found

    def add(self, record: Record | None) -> None:
        self.lines += 1
        if record is None:
            return
        stats = self.stats(record.version)
        if isinstance(record, Invocation):
            stats.add_invocation(record, self.waiting.pop(record.stream, None))
        elif isinstance(record, InitReportLine):
            if record.failed:
                stats.init_errors += 1
            if record.phase == "init" and record.status == "timeout":
                self.waiting[record.stream] = record.init_ms or 0.0
        else:
            stats.add_eager_init(record)

    def reclassify(self, record: Invocation) -> bool:
        """A REPORT counted warm server-side (Logs Insights) that followed an INIT cut at the limit: make it cold."""
        if record.cold or record.stream not in self.waiting:
            return False
        stats = self.stats(record.version)
        if not stats.warm.remove(record.duration_ms):
            return False
        stats.invocations -= 1
        stats.add_invocation(record, self.waiting.pop(record.stream))
        return True

    def add_warm_counts(self, version: str, duration_ms: float, count: int) -> None:
        self.lines += count
        self.stats(version).add_warm(duration_ms, count)
