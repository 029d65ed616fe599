"""Medians, spreads, percentiles and ratios: the figures of the table and of bench.json.

Medians, not means: one environment that hit a page-cache miss or a noisy neighbour must
not move the result. Pure functions on the raw samples, so they are unit-tested directly.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from zappa_eager.bench.modes import UPSTREAM, Mode
from zappa_eager.bench.records import BurstRequest, EnvSample
from zappa_eager.runtime.report import PHASES

#: The per-mode figures, in table order.
FIGURES: tuple[str, ...] = ("init_ms", "first_ms", "warm_ms", "idle_warm_ms", "cold_ms", "max_rss_mb")
#: The same on an environment initialized ahead of traffic with INIT type ``on-demand`` (proactive).
PROACTIVE_FIGURES: tuple[str, ...] = ("proactive_init_ms", "proactive_first_ms", "proactive_warm_ms",
                                      "proactive_idle_warm_ms", "proactive_rss_mb")
#: Init-report keys the bench shows per eager mode (read with .get(): older reports lack them).
INIT_FLAGS: tuple[str, ...] = ("boto3_in_init", "gc_paused")
#: The archive phase split (slim_handler), shown in "where INIT goes" when the reports have it.
ARCHIVE_SPLIT: tuple[str, ...] = ("archive_download", "archive_inflate", "archive_write")
#: A flag the init reports of one mode disagree on.
MIXED = "mixed"


def _numbers(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def median(values: Iterable[float | None]) -> float | None:
    numbers = _numbers(values)
    return statistics.median(numbers) if numbers else None


def spread(values: Iterable[float | None]) -> list[float] | None:
    """``[min, max]``, or None without values."""
    numbers = _numbers(values)
    return [min(numbers), max(numbers)] if numbers else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 100]."""
    numbers = sorted(_numbers(values))
    if not numbers:
        return None
    position = (len(numbers) - 1) * min(max(q, 0.0), 100.0) / 100.0
    low = math.floor(position)
    high = min(low + 1, len(numbers) - 1)
    return numbers[low] + (numbers[high] - numbers[low]) * (position - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def _figure(sample: EnvSample, name: str) -> float | None:
    if name == "warm_ms":
        return sample.warm_median_ms
    if name == "proactive_warm_ms":
        return sample.proactive_warm_median_ms
    value: float | None = getattr(sample, name)
    return value


def first_over_idle_warm(samples: Sequence[EnvSample], *, proactive: bool = False) -> list[float]:
    """Per environment: its first request over its own idle-warm request (same path, same idle gap before)."""
    if proactive:
        ratios = (ratio(s.proactive_first_ms, s.proactive_idle_warm_ms) for s in samples)
    else:
        ratios = (ratio(s.first_ms, s.idle_warm_ms) for s in samples)
    return [r for r in ratios if r is not None]


def init_reports(samples: Sequence[EnvSample]) -> list[dict[str, Any]]:
    """The init reports of the samples' environments initialized before traffic (pre-initialized, proactive)."""
    return [report for s in samples for report in (s.init_report, s.proactive_init_report) if report]


def report_flag(reports: Sequence[dict[str, Any]], key: str) -> bool | str | None:
    """A boolean init-report key over a mode's reports: True or False when they agree, ``mixed`` when they
    do not, None when no report has it (upstream's modes, or reports older than the key)."""
    values = {bool(r[key]) for r in reports if r.get(key) is not None}
    if not values:
        return None
    return values.pop() if len(values) == 1 else MIXED


def summarize_mode(samples: Sequence[EnvSample]) -> dict[str, Any]:
    """Medians of one mode's environments, with min/max of each figure.

    ``first_over_warm`` is the ratio of the medians; ``first_over_idle_warm`` the median of
    the per-environment ratios: both requests of the pair run on one environment after the
    same idle gap, so pairing them removes what differs between environments.
    """
    summary: dict[str, Any] = {name: median(_figure(s, name) for s in samples) for name in FIGURES}
    summary["spread"] = {name: spread(_figure(s, name) for s in samples) for name in FIGURES}
    summary["first_over_warm"] = ratio(summary["first_ms"], summary["warm_ms"])
    paired = first_over_idle_warm(samples)
    summary["first_over_idle_warm"] = median(paired)
    summary["spread"]["first_over_idle_warm"] = spread(paired)
    summary.update({name: median(_figure(s, name) for s in samples) for name in PROACTIVE_FIGURES})
    summary["spread"].update({name: spread(_figure(s, name) for s in samples) for name in PROACTIVE_FIGURES})
    proactive = first_over_idle_warm(samples, proactive=True)
    summary["proactive_first_over_idle_warm"] = median(proactive)
    summary["spread"]["proactive_first_over_idle_warm"] = spread(proactive)
    reports = init_reports(samples)
    summary.update({key: report_flag(reports, key) for key in INIT_FLAGS})
    summary["environments"] = len(samples)
    summary["errors"] = sum(len(s.errors) for s in samples)
    summary["limits"] = sum(len(s.limits) for s in samples)  # timeouts and INIT limits that are measurements
    summary["timeouts"] = sum(1 for s in samples for r in s.requests if r.timed_out)
    return summary


def summarize_modes(samples: Sequence[EnvSample], modes: Sequence[Mode]) -> dict[Mode, dict[str, Any]]:
    """Per-mode summaries plus ``cold_over_upstream_cold`` (None when upstream was not measured)."""
    summaries = {mode: summarize_mode([s for s in samples if s.mode == mode]) for mode in modes}
    upstream_cold = summaries[UPSTREAM]["cold_ms"] if UPSTREAM in summaries else None
    for summary in summaries.values():
        summary["cold_over_upstream_cold"] = ratio(summary["cold_ms"], upstream_cold)
    return summaries


def init_phase_medians(samples: Sequence[EnvSample], modes: Sequence[Mode]) -> dict[Mode, dict[str, float | None]]:
    """Median milliseconds per INIT phase, from the init reports (modes without reports are left out).

    The archive phase's split (``ARCHIVE_SPLIT``) is included when any report of the mode has it.
    """
    phases: dict[Mode, dict[str, float | None]] = {}
    for mode in modes:
        reports = [s.init_report for s in samples if s.mode == mode and s.init_report]
        if not reports:
            continue
        split = [f"{part}_ms" for part in ARCHIVE_SPLIT if any(r.get(f"{part}_ms") is not None for r in reports)]
        keys = [f"{phase}_ms" for phase in PHASES] + split + ["total_ms"]
        phases[mode] = {key.removesuffix("_ms"): median(r.get(key) for r in reports) for key in keys}
    return phases


def summarize_burst(requests: Sequence[BurstRequest]) -> dict[str, Any]:
    latencies = [r.latency_ms for r in requests]
    return {
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
        "prewarmed_first_ms": median(r.latency_ms for r in requests if r.prewarmed_first),
        "cold_p50_ms": percentile([r.latency_ms for r in requests if r.cold], 50),
        "requests": len(requests),
        "cold_starts": sum(1 for r in requests if r.cold),
        "prewarmed_first": sum(1 for r in requests if r.prewarmed_first),
        "errors": sum(1 for r in requests if r.failed),
        "timeouts": sum(1 for r in requests if r.timed_out),
        "init_limits": sum(1 for r in requests if r.init_limit),
    }
