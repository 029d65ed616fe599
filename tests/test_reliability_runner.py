"""The reliability runner: the registry of parts, failed parts as failed rows, the table, the CLI."""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import tests.reliability.__main__ as cli
from tests.reliability import runner
from tests.reliability.rows import Row
from tests.reliability.table import format_details, format_table


def test_every_registered_part_exists_and_defines_scenarios() -> None:
    for name in runner.MODULES:
        module = importlib.import_module(f"tests.reliability.{name}")
        assert callable(getattr(module, "scenarios", None)), name


def test_a_missing_part_is_a_failed_row_that_says_so(tmp_path: Path) -> None:
    (row,) = runner.run_module("not_written_yet", fast=True, workdir=tmp_path)
    assert not row.met and row.group == "not_written_yet" and row.scenario == "module missing"
    assert "tests.reliability.not_written_yet could not be imported" in row.detail


def _fake_part(monkeypatch: pytest.MonkeyPatch, name: str, scenarios: Any) -> None:
    module = types.ModuleType(f"tests.reliability.{name}")
    module.scenarios = scenarios  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)


def test_a_crashing_part_is_a_failed_row_and_the_others_still_run(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    def crash(fast: bool, workdir: Path) -> list[Row]:
        raise OSError("moto did not start")

    def fine(fast: bool, workdir: Path) -> list[Row]:
        assert workdir.is_dir() and workdir.name == "fine"
        return [Row(group="fine", scenario="one", outcome="ok", met=fast)]

    _fake_part(monkeypatch, "crash", crash)
    _fake_part(monkeypatch, "fine", fine)
    monkeypatch.setattr(runner, "MODULES", ("crash", "fine"))
    messages: list[str] = []
    rows = runner.run(True, tmp_path, progress=messages.append)
    assert [(r.group, r.scenario, r.met) for r in rows] == [("crash", "crashed", False), ("fine", "one", True)]
    assert rows[0].detail.startswith("OSError: moto did not start")
    assert messages[0] == "crash: running (fast set)" and messages[1].startswith("crash: 0/1 met in ")
    with pytest.raises(ValueError, match="unknown reliability module"):
        runner.run(True, tmp_path, only=["nope"])


def test_the_table_is_markdown_with_every_column() -> None:
    rows = [Row("archive", "403 | AccessDenied", "INIT failed", False, 1234.5, ["partial/ (3 files)"], None, "x"),
            Row("load", "10,000 requests", "served", True, 850.0, [], 0, "")]
    table = format_table(rows).splitlines()
    assert table[0] == "| group | fault / scenario | outcome | time | left in /tmp | connections left | goal met |"
    assert table[2] == ("| archive | 403 \\| AccessDenied | INIT failed | 1.2 s | partial/ (3 files) | - "
                        "| **NO** |")
    assert table[3] == "| load | 10,000 requests | served | 850 ms | nothing | 0 | yes |"
    assert format_details(rows).splitlines() == ["1. archive / 403 | AccessDenied: x", "2. load / 10,000 requests: -"]


def test_the_command_prints_the_table_writes_json_and_fails_when_a_goal_is_missed(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, Any] = {}

    def fake_run(fast: bool, workdir: Path, only: list[str], progress: Any) -> list[Row]:
        seen.update(fast=fast, workdir=workdir, only=only)
        return [Row("archive", "404", "INIT failed lazily", True), Row("limits", "cut", "not served", False)]

    monkeypatch.setattr(cli, "run", fake_run)
    monkeypatch.setenv("AWS_PROFILE", "production")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "real-looking")  # restored after the test: main() replaces them
    out = tmp_path / "rows.json"
    status = cli.main(["--fast", "--only", "archivefaults", "--json", str(out), "--workdir", str(tmp_path / "w")])
    assert status == 1 and seen["fast"] is True and seen["only"] == ["archivefaults"]
    assert "AWS_PROFILE" not in os.environ and os.environ["AWS_ACCESS_KEY_ID"] == "testing"  # never AWS
    printed = capsys.readouterr().out
    assert "| archive | 404 | INIT failed lazily |" in printed and "1/2 rows met their goal (fast set" in printed
    document = json.loads(out.read_text())
    assert document["all_met"] is False and [r["met"] for r in document["rows"]] == [True, False]
