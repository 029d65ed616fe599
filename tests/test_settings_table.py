"""Every key zappa-eager owns, with wrong types and out-of-range values, through the real ``zappa`` command.

Each bad value must stop ``deploy``, ``update`` and ``package`` before any AWS operation (a
tripwire on botocore's ``before-call`` refuses and records them, under moto's ``mock_aws``)
with a message naming the setting, showing the value and saying how to fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import badsettings
from tests.reliability.badsettings import Case, all_cases, check_case, owned_keys
from zappa_eager.provisioning.config import OBJECT_KEYS
from zappa_eager.settings import EAGER_KEYS


@pytest.mark.parametrize("case", all_cases(), ids=lambda c: f"{c.setting}={c.shown}")
def test_bad_value_is_rejected_before_any_aws_call_with_setting_value_and_fix(case: Case, tmp_path: Path) -> None:
    result = check_case(case, tmp_path)
    assert [run.command for run in result.runs] == ["deploy", "update", "package"]
    assert result.problems() == [], "\n".join(run.output for run in result.runs)
    assert all(run.aws_calls == [] and run.exit_code == 1 for run in result.runs)


def test_every_owned_key_and_sub_key_has_bad_values() -> None:
    keys = {case.key for case in all_cases()}
    assert set(owned_keys()) <= keys, sorted(set(owned_keys()) - keys)
    assert set(EAGER_KEYS) <= set(owned_keys())
    assert {f"provisioned_concurrency.{k}" for k in OBJECT_KEYS} <= keys
    for key, expected in badsettings.expected_subkeys().items():
        missing = expected - badsettings.covered_subkeys()[key] - {"path"}  # a path's cases name the request
        assert not missing, f"{key}: no bad value for {sorted(missing)}"
    for key in owned_keys():
        kinds = {case.kind for case in all_cases() if case.key == key}
        if key == badsettings.MISSPELT:
            assert kinds == {"key"}
            continue
        assert "type" in kinds, f"{key} has no wrong-type case"


def test_the_tripwire_stops_a_valid_deploy_at_its_first_aws_call(tmp_path: Path) -> None:
    run = badsettings.control(tmp_path)
    assert run.aws_calls == ["iam.GetRole"]  # upstream deploy's first step: the execution role
    assert run.refused is not None and run.written == []


def test_a_missing_provisioned_concurrency_key_shows_the_object_given(tmp_path: Path) -> None:
    run = badsettings.run_command("deploy", {**badsettings.base_stage(), "provisioned_concurrency": {"max": 3}},
                                  tmp_path)
    assert 'provisioned_concurrency.min is missing in stage \'dev\': add it to {"max": 3}' in run.output


@pytest.mark.e2e
def test_the_table_has_one_met_row_per_key_and_the_control(tmp_path: Path) -> None:
    rows = badsettings.scenarios(True, tmp_path)
    assert [row.scenario for row in rows] == [*owned_keys(), "valid stage (control)"]
    assert all(row.group == "settings" for row in rows)
    assert [row.scenario for row in rows if not row.met] == []
    assert "rejected before any AWS call by deploy" in rows[0].outcome


def test_the_network_guard_refuses_and_records_anything_beyond_loopback() -> None:
    import socket

    with badsettings.loopback_only() as attempted, socket.socket() as sock:
        with pytest.raises(OSError):
            sock.connect(("203.0.113.7", 443))
        with pytest.raises(OSError):
            socket.create_connection(("pypi.org", 443), timeout=1)
    assert attempted == ["connect 203.0.113.7:443", "resolve pypi.org"]


def test_zappa_commands_do_not_ask_pypi_for_a_newer_zappa(tmp_path: Path) -> None:
    """Upstream's check_for_update queries pypi.org before every command and advises leaving the pinned range."""
    run = badsettings.control(tmp_path)
    assert run.network == []
    assert "A new version of" not in run.output
