"""zappa_settings.json: every stage resolves (through "extends") to the shared base plus its eager settings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "zappa_settings.json"
RAW: dict[str, dict[str, Any]] = json.loads(SETTINGS_FILE.read_text())


def resolve(stage: str) -> dict[str, Any]:
    """Upstream zappa's "extends": the parent stage's settings, updated with the stage's own."""
    own = dict(RAW[stage])
    parent = own.pop("extends", None)
    return {**resolve(parent), **own} if parent else own


@pytest.mark.parametrize("stage", ["dev", "slim", "snap", "pc"])
def test_every_stage_shares_the_base(stage: str) -> None:
    settings = resolve(stage)
    assert settings["django_settings"] == "shop.settings"
    assert settings["project_name"] == "shop"
    # SnapStart for Python needs python3.12 or later.
    assert settings["runtime"] == ("python3.12" if stage == "snap" else "python3.11")
    # Migrations at app load are for the demo stages only; pc and snap migrate as a deploy step (README).
    migrate = "0" if stage in ("snap", "pc") else "1"
    assert settings["environment_variables"] == {"SHOP_AUTO_MIGRATE": migrate}
    assert settings["keep_warm"] is False
    assert settings["use_precompiled_packages"] is False
    assert {"tests", "pytest*", "*.sqlite3", "moto", "awslambdaric"} <= set(settings["exclude"])
    assert settings["eager_init"] is True
    assert "/healthz" in settings["eager_init_warmup"]


def test_stage_specific_settings() -> None:
    assert set(RAW) == {"dev", "slim", "snap", "pc"}
    # The default ("auto"): a pc/snap version whose app fails to build never goes live.
    assert all("eager_init_on_error" not in resolve(stage) for stage in RAW)
    assert resolve("slim")["slim_handler"] is True
    snap = resolve("snap")
    assert (snap["snap_start"], snap["eager_init_warmup_after_restore"]) == ("PublishedVersions", True)
    pc = resolve("pc")
    assert pc["provisioned_concurrency"] == {"min": 1, "max": 20, "target_utilization": 0.7}
    assert pc["eager_init_warmup"][1] == {"method": "GET", "path": "/api/products/",
                                          "headers": {"Accept": "application/json"}}
    assert not {"slim_handler", "snap_start", "provisioned_concurrency"} & set(resolve("dev"))


@pytest.mark.parametrize("stage", ["dev", "slim", "snap", "pc"])
def test_only_the_demo_stages_migrate_at_app_load(stage: str, tmp_path: Path, probe: Callable[..., Any]) -> None:
    """Load the app as Zappa does with the stage's environment: pc and snap leave the database alone."""
    env = {"SHOP_DATA_DIR": str(tmp_path), **resolve(stage)["environment_variables"]}
    report = probe(env, "GET /healthz")
    assert report["requests"][0]["status"] == 200
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if stage in ("snap", "pc"):
        assert report["bootstrap"] is None and "catalog_product" not in tables
    else:
        assert report["bootstrap"]["migrations_applied"] > 10 and "catalog_product" in tables
