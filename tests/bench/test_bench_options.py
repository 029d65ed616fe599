"""``zappa bench`` arguments and the small decisions around them."""

from __future__ import annotations

from pathlib import Path

import pytest

from zappa_eager.bench.machine import usable_cpus
from zappa_eager.bench.modes import MODES, parse_modes
from zappa_eager.bench.options import default_burst, parse_options
from zappa_eager.bench.variants import extra_excludes, plan_variants


def test_defaults() -> None:
    options = parse_options(["dev"])
    assert (options.stage, options.output, options.quick) == ("dev", Path("bench-out"), False)
    assert (options.environments, options.warm, options.burst_envs) == (5, 20, 2)
    assert options.burst == min(20, 2 + usable_cpus())
    assert options.paths == ("/",) and options.slim == "both" and options.modes == MODES
    assert options.zip_path is None and not options.keep_work
    assert options.idle_s == 1.0 and options.unpack_runs == 5
    assert not options.stage_env and parse_options(["dev", "--stage-env"]).stage_env


@pytest.mark.parametrize(("burst_envs", "cpus", "burst"), [(2, 1, 3), (2, 2, 4), (2, 18, 20), (2, 64, 20), (0, 2, 2)])
def test_default_burst_starts_at_most_one_cold_environment_per_cpu(burst_envs: int, cpus: int, burst: int) -> None:
    assert default_burst(burst_envs, cpus) == burst


@pytest.mark.parametrize(("cpus", "burst"), [(1, 2), (2, 3), (5, 6), (64, 6)])
def test_the_quick_burst_is_sized_to_the_machine_too(cpus: int, burst: int) -> None:
    assert default_burst(1, cpus, quick=True) == burst


def test_an_explicit_burst_is_not_capped() -> None:
    assert parse_options(["dev", "--burst", "40", "--burst-envs", "4"]).burst == 40


def test_quick_is_small_and_explicit_values_win() -> None:
    quick = parse_options(["dev", "--quick"])
    assert (quick.environments, quick.warm, quick.burst, quick.burst_envs) == (2, 5, min(6, 1 + usable_cpus()), 1)
    assert (quick.idle_s, quick.unpack_runs) == (0.2, 2)
    custom = parse_options(["dev", "--quick", "--environments", "3", "--burst", "0", "--output", "/x"])
    assert (custom.environments, custom.burst, custom.output) == (3, 0, Path("/x"))


def test_idle_and_unpack_runs_accept_zero() -> None:
    options = parse_options(["dev", "--idle", "0", "--unpack-runs", "0"])
    assert (options.idle_s, options.unpack_runs) == (0.0, 0)
    assert parse_options(["dev", "--quick", "--idle", "2.5", "--unpack-runs", "7"]).idle_s == 2.5


def test_paths_repeat_and_modes_accept_commas() -> None:
    options = parse_options(["dev", "--path", "/", "--path", "/api/products/", "--path", "/admin/login/",
                             "--modes", "eager+warmup,upstream", "--modes", "eager"])
    assert options.paths == ("/", "/api/products/", "/admin/login/")
    assert options.modes == ("upstream", "eager", "eager+warmup")  # canonical order


@pytest.mark.parametrize("argv", [
    ["dev", "--path", "api/"],
    ["dev", "--modes", "lazy"],
    ["dev", "--environments", "0"],
    ["dev", "--burst", "2", "--burst-envs", "3"],
    ["dev", "--slim", "maybe"],
    ["dev", "--archive", "x.tar.gz"],
    ["dev", "--idle", "-1"],
    ["dev", "--idle", "nan"],
    ["dev", "--unpack-runs", "-1"],
    [],
])
def test_bad_arguments_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_options(argv)
    assert exc.value.code == 2
    assert "usage: zappa bench" in capsys.readouterr().err


def test_run_bench_command_returns_the_exit_code_of_bad_arguments() -> None:
    from zappa_eager.bench import run_bench_command

    assert run_bench_command(object(), ["dev", "--modes", "nope"]) == 2
    assert run_bench_command(object(), ["--help"]) == 0


def test_parse_modes() -> None:
    assert parse_modes(None) == MODES
    assert parse_modes(["eager, upstream"]) == ("upstream", "eager")
    assert parse_modes(["eager,floor", "upstream"]) == ("upstream", "floor", "eager")  # only when asked for
    assert "floor" not in MODES
    with pytest.raises(ValueError, match="unknown mode"):
        parse_modes(["eager,fast"])


@pytest.mark.parametrize(("choice", "stage_slim", "planned"), [
    ("stage", False, [False]), ("stage", True, [True]), ("on", False, [True]), ("off", True, [False]),
    ("both", False, [False, True]), ("both", True, [True, False]),
])
def test_plan_variants_puts_the_stage_first(choice: str, stage_slim: bool, planned: list[bool]) -> None:
    assert plan_variants(choice, stage_slim) == planned


def test_extra_excludes_keeps_our_folders_out_of_the_package(tmp_path: Path) -> None:
    project = tmp_path / "project"
    assert extra_excludes(project, project / "bench-out", project / "out" / "deep", tmp_path / "elsewhere") == \
        ["bench-out", "out"]
    assert extra_excludes(project, project) == []


def test_lmi_measures_one_managed_environment_only_when_asked() -> None:
    assert parse_options(["dev"]).lmi == 0
    assert parse_options(["dev", "--lmi", "16"]).lmi == 16
