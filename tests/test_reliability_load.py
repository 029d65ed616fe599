"""Load: one environment serves the fast set's 2,000 requests without failing, growing or leaking fds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import load
from tests.reliability.load import BASELINE_AFTER, FAST_REQUESTS, LoadRun, ProcSample
from tests.reliability.postgres import PostgresServer


@pytest.fixture
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server.start()


@pytest.mark.postgres
@pytest.mark.e2e
def test_one_environment_serves_the_fast_set_without_failures_memory_growth_or_fd_growth(
        tmp_path: Path, pg: PostgresServer) -> None:
    run = load.run_load(tmp_path, FAST_REQUESTS, pg)
    assert run.init_ok and run.failure_count == 0, run.failures
    assert len(run.durations_ms) == FAST_REQUESTS
    assert run.baseline is not None and run.final is not None
    assert (run.baseline.requests, run.final.requests) == (BASELINE_AFTER, FAST_REQUESTS)
    assert run.rss_growth_mb is not None and run.rss_growth_mb <= load.MAX_RSS_GROWTH_MB
    assert run.fd_growth is not None and run.fd_growth <= 0
    assert run.db_connections_during == 1  # the persistent connection, reused by every request
    assert run.connections_left == 0
    row = run.row()
    assert row.met and row.group == "load" and f"{FAST_REQUESTS:,}/{FAST_REQUESTS:,} served" in row.outcome


def _run(rss_mb: tuple[float, float], fds: tuple[int, int], failures: int = 0) -> LoadRun:
    run = LoadRun(requests=1000, failure_count=failures, init_ok=True, connections_left=0,
                  durations_ms=[1.0] * 1000)
    run.baseline = ProcSample(BASELINE_AFTER, int(rss_mb[0] * 1024), fds[0])
    run.final = ProcSample(1000, int(rss_mb[1] * 1024), fds[1])
    return run


@pytest.mark.parametrize(("rss_mb", "fds", "failures", "met"), [
    ((70.0, 75.0), (7, 7), 0, True),
    ((70.0, 75.5), (7, 7), 0, False),  # grew past 5 MB
    ((70.0, 70.1), (7, 8), 0, False),  # one more descriptor open
    ((70.0, 70.1), (7, 7), 1, False),  # one request failed
])
def test_the_goal_counts_growth_after_the_baseline(rss_mb: tuple[float, float], fds: tuple[int, int], failures: int,
                                                   met: bool) -> None:
    run = _run(rss_mb, fds, failures)
    assert run.met is met and run.row().met is met


def test_the_baseline_must_come_before_the_last_request(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than the 200"):
        load.run_load(tmp_path, BASELINE_AFTER, pg=None)  # type: ignore[arg-type]
