"""``zappa bench --quick`` end to end on a small Django project: packaging, emulator, outputs.

Checks that the output is complete and well-formed, never how fast anything was.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from zappa_eager.bench.machine import usable_cpus
from zappa_eager.bench.modes import MODES

pytestmark = pytest.mark.e2e

#: Tooling that must stay out of the package (zappa copies the whole virtualenv).
EXCLUDE = ["moto", "matplotlib", "awslambdaric", "pytest*", "_pytest", "mypy*", "ruff*", "numpy*", "PIL", "pillow*",
           "fontTools", "kiwisolver", "contourpy", "pip", "setuptools", "cfnlint", "cfn_lint", "sympy", "networkx",
           "mpmath", "*__mypyc*", "mypyc", "*-stubs", "*_stubs", "mypy_boto3*", "IPython", "jedi", "cryptography",
           "pygments", "psycopg*", "redis", "pydantic*", "graphql*", "docker", "aws_xray_sdk", "antlr4*", "scipy",
           "awscli", "hypothesis", "samtranslator", "aws_sam_translator", "joserfc", "rest_framework", "whitenoise"]
FIGURES = ("init_ms", "first_ms", "cold_ms", "warm_ms", "idle_warm_ms", "max_rss_mb", "first_over_idle_warm",
           "proactive_init_ms", "proactive_first_ms", "proactive_idle_warm_ms", "proactive_first_over_idle_warm")
#: The stage's modes plus one eager+warmup[<value>] mode (--warmup-on-demand once).
ALL_MODES = (*MODES, "eager+warmup[once]")


def _link(source: str, dest: str) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def offline_handler_venv(self: Any, use_zappa_release: str | None = None) -> Path:
    """Stand-in for upstream's ``create_handler_venv``, which pip-installs zappa's dependencies
    from PyPI for the slim_handler zip: the same packages, linked from this virtualenv (tests stay offline)."""
    venv = Path.cwd() / "handler_venv"
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    shutil.copytree(sysconfig.get_paths()["purelib"], site, copy_function=_link,
                    ignore=shutil.ignore_patterns(*EXCLUDE, "__pycache__"))
    return venv


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from zappa.core import Zappa

    folder = tmp_path / "djsite"
    shutil.copytree(FIXTURES / "djsite", folder)
    (folder / "zappa_settings.json").write_text(json.dumps({"dev": {
        "django_settings": "djsite.settings",
        "project_name": "djsite",
        "s3_bucket": "zappa-eager-bench",
        "aws_region": "us-east-1",
        "use_precompiled_packages": False,
        "keep_warm": False,
        "eager_init_warmup": ["/healthz"],
        "exclude": EXCLUDE,
        "aws_environment_variables": {"DATABASE_URL": "postgres://prod.example.com/shop"},  # never reached
    }}))
    monkeypatch.chdir(folder)
    monkeypatch.setenv("VIRTUAL_ENV", sys.prefix)
    monkeypatch.setenv("ZAPPA_EAGER_BENCH_CACHE", str(tmp_path / "package-cache"))  # no package of another run
    monkeypatch.setattr(Zappa, "create_handler_venv", offline_handler_venv)
    monkeypatch.setattr(Zappa, "get_manylinux_wheel_url", lambda self, *args, **kwargs: (None, None))
    return folder


def test_quick_bench_writes_a_complete_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zappa_eager.bench import run_bench_command
    from zappa_eager.cli import EagerZappaCLI

    code = run_bench_command(EagerZappaCLI(), ["dev", "--quick", "--warmup-on-demand", "once"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err[-3000:]

    out = project / "bench-out"
    doc = json.loads((out / "bench.json").read_text())
    assert list(doc["modes"]) == list(ALL_MODES)
    for variant in ("slim_off", "slim_on"):
        modes = doc["variants"][variant]["modes"]
        for mode in ALL_MODES:
            for figure in FIGURES:
                assert isinstance(modes[mode][figure], (int, float)), (variant, mode, figure)
            assert modes[mode]["environments"] == 2 and modes[mode]["errors"] == 0
            package = modes[mode]["package"]
            assert package["packaging"] == ("eager" if mode.startswith("eager") else "upstream"), (variant, mode)
            assert package["files"] > 100 and package["unzipped_bytes"] > package["zipped_bytes"] > 0
        samples = doc["variants"][variant]["environments"]
        assert len(samples) == 2 * len(ALL_MODES)
        assert all([r["kind"] for r in s["requests"]] == ["first", *["warm"] * 5, "idle-warm", "proactive-first",
                                                          *["proactive-warm"] * 5, "proactive-idle-warm", "cold"]
                   for s in samples)
        assert {s["mode"] for s in samples if s["init_report"]} == {"eager", "eager+warmup", "eager+warmup[once]"}
        proactive = [s["proactive_init_report"] for s in samples if s["mode"] == "eager+warmup[once]"]
        assert all(r["init_type"] == "on-demand" and {w["round"] for w in r["warmup"]} == {1} for r in proactive)
        assert all(modes[mode]["gc_paused"] is not None for mode in ALL_MODES if mode.startswith("eager"))
        packages = doc["variants"][variant]["packages"]
        assert set(packages) == {"upstream", "eager"} and not doc["variants"][variant]["single_package"]
        assert packages["upstream"]["bytecode"]["state"] != "valid"  # upstream's packaging: stale or none
        assert packages["eager"]["bytecode"]["state"] == "valid" and packages["eager"]["bytecode"]["unchecked"] > 0
    assert doc["variants"]["slim_off"]["archive_unpack"] is None
    unpack = doc["variants"]["slim_on"]["archive_unpack"]
    assert unpack["runs"] == 2 and len(unpack["upstream_ms"]) == len(unpack["eager_ms"]) == 2, unpack
    assert unpack["files"] > 100 and unpack["upstream_archive_files"] > 100 and unpack["speedup"] > 0
    assert doc["settings"]["idle_s"] == 0.2 and doc["settings"]["unpack_runs"] == 2
    assert doc["primary_variant"] == "slim_off" and doc["modes"] == doc["variants"]["slim_off"]["modes"]
    assert doc["variants"]["slim_on"]["init_phases"]["eager"]["archive"] > 0  # the tarball came from (moto) S3
    assert set(doc["burst"]["modes"]) == set(ALL_MODES)
    for burst in doc["burst"]["modes"].values():
        assert burst["requests"] == min(6, 1 + usable_cpus()) and burst["errors"] == 0  # sized to the machine
        assert isinstance(burst["p99_ms"], (int, float))
        assert burst["prewarmed_first"] == 1
    assert set(doc["init_phases"]) == {"eager", "eager+warmup", "eager+warmup[once]"}
    assert doc["imports"]["error"] is None and doc["imports"]["top_cumulative"][0]["module"] == "handler"
    assert doc["imports"]["requests"] == 6 and doc["imports"]["used_modules"] > 10
    assert isinstance(doc["imports"]["unused_packages"], list) and doc["settings"]["warmup_on_demand"] == ["once"]
    assert len(doc["imports"]["top_cumulative"]) == 15
    assert doc["machine"]["zappa"].startswith("0.63") and doc["settings"]["environments"] == 2
    assert doc["errors"] == [] and doc["limits"] == []
    assert doc["burst"]["contention"]["usable_cpus"] == usable_cpus() and doc["contention"]["seconds"] > 0
    assert set(doc["phases"]) == {"packaging", "task roots", "measure slim_off", "burst", "import profile",
                                  "measure slim_on", "archive phase", "cleanup", "report", "total"}
    assert doc["settings"]["environment"]["dropped"] == ["DATABASE_URL"]
    assert "environment: dropped, may point outside this machine: DATABASE_URL" in captured.err

    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "slim_handler off (the stage as configured)" in captured.out
    assert "top imports by cumulative time" in captured.out
    assert "first/idle-warm" in captured.out and "archive phase: upstream unpack" in captured.out
    assert "initialized ahead of traffic with INIT type on-demand" in captured.out
    assert "imported in INIT, never run by the first request and 5 warm one(s)" in captured.out
    assert captured.err.count("packaging: ") == 4  # each package's facts, as it is built
    assert captured.err.count("zappa-eager's derived from upstream's") == 2  # packaged once per variant
    assert "time: packaging" in captured.out
    assert [p.name for p in (project.parent / "package-cache").iterdir()] != []  # kept for the next run
    for mode in ALL_MODES:
        assert any(line.split()[:1] == [mode] for line in captured.out.splitlines()), mode
    assert "/5" in captured.err or "[" in captured.err  # the progress bar went to stderr
    leftovers = sorted(p.name for p in project.iterdir() if p.suffix in (".zip", ".gz") or p.name == "handler_venv")
    assert leftovers == []


def test_bad_settings_fail_like_other_zappa_commands(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zappa_eager.bench import run_bench_command
    from zappa_eager.cli import EagerZappaCLI

    settings = json.loads((project / "zappa_settings.json").read_text())
    settings["dev"]["eager_init_on_error"] = "explode"
    (project / "zappa_settings.json").write_text(json.dumps(settings))
    assert run_bench_command(EagerZappaCLI(), ["dev", "--quick"]) == 1
    assert "Invalid eager_init_on_error = \"explode\"" in capsys.readouterr().err
    assert not (project / "bench-out").exists()
