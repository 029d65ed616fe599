"""Exact percentiles from histograms, and memory that grows with distinct values, not with lines."""

from __future__ import annotations

import random
import statistics
import tracemalloc

import pytest

from zappa_eager.coldstarts.aggregate import Aggregator, Distribution
from zappa_eager.coldstarts.records import parse_message


def expected(values: list[float]) -> dict[str, float]:
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0], "max": values[0]}
    quantiles = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": statistics.median(values), "p95": quantiles[94], "p99": quantiles[98], "max": max(values)}


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100, 101, 1234])
def test_percentiles_equal_statistics_exactly(size: int) -> None:
    rng = random.Random(size)
    # Logged to 0.01 ms, with many repeats: the histogram must still give statistics' exact figures.
    values = [round(rng.choice([rng.uniform(1, 50), rng.uniform(900, 3000), 12.5]), 2) for _ in range(size)]
    dist = Distribution()
    for value in values:
        dist.add(value)
    summary = dist.summary()
    assert summary["count"] == size
    assert {k: summary[k] for k in ("p50", "p95", "p99", "max")} == expected(values)


def test_weighted_counts_equal_repeated_values() -> None:
    values = [5.0] * 7 + [9.25] * 3 + [1.5]
    dist = Distribution()
    dist.add(5.0, 7)
    dist.add(9.25, 3)
    dist.add(1.5)
    assert dist.summary() == {"count": 11, **expected(values)}


def test_no_values_no_figures() -> None:
    assert Distribution().summary() == {"count": 0, "p50": None, "p95": None, "p99": None, "max": None}


def report_line(rng: random.Random, index: int) -> str:
    duration = round(rng.lognormvariate(3, 0.6), 2)
    init = f"\tInit Duration: {round(rng.uniform(800, 2500), 2)} ms" if index % 500 == 0 else ""
    return (f"REPORT RequestId: {index:08x}-0000-4000-8000-000000000000\tDuration: {duration} ms\tBilled Duration: "
            f"{int(duration) + 1} ms\tMemory Size: 1024 MB\tMax Memory Used: 180 MB{init}")


def peak_growth(lines: int) -> int:
    """Peak bytes allocated while aggregating ``lines`` synthetic REPORT lines (generated one at a time)."""
    rng = random.Random(42)
    tracemalloc.start()
    try:
        aggregator = Aggregator()
        for index in range(lines):
            aggregator.add(parse_message(report_line(rng, index), f"2026/12/01/[{index % 3}]abc", str(index % 3)))
        summary = [stats.warm.summary() for stats in aggregator.versions.values()]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(s["count"] for s in summary) == lines - len(range(0, lines, 500))
    return peak


def test_memory_grows_with_distinct_values_not_with_lines() -> None:
    # Ten times the lines: the histograms hold the distinct durations (logged to 0.01 ms), so memory
    # grows far less than tenfold. (A list of records would grow tenfold.)
    small, large = peak_growth(20_000), peak_growth(200_000)
    assert large < 3 * small
