"""The stages we tell users to copy do what their names and the docs say (zappa_settings.example.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import REPO
from zappa_eager.cli import EagerZappaCLI

SHIPPED = ("zappa_settings.example.json", "examples/django_app/zappa_settings.json",
           "examples/flask_app/zappa_settings.json", "examples/fastapi_app/zappa_settings.json")


def upstream_stages() -> list[tuple[str, str]]:
    """(file, stage) of every shipped stage that sets ``eager_init: false``, ``extends`` resolved."""
    found = []
    for name in SHIPPED:
        cli = EagerZappaCLI()
        cli.load_settings_file(str(REPO / name))
        for stage in cli.zappa_settings:
            cli.api_stage = stage
            if cli.stage_config.get("eager_init") is False:
                found.append((name, stage))
    return found


def test_the_example_has_an_upstream_behaviour_stage() -> None:
    assert ("zappa_settings.example.json", "upstream_behaviour") in upstream_stages()


@pytest.mark.parametrize(("settings_file", "stage"), upstream_stages())
def test_an_eager_init_false_stage_packages_as_upstream(settings_file: str, stage: str, tmp_path: Path) -> None:
    """Upstream's handler and settings module, and no packaging step of ours (bytecode, lean selection).

    A stage that extends an eager one inherits its explicit ``compile_bytecode``/``lean_package``: it
    must turn them off itself, or its package is not upstream's.
    """
    (tmp_path / "zappa_settings.json").write_text((REPO / settings_file).read_text())
    cli = EagerZappaCLI()
    cli.api_stage = stage
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cli.load_settings("zappa_settings.json")  # upstream's load plus our validation; no AWS call
        settings_module = cli.get_zappa_settings_string()
        steps = cli.package_steps()
    finally:
        os.chdir(cwd)
    assert cli.eager.enabled is False
    assert "EAGER_INIT" not in settings_module and "SNAP_START" not in settings_module
    assert (steps.compile_bytecode, steps.lean) == (False, False)
    assert cli.optimize_packages() == []  # what create_package runs after upstream wrote the archives: nothing
    # The stage's own keys, as upstream reads them, are the base stage's: the same app, upstream's way.
    raw = json.loads((REPO / settings_file).read_text())
    assert set(raw[stage]) - {"extends", "eager_init", "compile_bytecode", "lean_package",
                              "provisioned_concurrency"} == set()
