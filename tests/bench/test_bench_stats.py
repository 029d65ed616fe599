"""zappa bench figures on given inputs: medians, spreads, percentiles, ratios, phase medians."""

from __future__ import annotations

import pytest

from zappa_eager.bench.records import BurstRequest, EnvSample
from zappa_eager.bench.runner import rotated
from zappa_eager.bench.stats import (
    init_phase_medians,
    median,
    percentile,
    ratio,
    spread,
    summarize_burst,
    summarize_mode,
    summarize_modes,
)


def sample(mode: str, round_: int = 1, *, init: float = 100.0, first: float = 50.0, warm: float = 5.0,
           cold: float = 200.0, rss: float = 60.0, report: dict[str, float] | None = None) -> EnvSample:
    return EnvSample(mode=mode, variant="slim_off", round=round_, init_ms=init, first_ms=first, warm_ms=[warm] * 3,
                     warm_median_ms=warm, max_rss_mb=rss, cold_ms=cold, init_report=report)


def test_median_and_spread_ignore_missing_values() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None and median([None]) is None
    assert spread([3.0, None, 1.0]) == [1.0, 3.0]
    assert spread([]) is None


@pytest.mark.parametrize(("q", "expected"), [(0, 1.0), (50, 50.5), (95, 95.05), (99, 99.01), (100, 100.0)])
def test_percentile_interpolates_like_numpy(q: float, expected: float) -> None:
    assert percentile(range(1, 101), q) == pytest.approx(expected)


def test_percentile_of_one_or_no_value() -> None:
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_ratio_is_none_without_a_usable_denominator() -> None:
    assert ratio(10.0, 2.0) == 5.0
    assert ratio(None, 2.0) is None and ratio(1.0, None) is None and ratio(1.0, 0.0) is None


def test_summarize_mode_takes_medians_and_min_max() -> None:
    samples = [sample("eager", 1, first=10.0, warm=2.0), sample("eager", 2, first=30.0, warm=3.0),
               sample("eager", 3, first=20.0, warm=2.5, cold=400.0)]
    samples[1].errors.append("first /: HTTP 500")
    summary = summarize_mode(samples)
    assert summary["first_ms"] == 20.0
    assert summary["warm_ms"] == 2.5
    assert summary["cold_ms"] == 200.0
    assert summary["spread"]["first_ms"] == [10.0, 30.0]
    assert summary["spread"]["cold_ms"] == [200.0, 400.0]
    assert summary["first_over_warm"] == pytest.approx(8.0)
    assert summary["environments"] == 3 and summary["errors"] == 1


def test_first_over_idle_warm_is_the_median_of_each_environments_own_ratio() -> None:
    samples = [sample("eager", 1, first=10.0), sample("eager", 2, first=30.0), sample("eager", 3, first=9.0),
               sample("eager", 4, first=50.0)]
    for s, idle_warm in zip(samples, (5.0, 10.0, 9.0, None), strict=True):
        s.idle_warm_ms = idle_warm  # the fourth environment died before its idle-warm request
    summary = summarize_mode(samples)
    assert summary["idle_warm_ms"] == 9.0
    assert summary["first_over_idle_warm"] == 2.0  # median of 2.0, 3.0, 1.0 (ratio of medians: 20 / 9)
    assert summary["spread"]["first_over_idle_warm"] == [1.0, 3.0]
    assert summarize_mode([sample("eager")])["first_over_idle_warm"] is None


def test_cold_ratio_is_relative_to_upstream() -> None:
    samples = [sample("upstream", cold=1000.0), sample("eager", cold=1100.0)]
    modes = summarize_modes(samples, ["upstream", "eager"])
    assert modes["upstream"]["cold_over_upstream_cold"] == 1.0
    assert modes["eager"]["cold_over_upstream_cold"] == pytest.approx(1.1)
    assert summarize_modes(samples, ["eager"])["eager"]["cold_over_upstream_cold"] is None


def test_mode_without_environments_has_no_figures() -> None:
    summary = summarize_modes([], ["upstream"])["upstream"]
    assert summary["init_ms"] is None and summary["first_over_warm"] is None and summary["environments"] == 0


def test_init_phase_medians_only_for_modes_with_reports() -> None:
    report = {"imports_ms": 300.0, "settings_ms": 1.0, "remote_env_ms": 0.0, "archive_ms": 0.0, "app_ms": 500.0,
              "warmup_ms": 0.0, "total_ms": 801.0}
    samples = [sample("upstream"), sample("eager", report=report),
               sample("eager", 2, report={**report, "app_ms": 700.0, "total_ms": 1001.0})]
    phases = init_phase_medians(samples, ["upstream", "eager"])
    assert list(phases) == ["eager"]
    assert phases["eager"]["app"] == 600.0 and phases["eager"]["imports"] == 300.0
    assert phases["eager"]["total"] == 901.0


def test_burst_summary() -> None:
    requests = [BurstRequest("eager", t_ms=0.0, latency_ms=float(ms), env=f"env-{i}", cold=i > 0,
                             prewarmed_first=i == 0, status=200) for i, ms in enumerate(range(10, 110, 10))]
    requests[-1].error = "HTTP 500"
    summary = summarize_burst(requests)
    assert summary["p50_ms"] == 55.0
    assert summary["p99_ms"] == pytest.approx(99.1)
    assert summary["max_ms"] == 100.0
    assert summary["prewarmed_first_ms"] == 10.0 and summary["cold_p50_ms"] == 60.0
    assert (summary["requests"], summary["cold_starts"], summary["prewarmed_first"], summary["errors"]) == (10, 9, 1, 1)


def test_rounds_rotate_so_no_mode_always_goes_first() -> None:
    modes = ["a", "b", "c", "d"]
    assert rotated(modes, 0) == ["a", "b", "c", "d"]
    assert rotated(modes, 1) == ["b", "c", "d", "a"]
    assert rotated(modes, 5) == ["b", "c", "d", "a"]
    assert rotated([], 3) == []
