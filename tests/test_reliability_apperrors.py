"""Errors while loading the app, through the emulator (real awslambdaric) and a real PostgreSQL.

``eager_init_on_error`` is written out in every stage ("lazy", or "raise" for the control).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import apperrors
from tests.reliability.apperrors import MISSING_MODULE, REQUESTS
from tests.reliability.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server.start()


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("apperrors")
    return {mode: apperrors.task_root(work, mode) for mode in ("lazy", "raise")}


def test_settings_import_error_under_lazy_keeps_the_environment_and_fails_each_request_with_it(
        roots: dict[str, Path], pg: PostgresServer) -> None:
    run = apperrors.settings_import_error(roots["lazy"], pg, "lazy")
    assert run.alive_after_init and run.init_error is None
    assert run.report["ok"] is False and run.report["event"] == "init"
    assert run.report_error == f"ModuleNotFoundError: No module named '{MISSING_MODULE}'"
    assert len(run.requests) == REQUESTS
    for served in run.requests:  # loudly, in the same environment: never a 200, never lost
        assert served.status is None and served.environment == "env-1"
        assert served.error_type == "ModuleNotFoundError" and MISSING_MODULE in (served.error_message or "")
    assert apperrors.import_error_row(run).met


def test_settings_import_error_under_raise_fails_init_naming_the_module(roots: dict[str, Path],
                                                                        pg: PostgresServer) -> None:
    run = apperrors.settings_import_error(roots["raise"], pg, "raise")
    assert not run.alive_after_init
    assert run.init_error is not None and run.init_error["errorType"] == "Runtime.ImportModuleError"
    assert MISSING_MODULE in run.init_error["errorMessage"]
    assert all(s.error_type == "Runtime.ImportModuleError" for s in run.requests)
    row = apperrors.import_error_row(run)
    assert row.met and row.outcome == "INIT failed: Runtime.ImportModuleError"


def test_database_down_during_warmup_is_reported_and_requests_succeed_once_it_is_back(
        roots: dict[str, Path], pg: PostgresServer) -> None:
    run = apperrors.database_down_during_warmup(roots["lazy"], pg)
    assert pg.running
    assert run.alive_after_init and run.report["ok"] is True
    assert [w["status"] for w in run.report["warmup"]] == [500, 500]  # both rounds failed, and say so
    assert len(run.warmup_failures) == 2
    cause = run.logged("OperationalError")  # the app's log names the cause the report points to
    assert cause is not None and "Connection refused" in cause
    assert [s.status for s in run.requests] == [200] * REQUESTS
    assert {s.environment for s in run.requests} == {"env-1"}  # the same environment recovered
    assert run.connections_left == 0
    assert apperrors.warmup_outage_row(run).met


def test_database_down_while_django_loads_gives_the_environment_back_then_a_fresh_one_serves(
        roots: dict[str, Path], pg: PostgresServer) -> None:
    run = apperrors.database_down_at_app_load(roots["lazy"], pg)
    assert run.alive_after_init and run.report["ok"] is False
    assert run.report_error.startswith("OperationalError:") and "Connection refused" in run.report_error
    first, *rest = run.requests
    assert first.error_type == "Runtime.ExitError" and first.environment == "env-1"  # given back, loudly
    assert [s.status for s in rest] == [200] * REQUESTS and {s.environment for s in rest} == {"env-2"}
    assert run.connections_left == 0
    assert apperrors.load_outage_row(run).met
