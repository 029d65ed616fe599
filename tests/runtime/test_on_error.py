"""``eager_init_on_error``: the setting, its rendering, the per-INIT-type table and what an absent key means.

The behaviour through the real runtime client is in tests/emulator/test_emu_on_error.py.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import base_stage, make_task_root, render_settings, run_probe
from zappa_eager.runtime.boot import plan_for_failure
from zappa_eager.runtime.contract import (
    DEFAULT_ON_ERROR,
    INIT_ON_DEMAND,
    INIT_PROVISIONED_CONCURRENCY,
    INIT_SNAP_START,
    ON_ERROR_CHOICES,
    BootEvent,
    GeneratedSettings,
    InitType,
    OnError,
    Phase,
)
from zappa_eager.runtime.report import parse_report_lines
from zappa_eager.settings import EagerSettingsError, parse_eager_settings


def test_the_default_is_auto_and_is_rendered_into_the_package(tmp_path: Path) -> None:
    assert DEFAULT_ON_ERROR == "auto" and ON_ERROR_CHOICES == ("auto", "lazy", "raise")
    assert parse_eager_settings({}, "dev").on_error == "auto"
    assert "\nEAGER_INIT_ON_ERROR='auto'\n" in render_settings(base_stage(), tmp_path)


@pytest.mark.parametrize("value", ["auto", "lazy", "raise"])
def test_explicit_values_are_rendered_as_written(tmp_path: Path, value: str) -> None:
    assert parse_eager_settings({"eager_init_on_error": value}, "dev").on_error == value
    assert f"\nEAGER_INIT_ON_ERROR={value!r}\n" in render_settings(base_stage(eager_init_on_error=value), tmp_path)


def test_an_unknown_value_names_the_setting_the_value_and_every_choice() -> None:
    with pytest.raises(EagerSettingsError) as caught:
        parse_eager_settings({"eager_init_on_error": "retry"}, "prod")
    message = str(caught.value)
    assert message.startswith('Invalid eager_init_on_error = "retry" in stage \'prod\' of zappa_settings')
    assert all(f'"{choice}"' in message for choice in ("auto", "lazy", "raise"))


PC, SNAP, ON_DEMAND = INIT_PROVISIONED_CONCURRENCY, INIT_SNAP_START, INIT_ON_DEMAND


@pytest.mark.parametrize(
    ("policy", "init", "event", "phase", "stuck", "action"),
    [
        # auto: a pre-initialized INIT fails loudly, whatever failed
        ("auto", PC, "init", "archive", False, "raise"),
        ("auto", PC, "init", "app", False, "raise"),
        ("auto", SNAP, "init", "remote_env", False, "raise"),
        ("auto", SNAP, "init", "app", True, "raise"),
        # auto, on-demand: lazy only for what this process can retry
        ("auto", ON_DEMAND, "init", "archive", False, "lazy"),
        ("auto", ON_DEMAND, "init", "remote_env", False, "lazy"),
        ("auto", ON_DEMAND, "init", "app", False, "raise"),
        ("auto", ON_DEMAND, "init", "app", True, "raise"),
        # a rebuild on a request: retryable phases fail the request, anything else gives the environment back
        ("auto", ON_DEMAND, "lazy-rebuild", "archive", False, "raise"),
        ("auto", ON_DEMAND, "lazy-rebuild", "app", False, "give-back"),
        ("auto", ON_DEMAND, "lazy-rebuild", "app", True, "give-back"),
        # explicit values are honoured in INIT, for every INIT type
        ("lazy", PC, "init", "app", False, "lazy"),
        ("lazy", SNAP, "init", "app", True, "lazy"),
        ("lazy", ON_DEMAND, "init", "app", True, "lazy"),
        ("raise", ON_DEMAND, "init", "archive", False, "raise"),
        ("raise", PC, "init", "app", False, "raise"),
        # explicit lazy retries on the request, except a setup that can never succeed
        ("lazy", PC, "lazy-rebuild", "app", False, "raise"),
        ("lazy", PC, "lazy-rebuild", "app", True, "give-back"),
    ],
)
def test_the_policy_table(policy: OnError, init: InitType, event: BootEvent, phase: Phase, stuck: bool,
                          action: str) -> None:
    plan = plan_for_failure(policy=policy, init=init, event=event, phase=phase, stuck=stuck)
    assert plan.action == action
    assert plan.note.startswith(f"eager_init_on_error={policy}: ")


def on_error_policy(settings: ModuleType) -> str:
    """What the runtime reads as ``eager_init_on_error`` from a generated settings module."""
    return GeneratedSettings.from_module(settings).on_error


def test_an_unknown_rendered_value_falls_back_to_the_default() -> None:
    settings = ModuleType("zappa_settings")
    assert on_error_policy(settings) == "auto"  # absent
    for value in ("lazy", "raise", "auto"):
        settings.EAGER_INIT_ON_ERROR = value  # type: ignore[attr-defined]
        assert on_error_policy(settings) == value
    settings.EAGER_INIT_ON_ERROR = "ignore"  # type: ignore[attr-defined]
    assert on_error_policy(settings) == "auto"


def test_settings_without_the_key_fail_a_provisioned_init(tmp_path: Path) -> None:
    """Every package zappa-eager built renders the key; settings written by hand get the default."""
    root = make_task_root(tmp_path, base_stage())
    settings = root / "zappa_settings.py"
    lines = settings.read_text().splitlines(keepends=True)
    settings.write_text("".join(line for line in lines if not line.startswith("EAGER_INIT_ON_ERROR=")))
    result = run_probe(root, [{"kind": "http", "path": "/"}], env={"DJSITE_SETTINGS_RAISE": "1"}, expect_exit=3)
    assert result["import_error"] == "RuntimeError: djsite settings exploded"
    (report,) = parse_report_lines(result["stdout"])
    assert report["ok"] is False and report["init_type"] == "provisioned-concurrency"
    assert report["notes"][-1].startswith("eager_init_on_error=auto: a provisioned-concurrency INIT fails loudly")


def test_a_package_rendered_lazy_keeps_lazy(tmp_path: Path) -> None:
    """Packages built before ``auto`` say ``'lazy'``: their provisioned INIT still completes."""
    root = make_task_root(tmp_path, base_stage(eager_init_on_error="lazy"))
    flag = tmp_path / "raised-once"
    result = run_probe(root, [{"kind": "http", "path": "/"}], env={"DJSITE_SETTINGS_RAISE_ONCE": str(flag)})
    assert result["built_at_import"] is False
    assert result["responses"][0]["response"]["statusCode"] == 200
    init = parse_report_lines(result["stdout"])[0]
    assert init["notes"] == ["eager_init_on_error=lazy: INIT completes; the first request builds the handler again"]
