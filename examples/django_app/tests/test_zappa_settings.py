"""zappa_settings.json: every stage resolves (through "extends") to the shared base plus its eager settings."""

from __future__ import annotations

import json
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
    assert settings["environment_variables"] == {"SHOP_AUTO_MIGRATE": "1"}
    assert settings["keep_warm"] is False
    assert settings["use_precompiled_packages"] is False
    assert {"tests", "pytest*", "*.sqlite3", "moto", "awslambdaric"} <= set(settings["exclude"])
    assert settings["eager_init"] is True
    assert "/healthz" in settings["eager_init_warmup"]


def test_stage_specific_settings() -> None:
    assert set(RAW) == {"dev", "slim", "snap", "pc"}
    assert resolve("dev")["eager_init_on_error"] == "lazy"
    assert resolve("slim")["slim_handler"] is True
    snap = resolve("snap")
    assert (snap["snap_start"], snap["eager_init_warmup_after_restore"]) == ("PublishedVersions", True)
    pc = resolve("pc")
    assert pc["provisioned_concurrency"] == {"min": 1, "max": 20, "target_utilization": 0.7}
    assert pc["eager_init_warmup"][1] == {"method": "GET", "path": "/api/products/",
                                          "headers": {"Accept": "application/json"}}
    assert not {"slim_handler", "snap_start", "provisioned_concurrency"} & set(resolve("dev"))
