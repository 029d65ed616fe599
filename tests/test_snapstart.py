"""SnapStart hooks through the emulator's SnapStart lifecycle, the real awslambdaric and PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import base_stage, make_task_root
from tests.pgserver import postgres_server
from zappa_eager.emulator import Emulator, events

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

#: Imported to find what the deployed package would carry (the emulator hides the venv).
ROOT_IMPORTS = "import zappa.handler, boto3, django; django.setup(); import django.db.backends.postgresql.base"


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)  # hard links: fast, and visible inside the env's private /tmp
    except OSError:
        shutil.copy2(source, target)


def link_packages(root: Path) -> None:
    """Put the packages a `zappa package` would ship into the task root (the env sees nothing else)."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "django").exists()))
    listing = subprocess.run(
        [sys.executable, "-c", f"import sys; {ROOT_IMPORTS}; print(*sorted({{m.split('.')[0] for m in sys.modules}}))"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "djsite.settings", "PYTHONPATH": str(root)},
        capture_output=True, text=True, check=True,
    ).stdout.split()
    names = [n for n in listing if (site / n).is_dir()] + [f"{n}.py" for n in listing if (site / f"{n}.py").exists()]
    names += [p.name for p in site.glob("psycopg_binary*")]
    names += [p.name for n in listing for p in site.glob(f"{n}-*.dist-info")]  # importlib.metadata versions
    for name in sorted(set(names)):
        source = site / name
        if source.is_dir():
            shutil.copytree(source, root / name, copy_function=_link_or_copy,
                            ignore=shutil.ignore_patterns("__pycache__", "tests"))
        elif source.exists():
            _link_or_copy(str(source), str(root / name))


@pytest.fixture(scope="module")
def pg_port() -> Iterator[int]:
    with postgres_server() as port:
        yield port


def app_connections(port: int) -> int:
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'djsite'").fetchone()
    assert row is not None
    return int(row[0])


def snap_root(tmp_path: Path, **stage: Any) -> Path:
    if "snap_start" in stage:
        stage.setdefault("runtime", "python3.12")  # SnapStart for Python needs 3.12+
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
