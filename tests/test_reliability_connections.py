"""A burst of environments against one local S3 and one PostgreSQL leaves no connection open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import connections
from tests.reliability.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]
BURST = connections.FAST_BURST


@pytest.fixture
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server.start()


def test_snapstart_burst_closes_at_the_snapshot_and_releases_each_connection_on_stop(
        tmp_path: Path, pg: PostgresServer) -> None:
    run = connections.snapstart_burst(tmp_path, pg, BURST)
    assert run.errors == []
    assert run.warmup_statuses == [200] * BURST  # each INIT's warm-up queried the database...
    assert run.closed_by_hook == [1] * BURST  # ...and its before-snapshot hook closed that connection
    assert run.after_snapshot == 0
    assert run.statuses == [200] * BURST and run.serving == BURST  # restored: one connection each
    assert run.after_each_stop == list(range(BURST - 1, -1, -1))
    hook, stops = connections.snapstart_rows(run)
    assert hook.met and hook.connections_left == 0 and stops.met and stops.connections_left == 0


def test_on_demand_burst_releases_each_connection_when_its_environment_stops(tmp_path: Path,
                                                                              pg: PostgresServer) -> None:
    run = connections.on_demand_burst(tmp_path, pg, BURST)
    assert run.errors == [] and run.statuses == [200] * BURST
    assert run.serving == BURST
    assert run.after_each_stop == list(range(BURST - 1, -1, -1))
    assert connections.on_demand_row(run).met


def test_connections_are_counted_without_the_counting_one(pg: PostgresServer) -> None:
    import psycopg

    assert pg.connections() == 0
    with psycopg.connect(pg.url):
        assert pg.connections() == 1
    assert pg.settle(0)[0] == 0
