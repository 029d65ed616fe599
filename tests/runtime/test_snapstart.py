"""SnapStart hooks through the emulator's SnapStart lifecycle, the real awslambdaric and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import base_stage, make_task_root
from tests.pgserver import postgres_server
from zappa_eager.emulator import Emulator, events, taskroot

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

#: Imported to find what the deployed package would carry (the emulator hides the venv).
ROOT_IMPORTS = "import zappa.handler, boto3, django; django.setup(); import django.db.backends.postgresql.base"


def link_packages(root: Path) -> None:
    """Put the packages a `zappa package` would ship into the task root (the env sees nothing else)."""
    env = {"DJANGO_SETTINGS_MODULE": "djsite.settings"}
    taskroot.link_packages(root, taskroot.imported_packages(ROOT_IMPORTS, pythonpath=root, env=env))


@pytest.fixture(scope="module")
def pg_port() -> Iterator[int]:
    with postgres_server() as port:
        yield port


def app_connections(port: int) -> int:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'djsite'").fetchone()
    assert row is not None
    return int(row[0])


#: The stage runtime of the interpreter running the test (and the emulator's environments), so on
#: Python 3.12+ the SnapStart stage runs where Lambda would run it. SnapStart for Python needs 3.12+;
#: on older interpreters the stage still says python3.12 and the hooks run on the older Python.
SNAP_RUNTIME = f"python{sys.version_info[0]}.{sys.version_info[1]}" if sys.version_info >= (3, 12) else "python3.12"


def snap_root(tmp_path: Path, **stage: Any) -> Path:
    if "snap_start" in stage:
        stage.setdefault("runtime", SNAP_RUNTIME)
    config = base_stage(eager_init_warmup=["/healthz"], **stage)
    root = make_task_root(tmp_path, config)
    link_packages(root)
    return root


def body(result: Any) -> dict[str, Any]:
    assert result.error is None, result.error
    assert result.status_code == 200, result.body
    payload: dict[str, Any] = result.json()
    return payload


def test_before_snapshot_closes_connections_and_restore_reconnects(tmp_path: Path, pg_port: int) -> None:
    root = snap_root(tmp_path, snap_start="PublishedVersions")
    env_vars = {"DJSITE_PG_PORT": str(pg_port)}
    with Emulator(root, env=env_vars, function_name="djsite-dev") as emu:
        # Control: without SnapStart, the warm-up's connection stays open after INIT.
        plain = emu.start_environment("provisioned-concurrency")
        assert plain.init_report()["warmup"][0]["status"] == 200
        assert app_connections(pg_port) == 1
        plain.stop()

        snap = emu.start_environment("snap-start")
        reports = snap.init_reports()
        assert [r["event"] for r in reports] == ["init", "before_snapshot"]
        assert reports[0]["warmup"][0]["status"] == 200  # the warm-up did open a connection...
        assert app_connections(pg_port) == 0  # ...and the before-snapshot hook closed it
        assert "closed 1 database" in " ".join(reports[1]["notes"])

        first = snap.invoke(events.api_gateway_v1("GET", "/healthz"))
        assert first.restore_duration_ms is not None
        assert body(first)["db"] == 1
        assert app_connections(pg_port) == 1  # reconnected after restore
        events_seen = [r["event"] for r in snap.init_reports()]
        assert events_seen == ["init", "before_snapshot", "after_restore"]
        assert "after_restore_ms" in snap.init_reports()[-1]


def test_random_differs_between_restores_from_the_same_snapshot(tmp_path: Path) -> None:
    # DJSITE_FIXED_SEED gives every environment the same `random` state at INIT, as a
    # snapshot would. Without the after-restore hook the environments would agree.
    env_vars = {"DJSITE_FIXED_SEED": "1234"}  # the SQLite file lives in each env's private /tmp

    def draws(root: Path, init_type: str) -> list[float]:
        with Emulator(root, env=env_vars, function_name="djsite-dev") as emu:
            values = []
            for _ in range(2):
                env = emu.start_environment(init_type)
                values.append(body(env.invoke(events.api_gateway_v1("GET", "/random")))["random"])
            return values

    restored = draws(snap_root(tmp_path / "snap", snap_start="PublishedVersions"), "snap-start")
    assert restored[0] != restored[1]
    control = draws(snap_root(tmp_path / "plain"), "provisioned-concurrency")
    assert control[0] == control[1]


def test_warmup_after_restore_reopens_the_connection_before_the_first_request(tmp_path: Path, pg_port: int) -> None:
    root = snap_root(tmp_path, snap_start="PublishedVersions", eager_init_warmup_after_restore=True)
    with Emulator(root, env={"DJSITE_PG_PORT": str(pg_port)}, function_name="djsite-dev") as emu:
        env = emu.start_environment("snap-start")
        assert app_connections(pg_port) == 0
        env.restore()
        assert app_connections(pg_port) == 1  # the repeated warm-up connected before any request
        after = env.init_reports()[-1]
        assert after["event"] == "after_restore" and "/healthz -> 200" in " ".join(after["notes"])
        assert body(env.invoke(events.api_gateway_v1("GET", "/healthz")))["status"] == "ok"
