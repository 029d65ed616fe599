"""The generated ``zappa_settings.py`` contract: what the packager writes is what the runtime reads.

The runtime's behaviour for each value is tested through real INITs in test_boot.py,
test_on_error.py and test_snapstart.py; here, the contract itself: the round trip, what an
absent or unknown key means, and the one ``snap_start`` check. The rest of the runtime's contract
(the INIT type, phases, warm-up outcomes, the Lambda context) is tested in test_runtime_contract.py.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from zappa_eager.runtime.contract import (
    GENERATED_KEYS,
    GeneratedSettings,
    render_lines,
    snap_start_enabled,
)
from zappa_eager.settings import parse_eager_settings, render_settings_lines


def module_from(source: str) -> ModuleType:
    module = ModuleType("zappa_settings")
    exec(source, module.__dict__)  # noqa: S102 - our own rendered lines
    return module


def test_a_rendered_package_reads_back_as_rendered() -> None:
    stage = {"eager_init_warmup": ["/healthz", {"method": "post", "path": "/api", "expect": [200, 302]}],
             "eager_init_warmup_rounds": 3, "eager_init_warmup_on_demand": "once", "eager_init_on_error": "raise",
             "eager_init_warmup_after_restore": True}
    rendered = render_settings_lines(parse_eager_settings(stage, "dev"), "PublishedVersions")
    assert [line.partition("=")[0] for line in rendered.splitlines()] == list(GENERATED_KEYS)
    assert GeneratedSettings.from_module(module_from(rendered)) == GeneratedSettings(
        enabled=True,
        warmup=(
            {"method": "GET", "path": "/healthz", "headers": {}, "body": None},
            {"method": "POST", "path": "/api", "headers": {}, "body": None, "expect": [200, 302]},
        ),
        warmup_rounds=3,
        warmup_on_demand="once",
        on_error="raise",
        warmup_after_restore=True,
        snap_start=True,
    )


def test_the_stage_defaults_render_what_the_runtime_reads() -> None:
    generated = GeneratedSettings.from_module(module_from(render_settings_lines(parse_eager_settings({}, "dev"), None)))
    assert generated == GeneratedSettings(warmup_rounds=2)  # the stage default; absent would mean 1
    assert generated.snap_start is False


def test_a_module_without_the_keys_reads_as_packages_built_before_them() -> None:
    generated = GeneratedSettings.from_module(ModuleType("zappa_settings"))
    assert generated == GeneratedSettings()
    assert (generated.enabled, generated.warmup, generated.warmup_rounds) == (True, (), 1)
    assert (generated.warmup_on_demand, generated.on_error) == ("once", "auto")
    assert (generated.warmup_after_restore, generated.snap_start) == (False, False)


def test_hand_written_and_unknown_values_fall_back_as_the_runtime_always_did() -> None:
    generated = GeneratedSettings.from_module(module_from(
        "EAGER_INIT_WARMUP=['/a']\nEAGER_INIT_WARMUP_ROUNDS=0\nEAGER_INIT_WARMUP_ON_DEMAND='always'\n"
        "EAGER_INIT_ON_ERROR='ignore'\nEAGER_INIT_WARMUP_AFTER_RESTORE=1\nSNAP_START='None'\n"
    ))
    assert generated.warmup == ({"method": "GET", "path": "/a"},)
    assert generated.warmup_rounds == 1
    assert (generated.warmup_on_demand, generated.on_error) == ("once", "auto")
    assert generated.warmup_after_restore is True and generated.snap_start is False


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, False), ("", False), (False, False), ("None", False), ("PublishedVersions", True)],
)
def test_snap_start_enabled(value: object, enabled: bool) -> None:
    assert snap_start_enabled(value) is enabled


def test_render_lines_takes_exactly_the_contract_keys() -> None:
    values: dict[str, object] = dict.fromkeys(GENERATED_KEYS, None)
    assert render_lines(values).splitlines()[0] == "EAGER_INIT=None"
    with pytest.raises(ValueError, match="missing \\['SNAP_START'\\]"):
        render_lines({key: value for key, value in values.items() if key != "SNAP_START"})
    with pytest.raises(ValueError, match="unknown \\['EAGER_INIT_TYPO'\\]"):
        render_lines({**values, "EAGER_INIT_TYPO": 1})
