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
    return sample.warm_median_ms if name == "warm_ms" else getattr(sample, name)


def first_over_idle_warm(samples: Sequence[EnvSample]) -> list[float]:
    """Per environment: its first request over its own idle-warm request (same path, same idle gap before)."""
    ratios = (ratio(s.first_ms, s.idle_warm_ms) for s in samples)
    return [r for r in ratios if r is not None]


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
    """Median milliseconds per INIT phase, from the init reports (modes without reports are left out)."""
    phases: dict[Mode, dict[str, float | None]] = {}
    for mode in modes:
        reports = [s.init_report for s in samples if s.mode == mode and s.init_report]
        if not reports:
            continue
        keys = [f"{phase}_ms" for phase in PHASES] + ["total_ms"]
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
